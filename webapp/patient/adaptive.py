"""Patient view of an item bank asked adaptively: one item a page, no JavaScript needed.

``/s/<token>/a/<instrument_id>`` shows the open step's item (stored when first chosen,
so a reload or a resumed link shows the same one) and stores the answer through
:func:`webapp.services.adaptive.answer_step`; the engine then chooses the next item or
ends the bank's part, and the patient goes on to wherever the time point continues.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, redirect, request, url_for
from flask_babel import gettext as _

import instruments
from webapp.patient import bp
from webapp.patient.forms import page_form_class
from webapp.patient.views import (
    CONFLICT,
    _choose_language,
    _go,
    _open,
    _render,
    _text_language,
    _unavailable,
)
from webapp.services import adaptive, responses
from webapp.whole_numbers import parse_whole_number

CONTROL_FIELDS = frozenset({"csrf_token", "idem", "ret", "step"})
INVALID = 422


@bp.route("/s/<token>/a/<instrument_id>", methods=["GET", "POST"])
def adaptive_item(token: str, instrument_id: str):  # type: ignore[no-untyped-def]
    """The open item of an adaptive (item-bank) part of the time point."""
    access = _open(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode == "insight":
        if request.method == "POST":  # a tab left open: say it was not saved
            return _render("patient/already_sent.html", CONFLICT, token=token)
        return redirect(url_for("patient.thanks", token=token))
    invitation = access.invitation
    step = responses.next_step(invitation)
    if step.kind != "adaptive" or step.instrument_id != instrument_id:
        return _go(step, token)  # not (or no longer) this bank's turn: nothing stored
    instrument = instruments.load(instrument_id)
    response = responses.responses_of(invitation)[instrument_id]
    settings = adaptive.settings_of(invitation.enrolment.protocol)
    text_lang = _text_language(instrument)
    shown = adaptive.open_step(response, instrument, settings)
    if shown is None:
        return _go(responses.next_step(invitation), token)
    screen = next(p for p in instrument.screen_pages() if p.items == (shown.item_id,))
    form_class = page_form_class(instrument, screen, text_lang)
    status, error = 200, None
    if request.method == "POST":
        if set(request.form) - CONTROL_FIELDS - set(instrument.item_ids):
            abort(400)  # a tampered form: nothing stored
        form = form_class()
        position = parse_whole_number(request.form.get("step", ""))
        if position is not None and position < shown.position:
            return _after_answer(token, invitation)  # a step already answered (double post)
        status = INVALID
        if position == shown.position and form.validate():
            try:
                result = adaptive.answer_step(
                    response.id,
                    instrument,
                    settings,
                    shown.position,
                    int(form[shown.item_id].data),
                    language=text_lang,
                )
            except adaptive.AdaptiveError:
                form[shown.item_id].errors = [_("Please choose an answer.")]
            else:
                if result is adaptive.AnswerResult.CLOSED:
                    return _render("patient/already_sent.html", CONFLICT, token=token)
                return _after_answer(token, invitation)
        elif position != shown.position:
            error = _("This question changed since the page was opened. Please answer it.")
    else:
        form = form_class(formdata=None)
    form.idem.data = secrets.token_hex(16)
    return _render(
        "patient/adaptive_item.html",
        status,
        form=form,
        token=token,
        instrument=instrument,
        item=instrument.item(shown.item_id),
        field=form[shown.item_id],
        position=shown.position,
        max_items=shown.max_items,
        text_lang=text_lang,
        error=error,
    )


def _after_answer(token: str, invitation: Any):  # type: ignore[no-untyped-def]
    """Wherever the time point continues: the next item, the next instrument or review."""
    return _go(responses.next_step(invitation), token)
