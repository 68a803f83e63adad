"""Resource categories and resources: lists, a new category, and a resource with its file upload.

The uploaded file is kept by the back office's resource file store and served by the API under
`/uploads/resource/file/<id>/<name>`; the resource's `file` is that path (an ASSET_HOST URL in
`GET /api/v1/resources/{category_id}`), as the control plane's `file_url` would be.
"""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from wtforms import FileField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

from understudy.backoffice import content, resource_files
from understudy.backoffice.models import CategoryResource, Resource
from understudy.console.backoffice.forms import CONTROL, no_nul, stripped
from understudy.console.pages import ConsolePage, FormError, context

MAX_FILE_BYTES = resource_files.MAX_BYTES
ICON = r"^[a-z0-9 -]+$"


class CategoryForm(Form):
    title = StringField(
        "Title",
        validators=[DataRequired("A title is required."), Length(max=100), no_nul],
        filters=[stripped],
        render_kw=CONTROL,
    )
    icon = StringField(
        "Icon",
        default="fas fa-file",
        validators=[
            DataRequired("An icon is required."),
            Length(max=100),
            Regexp(ICON, message="Font Awesome classes, e.g. fas fa-file-pdf."),
        ],
        filters=[stripped],
        render_kw=CONTROL,
    )


class ResourceForm(Form):
    category_id = SelectField("Category", coerce=int, render_kw={"class": "form-select"})
    title = StringField(
        "Title",
        validators=[DataRequired("A title is required."), Length(max=500), no_nul],
        filters=[stripped],
        render_kw=CONTROL,
    )
    description = TextAreaField(
        "Description",
        validators=[DataRequired("A description is required."), Length(max=5000), no_nul],
        render_kw={**CONTROL, "rows": 3},
    )
    video = StringField(
        "Video URL",
        validators=[Optional(), URL(message="A video URL, e.g. https://…"), Length(max=500)],
        filters=[stripped],
        render_kw=CONTROL,
    )
    file = FileField(
        "File",
        render_kw=CONTROL,
        description=f"Up to {MAX_FILE_BYTES // (1024 * 1024)} MB; served to members by the API.",
    )


def listing(session: Session) -> dict[str, Any]:
    """The categories (with their resource counts) and every resource, newest first."""
    counts = dict(
        session.execute(
            select(Resource.category_id, func.count()).group_by(Resource.category_id)
        ).all()
    )
    categories = [
        {"id": c.id, "title": c.title, "icon": c.icon, "resources": counts.get(c.id, 0)}
        for c in session.scalars(select(CategoryResource).order_by(CategoryResource.id))
    ]
    titles = {c["id"]: c["title"] for c in categories}
    resources = [
        {
            "id": r.id,
            "category": titles.get(r.category_id, r.category_id),
            "title": r.title,
            "description": r.description,
            "video": r.video,
            "file": r.file,
        }
        for r in session.scalars(select(Resource).order_by(Resource.id.desc()).limit(500))
    ]
    return {"categories": categories, "resources": resources}


async def read_upload(form: ResourceForm) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the posted file; refusals go next to the field."""
    upload = form.file.data
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise FormError("Choose a file to upload.", "file")
    data = await upload.read(MAX_FILE_BYTES + 1)
    if not data:
        raise FormError("The file is empty.", "file")
    if len(data) > MAX_FILE_BYTES:
        raise FormError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.", "file")
    return upload.filename, upload.content_type or "application/octet-stream", data


class ResourcesPage(ConsolePage):
    """Resource categories and resources with their files."""

    name = "Resources"
    category = "backoffice"
    icon = "fa-solid fa-folder-open"

    @expose("/backoffice/resources", methods=["GET", "POST"], identity="backoffice-resources")
    async def resources(self, request: Request) -> Response:
        """Categories and resources; POST publishes a resource with its uploaded file."""
        found = await self.read(request, listing)
        form = await self.form(request, ResourceForm)
        form.category_id.choices = [(c["id"], c["title"]) for c in found["categories"]]
        if request.method == "POST" and form.validate():
            try:
                filename, kind, data = await read_upload(form)
                category_id, title = form.category_id.data, form.title.data
                description, video = form.description.data, form.video.data or ""

                def work(session: Session) -> str:
                    try:
                        path = resource_files.store(
                            session,
                            filename=filename,
                            content_type=kind,
                            data=data,
                            now=context(request).now(session),
                        )
                    except resource_files.RefusedFile as exc:
                        raise FormError(str(exc), "file") from None
                    problem = content.add_resource(
                        session,
                        category_id=category_id,
                        title=title,
                        description=description,
                        video=video,
                        file=path,
                    )
                    if problem:
                        raise FormError(problem, "category_id")
                    return path

                await self.change(
                    request,
                    "backoffice.resource_create",
                    f"backoffice resource category {category_id}",
                    work,
                    lambda path: {"title": title, "file": path, "bytes": len(data)},
                )
            except FormError as exc:
                exc.attach(form)
            else:
                return self.done(
                    request, "Resource published", self.url(request, "backoffice-resources")
                )
        return await self.show(request, found, resource_form=form)

    @expose(
        "/backoffice/resources/categories",
        methods=["POST"],
        identity="backoffice-resource-category",
    )
    async def add_category(self, request: Request) -> Response:
        """Add a resource category."""
        form = await self.form(request, CategoryForm)
        if form.validate():
            title, icon = form.title.data, form.icon.data
            category_id = await self.change(
                request,
                "backoffice.resource_category_create",
                "backoffice resource categories",
                lambda session: content.add_category(session, title=title, icon=icon),
                lambda made: {"category_id": made, "title": title, "icon": icon},
            )
            return self.done(
                request,
                f"Category {title} ({category_id}) added",
                self.url(request, "backoffice-resources"),
            )
        found = await self.read(request, listing)
        return await self.show(request, found, category_form=form)

    async def show(
        self,
        request: Request,
        found: dict[str, Any],
        *,
        resource_form: ResourceForm | None = None,
        category_form: CategoryForm | None = None,
    ) -> Response:
        """The page with both forms; 400 when either carries errors."""
        if resource_form is None:
            resource_form = ResourceForm()
            resource_form.category_id.choices = [(c["id"], c["title"]) for c in found["categories"]]
        category_form = category_form or CategoryForm()
        failed = any(
            f.errors or getattr(f, "form_errors", None) for f in (resource_form, category_form)
        )
        return await self.render(
            request,
            "console/backoffice/resources.html",
            status_code=400 if failed else 200,
            title="Resources",
            pretitle="backoffice",
            resource_form=resource_form,
            category_form=category_form,
            resource_url=self.url(request, "backoffice-resources"),
            category_url=self.url(request, "backoffice-resource-category"),
            **found,
        )
