"""Settings read from the environment (prefix UNDERSTUDY_); command-line flags override them."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ALL_SERVICES = ("fivesim", "nebeus", "backoffice")
MIN_ADMIN_TOKEN_LENGTH = 16


class UnsafeSettingError(ValueError):
    """A setting that would be unsafe to run with; the message is one line for the operator."""


class Settings(BaseSettings):
    """Process-wide settings; each service reads its own UNDERSTUDY_<SERVICE>_* settings."""

    model_config = SettingsConfigDict(env_prefix="UNDERSTUDY_", extra="ignore")

    database_url: str = "sqlite:///./understudy.db"
    admin_token: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Understudy <no-reply@understudy.localhost>"
    services: str = ",".join(ALL_SERVICES)
    debug: bool = False
    log_level: str = "info"
    # FastAPI's own OpenTelemetry spans and metrics (needs an OpenTelemetry SDK and OTEL_* set-up);
    # off by default: /metrics and the JSON logs are the built-in observability.
    opentelemetry: bool = False
    sweep_interval: float = Field(default=1.0, gt=0)
    sweep_batch: int = Field(default=100, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    threads: int = Field(default=40, gt=0, le=1000)
    worker_healthcheck_timeout: int = Field(default=60, gt=0)
    # Seconds an idle HTTP/1.1 connection stays open. Longer than the idle timeouts of common
    # proxies and client pools (60 s): a server that closes first races the client's next request
    # on that connection, which then fails with a reset (a proxy answers 502).
    keep_alive_timeout: int = Field(default=75, gt=0)
    # Operator console (/admin): cookie flags, session expiry (seconds), login rate limits.
    console_secure_cookies: bool = False
    console_idle_timeout: int = Field(default=30 * 60, gt=0)
    console_session_lifetime: int = Field(default=12 * 60 * 60, gt=0)
    console_login_limit_ip: str = "20/minute"
    console_login_limit_user: str = "5/minute"

    @field_validator("admin_token", "redis_url", "smtp_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("console_login_limit_ip", "console_login_limit_user")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit like '5/minute'") from None
        return value

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in ALL_SERVICES]
        if unknown:
            raise ValueError(
                f"unknown service(s) {', '.join(unknown)}; known: {', '.join(ALL_SERVICES)}"
            )
        return ",".join(names)

    @cached_property
    def enabled_services(self) -> tuple[str, ...]:
        """Enabled service names in canonical order."""
        wanted = set(self.services.split(","))
        return tuple(n for n in ALL_SERVICES if n in wanted)

    @property
    def control_plane_enabled(self) -> bool:
        """The sandbox control plane exists only when an admin token is configured."""
        return self.admin_token is not None

    def check_safety(self) -> None:
        """Refuse obviously unsafe settings with a one-line explanation."""
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise UnsafeSettingError(
                f"UNDERSTUDY_ADMIN_TOKEN is {len(self.admin_token)} characters long; "
                f"use at least {MIN_ADMIN_TOKEN_LENGTH} (e.g. `openssl rand -hex 24`)"
            )
