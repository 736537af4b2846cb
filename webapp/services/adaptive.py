"""Adaptive administration of an item bank in the patient flow (issue 14, point 5).

An item bank (instrument ``kind: item-bank``) in a time point is asked one item a page,
chosen by the CAT engine (:mod:`scoring.irt.cat`) with the protocol's ``adaptive:``
settings. Every step is an :class:`AdaptiveStep` row:

- the item chosen for the open page is stored at once (answer empty), so a resumed page
  shows the same item and the randomesque choice is reproducible and auditable;
- the answer is stored with the EAP theta and SE after it by a conditional update
  (``WHERE answer IS NULL``): a double or concurrent post of the same step stores one
  answer; the next item is chosen and stored in the same transaction;
- the response's ``answers`` mirror the answered steps (item id -> code), its
  ``revision`` is bumped (the final submit scores exactly what is stored), and
  ``current_page`` becomes 1 when the engine stops (the bank's part is complete).

The response is completed and scored by the ordinary final submit
(:func:`webapp.services.responses.submit`), which calls :func:`score_rows`: final theta,
its SE, the transformed score (T-score) with its SE and the number of items, with
:data:`ALGORITHM_VERSION`; the response keeps the bank's id, version and content hash.
"""

from __future__ import annotations

import csv
import enum
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

import instruments
from instruments import Instrument
from instruments.loader import load_banks
from scoring.irt.bank import bank_from_instrument, score_answers
from scoring.irt.cat import Bank, CatSettings, estimate, next_item
from webapp.extensions import db
from webapp.models import (
    AdaptiveStep,
    Enrolment,
    Invitation,
    Protocol,
    Response,
    Score,
    TimePoint,
    Unit,
    utcnow,
)
from webapp.services.withdrawal import withdrawn_patients

# EAP over scoring.irt's 61-node grid on [-6, 6] with a N(0, prior_sd) prior
ALGORITHM_VERSION = "irt-eap-1"
# score names of an item-bank response (Score.scale)
SCORE_NAMES = ("theta", "theta_se", "t_score", "t_score_se", "n_items")
STEP_TOLERANCE = 1e-9  # stored vs recomputed theta/SE of a step


class AdaptiveError(ValueError):
    """A protocol's ``adaptive:`` block or a posted answer that cannot be used."""


class AnswerResult(enum.Enum):
    """What :func:`answer_step` did with a posted answer."""

    SAVED = "saved"  # stored; the next item (or the end) is stored too
    REPLAYED = "replayed"  # this step was answered before with the same code: no change
    CONFLICT = "conflict"  # this step was answered before with another code: kept as was
    STALE = "stale"  # not the open step (an old tab, a tampered form): nothing stored
    CLOSED = "closed"  # the response was already submitted: nothing stored


@dataclass(frozen=True)
class StepView:
    """The open page of an adaptive response: which item, and how far the test is."""

    item_id: str
    position: int  # 0-based; also the number of items answered before it
    max_items: int


def is_item_bank(instrument: Instrument) -> bool:
    """Whether ``instrument`` is an item bank (asked adaptively)."""
    return instrument.kind == "item-bank"


def is_bank_id(instrument_id: str) -> bool:
    """Whether ``instrument_id`` names a bundled item bank."""
    return instrument_id in load_banks()


@cache
def _bank(instrument_id: str, content_hash: str) -> Bank:
    instrument = instruments.load(instrument_id)
    if instrument.content_hash != content_hash:  # pragma: no cover - files are immutable
        raise AdaptiveError(f"{instrument_id}: the bank file changed under the response")
    return bank_from_instrument(instrument)


def bank_of(instrument: Instrument) -> Bank:
    """The CAT bank of an item-bank instrument (built once per bank and process)."""
    return _bank(instrument.id, instrument.content_hash)


def check_settings(block: Any) -> CatSettings:
    """The CAT settings of a protocol's ``adaptive:`` block; AdaptiveError when invalid."""
    if block is None:
        return CatSettings()
    if not isinstance(block, dict):
        raise AdaptiveError("adaptive: must be a mapping of CAT settings")
    try:
        return CatSettings.from_mapping(block)
    except (TypeError, ValueError) as exc:
        raise AdaptiveError(f"adaptive: {exc}") from None


def settings_of(protocol: Protocol | None) -> CatSettings:
    """The CAT settings a protocol asks its item banks with (defaults when none given)."""
    return check_settings(protocol.adaptive if protocol is not None else None)


def settings_for_protocol_id(protocol_id: int) -> CatSettings:
    """:func:`settings_of` by protocol id."""
    return settings_of(db.session.get(Protocol, protocol_id))


def max_items_of_invitation(invitation_id: int) -> int:
    """``max_items`` of the protocol an invitation belongs to."""
    block = db.session.scalar(
        select(Protocol.adaptive)
        .join(TimePoint, TimePoint.protocol_id == Protocol.id)
        .join(Invitation, Invitation.time_point_id == TimePoint.id)
        .where(Invitation.id == invitation_id)
    )
    return check_settings(block).max_items


def _rng(response_id: int, position: int) -> np.random.Generator:
    """The generator of one step's randomesque choice (seeded: reproducible)."""
    return np.random.default_rng([response_id, position])


def steps_of(response_id: int) -> list[AdaptiveStep]:
    """Every step of a response in the order asked (read now)."""
    return list(
        db.session.scalars(
            select(AdaptiveStep)
            .where(AdaptiveStep.response_id == response_id)
            .order_by(AdaptiveStep.position)
            .execution_options(populate_existing=True)
        )
    )


def _answers(steps: list[AdaptiveStep]) -> list[tuple[str, int]]:
    return [(s.item_id, s.answer) for s in steps if s.answer is not None]


def open_step(response: Response, instrument: Instrument, settings: CatSettings) -> StepView | None:
    """The open page: the stored unanswered step, else a newly chosen and stored one.

    None when the test is complete (or the response already submitted).
    """
    for _attempt in range(3):
        steps = steps_of(response.id)
        if steps and steps[-1].answer is None:
            return StepView(steps[-1].item_id, steps[-1].position, settings.max_items)
        if response.completed_at is not None:
            return None
        position = len(steps)
        item_id = next_item(
            bank_of(instrument), _answers(steps), _rng(response.id, position), settings
        )
        if item_id is None:
            return None
        db.session.add(AdaptiveStep(response_id=response.id, position=position, item_id=item_id))
        try:
            db.session.commit()
        except IntegrityError:  # another request stored this step first: show that one
            db.session.rollback()
            continue
        return StepView(item_id, position, settings.max_items)
    raise AdaptiveError(f"response {response.id}: could not store the next step")


def answer_step(
    response_id: int,
    instrument: Instrument,
    settings: CatSettings,
    position: int,
    code: int,
    *,
    language: str,
) -> AnswerResult:
    """Store the answer to the open step ``position``, its theta and SE, and the next item.

    ``code`` must be an option of the step's item (AdaptiveError otherwise; nothing is
    stored). One transaction: the step is answered only ``WHERE answer IS NULL``, the
    next step is inserted (unique per position) and the response's answer mirror and
    revision are updated only while it is not submitted.
    """
    bank = bank_of(instrument)
    completed = db.session.scalar(select(Response.completed_at).where(Response.id == response_id))
    steps = steps_of(response_id)
    if completed is not None:
        db.session.rollback()
        return AnswerResult.CLOSED
    if not 0 <= position < len(steps):
        db.session.rollback()
        return AnswerResult.STALE
    step = steps[position]
    if step.answer is not None:
        return AnswerResult.REPLAYED if step.answer == code else AnswerResult.CONFLICT
    try:
        bank.category(step.item_id, code)
    except ValueError as exc:
        db.session.rollback()
        raise AdaptiveError(str(exc)) from None
    answers = [*_answers(steps[:position]), (step.item_id, code)]
    est = estimate(bank, answers, settings)
    now = utcnow()
    stored = db.session.execute(
        update(AdaptiveStep)
        .where(AdaptiveStep.id == step.id, AdaptiveStep.answer.is_(None))
        .values(answer=code, theta=est.theta, se=est.se, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount != 1:  # a concurrent post of the same step got there first
        db.session.rollback()
        again = steps_of(response_id)[position]
        return AnswerResult.REPLAYED if again.answer == code else AnswerResult.CONFLICT
    following = next_item(bank, answers, _rng(response_id, position + 1), settings)
    if following is not None:
        db.session.add(
            AdaptiveStep(response_id=response_id, position=position + 1, item_id=following)
        )
    mirrored = db.session.execute(
        update(Response)
        .where(Response.id == response_id, Response.completed_at.is_(None))
        .values(
            answers=dict(answers),
            current_page=0 if following is not None else 1,
            revision=Response.revision + 1,
            language=language,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if mirrored.rowcount != 1:  # submitted meanwhile
        db.session.rollback()
        return AnswerResult.CLOSED
    db.session.commit()
    return AnswerResult.SAVED


def score_rows(
    response_id: int, instrument_id: str, answers: dict[str, Any], keys: dict[str, Any]
) -> list[Score]:
    """Score rows of an item-bank response from its answers (the answered steps)."""
    instrument = instruments.load(instrument_id)
    settings = settings_for_protocol_id(keys["protocol_id"])
    result = score_answers(
        instrument, {k: int(v) for k, v in answers.items()}, prior_sd=settings.prior_sd
    )
    values = {
        "theta": result["theta"],
        "theta_se": result["se"],
        "t_score": result["score"],
        "t_score_se": result["score_se"],
        "n_items": result["n_items"],
    }
    return [
        Score(
            response_id=response_id,
            scale=name,
            value=float(values[name]),
            algorithm_version=ALGORITHM_VERSION,
            value_set="",
            instrument_id=instrument_id,
            **keys,
        )
        for name in SCORE_NAMES
    ]


@dataclass(frozen=True)
class StepCheck:
    """A stored step beside the theta and SE recomputed from the stored answers."""

    position: int
    item_id: str
    answer: int
    stored_theta: float
    stored_se: float
    theta: float
    se: float


def recompute_steps(
    response_id: int, instrument: Instrument, settings: CatSettings
) -> list[StepCheck]:
    """Each answered step's stored theta/SE beside the values recomputed from the stored
    answers up to it (the register's audit of an adaptive response)."""
    bank = bank_of(instrument)
    answered = [s for s in steps_of(response_id) if s.answer is not None]
    checks = []
    for k, step in enumerate(answered, start=1):
        est = estimate(bank, _answers(answered[:k]), settings)
        checks.append(
            StepCheck(
                step.position,
                step.item_id,
                int(step.answer or 0),
                float(step.theta if step.theta is not None else np.nan),
                float(step.se if step.se is not None else np.nan),
                est.theta,
                est.se,
            )
        )
    return checks


def step_problems(response: Response, settings: CatSettings) -> list[str]:
    """Where an item-bank response's stored steps disagree with its stored answers: a
    step's theta or SE not the one recomputed from the answers up to it, or the
    response's answers not the answered steps. Empty when all agree (or no steps)."""
    instrument = instruments.load(response.instrument_id)
    checks = recompute_steps(response.id, instrument, settings)
    if not checks:
        return []
    label = f"{response.instrument_id} steps"
    problems = [
        f"{label} {c.position} ({c.item_id}): stored theta {c.stored_theta!r} SE "
        f"{c.stored_se!r}, recomputed {c.theta!r} {c.se!r}"
        for c in checks
        if not (
            math.isclose(c.stored_theta, c.theta, rel_tol=STEP_TOLERANCE, abs_tol=STEP_TOLERANCE)
            and math.isclose(c.stored_se, c.se, rel_tol=STEP_TOLERANCE, abs_tol=STEP_TOLERANCE)
        )
    ]
    if dict(response.answers or {}) != {c.item_id: c.answer for c in checks}:
        problems.append(f"{label}: the response's answers are not its answered steps")
    return problems


def steps_for_display(response_id: int) -> list[AdaptiveStep]:
    """The answered steps of a response, in the order asked (clinician and review pages)."""
    return [s for s in steps_of(response_id) if s.answer is not None]


STEP_COLUMNS = ("response_id", "instrument_id", "position", "item_id", "answer", "theta", "se")


def exported_steps_query(register_id: int) -> Select[Any]:
    """The :data:`STEP_COLUMNS` of every answered step of the register's completed
    item-bank responses (patients who withdrew left out), in the order asked."""
    return (
        select(
            AdaptiveStep.response_id,
            Response.instrument_id,
            AdaptiveStep.position,
            AdaptiveStep.item_id,
            AdaptiveStep.answer,
            AdaptiveStep.theta,
            AdaptiveStep.se,
        )
        .join(Response, Response.id == AdaptiveStep.response_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .join(Unit, Unit.id == Enrolment.unit_id)
        .where(
            Unit.register_id == register_id,
            Response.status == "complete",
            AdaptiveStep.answer.is_not(None),
            Enrolment.patient_id.not_in(withdrawn_patients(register_id)),
        )
        .order_by(AdaptiveStep.response_id, AdaptiveStep.position)
    )


def write_steps_csv(register_id: int, out: Path) -> list[Path]:
    """``adaptive_steps.csv`` of a register export: every answered step of the completed
    item-bank responses (patients who withdrew left out), one row per step in the order
    asked; ``response_id`` links a row to the bank's export file. No file when there are
    none. No patient identifier is written."""
    rows = db.session.execute(exported_steps_query(register_id)).all()
    if not rows:
        return []
    path = Path(out) / "adaptive_steps.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(STEP_COLUMNS)
        writer.writerows(tuple(row) for row in rows)
    return [path]
