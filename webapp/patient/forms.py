"""WTForms forms built from instrument pages (field name = item id) and the start form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional

from instruments import Instrument, Item, Page
from webapp.patient.answer_fields import answer_field, is_new_type, posted_values, stored_value
from webapp.services.responses import PROXY_RELATIONS, is_enabled
from webapp.whole_numbers import WholeNumberField, parse_whole_number

CONTROL_FIELDS = frozenset({"csrf_token", "idem", "ret"})


class PageForm(FlaskForm):
    """Base of a questionnaire page: an idempotency key and where to return to."""

    idem = HiddenField()
    ret = HiddenField()


def _choice_field(item: Item, lang: str, required: bool) -> RadioField:
    validators: list[Any] = [
        InputRequired(message=_l("Please choose an answer.")) if required else Optional()
    ]
    validators.append(AnyOf([str(c) for c in item.codes], message=_l("Please choose an answer.")))
    return RadioField(
        item.text.get_text(lang),
        choices=[SelectChoice(str(o.code), o.label.get_text(lang)) for o in item.options],
        validators=validators,
        validate_choice=False,
    )


def _integer_field(item: Item, lang: str, required: bool) -> WholeNumberField:
    low = item.min if item.min is not None else 0
    high = item.max if item.max is not None else 100
    message = _l("Please write a whole number from %(low)s to %(high)s.", low=low, high=high)
    first = InputRequired(message=message) if required else Optional()
    return WholeNumberField(  # ASCII digits only: never int() on what was posted
        item.text.get_text(lang),
        validators=[first, NumberRange(min=low, max=high, message=message)],
    )


def page_form_class(
    instrument: Instrument, page: Page, lang: str, answers: dict[str, Any] | None = None
) -> type[PageForm]:
    """A form class with one field per answerable item of ``page``.

    A required item is enforced only while its ``enable_when`` conditions hold for
    ``answers`` (the saved draft plus what was posted on this page). Classes are built
    once per (instrument, page, language, set of required items) and process.
    """
    required = frozenset(
        item_id
        for item_id in page.items
        if (item := instrument.item(item_id)).required and is_enabled(item, answers or {})
    )
    key = (instrument.id, instrument.content_hash, page.id, lang, required)
    form_class = _FORM_CLASSES.get(key)
    if form_class is None:
        form_class = _build_form_class(instrument, page, lang, required)
        if len(_FORM_CLASSES) >= MAX_FORM_CLASSES:  # never grows without bound
            _FORM_CLASSES.clear()
        _FORM_CLASSES[key] = form_class
    return form_class


# (instrument id, content hash, page id, language, required item ids) -> form class. A
# class holds only unbound field definitions (labels, choices, lazy messages), never
# request data, so one class per key serves every request of the process.
_FORM_CLASSES: dict[tuple[str, str, str, str, frozenset[str]], type[PageForm]] = {}
MAX_FORM_CLASSES = 4096


def _build_form_class(
    instrument: Instrument, page: Page, lang: str, required: frozenset[str]
) -> type[PageForm]:
    fields: dict[str, Any] = {}
    for item_id in page.items:
        item = instrument.item(item_id)
        new_type = answer_field(item, lang, item_id in required)  # answer_fields.py
        if new_type is not None:
            fields[item_id] = new_type
        elif item.type == "choice":
            fields[item_id] = _choice_field(item, lang, item_id in required)
        elif item.type == "integer":
            fields[item_id] = _integer_field(item, lang, item_id in required)
    return type(f"{instrument.id}_{page.id}_Form", (PageForm,), fields)


def cleaned_answers(form: PageForm, instrument: Instrument, page: Page) -> dict[str, int | None]:
    """The validated answers of a page as item id -> code (None = not answered)."""
    answers: dict[str, int | None] = {}
    for item_id in page.items:
        if instrument.item(item_id).type == "display":
            continue
        raw = form[item_id].data
        if is_new_type(instrument.item(item_id)):
            answers[item_id] = stored_value(instrument.item(item_id), raw)
            continue
        answers[item_id] = None if raw in (None, "") else int(raw)
    return answers


def posted_codes(formdata: Any, page: Page, instrument: Instrument | None = None) -> dict[str, Any]:
    """The page's posted values that are whole numbers, and with ``instrument`` the valid
    answers of the other item types (to evaluate enable_when)."""
    codes: dict[str, Any] = {}
    if instrument is not None:
        items = [instrument.item(i) for i in page.items]
        codes.update(posted_values(formdata, [i for i in items if is_new_type(i)]))
    for item_id in page.items:
        code = parse_whole_number(formdata.get(item_id, ""))
        if code is not None and item_id not in codes:
            codes[item_id] = code
    return codes


def unexpected_fields(posted: list[str], page: Page) -> list[str]:
    """Posted field names that are neither items of the page nor control fields."""
    allowed = CONTROL_FIELDS | set(page.items)
    return sorted(set(posted) - allowed)


class StartForm(FlaskForm):
    """Who answers: the patient, or someone on their behalf (and how related)."""

    mode = RadioField(
        _l("Who is answering?"),
        choices=[
            SelectChoice("self", _l("I am the patient and answer for myself")),
            SelectChoice("proxy", _l("I answer on behalf of the patient")),
        ],
        validators=[InputRequired(message=_l("Please choose who is answering."))],
    )
    relation = RadioField(
        _l("If you answer on behalf of the patient: how are you related?"),
        choices=[
            SelectChoice("parent", _l("Parent or guardian")),
            SelectChoice("relative", _l("Other relative")),
            SelectChoice("carer", _l("Carer or helper")),
            SelectChoice("other", _l("Other")),
        ],
        validators=[Optional(), AnyOf(list(PROXY_RELATIONS))],
        validate_choice=False,
    )

    child = False  # set for patients under 16: a parent or guardian answers

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """A proxy must give the relation; for a child, a parent or guardian answers."""
        ok = super().validate(extra_validators)
        if not ok:
            return False
        if self.child and (self.mode.data != "proxy" or self.relation.data != "parent"):
            self.mode.errors = [
                _l("For patients under 16, a parent or guardian answers on their behalf.")
            ]
            return False
        if self.mode.data == "proxy" and not self.relation.data:
            self.relation.errors = [_l("Please say how you are related to the patient.")]
            return False
        return True
