"""The console's fivesim pages (custom ConsolePage views), in menu order."""

from __future__ import annotations

from sqladmin import BaseView

from understudy.console.fivesim.catalogue_pages import (
    CountriesPage,
    OperatorsPage,
    PricesPage,
    ProductsPage,
)
from understudy.console.fivesim.orders_pages import OrdersPage
from understudy.console.fivesim.payouts_pages import PayoutsPage
from understudy.console.fivesim.users_pages import UsersPage
from understudy.console.fivesim.vendors_pages import VendorsPage

PAGES: list[type[BaseView]] = [
    UsersPage,
    OrdersPage,
    PricesPage,
    CountriesPage,
    OperatorsPage,
    ProductsPage,
    VendorsPage,
    PayoutsPage,
]
