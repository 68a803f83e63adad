"""The sandbox control plane (/_understudy/...), enabled only with UNDERSTUDY_ADMIN_TOKEN."""
