"""A patient's record for clinicians: time points with status, scores over time with the
minimal important difference (MID), and the raw answers of each response."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

import instruments
from scoring.mid import Mid
from scoring.mid import mid as lookup_mid
from webapp.extensions import db
from webapp.models import Enrolment, Invitation, Patient, Response, Unit, User, utcnow
from webapp.services import access
from webapp.services.charts import Point, line_chart
from webapp.services.invitations import aware
from webapp.services.score_info import ScoreInfo, score_info
from webapp.services.withdrawal import withdrawn_register_ids


@dataclass
class TimePointStatus:
    """One time point of an enrolment: due date, window and status."""

    name: str
    title: str
    opens_at: dt.datetime | None
    expires_at: dt.datetime | None
    status: str  # scheduled | due | answered | expired
    status_text: str


@dataclass
class EnrolmentView:
    """An enrolment the viewer may see, with its time points."""

    unit: str
    protocol: str
    index_date: dt.date
    time_points: list[TimePointStatus]


@dataclass
class ScoreSeries:
    """One score of one instrument over the time points, with MID and direction."""

    instrument: str
    instrument_title: str
    scale: str
    label: str
    direction: str
    mid: float | None
    mid_source: str
    points: list[Point]
    change_text: str
    svg: str


@dataclass
class AnswerRow:
    """One item of a response: question text, answer code and label."""

    item: str
    question: str
    code: Any
    label: str


@dataclass
class ResponseView:
    """One completed response with its raw answers and scores."""

    instrument: str
    instrument_title: str
    version: str
    time_point: str
    completed_at: dt.datetime | None
    mode: str
    language: str
    answers: list[AnswerRow]
    scores: list[tuple[str, str]]


@dataclass
class PatientRecord:
    """Everything the patient page shows."""

    patient_id: int
    birth_year: int | None
    enrolments: list[EnrolmentView] = field(default_factory=list)
    series: list[ScoreSeries] = field(default_factory=list)
    responses: list[ResponseView] = field(default_factory=list)
    # titles of registers the patient has withdrawn from (their data is not shown)
    withdrawn: list[str] = field(default_factory=list)


STATUS_TEXT = {
    "scheduled": "Planlagt",
    "due": "Venter på svar",
    "answered": "Besvart",
    "expired": "Utløpt uten svar",
}


def _status(inv: Invitation | None, now: dt.datetime) -> str:
    if inv is None:
        return "scheduled"
    if inv.completed_at is not None or inv.state == "completed":
        return "answered"
    if aware(inv.expires_at) <= now:
        return "expired"
    if aware(inv.opens_at) <= now:
        return "due"
    return "scheduled"


def _text(text: Any, lang: str = "nb") -> str:
    if text is None:
        return ""
    return text[lang] if lang in text else next(iter(text.values()))


def _change_text(points: list[Point], mid: Mid | None, info: ScoreInfo) -> str:
    if len(points) < 2:
        return "Bare én måling så langt."
    change = points[-1].value - points[0].value
    base = (
        f"Endring fra {points[0].label.lower()} til {points[-1].label.lower()}: "
        f"{'+' if change > 0 else ''}{info.format(change)}"
    )
    if mid is None:
        return base + " (ingen minste viktige endring registrert)."
    if mid.is_important_improvement(points[0].value, points[-1].value):
        return base + f". BEDRING større enn minste viktige endring ({mid.value:g})."
    if mid.is_important_improvement(points[-1].value, points[0].value):
        return base + f". FORVERRING større enn minste viktige endring ({mid.value:g})."
    return base + f". Mindre enn minste viktige endring ({mid.value:g}): ingen sikker endring."


def build(
    patient: Patient, allowed_units: set[int], now: dt.datetime | None = None
) -> PatientRecord:
    """The record of ``patient`` limited to enrolments at ``allowed_units``."""
    now = now or utcnow()
    record = PatientRecord(patient_id=patient.id, birth_year=patient.birth_year)
    enrolments = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.patient_id == patient.id, Enrolment.unit_id.in_(allowed_units))
        .order_by(Enrolment.index_date)
    ).all()
    # registers the patient has withdrawn from show nothing (see services/withdrawal.py)
    left = withdrawn_register_ids(patient.id)
    record.withdrawn = sorted(
        {e.unit.register.title for e in enrolments if e.unit.register_id in left}
    )
    enrolments = [e for e in enrolments if e.unit.register_id not in left]
    series: dict[tuple[str, str], list[Point]] = {}
    for enr in enrolments:
        by_tp = {inv.time_point_id: inv for inv in enr.invitations}
        tps = []
        for tp in enr.protocol.time_points:
            inv = by_tp.get(tp.id)
            status = _status(inv, now)
            tps.append(
                TimePointStatus(
                    tp.name,
                    tp.title,
                    aware(inv.opens_at) if inv else None,
                    aware(inv.expires_at) if inv else None,
                    status,
                    STATUS_TEXT[status],
                )
            )
            if inv is None:
                continue
            for resp in sorted(inv.responses, key=lambda r: r.instrument_id):
                if resp.status != "complete":
                    continue
                record.responses.append(_response_view(resp, tp.title))
                for sc in resp.scores:
                    if sc.value is not None and math.isfinite(sc.value):
                        series.setdefault((resp.instrument_id, sc.scale), []).append(
                            Point(tp.title, sc.value)
                        )
        record.enrolments.append(
            EnrolmentView(enr.unit.title, enr.protocol.title, enr.index_date, tps)
        )
    for (inst_id, scale), points in series.items():
        info = score_info(inst_id, scale)
        found = lookup_mid(inst_id, scale)
        band = (points[0].value - found.value, points[0].value + found.value) if found else None
        title = _instrument_title(inst_id)
        record.series.append(
            ScoreSeries(
                inst_id,
                title,
                scale,
                info.label,
                info.direction_text,
                found.value if found else None,
                found.source if found else "",
                points,
                _change_text(points, found, info),
                line_chart(
                    points,
                    title=f"{title}, {info.label} over tid ({info.direction_text})",
                    y_min=info.low,
                    y_max=info.high,
                    band=band,
                    band_label=f"Utgangsverdi ± minste viktige endring ({found.value:g})"
                    if found
                    else "",
                ),
            )
        )
    return record


def _instrument_title(instrument_id: str) -> str:
    try:
        return _text(instruments.load(instrument_id).title)
    except KeyError:
        return instrument_id


def _response_view(resp: Response, time_point: str) -> ResponseView:
    try:
        inst = instruments.load(resp.instrument_id)
    except KeyError:
        inst = None
    rows = []
    for item_id, code in resp.answers.items():
        question, label = item_id, ""
        if inst is not None:
            try:
                item = inst.item(item_id)
                question = _text(item.text, resp.language)
                if item.options and code is not None:
                    label = _text(item.option(int(code)).label, resp.language)
            except (KeyError, ValueError):
                pass
        rows.append(AnswerRow(item_id, question, code, label))
    scores = [
        (
            s.scale,
            s.text_value
            if s.text_value is not None
            else ("" if s.value is None else f"{s.value:.4g}"),
        )
        for s in resp.scores
    ]
    return ResponseView(
        resp.instrument_id,
        _instrument_title(resp.instrument_id),
        resp.instrument_version,
        time_point,
        resp.completed_at,
        resp.mode,
        resp.language,
        rows,
        scores,
    )


def dashboard_units(user: User) -> list[Unit]:
    """Units whose dashboard ``user`` may open."""
    ids = access.unit_ids(user, access.DASHBOARD_ROLES)
    if not ids:
        return []
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))
