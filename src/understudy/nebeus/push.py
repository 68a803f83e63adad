"""OneSignal device registration, off unless UNDERSTUDY_NEBEUS_ONESIGNAL_* are set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from understudy.core import timers
from understudy.nebeus import outbound
from understudy.nebeus.models import Device
from understudy.nebeus.settings import get_settings

KIND = "nebeus.onesignal"
PLAYERS = "https://onesignal.com/api/v1/players"


def enabled() -> bool:
    """Whether OneSignal is configured."""
    settings = get_settings()
    return bool(settings.onesignal_app_id and settings.onesignal_api_key)


def schedule_registration(session: Session, *, device_id: int, now: datetime) -> None:
    """Register (or update) the device with OneSignal soon, retried on failure."""
    if enabled():
        timers.schedule(session, kind=KIND, key=str(device_id), due_at=now)


def onesignal_call(method: str, url: str, *, api_key: str, json: dict[str, Any]) -> dict[str, Any]:
    """One OneSignal request; raises on failure (replaced in tests)."""
    response = httpx.request(
        method, url, json=json, headers={"Authorization": f"Basic {api_key}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def player_body(device: Device, app_id: str) -> dict[str, Any]:
    """OneSignal's add-a-device fields (`app_version` is sent as `game_version`)."""
    body: dict[str, Any] = {"app_id": app_id, "identifier": device.identifier}
    optional = {
        "device_type": device.device_type,
        "language": device.language,
        "timezone": device.timezone,
        "game_version": device.app_version,
        "device_model": device.device_model,
        "device_os": device.device_os,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


@outbound.handoff(KIND)
def _register(
    session: Session, *, key: str, payload: dict[str, Any], now: datetime
) -> outbound.Job | None:
    """Create the player, or update the known one, after commit; keeps the player id."""
    settings = get_settings()
    device = session.get(Device, int(key))
    api_key = settings.onesignal_api_key
    if device is None or not (settings.onesignal_app_id and api_key):
        return None
    body = player_body(device, settings.onesignal_app_id)
    device_id, player_id = device.id, device.player_id
    if player_id:
        return outbound.Job(
            send=lambda: onesignal_call("PUT", f"{PLAYERS}/{player_id}", api_key=api_key, json=body)
        )

    def keep_player(recording: Session, answer: dict[str, Any]) -> None:
        row = recording.get(Device, device_id)
        if row is not None:
            row.player_id = str(answer.get("id") or "")[:100] or None

    return outbound.Job(
        send=lambda: onesignal_call("POST", PLAYERS, api_key=api_key, json=body), done=keep_player
    )
