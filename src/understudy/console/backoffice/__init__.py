"""The console's backoffice pages (custom ConsolePage views and sqladmin ModelViews)."""

from __future__ import annotations

from sqladmin import BaseView

from understudy.console.backoffice.api_keys import ApiKeysPage
from understudy.console.backoffice.genealogy import GenealogyPage
from understudy.console.backoffice.members import MembersPage
from understudy.console.backoffice.notices import NoticesPage
from understudy.console.backoffice.plans import PlansPage
from understudy.console.backoffice.resources import ResourcesPage
from understudy.console.backoffice.tickets import TicketsPage

PAGES: list[type[BaseView]] = [
    MembersPage,
    GenealogyPage,
    PlansPage,
    NoticesPage,
    ResourcesPage,
    TicketsPage,
    ApiKeysPage,
]
