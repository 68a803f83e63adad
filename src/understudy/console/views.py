"""Read-only sqladmin list and detail views: the audit log and the operators.

Every view is read-only (no create, edit, delete, export or import): sqladmin's own forms do not
carry our CSRF token, and exports would bypass the column exclusions. The services' pages, with
their forms and actions, are ConsolePages in console/<service>/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqladmin import ModelView
from starlette.requests import Request

from understudy.console.models import AuditEntry, ConsoleOperator
from understudy.core.db import parse_id


class ReadOnlyView(ModelView):
    """A list and detail view with every write and bulk action switched off."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_import = False
    page_size = 50
    page_size_options: ClassVar[list[int]] = [25, 50, 100]

    async def get_object_for_details(self, request: Request) -> Any:
        """The row the path names; None (sqladmin's 404) when the path is not an id."""
        if parse_id(request.path_params["pk"]) is None:
            return None
        return await super().get_object_for_details(request)


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


# sqladmin names a view after its model's class; ours are named by what they show.
VIEWS: dict[str, type[ReadOnlyView]] = {
    "audit": AuditView,
    "operators": OperatorView,
}
for _identity, _view in VIEWS.items():
    _view.identity = _identity
