"""Stored data checks: every stored score recomputed from the stored answers, and the keys
each score carries for the dashboards compared with its response's.

:func:`verify_scores` rescored each completed response with the algorithm version and value
set recorded on its Score rows and compares. A score made by another algorithm version
than the current one cannot be recomputed here and is reported as *not checkable*, not as a
mismatch. It also checks what the dashboards count from the invitation rows alone (see
:meth:`~webapp.services.dashboard.RegisterStats._count_invitations`): an invitation is
completed exactly when all of its responses are, one per instrument of its time point.
Reports name response and invitation ids only (never a patient).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, extract, false, func, literal, or_, select
from sqlalchemy.orm import selectinload

import scoring
from webapp.extensions import db
from webapp.models import (
    Enrolment,
    Invitation,
    Protocol,
    Register,
    Response,
    Score,
    TimePoint,
    Unit,
    Withdrawal,
)
from webapp.services import adaptive

TOLERANCE = 1e-9
BATCH = 500


class UnknownRegister(LookupError):
    """No register has the given name."""


@dataclass
class Mismatch:
    """A completed response whose stored scores disagree with its stored answers."""

    response_id: int
    problems: list[str]


@dataclass
class Report:
    """Outcome of :func:`verify_scores`."""

    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    # response id -> why its scores could not be recomputed (e.g. older algorithm version)
    not_checkable: dict[int, list[str]] = field(default_factory=dict)
    # ids of invitations whose copied unit or index year is not their enrolment's
    invitations: list[int] = field(default_factory=list)
    # ids of invitations whose completion is not their responses' (completed with a
    # response missing or not complete, or not completed with a complete response)
    completions: list[tuple[int, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Mismatches of responses and of invitations."""
        return len(self.mismatches) + len(self.invitations) + len(self.completions)


def verify_scores(register: str | None = None) -> Report:
    """Recompute the scores of every completed response (of ``register``) and compare."""
    query = select(Response).where(Response.completed_at.is_not(None))
    register_id: int | None = None
    if register is not None:
        register_id = db.session.scalar(select(Register.id).where(Register.name == register))
        if register_id is None:
            raise UnknownRegister(register)
        query = (
            query.join(Invitation, Invitation.id == Response.invitation_id)
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .join(Protocol, Protocol.id == Enrolment.protocol_id)
            .where(Protocol.register_id == register_id)
        )
    # patients withdrawn from a register keep no scores there (see services/withdrawal.py)
    query = query.where(~Response.id.in_(_withdrawn_responses()))
    report = Report()
    for response in _batches(query):
        report.checked += 1
        problems, unchecked = check_response(response)
        if problems:
            report.mismatches.append(Mismatch(response.id, problems))
        if unchecked:
            report.not_checkable[response.id] = unchecked
    found = {m.response_id: m for m in report.mismatches}
    for response_id, scale in _keys_differ(register_id):
        problem = f"{scale}: dashboard keys differ from its response, invitation and enrolment"
        if response_id not in found:
            found[response_id] = Mismatch(response_id, [])
            report.mismatches.append(found[response_id])
        found[response_id].problems.append(problem)
    report.mismatches.sort(key=lambda m: m.response_id)
    report.invitations = _invitation_keys_differ(register_id)
    report.completions = _completion_differs(register_id)
    return report


def _withdrawn_responses() -> Select[tuple[int]]:
    """Responses of patients at the units of a register they have withdrawn from."""
    return (
        select(Response.id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .join(Unit, Unit.id == Enrolment.unit_id)
        .join(
            Withdrawal,
            and_(
                Withdrawal.patient_id == Enrolment.patient_id,
                Withdrawal.register_id == Unit.register_id,
                Withdrawal.reinstated_at.is_(None),
            ),
        )
    )


def _year(column: Any) -> Any:
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.substr(column, 1, 4), Integer)
    return cast(extract("year", column), Integer)


def _invitation_keys_differ(register_id: int | None) -> list[int]:
    """Ids of invitations whose copied keys (unit, index year; see
    :class:`~webapp.models.Invitation`) are not their enrolment's (one query)."""
    query = (
        select(Invitation.id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .where(
            or_(
                Invitation.unit_id != Enrolment.unit_id,
                Invitation.index_year != _year(Enrolment.index_date),
            )
        )
        .order_by(Invitation.id)
    )
    if register_id is not None:
        query = query.join(Protocol, Protocol.id == Enrolment.protocol_id).where(
            Protocol.register_id == register_id
        )
    return list(db.session.scalars(query))


def _completion_differs(register_id: int | None) -> list[tuple[int, str]]:
    """(id, problem) of invitations that are completed while a response of theirs is not complete
    or one of their time point's instruments has no response, or that are not completed
    while a response of theirs is (one query)."""
    points = db.session.execute(select(TimePoint.id, TimePoint.instruments)).all()
    wanted = {tp: sorted(set(instruments or ())) for tp, instruments in points}
    done = and_(Response.status == "complete", Response.completed_at.is_not(None))
    expected = or_(
        false(),
        *(
            and_(Invitation.time_point_id == tp, Response.instrument_id.in_(ids))
            for tp, ids in wanted.items()
            if ids
        ),
    )
    how_many = (
        case({tp: len(ids) for tp, ids in wanted.items()}, value=Invitation.time_point_id, else_=0)
        if wanted
        else literal(0)
    )
    completed = Invitation.completed_at.is_not(None)
    query = (
        select(Invitation.id, completed)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(
            or_(
                completed,
                Response.status == "complete",
                Response.completed_at.is_not(None),
            )
        )
        .group_by(Invitation.id, Invitation.time_point_id, Invitation.completed_at)
        .having(
            case(
                (
                    completed,
                    or_(
                        func.sum(case((done, 0), (Response.id.is_(None), 0), else_=1)) > 0,
                        func.sum(case((and_(done, expected), 1), else_=0)) != how_many,
                    ),
                ),
                else_=func.count(Response.id) > 0,
            )
        )
        .order_by(Invitation.id)
    )
    if register_id is not None:
        query = query.where(
            Invitation.unit_id.in_(select(Unit.id).where(Unit.register_id == register_id))
        )
    return [
        (
            invitation_id,
            "completed, but a response of it is missing or not complete"
            if is_completed
            else "not completed, but a response of it is",
        )
        for invitation_id, is_completed in db.session.execute(query)
    ]


def _keys_differ(register_id: int | None) -> list[tuple[int, str]]:
    """(response id, scale) of scores whose copied keys (instrument, enrolment, unit,
    protocol, time point, index year; see :class:`~webapp.models.Score`) are not those of
    their response, or whose response is not complete (one query)."""
    year = _year(Enrolment.index_date)
    query = (
        select(Score.response_id, Score.scale)
        .join(Response, Response.id == Score.response_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .where(
            or_(
                Response.status != "complete",
                Score.instrument_id != Response.instrument_id,
                Score.enrolment_id != Invitation.enrolment_id,
                Score.time_point_id != Invitation.time_point_id,
                Score.unit_id != Enrolment.unit_id,
                Score.protocol_id != Enrolment.protocol_id,
                Score.index_year != year,
            )
        )
        .order_by(Score.response_id, Score.scale)
    )
    if register_id is not None:
        query = query.join(Protocol, Protocol.id == Enrolment.protocol_id).where(
            Protocol.register_id == register_id
        )
    return [(response_id, scale) for response_id, scale in db.session.execute(query)]


def _batches(query: Select[tuple[Response]]) -> Iterator[Response]:
    """Responses in id order, a batch at a time (memory stays flat on a large register)."""
    last = 0
    while True:
        batch = db.session.scalars(
            query.where(Response.id > last)
            .order_by(Response.id)
            .limit(BATCH)
            .options(selectinload(Response.scores))
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        db.session.expunge_all()


def check_response(response: Response) -> tuple[list[str], list[str]]:
    """``(problems, not_checkable)`` of one completed response's stored scores."""
    if adaptive.is_bank_id(response.instrument_id):  # theta, T-score, SE from the answers
        return _check_bank(response), []
    try:
        algorithm = scoring.get(response.instrument_id)
    except KeyError:  # no scoring algorithm: raw answers only, nothing to recompute
        return [], []
    if not response.scores:
        return [f"{response.instrument_id}: completed without scores"], []
    groups: dict[tuple[str, str], list[Score]] = defaultdict(list)
    for row in response.scores:
        groups[(row.algorithm_version, row.value_set)].append(row)
    problems: list[str] = []
    unchecked: list[str] = []
    for (version, value_set), rows in sorted(groups.items()):
        label = f"{response.instrument_id} {version}" + (f" {value_set}" if value_set else "")
        if version != algorithm.algorithm_version:
            unchecked.append(f"{label}: algorithm version is now {algorithm.algorithm_version}")
            continue
        if value_set and value_set not in {v.name for v in algorithm.value_sets}:
            unchecked.append(f"{label}: value set no longer shipped")
            continue
        try:
            expected = scoring.score(
                response.instrument_id, dict(response.answers or {}), value_set=value_set or None
            )
        except (ValueError, scoring.ScoringInputError) as exc:
            problems.append(f"{label}: stored answers cannot be scored ({exc})")
            continue
        problems.extend(_compare(label, rows, expected, algorithm.text_scores))
    return problems, unchecked


def _check_bank(response: Response) -> list[str]:
    """Problems of an item-bank response's scores, recomputed from its stored answers."""
    if not response.scores:
        return [f"{response.instrument_id}: completed without scores"]
    label = f"{response.instrument_id} {adaptive.ALGORITHM_VERSION}"
    keys = {"protocol_id": response.scores[0].protocol_id}
    expected = {
        row.scale: row.value
        for row in adaptive.score_rows(response.id, response.instrument_id, response.answers, keys)
    }
    problems = _compare(label, list(response.scores), expected, frozenset())
    settings = adaptive.settings_for_protocol_id(keys["protocol_id"])
    return problems + adaptive.step_problems(response, settings)


def _compare(
    label: str, rows: list[Score], expected: dict[str, Any], text_scores: frozenset[str]
) -> list[str]:
    problems = []
    stored = {row.scale: row for row in rows}
    for scale in sorted(set(expected) - set(stored)):
        problems.append(f"{label} {scale}: not stored (recomputed {expected[scale]!r})")
    for scale in sorted(set(stored) - set(expected)):
        problems.append(f"{label} {scale}: stored but not a score of the algorithm")
    for scale in sorted(set(stored) & set(expected)):
        row, value = stored[scale], expected[scale]
        if scale in text_scores:
            want = None if value is None else str(value)
            if row.text_value != want:
                problems.append(f"{label} {scale}: stored {row.text_value!r}, recomputed {want!r}")
        elif not _same_number(row.value, value):
            problems.append(f"{label} {scale}: stored {row.value!r}, recomputed {value!r}")
    return problems


def _same_number(stored: float | None, expected: Any) -> bool:
    """Equal within :data:`TOLERANCE`; None and NaN both mean "no score"."""
    missing_stored = stored is None or math.isnan(stored)
    missing_expected = expected is None or math.isnan(float(expected))
    if missing_stored or missing_expected:
        return missing_stored and missing_expected
    return math.isclose(stored, float(expected), rel_tol=TOLERANCE, abs_tol=TOLERANCE)
