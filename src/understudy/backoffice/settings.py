"""The back office's settings (environment UNDERSTUDY_BACKOFFICE_*)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackofficeSettings(BaseSettings):
    """Every knob the back office's contract names."""

    model_config = SettingsConfigDict(env_prefix="UNDERSTUDY_BACKOFFICE_", extra="ignore")

    time_zone: str = "America/Los_Angeles"
    asset_host: str | None = None
    flag_host: str = "https://cdnjs.cloudflare.com/ajax/libs/flag-icon-css/3.4.6"
    referral_base: str = "wwww.demo.com"
    jwt_secret: str | None = None
    jwt_ttl_hours: float = Field(default=24, gt=0)
    admin_password: str | None = None
    default_leg: Literal["left", "right", "binary_tank", "balanced"] = "left"
    request_token_on_edit: bool = False
    binary_mode: Literal["percent", "pairs"] = "percent"
    tank_days: int = Field(default=8, ge=0)
    binary_spillover: Literal["outer", "breadth_first"] = "outer"
    balanced_measure: Literal["count", "volume"] = "count"
    binary_period: Literal["daily", "weekly"] = "daily"
    purchase_wallet: int = Field(default=3, ge=1, le=5)
    matrix_width: int = Field(default=3, ge=1)
    matrix_depth: int = Field(default=3, ge=1)
    teamview_depth: int = Field(default=3, ge=1)
    popular_countries_limit: int = Field(default=10, ge=0)
    cashout_min: Decimal = Decimal("10.0")
    unilevel_compression: bool = False
    max_carry: Decimal | None = None

    @field_validator("asset_host", "jwt_secret", "admin_password", "max_carry", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The application time zone."""
        return ZoneInfo(self.time_zone)


@lru_cache(maxsize=1)
def get_settings() -> BackofficeSettings:
    """The settings read once from the environment (tests clear the cache)."""
    return BackofficeSettings()
