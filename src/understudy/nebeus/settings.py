"""nebeus's own settings (env UNDERSTUDY_NEBEUS_*)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class NebeusSettings(BaseSettings):
    """Knobs named by the contract; unset integrations are off."""

    model_config = SettingsConfigDict(env_prefix="UNDERSTUDY_NEBEUS_", extra="ignore")

    main_currency: str = "BTC"
    public_url: str | None = None
    chat_colon_aliases: bool = False
    onesignal_app_id: str | None = None
    onesignal_api_key: str | None = None
    zendesk_subdomain: str | None = None
    zendesk_email: str | None = None
    zendesk_token: str | None = None
    # the dashboard's social networks: an authorize link for each provider with a client id
    oauth_facebook_client_id: str | None = None
    oauth_google_client_id: str | None = None
    oauth_linkedin_client_id: str | None = None
    oauth_paypal_client_id: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> NebeusSettings:
    """The process's nebeus settings, read once."""
    return NebeusSettings()
