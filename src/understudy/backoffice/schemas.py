"""Response and request shapes for the OpenAPI document (the wire itself is rendered by hand)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RailsError(BaseModel):
    """`{"error": message}`."""

    error: str


class RailsFormErrors(BaseModel):
    """`{"errors": {field: [message]}}`."""

    errors: dict[str, list[str]]


class RailsInvalidData(BaseModel):
    """Model save failure."""

    error: str = "The data is invalid."
    details: dict[str, list[str]]


class RailsSecurityTokenError(BaseModel):
    """Security token failure."""

    error: str = "Security token validation failed."
    detail: str = "Token is not valid!"


class RailsStatusError(BaseModel):
    """`{"status": 400, "error": "Bad Request"}` for an unparseable body."""

    status: int
    error: str


class Message(BaseModel):
    """`{"message": text}`."""

    message: str


class LoginAnswer(BaseModel):
    """A fresh JWT and who it belongs to."""

    token: str
    exp: str = Field(examples=["07-19-2022 16:46"])
    id: int
    username: str
    sponsor: str | None
    referral_link: str


class MemberAnswer(BaseModel):
    """A member's profile."""

    first_name: str
    last_name: str
    email: str
    country_code: str
    username: str
    mobile: str
    default_leg: str
    language: str
    profile_image: str
    matrix_on: bool
    request_token_on_edit: bool


class IdName(BaseModel):
    """A reference item with a text or numeric id."""

    id: str | int
    name: str


class Locale(BaseModel):
    """A language the back office speaks."""

    id: str
    name: str
    image: str


class CategoryResourceItem(BaseModel):
    """A resource category."""

    id: int
    title: str
    icon: str


class IdNameList(BaseModel):
    """`{"list": [...]}`."""

    list: list[IdName]


class LocaleList(BaseModel):
    """`{"list": [...]}`."""

    list: list[Locale]


class CategoryList(BaseModel):
    """`{"list": [...]}`."""

    list: list[CategoryResourceItem]


class TeamviewAnswer(BaseModel):
    """The member's sponsor-tree directs, nested."""

    teamview: list[dict[str, Any]]


class MatrixAnswer(BaseModel):
    """The member's matrix, nested (empty slots are `{}`)."""

    matrix: dict[str, Any]


class WalletRow(BaseModel):
    """One wallet movement."""

    id: int
    amount: str
    balance: str
    description: str
    date: str


class WalletPage(BaseModel):
    """One page of a wallet."""

    list: list[WalletRow]
    total_pages: int
    current_page: int


class WalletBalance(BaseModel):
    """A wallet's balance."""

    name: str
    amount: str


class GrowthChart(BaseModel):
    """Downline sign-ups per day."""

    dates: list[str]
    users: list[int]


class PopularCountry(BaseModel):
    """Downline members of one country."""

    country: str
    number: int
    image: str


class DashboardAnswer(BaseModel):
    """A member's dashboard."""

    wallets: list[WalletBalance]
    matrix_dimensions: str
    permanent_mising: str
    temporal_mising: str
    matrix_pending_directs: int | None
    team_growth_chart: GrowthChart
    top_leaders: list[Any]
    traffic_funnel: list[Any]
    efficiency_funnel: list[Any]
    popular_countries: list[PopularCountry]


class NoticeItem(BaseModel):
    """A notice."""

    id: int
    title: str
    content: str


class NoticesAnswer(BaseModel):
    """A member's notices by audience."""

    general_notices: list[NoticeItem]
    user_notices: list[NoticeItem]
    plan_notices: list[NoticeItem]


class ProductItem(BaseModel):
    """A plan purchase."""

    id: int
    plan: str
    image: str
    price: float
    currency: str


class ProductsAnswer(BaseModel):
    """A member's plan purchases."""

    plans: list[ProductItem]


class ResourceItem(BaseModel):
    """A downloadable resource."""

    id: int
    title: str
    description: str
    video: str
    file: str


class ResourceList(BaseModel):
    """`{"list": [...]}`."""

    list: list[ResourceItem]


class TicketItem(BaseModel):
    """A support ticket."""

    id: int
    subject: str
    created_at: str
    status: str


class TicketList(BaseModel):
    """`{"list": [...]}`."""

    list: list[TicketItem]


class ThreadItem(BaseModel):
    """A ticket message."""

    id: int
    content: str
    created_at: str


class ThreadList(BaseModel):
    """`{"list": [...]}`."""

    list: list[ThreadItem]


def doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """One documented answer in Rails' JSON content type."""
    return {"model": model, "description": description}


KEY_FAILED = {403: doc(RailsError, "Missing or invalid x-api-key (or jwt-token)")}
AUTHENTICATED = {
    **KEY_FAILED,
    401: doc(RailsError, "Invalid, expired or unknown jwt-token"),
}
BAD_BODY = {400: doc(RailsStatusError, "Body is not valid JSON")}


def form_body(*names: str, files: tuple[str, ...] = ()) -> dict[str, Any]:
    """An OpenAPI requestBody of optional text fields in form, multipart or JSON encoding."""
    properties: dict[str, Any] = {name: {"type": "string"} for name in names}
    multipart = dict(properties)
    for name in files:
        multipart[name] = {"type": "string", "format": "binary"}
    plain = {"type": "object", "properties": properties}
    return {
        "requestBody": {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {"schema": plain},
                "multipart/form-data": {"schema": {"type": "object", "properties": multipart}},
                "application/json": {"schema": plain},
            },
        }
    }


def any_of(description: str, *models: type[BaseModel]) -> dict[str, Any]:
    """One status answered with any of several bodies."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"anyOf": [m.model_json_schema() for m in models]}}
        },
    }
