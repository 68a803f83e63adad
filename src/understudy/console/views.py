"""Read-only list and detail views: the audit log, operators and the services' main tables.

Every view is read-only for now (no create, edit, delete, export or import): sqladmin's own
forms do not carry our CSRF token, and exports would bypass the column exclusions.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqladmin import ModelView

from understudy.backoffice.models import Member
from understudy.console.models import AuditEntry, ConsoleOperator
from understudy.fivesim.models import Order as FivesimOrder
from understudy.fivesim.models import User as FivesimUser
from understudy.nebeus.models import User as NebeusUser


class ReadOnlyView(ModelView):
    """A list and detail view with every write and bulk action switched off."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_import = False
    page_size = 50
    page_size_options: ClassVar[list[int]] = [25, 50, 100]


class AuditView(ReadOnlyView, model=AuditEntry):
    name = "Audit entry"
    name_plural = "Audit log"
    category = "Console"
    icon = "fa-solid fa-clipboard-list"
    column_list: ClassVar[list[Any]] = [
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.operator,
        AuditEntry.action,
        AuditEntry.target,
        AuditEntry.ip,
        AuditEntry.details,
    ]
    column_searchable_list: ClassVar[list[Any]] = [AuditEntry.action, AuditEntry.target]
    column_sortable_list: ClassVar[list[Any]] = [AuditEntry.id, AuditEntry.at, AuditEntry.action]
    column_default_sort: ClassVar[Any] = [(AuditEntry.id, True)]


class OperatorView(ReadOnlyView, model=ConsoleOperator):
    name = "Operator"
    name_plural = "Operators"
    category = "Console"
    icon = "fa-solid fa-user-shield"
    column_list: ClassVar[list[Any]] = [
        ConsoleOperator.id,
        ConsoleOperator.username,
        ConsoleOperator.active,
        ConsoleOperator.created_at,
        ConsoleOperator.password_changed_at,
    ]
    column_details_list: ClassVar[list[Any]] = column_list
    column_searchable_list: ClassVar[list[Any]] = [ConsoleOperator.username]
    column_sortable_list: ClassVar[list[Any]] = [ConsoleOperator.id, ConsoleOperator.username]


class FivesimUserView(ReadOnlyView, model=FivesimUser):
    name = "User"
    name_plural = "Users"
    category = "fivesim"
    icon = "fa-solid fa-user"
    column_list: ClassVar[list[Any]] = [
        FivesimUser.id,
        FivesimUser.email,
        FivesimUser.vendor,
        FivesimUser.rating,
        FivesimUser.blocked_until,
        FivesimUser.created_at,
    ]
    column_details_exclude_list: ClassVar[list[Any]] = [FivesimUser.token_hash]
    column_searchable_list: ClassVar[list[Any]] = [FivesimUser.email, FivesimUser.vendor]
    column_sortable_list: ClassVar[list[Any]] = [
        FivesimUser.id,
        FivesimUser.email,
        FivesimUser.created_at,
    ]


class FivesimOrderView(ReadOnlyView, model=FivesimOrder):
    name = "Order"
    name_plural = "Orders"
    category = "fivesim"
    icon = "fa-solid fa-phone"
    column_list: ClassVar[list[Any]] = [
        FivesimOrder.id,
        FivesimOrder.user_id,
        FivesimOrder.phone,
        FivesimOrder.country,
        FivesimOrder.operator,
        FivesimOrder.product,
        FivesimOrder.price,
        FivesimOrder.status,
        FivesimOrder.created_at,
    ]
    column_searchable_list: ClassVar[list[Any]] = [
        FivesimOrder.phone,
        FivesimOrder.product,
        FivesimOrder.status,
    ]
    column_sortable_list: ClassVar[list[Any]] = [
        FivesimOrder.id,
        FivesimOrder.status,
        FivesimOrder.created_at,
    ]
    column_default_sort: ClassVar[Any] = [(FivesimOrder.id, True)]


class BackofficeMemberView(ReadOnlyView, model=Member):
    name = "Member"
    name_plural = "Members"
    category = "backoffice"
    icon = "fa-solid fa-sitemap"
    column_list: ClassVar[list[Any]] = [
        Member.id,
        Member.username,
        Member.email,
        Member.first_name,
        Member.last_name,
        Member.country_code,
        Member.sponsor_id,
        Member.created_at,
    ]
    column_details_exclude_list: ClassVar[list[Any]] = [Member.password_hash]
    column_searchable_list: ClassVar[list[Any]] = [
        Member.username,
        Member.email,
        Member.last_name,
    ]
    column_sortable_list: ClassVar[list[Any]] = [Member.id, Member.username, Member.created_at]


class NebeusUserView(ReadOnlyView, model=NebeusUser):
    name = "User"
    name_plural = "Users"
    category = "nebeus"
    icon = "fa-solid fa-user"
    column_list: ClassVar[list[Any]] = [
        NebeusUser.id,
        NebeusUser.login,
        NebeusUser.active,
        NebeusUser.lang,
        NebeusUser.created_at,
    ]
    column_details_exclude_list: ClassVar[list[Any]] = [NebeusUser.password_hash]
    column_searchable_list: ClassVar[list[Any]] = [NebeusUser.login]
    column_sortable_list: ClassVar[list[Any]] = [NebeusUser.id, NebeusUser.login]


# sqladmin names a view after its model's class; two services both have a `User`.
VIEWS: dict[str, type[ReadOnlyView]] = {
    "audit": AuditView,
    "operators": OperatorView,
    "fivesim-users": FivesimUserView,
    "fivesim-orders": FivesimOrderView,
    "backoffice-members": BackofficeMemberView,
    "nebeus-users": NebeusUserView,
}
for _identity, _view in VIEWS.items():
    _view.identity = _identity
