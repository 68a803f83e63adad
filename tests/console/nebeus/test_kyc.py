"""The KYC review queue: documents shown, approve/reject through the service with the dashboard
points following, and a second decision refused without a second effect."""

from __future__ import annotations

import asyncio
import html

import httpx

from tests.console.conftest import csrf_token
from tests.console.nebeus.helpers import (
    PDF,
    PNG,
    UPLOAD,
    audit_rows,
    dashboard,
    item_id,
    post_form,
    user_with_pending,
)
from tests.nebeus.helpers import rpc
from understudy.context import AppContext

QUEUE = "/admin/nebeus/kyc"


def decision(item: int) -> str:
    return f"/admin/nebeus/kyc/{item}/decision"


def document_id(page: str, item: int) -> int:
    """The document id the page's approve form of that item carries."""
    form = page.split(f'id="kyc-approve-form-{item}"', 1)[1].split("</form>", 1)[0]
    return int(form.split('name="document_id" value="', 1)[1].split('"', 1)[0])


async def test_the_queue_shows_waiting_items_with_their_documents(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    await user_with_pending(
        signed_in, ctx, "queue@example.com", ("identity", PNG), ("address", PDF)
    )
    await user_with_pending(signed_in, ctx, "idle@example.com")
    page = await signed_in.get(QUEUE)
    assert page.status_code == 200
    identity, address = (item_id(ctx, "queue@example.com", i) for i in ("identity", "address"))
    for item in (identity, address):
        assert f'data-kyc-item="{item}"' in page.text
        assert f'id="kyc-approve-{item}"' in page.text and f'id="kyc-reject-{item}"' in page.text
    assert "idle@example.com" not in page.text
    assert "<img src=" in page.text and "PDF" in page.text

    image = await signed_in.get(f"/admin/nebeus/kyc/documents/{document_id(page.text, identity)}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["cache-control"] == "no-store"
    pdf = await signed_in.get(f"/admin/nebeus/kyc/documents/{document_id(page.text, address)}")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert (await signed_in.get("/admin/nebeus/kyc/documents/999999")).status_code == 404

    searched = await signed_in.get(QUEUE, params={"q": "nobody-like-this"})
    assert f'data-kyc-item="{identity}"' not in searched.text


async def test_approving_gives_the_dashboard_points_once(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "ok@example.com", ("identity", PNG))
    before = await dashboard(signed_in, sid)
    assert before["verification"]["identity"] == {"status": "pending", "points": 0}
    assert before["credit_rank"] == 0
    item = item_id(ctx, "ok@example.com", "identity")
    page = await signed_in.get(QUEUE)
    seen = document_id(page.text, item)

    answer = await post_form(
        signed_in, decision(item), {"decision": "approve", "document_id": seen}
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith(QUEUE)
    after = await dashboard(signed_in, sid)
    assert after["verification"]["identity"] == {"status": "verified", "points": 5}
    assert after["credit_rank"] == 1
    [entry] = audit_rows(ctx, "nebeus.kyc.approve")
    assert entry.target == f"nebeus:kyc:{item}" and "ok@example.com" in entry.details
    assert f'data-kyc-item="{item}"' not in (await signed_in.get(QUEUE)).text
    verified = await signed_in.get(QUEUE, params={"state": "verified"})
    assert f'data-kyc-item="{item}"' in verified.text

    again = await post_form(signed_in, decision(item), {"decision": "approve", "document_id": seen})
    assert again.status_code == 400
    assert "was already decided: it is verified. Nothing was changed." in html.unescape(again.text)
    reject = await post_form(signed_in, decision(item), {"decision": "reject", "document_id": seen})
    assert reject.status_code == 400 and "already decided" in reject.text
    assert len(audit_rows(ctx, "nebeus.kyc.approve")) == 1
    assert audit_rows(ctx, "nebeus.kyc.reject") == []
    assert (await dashboard(signed_in, sid))["verification"] == after["verification"]


async def test_rejecting_lets_the_user_upload_again(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "no@example.com", ("address", PDF))
    item = item_id(ctx, "no@example.com", "address")
    seen = document_id((await signed_in.get(QUEUE)).text, item)
    answer = await post_form(signed_in, decision(item), {"decision": "reject", "document_id": seen})
    assert answer.status_code == 303
    body = await dashboard(signed_in, sid)
    assert body["verification"]["address"] == {"status": "rejected", "points": 0}
    assert len(audit_rows(ctx, "nebeus.kyc.reject")) == 1

    upload = {"item": "address", "document": PNG}
    assert await rpc(signed_in, UPLOAD, upload, session=sid) == {"status": "success"}
    # The old page's decision names the rejected document: refused, the new one is unseen.
    stale = await post_form(signed_in, decision(item), {"decision": "approve", "document_id": seen})
    assert stale.status_code == 400 and "uploaded a newer address document" in stale.text
    assert (await dashboard(signed_in, sid))["verification"]["address"]["status"] == "pending"
    newest = document_id((await signed_in.get(QUEUE)).text, item)
    assert newest != seen
    ok = await post_form(signed_in, decision(item), {"decision": "approve", "document_id": newest})
    assert ok.status_code == 303
    assert (await dashboard(signed_in, sid))["verification"]["address"] == {
        "status": "verified",
        "points": 5,
    }


async def test_bad_decisions_change_nothing(signed_in: httpx.AsyncClient, ctx: AppContext) -> None:
    sid = await user_with_pending(signed_in, ctx, "bad@example.com", ("identity", PNG))
    item = item_id(ctx, "bad@example.com", "identity")
    seen = document_id((await signed_in.get(QUEUE)).text, item)
    for data in (
        {"decision": "maybe", "document_id": seen},
        {"decision": "approve"},
        {"decision": "approve", "document_id": "x"},
        {"document_id": seen},
    ):
        answer = await post_form(signed_in, decision(item), data)
        assert answer.status_code == 400, data
        assert "data-field-error" in answer.text, data
    unknown = await post_form(
        signed_in, decision(999999), {"decision": "approve", "document_id": 0}
    )
    assert unknown.status_code == 400 and "does not exist" in unknown.text
    assert (await dashboard(signed_in, sid))["verification"]["identity"]["status"] == "pending"
    assert audit_rows(ctx, "nebeus.kyc.approve") == audit_rows(ctx, "nebeus.kyc.reject") == []


async def test_two_decisions_at_once_take_effect_once(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    sid = await user_with_pending(signed_in, ctx, "race@example.com", ("identity", PNG))
    item = item_id(ctx, "race@example.com", "identity")
    seen = document_id((await signed_in.get(QUEUE)).text, item)
    token = await csrf_token(signed_in)
    answers = await asyncio.gather(
        *(
            signed_in.post(
                decision(item), data={"csrf_token": token, "decision": d, "document_id": seen}
            )
            for d in ("approve", "reject", "approve")
        )
    )
    assert sorted(a.status_code for a in answers) == [303, 400, 400]
    decided = audit_rows(ctx, "nebeus.kyc.approve") + audit_rows(ctx, "nebeus.kyc.reject")
    assert len(decided) == 1
    state = "verified" if decided[0].action == "nebeus.kyc.approve" else "rejected"
    assert (await dashboard(signed_in, sid))["verification"]["identity"]["status"] == state
