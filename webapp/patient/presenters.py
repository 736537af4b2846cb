"""View data for the review, insight and progress display (no business rules here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from babel.lists import format_list
from babel.numbers import format_decimal
from flask import g
from flask_babel import gettext as _
from sqlalchemy import select

from instruments import Instrument, Item
from webapp.extensions import db
from webapp.i18n import FORMAT_LOCALES, long_date
from webapp.models import AuditEvent, Invitation, Score, Unit, User
from webapp.patient.answer_fields import is_new_type, shown_answer
from webapp.patient.explanations import (
    MAIN_SCORES,
    SCORE_NAMES,
    action_text,
    high_score_reason,
    score_explanation,
    score_name,
    text_value,
)
from webapp.services import responses


def _format_locale() -> str:
    return FORMAT_LOCALES.get(g.get("lang", "nb"), "nb")


def local_date(value: dt.date | dt.datetime | None) -> str:
    """A date as patients write it in their language ("1. mars 2027", "1 March 2027")."""
    return "" if value is None else long_date(value, g.get("lang", "nb"))


def local_number(value: float) -> str:
    """A score with at most three decimals, in the language's notation ("0,788")."""
    return format_decimal(value, "#,##0.###", locale=_format_locale())


@dataclass(frozen=True)
class AnswerRow:
    """One answered (or skipped) question for display."""

    item_id: str
    question: str
    answer: str
    page: int


def _text_lang(instrument: Instrument) -> str:
    return g.lang if g.lang in instrument.languages else "nb"


def page_position(invitation: Invitation, instrument_id: str, page: int) -> tuple[int, int]:
    """(1-based number of this page, number of pages) across the invitation's instruments."""
    before, total = 0, 0
    for instrument in responses.instruments_of(invitation):
        n = responses.shown_pages(invitation, instrument)
        if instrument.id == instrument_id:
            before = total + page
        total += n
    return before + 1, total


def answer_rows(instrument: Instrument, answers: dict[str, Any]) -> list[AnswerRow]:
    """Every question of ``instrument`` with the chosen answer's label (or "not answered")."""
    lang = _text_lang(instrument)
    rows = []
    for index, page in enumerate(instrument.screen_pages()):
        for item_id in page.items:
            item = instrument.item(item_id)
            if item.type == "display":
                continue
            value = answers.get(item_id)
            if value is None and instrument.kind == "item-bank":
                continue  # asked adaptively: only the items the engine chose
            if value is None:
                shown = _("Not answered")
            elif is_new_type(item):  # answer types of FHIR Questionnaires
                shown = shown_answer(item, value, lang)
            elif item.type == "choice":
                shown = choice_answer(item, value, lang)
            else:
                shown = str(value)
            rows.append(AnswerRow(item_id, item.text.get_text(lang), shown, index))
    return rows


def choice_answer(item: Item, code: int, lang: str) -> str:
    """The chosen option's label; on a bipolar row (CAT) with its end statements.

    "0 — I never cough", "5 — I cough all the time", and a middle answer between both:
    "3 — between “I never cough” (0) and “I cough all the time” (5)".
    """
    label = item.option(code).label.get_text(lang)
    low, high = item.anchors.get("min"), item.anchors.get("max")
    if low is None or high is None:
        return label
    first, last = item.options[0], item.options[-1]
    if code == first.code:
        return f"{label} — {low.get_text(lang)}"
    if code == last.code:
        return f"{label} — {high.get_text(lang)}"
    return _(
        "%(answer)s — between “%(low)s” (%(first)s) and “%(high)s” (%(last)s)",
        answer=label,
        low=low.get_text(lang),
        first=first.label.get_text(lang),
        high=high.get_text(lang),
        last=last.label.get_text(lang),
    )


@dataclass(frozen=True)
class AnswerGroup:
    """Answers shown together: a page's question stem (RAND-36 groups) and its rows."""

    title: str | None
    rows: list[AnswerRow]


def answer_groups(instrument: Instrument, answers: dict[str, Any]) -> list[AnswerGroup]:
    """The answer rows grouped by page title, as printed (untitled pages run together, and
    so do the screens of one printed group split for phones, which repeat its title)."""
    lang = _text_lang(instrument)
    rows = answer_rows(instrument, answers)
    groups: list[AnswerGroup] = []
    for index, page in enumerate(instrument.screen_pages()):
        page_rows = [r for r in rows if r.page == index]
        if not page_rows:
            continue
        title = page.title.get_text(lang) if page.title else None
        if groups and groups[-1].title == title:
            groups[-1].rows.extend(page_rows)
        else:
            groups.append(AnswerGroup(title, page_rows))
    return groups


def review_view(invitation: Invitation) -> dict[str, Any]:
    """Answers of every instrument, for the review screen."""
    stored = responses.responses_of(invitation)
    sections = []
    for instrument in responses.instruments_of(invitation):
        answers = stored[instrument.id].answers or {}
        sections.append(
            {
                "instrument": instrument,
                "text_lang": _text_lang(instrument),
                "groups": answer_groups(instrument, answers),
                "questions": len(answers)
                if instrument.kind == "item-bank"  # asked adaptively: the items chosen
                else len(instrument.questions),
                "answered": sum(answers.get(i) is not None for i in instrument.item_ids),
            }
        )
    return {"sections": sections, "instruments": [s["instrument"] for s in sections]}


@dataclass(frozen=True)
class UnitContact:
    """How the patient reaches the unit (each part None when the unit gave none)."""

    name: str
    phone: str | None
    email: str | None
    hours: str | None
    address: str | None

    @property
    def tel(self) -> str | None:
        """The number for a ``tel:`` link ("+4722118000")."""
        return self.phone.replace(" ", "") if self.phone else None


def unit_contact(unit: Unit) -> UnitContact:
    """The unit's name and contact details for the patient pages."""
    return UnitContact(
        unit.title, unit.contact_phone, unit.contact_email, unit.contact_hours, unit.contact_address
    )


def next_step_text(reasons: list[str], unit: str) -> str | None:
    """One calm next step for all high scores ("Your answers show that A and B affect …")."""
    if not reasons:
        return None
    joined = format_list(reasons, locale=_format_locale())
    if len(reasons) == 1:  # one thing, or a list of things (English verb agreement)
        return _(
            "Your answers show that %(reasons)s affects your daily life a lot. Talk to your "
            "clinician at %(unit)s about it.",
            reasons=joined,
            unit=unit,
        )
    return _(
        "Your answers show that %(reasons)s affect your daily life a lot. Talk to your "
        "clinician at %(unit)s about it.",
        reasons=joined,
        unit=unit,
    )


def insight_view(invitation: Invitation) -> dict[str, Any]:
    """The patient's own submitted answers, scores with explanations, one calm next step
    after high scores with the unit's contact details, and who looked."""
    stored = responses.responses_of(invitation)
    contact = unit_contact(invitation.enrolment.unit)
    unit = contact.name
    reasons: list[str] = []
    sections = []
    for instrument in responses.instruments_of(invitation):
        response = stored.get(instrument.id)
        if response is None:
            continue
        scores = db.session.scalars(
            select(Score).where(Score.response_id == response.id).order_by(Score.id)
        ).all()
        shown = [
            {
                "id": s.scale,
                "scale": _scale_label(instrument, s.scale),
                "value": _shown(instrument.id, s),
                "explanation": score_explanation(instrument.id, s.scale),
            }
            for s in scores
        ]
        main = MAIN_SCORES.get(instrument.id, ())
        reasons += [
            reason
            for s in scores
            if (reason := high_score_reason(instrument.id, s.scale, s.text_value))
        ]
        sections.append(
            {
                "instrument": instrument,
                "text_lang": _text_lang(instrument),
                "groups": answer_groups(instrument, response.answers or {}),
                "scores": shown,
                "headline": sorted(
                    (s for s in shown if s["id"] in main), key=lambda s: main.index(s["id"])
                ),
                "completed_at": response.completed_at,
            }
        )
    patient_id = invitation.enrolment.patient_id
    looks = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient_id, AuditEvent.actor_type == "user")
        .order_by(AuditEvent.at.desc())
        .limit(50)
    ).all()
    return {
        "sections": sections,
        "instruments": [s["instrument"] for s in sections],
        "looks": [{"at": e.at, "who": _who(e), "what": action_text(e.action)} for e in looks],
        "until": invitation.innsyn_until,
        "unit": unit,
        "contact": contact,
        "next_step": next_step_text(reasons, unit),
    }


def _who(event: AuditEvent) -> str:
    """The user's display name (else the label recorded with the event)."""
    user = db.session.get(User, event.actor_id) if event.actor_id is not None else None
    if user is not None and user.display_name:
        return user.display_name
    return event.actor_label or _("A user")


def _scale_label(instrument: Instrument, scale_id: str) -> str:
    for scale in instrument.scales:
        if scale.id == scale_id:
            return scale.label.get_text(_text_lang(instrument))
    if scale_id not in SCORE_NAMES:
        try:  # item-level scores (GS-PEQ): the question itself names the score
            return instrument.item(scale_id).text.get_text(_text_lang(instrument))
        except KeyError:
            pass
    return score_name(scale_id)


def _shown(instrument_id: str, score: Score) -> str | None:
    if score.value is not None:
        return local_number(score.value)
    if score.text_value is None:
        return None
    return text_value(instrument_id, score.scale, score.text_value)
