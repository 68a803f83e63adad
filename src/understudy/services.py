"""The registry of services: what each one mounts, seeds and offers on the command line."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import typer
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from understudy.config import ALL_SERVICES
from understudy.context import AppContext
from understudy.shortcuts import Shortcut


@dataclass(frozen=True)
class DemoInfo:
    """What the --demo banner prints for a service: credentials and a first curl line."""

    lines: tuple[str, ...]
    curl: str


@dataclass
class Service:
    """One service's plug-in points; everything is optional so services can grow into it."""

    name: str
    description: str
    router: APIRouter | None = None
    control_router: APIRouter | None = None
    # Renders the service's answer to an unrouted request (404, or 405 for a wrong verb) that
    # falls under it, else None.
    not_found: Callable[[Request, int], Response | None] | None = None
    # Renders the service's answer to an unhandled exception in a request it owns, else None.
    server_error: Callable[[Request, Exception], Response | None] | None = None
    # Idempotent: reference data (and fixed rows like backoffice's admin) after migrate/reset.
    seed: Callable[[Session, AppContext], None] | None = None
    # Loads demo data once; returns what the banner prints.
    demo: Callable[[AppContext], DemoInfo] | None = None
    cli: typer.Typer | None = None
    # Tables a sandbox reset keeps (e.g. instance secrets).
    kept_tables: tuple[str, ...] = field(default_factory=tuple)
    # Entered when a worker starts serving and left when it stops (background tasks, listeners).
    lifespan: Callable[[AppContext], AbstractAsyncContextManager[None]] | None = None
    # Exception types the service renders itself, wherever they are raised in its routes.
    exception_handlers: dict[
        type[Exception], Callable[[Request, Exception], Awaitable[Response]]
    ] = field(default_factory=dict)
    # Requests answered ahead of routing when they can be (see understudy.shortcuts).
    shortcuts: tuple[Shortcut, ...] = ()


def load(name: str) -> Service:
    """Import a service package and return its Service."""
    module = importlib.import_module(f"understudy.{name}")
    return module.service  # type: ignore[no-any-return]


def load_all(names: tuple[str, ...] = ALL_SERVICES) -> list[Service]:
    """The named services, in canonical order."""
    return [load(n) for n in ALL_SERVICES if n in names]


def import_all_models() -> None:
    """Import every service (and so every table) regardless of which are enabled."""
    importlib.import_module("understudy.core.models")
    importlib.import_module("understudy.console.models")
    for name in ALL_SERVICES:
        load(name)
