"""Resource categories and resources in the console: a new category, a resource with its file
uploaded, listed by the API and its file served under /uploads."""

from __future__ import annotations

import httpx
import pytest

from tests.console.backoffice.conftest import audited, errors_at, post
from understudy.console.backoffice import resources
from understudy.context import AppContext

PAGE = "/admin/backoffice/resources"
PDF = b"%PDF-1.4\n% a tiny resource\n"
ABOUT = {"category_id": "5", "title": "Plan (PDF)", "description": "The plan in one page."}


async def listed(client: httpx.AsyncClient, auth: dict[str, str], category: int) -> list[dict]:
    answer = await client.get(f"/api/v1/resources/{category}", headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["list"]  # type: ignore[no-any-return]


async def test_a_new_category_is_listed_by_the_api(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext
) -> None:
    answer = await post(signed_in, f"{PAGE}/categories", {"title": "Audio", "icon": "fas fa-music"})
    assert answer.status_code == 303
    categories = (await signed_in.get("/api/v1/category_resources", headers=auth)).json()["list"]
    assert categories[-1] == {"id": 8, "title": "Audio", "icon": "fas fa-music"}
    assert await listed(signed_in, auth, 8) == []
    page = await signed_in.get(PAGE)
    assert 'data-category-id="8"' in page.text and '<option value="8">Audio</option>' in page.text
    (entry,) = audited(ctx, "backoffice.resource_category_create")
    assert '"category_id":8' in entry.details


async def test_a_bad_category_is_refused(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext
) -> None:
    for change, field, message in (
        ({"title": " "}, "title", "A title is required."),
        ({"icon": '"><script>'}, "icon", "Font Awesome classes, e.g. fas fa-file-pdf."),
        ({"title": "x" * 101}, "title", "Field cannot be longer than 100 characters."),
    ):
        data = {"title": "Audio", "icon": "fas fa-music", **change}
        answer = await post(signed_in, f"{PAGE}/categories", data)
        assert answer.status_code == 400
        assert errors_at(answer, field) == [message]
    categories = (await signed_in.get("/api/v1/category_resources", headers=auth)).json()["list"]
    assert len(categories) == 7
    assert audited(ctx, "backoffice.resource_category_create") == []


async def test_an_uploaded_file_is_listed_and_served_by_the_api(
    signed_in: httpx.AsyncClient, auth: dict[str, str], ctx: AppContext
) -> None:
    page = await signed_in.get(PAGE)
    assert 'id="resource-form" enctype="multipart/form-data"' in page.text
    files = {"file": ("plan de negocios.pdf", PDF, "application/pdf")}
    answer = await post(signed_in, PAGE, {**ABOUT, "video": ""}, files=files)
    assert answer.status_code == 303, errors_at(answer, "file")
    (resource,) = await listed(signed_in, auth, 5)
    assert resource["title"] == "Plan (PDF)" and resource["video"] == ""
    assert resource["file"].startswith("http://testserver/uploads/resource/file/")
    assert resource["file"].endswith("/plan_de_negocios.pdf")
    served = await signed_in.get(resource["file"])
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    (entry,) = audited(ctx, "backoffice.resource_create")
    assert f'"bytes":{len(PDF)}' in entry.details


async def test_empty_oversized_or_missing_files_are_refused(
    signed_in: httpx.AsyncClient,
    auth: dict[str, str],
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources, "MAX_FILE_BYTES", len(PDF) - 1)
    for files, message in (
        ({"file": ("empty.pdf", b"", "application/pdf")}, "The file is empty."),
        ({"file": ("big.pdf", PDF, "application/pdf")}, "The file is larger than 0 MB."),
        (None, "Choose a file to upload."),
    ):
        answer = await post(signed_in, PAGE, ABOUT, files=files)
        assert answer.status_code == 400
        assert errors_at(answer, "file") == [message]
    answer = await post(signed_in, PAGE, {**ABOUT, "title": ""}, files={"file": ("a.pdf", PDF)})
    assert answer.status_code == 400 and errors_at(answer, "title") == ["A title is required."]
    answer = await post(signed_in, PAGE, {**ABOUT, "category_id": "99"}, files={"file": ("a", PDF)})
    assert answer.status_code == 400 and errors_at(answer, "category_id") == ["Not a valid choice."]
    assert await listed(signed_in, auth, 5) == []
    assert audited(ctx, "backoffice.resource_create") == []
