"""Start-up preparation shared by `serve` and the tests: seed reference data, load demo data."""

from __future__ import annotations

from understudy.config import Settings
from understudy.context import AppContext
from understudy.control.reset import seed_all
from understudy.services import load_all


def prepare(
    settings: Settings, *, demo: bool = False, host: str = "127.0.0.1", port: int = 8000
) -> str | None:
    """Seed every enabled service (idempotent); with demo, load demo data and return a banner."""
    ctx = AppContext.from_settings(settings)
    services = load_all(settings.enabled_services)
    try:
        with ctx.db.write() as session:
            seed_all(session, ctx, services)
        if not demo:
            return None
        base = f"http://{host}:{port}"
        lines = [f"Health:  curl {base}/healthz", f"API docs: {base}/docs"]
        if settings.control_plane_enabled:
            lines.append(f"Sandbox token: {settings.admin_token}")
            lines.append(
                f"Sandbox: curl -H 'Authorization: Bearer {settings.admin_token}' "
                f"{base}/_understudy/clock"
            )
        for service in services:
            if service.demo is None:
                lines.append(f"{service.name}: no demo data yet")
                continue
            info = service.demo(ctx)
            lines.append("")
            lines.append(f"[bold]{service.name}[/]")
            lines.extend(f"  {line}" for line in info.lines)
            lines.append(f"  {info.curl.replace('{base}', base)}")
        return "\n".join(lines)
    finally:
        ctx.close()
