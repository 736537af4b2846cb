"""Answering an invitation: drafts saved per page, resume, review and final submit.

- Every page submit saves the draft server-side (``Response.answers``, ``current_page``);
  a replayed page (same idempotency key) is recognised and not applied twice.
- Final submit is idempotent by construction: conditional updates that only succeed while
  ``completed_at`` is empty, plus the unique (invitation, instrument) of responses. Raw
  answers and scores are written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

import instruments
import scoring
from instruments import Instrument, Item
from webapp.extensions import db
from webapp.models import Invitation, PageSubmission, Response, Score, utcnow
from webapp.services import audit
from webapp.services.invitations import innsyn_until

PROXY_RELATIONS = ("parent", "relative", "carer", "other")


class SubmitError(ValueError):
    """The answers cannot be submitted yet; ``instrument_id``/``page`` say where to go."""

    def __init__(self, message: str, instrument_id: str, page: int):
        super().__init__(message)
        self.instrument_id = instrument_id
        self.page = page


@dataclass(frozen=True)
class Step:
    """Where a patient continues: ``start`` (who answers), a ``page``, or ``review``."""

    kind: str
    instrument_id: str | None = None
    page: int = 0


def instruments_of(invitation: Invitation) -> list[Instrument]:
    """The instruments of the invitation's time point, in protocol order."""
    return [instruments.load(i) for i in invitation.time_point.instruments]


def responses_of(invitation: Invitation) -> dict[str, Response]:
    """Existing responses of an invitation by instrument id."""
    rows = db.session.scalars(select(Response).where(Response.invitation_id == invitation.id))
    return {r.instrument_id: r for r in rows}


def is_enabled(item: Item, answers: dict[str, Any]) -> bool:
    """Whether ``item`` is shown given the answers so far (its enable_when conditions)."""
    ops = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
    }
    for cond in item.enable_when:
        value = answers.get(cond.item)
        if value is None or not ops[cond.operator](value, cond.answer):
            return False
    return True


def start(
    invitation: Invitation, *, mode: str, relation: str | None, language: str
) -> dict[str, Response]:
    """Record who answers (self or proxy + relation) and create the draft responses.

    ``language`` is the UI language; a response records the language its questionnaire is
    shown in (bokmål when the instrument file lacks that language).
    """
    if mode not in ("self", "proxy"):
        raise ValueError(f"unknown mode {mode!r}")
    if mode == "proxy" and relation not in PROXY_RELATIONS:
        raise ValueError("a proxy must say how they are related to the patient")
    existing = responses_of(invitation)
    for instrument in instruments_of(invitation):
        response = existing.get(instrument.id)
        if response is None:
            response = Response(
                invitation_id=invitation.id,
                instrument_id=instrument.id,
                instrument_version=instrument.version,
                instrument_hash=instrument.content_hash,
                language=language if language in instrument.languages else "nb",
                answers={},
                current_page=0,
            )
            try:
                with db.session.begin_nested():
                    db.session.add(response)
            except IntegrityError:  # another tab created it first
                response = responses_of(invitation)[instrument.id]
        if response.completed_at is None:
            response.mode = mode
            response.proxy_relation = relation if mode == "proxy" else None
            response.updated_at = utcnow()
    if invitation.state in ("scheduled", "sent"):
        invitation.state = "opened"
    db.session.commit()
    return responses_of(invitation)


def next_step(invitation: Invitation) -> Step:
    """Where the patient continues: the first page not yet saved, else the review."""
    responses = responses_of(invitation)
    if not responses:
        return Step("start")
    for instrument in instruments_of(invitation):
        response = responses.get(instrument.id)
        if response is None:
            return Step("start")
        if response.current_page < len(instrument.screen_pages()):
            return Step("page", instrument.id, response.current_page)
    return Step("review")


def reachable(invitation: Invitation, instrument_id: str, page: int) -> bool:
    """Whether a page may be shown: it exists and every page before it was saved."""
    responses = responses_of(invitation)
    for instrument in instruments_of(invitation):
        response = responses.get(instrument.id)
        if response is None:
            return False
        n_pages = len(instrument.screen_pages())
        if instrument.id == instrument_id:
            return 0 <= page < n_pages and page <= response.current_page
        if response.current_page < n_pages:
            return False
    return False


def save_page(
    response: Response,
    instrument: Instrument,
    page: int,
    answers: dict[str, int | None],
    *,
    idempotency_key: str,
    language: str,
) -> bool:
    """Save one page's answers into the draft; False when this key was already applied."""
    if response.completed_at is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                PageSubmission(idempotency_key=idempotency_key, response_id=response.id, page=page)
            )
    except IntegrityError:
        db.session.rollback()
        return False
    merged = dict(response.answers or {})
    for item_id, value in answers.items():
        if value is None:
            merged.pop(item_id, None)
        else:
            merged[item_id] = value
    response.answers = merged
    response.current_page = max(response.current_page, page + 1)
    response.language = language
    response.updated_at = utcnow()
    db.session.commit()
    return True


def missing_required(instrument: Instrument, answers: dict[str, Any]) -> tuple[str, int] | None:
    """The first required, shown item without a valid answer: (item id, page index)."""
    for index, page in enumerate(instrument.screen_pages()):
        for item_id in page.items:
            item = instrument.item(item_id)
            if item.type == "display" or not is_enabled(item, answers):
                continue
            value = answers.get(item_id)
            if value is None:
                if item.required:
                    return item_id, index
            elif not item.is_valid_answer(value):
                return item_id, index
    return None


def value_set_for(instrument_id: str) -> str | None:
    """The value set to score an instrument with.

    Config ``OPENPROM_VALUE_SETS`` (instrument id -> name) first, then the instrument file's
    ``default_value_set`` (``NO`` for EQ-5D-5L) when the scoring module ships it, else the
    scoring module's default.
    """
    algorithm = scoring.get(instrument_id)
    chosen = current_app.config.get("OPENPROM_VALUE_SETS", {}).get(instrument_id)
    if chosen is None:
        preferred = instruments.load(instrument_id).scoring.default_value_set
        if preferred in {v.name for v in algorithm.value_sets}:
            chosen = preferred
    return algorithm.value_set(chosen)


def score_rows(response: Response) -> list[Score]:
    """Score rows of a response's answers (instrument's value set, algorithm version)."""
    try:
        algorithm = scoring.get(response.instrument_id)
    except KeyError:  # an instrument without a scoring algorithm: raw answers only
        return []
    value_set = value_set_for(response.instrument_id)
    result = scoring.score(response.instrument_id, dict(response.answers), value_set=value_set)
    rows = []
    for name, value in result.items():
        text = name in algorithm.text_scores
        rows.append(
            Score(
                response_id=response.id,
                scale=name,
                value=None if text or value is None else float(value),
                text_value=str(value) if text and value is not None else None,
                algorithm_version=algorithm.algorithm_version,
                value_set=value_set or "",
            )
        )
    return rows


def submit(invitation: Invitation, now: dt.datetime | None = None) -> bool:
    """Complete every response of the invitation and score it, in one transaction.

    Returns True when this call completed the invitation, False when it was already
    complete (a double submit, a second tab). Raises :class:`SubmitError` when a required
    answer is missing.
    """
    now = now or utcnow()
    responses = responses_of(invitation)
    for instrument in instruments_of(invitation):
        response = responses.get(instrument.id)
        if response is None:
            raise SubmitError("not started", instrument.id, 0)
        gap = missing_required(instrument, response.answers or {})
        if gap is not None:
            raise SubmitError(f"{instrument.id}: {gap[0]} is not answered", instrument.id, gap[1])
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.completed_at.is_(None))
        .values(completed_at=now, state="completed", innsyn_until=innsyn_until(now))
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    for response in responses.values():
        done = db.session.execute(
            update(Response)
            .where(Response.id == response.id, Response.completed_at.is_(None))
            .values(status="complete", completed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            db.session.add_all(score_rows(response))
    audit.record(
        "response.submit",
        actor_type="patient",
        patient_id=invitation.enrolment.patient_id,
        subject=f"invitation {invitation.id}",
        details={"instruments": sorted(responses), "mode": _mode(responses)},
    )
    db.session.commit()
    db.session.expire_all()
    return True


def _mode(responses: dict[str, Response]) -> str:
    modes = {r.mode for r in responses.values()}
    return modes.pop() if len(modes) == 1 else "mixed"
