"""API keys ("Menu > API" in the seed): list, generate (the key is shown once), revoke."""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, StringField
from wtforms.validators import Length

from understudy.backoffice import keys
from understudy.console.backoffice.forms import CONTROL, no_nul, stripped
from understudy.console.pages import ConsolePage, FormError, context


class KeyForm(Form):
    label = StringField(
        "Label",
        validators=[Length(max=200), no_nul],
        filters=[stripped],
        render_kw={**CONTROL, "placeholder": "What the key is for"},
    )


def key_rows(session: Session) -> list[dict[str, Any]]:
    """Every key issued, newest first, with its display prefix only."""
    return [
        {
            "id": row.id,
            "prefix": row.prefix,
            "label": row.label,
            "created_at": row.created_at,
            "revoked_at": row.revoked_at,
        }
        for row in reversed(keys.list_keys(session))
    ]


class ApiKeysPage(ConsolePage):
    """API keys: the seed's Menu > API."""

    name = "API keys"
    category = "backoffice"
    icon = "fa-solid fa-key"

    @expose("/backoffice/api-keys", methods=["GET", "POST"], identity="backoffice-api-keys")
    async def api_keys(self, request: Request) -> Response:
        """The keys; POST issues a new one and shows it once."""
        form = await self.form(request, KeyForm)
        if request.method == "POST" and form.validate():
            label = form.label.data or ""

            def work(session: Session) -> tuple[int, str]:
                row, key = keys.create_key(session, label=label, now=context(request).now(session))
                return row.id, key

            key_id, key = await self.change(
                request,
                "backoffice.api_key_create",
                "backoffice api keys",
                work,
                lambda made: {"key_id": made[0], "label": label},
            )
            self.reveal_once(
                request,
                key,
                title=f"API key {key_id}",
                label="Copy this key now: it is stored only as a hash and will not be shown again.",
            )
            form = KeyForm()
        return await self.show(request, form)

    @expose(
        "/backoffice/api-keys/{key_id:int}/revoke",
        methods=["POST"],
        identity="backoffice-api-key-revoke",
    )
    async def revoke(self, request: Request) -> Response:
        """Revoke a key: requests with it then fail like a wrong key."""
        key_id = request.path_params["key_id"]
        await self.posted(request)

        def work(session: Session) -> None:
            if not keys.revoke_key(session, key_id=key_id, now=context(request).now(session)):
                raise FormError(f"No active API key {key_id}.")

        try:
            await self.change(
                request, "backoffice.api_key_revoke", f"backoffice api key {key_id}", work
            )
        except FormError as exc:
            form = KeyForm()
            exc.attach(form)
            return await self.show(request, form, status_code=400)
        return self.done(
            request, f"API key {key_id} revoked", self.url(request, "backoffice-api-keys")
        )

    async def show(
        self, request: Request, form: KeyForm, status_code: int | None = None
    ) -> Response:
        """The key list and the generate form."""
        rows = await self.read(request, key_rows)
        return await self.render(
            request,
            "console/backoffice/api_keys.html",
            status_code=status_code,
            form=form,
            title="API keys",
            pretitle="backoffice · Menu > API",
            rows=rows,
            action=self.url(request, "backoffice-api-keys"),
            secret_next_url=self.url(request, "backoffice-api-keys"),  # closing the modal
            revoke_url=lambda key_id: self.url(request, "backoffice-api-key-revoke", key_id=key_id),
        )
