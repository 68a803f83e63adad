"""Social networks on the dashboard (contract §4.1) read their OAuth client ids from the nebeus
settings, env UNDERSTUDY_NEBEUS_OAUTH_<PROVIDER>_CLIENT_ID."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from understudy.context import AppContext
from understudy.nebeus import dashboard
from understudy.nebeus.settings import get_settings


@pytest.fixture
def google_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Google client id in the environment, read afresh."""
    monkeypatch.setenv("UNDERSTUDY_NEBEUS_OAUTH_GOOGLE_CLIENT_ID", "google-client-7")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("UNDERSTUDY_NEBEUS_OAUTH_GOOGLE_CLIENT_ID")
    get_settings.cache_clear()


def test_configured_provider_gets_an_authorize_link(
    ctx: AppContext, google_configured: None
) -> None:
    assert get_settings().oauth_google_client_id == "google-client-7"
    with ctx.db.read() as s:
        networks = dashboard.social_networks(s, user_id=1, base_url="https://nebeus.test/")
    links = {n["name"]: n["auth_link"] for n in networks}
    assert links["Facebook Graph"] == links["LinkedIn"] == links["PayPal"] == ""
    google = urlsplit(str(links["Google OAuth2"]))
    assert google.netloc == "accounts.google.com" and google.path == "/o/oauth2/auth"
    query = parse_qs(google.query)
    assert query["client_id"] == ["google-client-7"]
    assert query["redirect_uri"] == ["https://nebeus.test/auth_oauth/signin"]
    assert query["response_type"] == ["token"]
