"""The KYC review queue: pending identity/address items with their documents, approved or rejected
through the service so the user's dashboard points follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from understudy.console.nebeus.common import when
from understudy.console.pages import ConsolePage, FormError, Pager, context, not_found, path_id
from understudy.core.db import MAX_ID, is_id, row_by_id
from understudy.nebeus import kyc
from understudy.nebeus.models import Partner, User, Verification, VerificationDocument

DECISIONS = {"approve": "verified", "reject": "rejected"}
SHOWN_STATES = ("pending", "verified", "rejected")
DOCUMENTS_PER_ITEM = 5
# Uploaded files are served as what their signature says, never sniffed, never cached.
DOCUMENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
IMAGE_POLICY = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
}


class DecisionForm(Form):
    """Approve or reject one item, as seen with its newest document (0 when it has none)."""

    decision = SelectField("Decision", choices=[(d, d) for d in DECISIONS])
    document_id = IntegerField(
        "Document", validators=[InputRequired(), NumberRange(min=0, max=MAX_ID)]
    )


@dataclass(frozen=True)
class Document:
    """An uploaded scan, without its bytes."""

    id: int
    content_type: str
    uploaded_at: str

    @property
    def is_image(self) -> bool:
        """Whether a browser can show it in an <img>."""
        return self.content_type.startswith("image/")


@dataclass
class QueueItem:
    """One KYC item of the queue with the user and their documents for it, newest first."""

    id: int
    user_id: int
    login: str
    name: str
    item: str
    status: str
    updated_at: str
    documents: list[Document] = field(default_factory=list)

    @property
    def newest_document(self) -> int:
        """The id of the newest document (0 when there is none)."""
        return self.documents[0].id if self.documents else 0


def queue_page(session: Session, pager: Pager, state: str) -> list[QueueItem]:
    """Document items in that state (oldest change first when pending, else newest)."""
    query = (
        select(Verification, User.login, Partner.name, Partner.surname)
        .join(User, User.id == Verification.user_id)
        .join(Partner, Partner.id == User.partner_id)
        .where(Verification.status == state, Verification.item.in_(kyc.DOCUMENT_ITEMS))
    )
    if pager.q:
        query = query.where(User.login.icontains(pager.q, autoescape=True))
    pager.total = session.scalar(select(func.count()).select_from(query.subquery()))
    order = Verification.updated_at if state == "pending" else Verification.updated_at.desc()
    rows = session.execute(
        query.order_by(order, Verification.id).offset(pager.offset).limit(pager.size)
    ).all()
    items = [
        QueueItem(
            id=row.id,
            user_id=row.user_id,
            login=login,
            name=f"{name} {surname}".strip(),
            item=row.item,
            status=row.status,
            updated_at=when(row.updated_at),
        )
        for row, login, name, surname in rows
    ]
    for entry in items:
        entry.documents = documents_of(session, entry.user_id, entry.item, DOCUMENTS_PER_ITEM)
    return items


def documents_of(
    session: Session, user_id: int, item: str, limit: int | None = None
) -> list[Document]:
    """The user's documents for that item, newest first."""
    query = (
        select(
            VerificationDocument.id,
            VerificationDocument.content_type,
            VerificationDocument.uploaded_at,
        )
        .where(VerificationDocument.user_id == user_id, VerificationDocument.item == item)
        .order_by(VerificationDocument.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        Document(id=i, content_type=t, uploaded_at=when(at)) for i, t, at in session.execute(query)
    ]


def newest_document_id(session: Session, user_id: int, item: str) -> int:
    """The id of the user's newest document for the item (0 when none)."""
    found = session.scalar(
        select(func.max(VerificationDocument.id)).where(
            VerificationDocument.user_id == user_id, VerificationDocument.item == item
        )
    )
    return int(found or 0)


def decide(
    session: Session, *, item_id: int, decision: str, seen_document: int, now: Any
) -> dict[str, Any]:
    """Set a pending item verified or rejected with the service's KYC function.

    The item's row is locked first, so a second decision (even a concurrent one) finds it
    decided and is refused; so is a decision on a document older than the newest upload.
    """
    row = None
    if is_id(item_id):
        wanted = select(Verification).where(Verification.id == item_id).with_for_update()
        row = session.scalar(wanted)
    if row is None:
        raise FormError("This KYC item does not exist.")
    login = session.scalar(select(User.login).where(User.id == row.user_id))
    if row.status != "pending":
        raise FormError(
            f"The {row.item} item of {login} was already decided: it is "
            f"{row.status.replace('_', ' ')}. Nothing was changed."
        )
    newest = newest_document_id(session, row.user_id, row.item)
    if newest != seen_document:
        raise FormError(
            f"{login} uploaded a newer {row.item} document since this page was shown; "
            "review it before deciding. Nothing was changed."
        )
    state = DECISIONS[decision]
    try:
        kyc.operator_set(session, user_id=row.user_id, item=row.item, state=state, now=now)
    except kyc.KycError as exc:
        raise FormError(exc.message) from None
    return {
        "login": login,
        "user_id": row.user_id,
        "item": row.item,
        "to": state,
        "document_id": newest,
    }


class KycQueuePage(ConsolePage):
    """The review queue, each document, and the decisions."""

    name = "KYC review"
    category = "nebeus"
    icon = "fa-solid fa-id-card"

    @expose("/nebeus/kyc", methods=["GET"], identity="nebeus-kyc-queue")
    async def queue(self, request: Request) -> Response:
        """Items waiting for review (or recently decided ones), with their documents."""
        return await self._queue(request, None)

    async def _queue(self, request: Request, form: DecisionForm | None) -> Response:
        pager = Pager(request)
        state = request.query_params.get("state", "pending")
        state = state if state in SHOWN_STATES else "pending"
        items = await self.read(request, lambda s: queue_page(s, pager, state))
        return await self.render(
            request,
            "console/nebeus/kyc_queue.html",
            form=form,
            items=items,
            pager=pager,
            state=state,
            states=SHOWN_STATES,
            title="KYC review" if state == "pending" else f"KYC items {state}",
            pretitle="nebeus",
        )

    @expose(
        "/nebeus/kyc/documents/{document_id:int}", methods=["GET"], identity="nebeus-kyc-document"
    )
    async def document(self, request: Request) -> Response:
        """An uploaded document's bytes, as the type its signature gave (PDF, JPEG or PNG)."""
        document_id = path_id(request, "document_id", "document")

        def load(session: Session) -> tuple[bytes, str] | None:
            doc = row_by_id(session, VerificationDocument, document_id)
            return (doc.content, doc.content_type) if doc is not None else None

        found = await self.read(request, load)
        if found is None:
            not_found("document")
        content, content_type = found
        if content_type not in kyc.SIGNATURES.values():
            content_type = "application/octet-stream"
        extension = content_type.rsplit("/", 1)[-1]
        headers = DOCUMENT_HEADERS | {
            "Content-Disposition": f'inline; filename="kyc-document-{document_id}.{extension}"'
        }
        if content_type.startswith("image/"):
            headers |= IMAGE_POLICY
        return Response(content, media_type=content_type, headers=headers)

    @expose("/nebeus/kyc/{item_id:int}/decision", methods=["POST"], identity="nebeus-kyc-decide")
    async def decision(self, request: Request) -> Response:
        """Approve (verified) or reject an item; a decided item is refused with a message."""
        item_id = int(request.path_params["item_id"])
        form = await self.form(request, DecisionForm)
        if form.validate():
            ctx = context(request)
            decision = str(form.decision.data)

            def work(session: Session) -> dict[str, Any]:
                return decide(
                    session,
                    item_id=item_id,
                    decision=decision,
                    seen_document=int(form.document_id.data),
                    now=ctx.now(session),
                )

            try:
                done = await self.change(
                    request, f"nebeus.kyc.{decision}", f"nebeus:kyc:{item_id}", work, lambda d: d
                )
            except FormError as exc:
                exc.attach(form)
            else:
                verb = "approved" if decision == "approve" else "rejected"
                message = f"{done['item'].capitalize()} of {done['login']} {verb}"
                return self.done(request, message, self.url(request, "nebeus-kyc-queue"))
        if not form.errors and not getattr(form, "form_errors", None):
            form.form_errors = ["The decision could not be read."]
        return await self._queue(request, form)
