"""Form fields of the item types beyond integer choices and whole numbers: boolean,
string, text, date, dateTime, decimal, quantity, open-choice, multi-select (a repeating
choice) and choices with text codes. Each field checks its answer with the instrument's
own rule (:meth:`instruments.Item.validate_answer`) and hands the normalised value on
(:func:`stored_value`). Rendered by ``templates/patient/_answer_types.html``.
"""

from __future__ import annotations

import ast
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from instruments import Item

LOCAL_ZONE = ZoneInfo("Europe/Oslo")  # a datetime-local input has no zone: the patient's
TEXT_TYPES = frozenset({"string", "text"})


def is_new_type(item: Item) -> bool:
    """Whether ``item`` is rendered by this module (not by the integer/choice fields)."""
    if item.type in ("integer", "display"):
        return False
    if item.type == "choice":
        return bool(getattr(item, "repeats", False)) or any(
            not isinstance(c, int) for c in item.codes
        )
    return True


def _messages(item: Item) -> Any:
    if item.type == "boolean":
        return _l("Please choose yes or no.")
    if item.type in ("choice", "open-choice") and getattr(item, "repeats", False):
        return _l("Please choose one or more answers.")
    if item.type == "choice":
        return _l("Please choose an answer.")
    if item.type == "date":
        return _l("Please give a date (day, month and year).")
    if item.type == "dateTime":
        return _l("Please give a date and a time.")
    if item.type in ("decimal", "quantity"):
        if item.min is not None and item.max is not None:
            return _l(
                "Please write a number from %(low)s to %(high)s.", low=item.min, high=item.max
            )
        return _l("Please write a number.")
    max_length = getattr(item, "max_length", None)
    if max_length:
        return _l("Please write at most %(n)s characters.", n=max_length)
    return _l("Please write an answer.")


def _local_datetime(raw: str) -> str:
    """``YYYY-MM-DDTHH:MM`` as the patient typed it (Norwegian time) -> ISO with zone."""
    moment = dt.datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_ZONE)
    return moment.isoformat()


def _raw_value(item: Item, raw: Any) -> Any:
    """The posted value in the form :meth:`Item.validate_answer` takes (None = no answer)."""
    if raw is None or raw == "" or raw == []:
        return None
    if item.type == "text" and isinstance(raw, str):  # browsers post line breaks as CR LF
        return raw.replace("\r\n", "\n").replace("\r", "\n")
    if item.type == "dateTime" and isinstance(raw, str):
        try:
            return _local_datetime(raw.strip())
        except ValueError:
            return raw
    if item.type == "open-choice" and isinstance(raw, str):
        wanted = raw.strip().casefold()
        for option in item.options:
            if wanted in {
                str(option.code).casefold(),
                *(t.casefold() for t in option.label.values()),
            }:
                return option.code
    return raw


def stored_value(item: Item, raw: Any) -> Any:
    """The normalised answer of a posted value (None when not answered).

    Raises ValueError (the model's AnswerError) when the item cannot hold it.
    """
    value = _raw_value(item, raw)
    if value is None:
        return None
    return item.validate_answer(value)


class _ItemAnswer:
    """Validator: the item's own answer rule, with a message for the patient."""

    def __init__(self, item: Item):
        self.item = item
        self.message = _messages(item)

    def __call__(self, form: Any, field: Field) -> None:
        try:
            stored_value(self.item, field.data)
        except ValueError:
            raise ValidationError(self.message) from None


def _first(item: Item, required: bool) -> Any:
    if required:
        return InputRequired(message=_messages(item))
    return Optional()


class _SavedTextField(StringField):
    """A text input showing a saved answer as the patient would type it."""

    def process_data(self, value: Any) -> None:
        self.data = "" if value in (None, "None") else str(value)


class _DateTimeField(_SavedTextField):
    """``datetime-local``: a saved ISO value is shown in Norwegian time without zone."""

    def process_data(self, value: Any) -> None:
        super().process_data(value)
        try:
            moment = dt.datetime.fromisoformat(self.data)
        except ValueError:
            return
        if moment.tzinfo is not None:
            self.data = moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


class _BooleanField(RadioField):
    """Yes / no as two radio buttons (the saved True/False shows as checked)."""

    def process_data(self, value: Any) -> None:
        text = str(value).lower() if value is not None else None
        self.data = text if text in ("true", "false") else None


class _CheckboxesField(SelectMultipleField):
    """A multi-select as checkboxes; a saved list shows as checked."""

    def process_data(self, value: Any) -> None:
        if isinstance(value, str) and value.startswith("["):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                value = []
        values = value if isinstance(value, list | tuple) else ([] if value is None else [value])
        self.data = [str(v) for v in values]


def answer_field(item: Item, lang: str, required: bool) -> Field | None:
    """The form field of an item of a new type (None for the types forms.py handles)."""
    if not is_new_type(item):
        return None
    label = item.text.get_text(lang)
    validators = [_first(item, required), _ItemAnswer(item)]
    if item.type == "boolean":
        choices = [SelectChoice("true", _l("Yes")), SelectChoice("false", _l("No"))]
        return _BooleanField(label, choices=choices, validators=validators, validate_choice=False)
    if item.type in ("choice", "open-choice") and getattr(item, "repeats", False):
        choices = [SelectChoice(str(o.code), o.label.get_text(lang)) for o in item.options]
        return _CheckboxesField(
            label, choices=choices, validators=validators, validate_choice=False
        )
    if item.type == "choice":
        choices = [SelectChoice(str(o.code), o.label.get_text(lang)) for o in item.options]
        return RadioField(label, choices=choices, validators=validators, validate_choice=False)
    if item.type == "text":
        return TextAreaField(label, validators=validators)
    if item.type == "dateTime":
        return _DateTimeField(label, validators=validators)
    return _SavedTextField(label, validators=validators)


def posted_values(formdata: Any, items: list[Item]) -> dict[str, Any]:
    """Normalised posted answers of new-type items that are valid (for enable_when)."""
    found = {}
    for item in items:
        if not is_new_type(item):
            continue
        raw = (
            formdata.getlist(item.id) if getattr(item, "repeats", False) else formdata.get(item.id)
        )
        try:
            value = stored_value(item, raw)
        except ValueError:
            continue
        if value is not None:
            found[item.id] = value
    return found


def shown_answer(item: Item, value: Any, lang: str) -> str:
    """A stored answer of a new-type item as the review page shows it."""
    if isinstance(value, list):
        return "; ".join(shown_answer(item, v, lang) for v in value)
    if item.type == "boolean":
        return str(_l("Yes") if value else _l("No"))
    if item.type in ("choice", "open-choice"):
        for option in item.options:
            if option.code == value:
                return option.label.get_text(lang)
        return str(value)
    if item.type == "quantity" and getattr(item, "unit", None) is not None:
        return f"{value:g} {item.unit.display or item.unit.code}"
    if item.type == "dateTime":
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
