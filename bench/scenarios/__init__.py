"""Scenario model and discovery: one module per scenario in this package, exporting SCENARIO."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Live:
    """The running server as seen by a scenario's setup: base URL and the server's environment."""

    base_url: str
    env: Mapping[str, str]

    @property
    def admin_token(self) -> str | None:
        """The sandbox control-plane token the server was started with, if any."""
        return self.env.get("UNDERSTUDY_ADMIN_TOKEN")

    def client(self) -> httpx.Client:
        """A synchronous httpx client bound to the server (caller closes it)."""
        return httpx.Client(base_url=self.base_url, timeout=30.0)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the sandbox control plane (/_understudy/...) and return the decoded JSON answer."""
        if not self.admin_token:
            raise RuntimeError("scenario needs the control plane: set needs_admin=True")
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        with self.client() as client:
            response = client.request(method, path, json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json()


@dataclass(frozen=True)
class Request:
    """One request template driven by the load generator (round-robin, repeated `weight` times)."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | None = None
    json: Any = None
    weight: int = 1
    name: str = ""

    def body_bytes(self) -> bytes | None:
        """The body as bytes: `json` serialized compactly, else `body` encoded as UTF-8."""
        if self.json is not None:
            return json.dumps(self.json, separators=(",", ":")).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body

    def all_headers(self) -> dict[str, str]:
        """Headers to send, adding a JSON Content-Type when `json` is used and none was given."""
        headers = dict(self.headers)
        if self.json is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        return headers

    @property
    def label(self) -> str:
        """A short human name for reports."""
        return self.name or f"{self.method} {self.path}"


Context = dict[str, Any]
Setup = Callable[[Live], Context]
RequestsSpec = Sequence[Request] | Callable[[Context], Sequence[Request]]


@dataclass(frozen=True)
class Scenario:
    """A named benchmark: how to start the server, prepare it, and what to send."""

    name: str
    description: str
    requests: RequestsSpec
    services: Sequence[str] | None = None
    server_args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    needs_admin: bool = False
    setup: Setup | None = None
    mutates: bool = False

    def build_requests(self, context: Context) -> list[Request]:
        """Resolve the request templates (calling `requests(context)` when it is a function)."""
        spec = self.requests
        templates = list(spec(context) if callable(spec) else spec)
        if not templates:
            raise ValueError(f"scenario {self.name!r} declares no requests")
        for template in templates:
            if template.weight < 1:
                raise ValueError(f"{template.label}: weight must be >= 1")
        return templates


def expand_weights(templates: Sequence[Request]) -> list[Request]:
    """Interleave templates by weight into one round-robin cycle (A,B,A,A for weights 3:1)."""
    remaining = [t.weight for t in templates]
    cycle: list[Request] = []
    while any(remaining):
        for index, template in enumerate(templates):
            if remaining[index]:
                cycle.append(template)
                remaining[index] -= 1
    return cycle


def available() -> list[str]:
    """Names of all scenario modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> Scenario:
    """Import bench.scenarios.<name> and return its SCENARIO."""
    if name not in available():
        raise LookupError(f"unknown scenario {name!r}; available: {', '.join(available())}")
    module = importlib.import_module(f"{__name__}.{name}")
    scenario = getattr(module, "SCENARIO", None)
    if not isinstance(scenario, Scenario):
        raise LookupError(f"bench/scenarios/{name}.py does not define SCENARIO = Scenario(...)")
    return scenario
