"""fivesim's knobs (environment UNDERSTUDY_FIVESIM_*), one per design decision of the contract."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FivesimSettings(BaseSettings):
    """Settings of the fivesim service."""

    model_config = SettingsConfigDict(env_prefix="UNDERSTUDY_FIVESIM_", extra="ignore")

    rate_limit: int = Field(default=100, ge=0)
    # The limit's window; the documented one is a second (tests use longer ones).
    rate_limit_period: Literal["second", "minute", "hour"] = "second"
    vendor_share: float = Field(default=0.8, ge=0, le=1)
    activation_minutes: int = Field(default=15, gt=0)
    reuse_days: int = Field(default=30, gt=0)
    flash_en: str = ""
    flash_ru: str = ""
    no_free_phones_status: int = Field(default=400, ge=200, le=599)
    cancel_min_seconds: int = Field(default=0, ge=0)
    start_rating: float = Field(default=96, ge=0, le=96)
    maintenance: bool = False
    # The newer rating text: the rating caps how many orders may be open at once.
    cap_active_orders: bool = False
    rate_window_hours: int = Field(default=720, gt=0)
    rate_min_orders: int = Field(default=10, ge=0)
    # The demo vendor's simulated modem: seconds from a buy to its SMS.
    modem_seconds: int = Field(default=5, ge=0)
    # Size of the `serve --demo` catalogue (operators 0: each country's real operators).
    demo_countries: int = Field(default=40, ge=1, le=174)
    demo_products: int = Field(default=250, ge=1, le=5000)
    demo_operators: int = Field(default=0, ge=0, le=10)
    demo_numbers: int = Field(default=30, ge=5, le=1000)


@lru_cache(maxsize=1)
def get_settings() -> FivesimSettings:
    """The settings read once per process."""
    return FivesimSettings()
