"""The console's nebeus pages (custom ConsolePage views and sqladmin ModelViews)."""

from __future__ import annotations

from sqladmin import BaseView

PAGES: list[type[BaseView]] = []
