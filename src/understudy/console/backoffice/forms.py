"""Form pieces shared by the backoffice pages."""

from __future__ import annotations

from typing import Any

from wtforms import Field, Form, ValidationError

CONTROL = {"class": "form-control"}


def no_nul(form: Form, field: Field) -> None:
    """Refuse NUL characters (the databases cannot store them in text)."""
    if isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError("must not contain NUL characters")


def stripped(value: Any) -> Any:
    """A text input without surrounding blanks (None stays None)."""
    return value.strip() if isinstance(value, str) else value
