"""Uploaded resource files: kept in the database, served under /uploads/resource/file."""

from __future__ import annotations

import httpx
import pytest

from understudy.backoffice import resource_files
from understudy.context import AppContext


def keep(ctx: AppContext, name: str, kind: str, data: bytes) -> str:
    with ctx.db.write() as session:
        return resource_files.store(
            session, filename=name, content_type=kind, data=data, now=ctx.now(session)
        )


async def test_a_stored_file_is_served_publicly(client: httpx.AsyncClient, ctx: AppContext) -> None:
    path = keep(ctx, "../plan de negocios.pdf", "application/pdf", b"%PDF-1.4")
    assert path == "/uploads/resource/file/1/plan_de_negocios.pdf"
    served = await client.get(path)
    assert served.status_code == 200 and served.content == b"%PDF-1.4"
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == 'inline; filename="plan_de_negocios.pdf"'
    assert served.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/uploads/resource/file/1/other.pdf")).status_code == 404
    for bad in ("x", "²", "9" * 5000):  # "²" passes str.isdigit(), the long one int()'s limit
        answer = await client.get(f"/uploads/resource/file/{bad}/plan_de_negocios.pdf")
        assert answer.status_code == 404


async def test_pages_a_browser_could_run_are_downloads(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    path = keep(ctx, "page.html", "text/html", b"<script>alert(1)</script>")
    served = await client.get(path)
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment;")


def test_empty_and_oversized_files_are_refused(ctx: AppContext) -> None:
    with pytest.raises(resource_files.RefusedFile, match="empty"):
        keep(ctx, "a.pdf", "application/pdf", b"")
    with pytest.raises(resource_files.RefusedFile, match="larger"):
        keep(ctx, "a.pdf", "application/pdf", b"x" * (resource_files.MAX_BYTES + 1))
