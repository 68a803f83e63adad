"""The console's nebeus pages: users, the KYC review queue, currency rates, loans, helpdesk."""

from __future__ import annotations

from sqladmin import BaseView

from understudy.console.nebeus.helpdesk import HelpdeskPage
from understudy.console.nebeus.kyc_review import KycQueuePage
from understudy.console.nebeus.loans import LoansPage
from understudy.console.nebeus.rates import RatesPage
from understudy.console.nebeus.users import UsersPage

PAGES: list[type[BaseView]] = [UsersPage, KycQueuePage, RatesPage, LoansPage, HelpdeskPage]
