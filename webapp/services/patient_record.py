"""A patient's record for clinicians: time points with status, scores over time with the
minimal important difference (MID), and the raw answers of each response."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

import instruments
from webapp.extensions import db
from webapp.models import Enrolment, Invitation, Patient, Response, Unit, User, utcnow
from webapp.services import access
from webapp.services.charts import Point, line_chart

RAND36_SCALES = ("PF", "RP", "BP", "GH", "VT", "SF", "RE", "MH")
# Display range and direction of each score (instrument manuals; EQ-5D index lower bound
# is the lowest value of the value sets shipped, about -0.6).
SCORE_DISPLAY: dict[tuple[str, str], tuple[float, float, str]] = {
    ("eq5d5l", "index"): (-0.6, 1.0, "higher_better"),
    ("eq5d5l", "vas"): (0, 100, "higher_better"),
    ("eq5d3l", "index"): (-0.6, 1.0, "higher_better"),
    ("eq5d3l", "vas"): (0, 100, "higher_better"),
    ("odi", "total"): (0, 100, "higher_worse"),
    ("cat", "total"): (0, 40, "higher_worse"),
    **{("rand36", s): (0, 100, "higher_better") for s in RAND36_SCALES},
    ("rand36", "PCS"): (10, 70, "higher_better"),
    ("rand36", "MCS"): (10, 70, "higher_better"),
}


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


STATUS_TEXT = {
    "scheduled": "Planlagt",
    "due": "Venter på svar",
    "answered": "Besvart",
    "expired": "Utløpt uten svar",
}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _status(inv: Invitation | None, now: dt.datetime) -> str:
    if inv is None:
        return "scheduled"
    if inv.completed_at is not None or inv.state == "completed":
        return "answered"
    if _aware(inv.expires_at) <= now:
        return "expired"
    if _aware(inv.opens_at) <= now:
        return "due"
    return "scheduled"


def _text(text: Any, lang: str = "nb") -> str:
    if text is None:
        return ""
    return text[lang] if lang in text else next(iter(text.values()))


def _mid(instrument_id: str, scale: str) -> tuple[float | None, str]:
    try:
        from scoring.mid import mid as lookup
    except ImportError:
        return None, ""
    found = lookup(instrument_id, scale)
    if found is None:
        return None, ""
    value = getattr(found, "value", None)
    return (float(value) if value is not None else None), str(getattr(found, "source", ""))


def _change_text(points: list[Point], mid: float | None, direction: str) -> str:
    if len(points) < 2:
        return "Bare én måling så langt."
    change = points[-1].value - points[0].value
    base = f"Endring fra {points[0].label} til {points[-1].label}: {change:+.3g}"
    if mid is None:
        return base + " (ingen MID fastsatt)."
    if abs(change) < mid:
        return base + f". Mindre enn minste viktige endring ({mid:g}): ingen sikker endring."
    better = (change > 0) == (direction == "higher_better")
    word = "BEDRING" if better else "FORVERRING"
    return base + f". {word} større enn minste viktige endring ({mid:g})."


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
                    _aware(inv.opens_at) if inv else None,
                    _aware(inv.expires_at) if inv else None,
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
                            Point(tp.name, sc.value)
                        )
        record.enrolments.append(
            EnrolmentView(enr.unit.title, enr.protocol.title, enr.index_date, tps)
        )
    for (inst_id, scale), points in series.items():
        lo, hi, direction = SCORE_DISPLAY.get((inst_id, scale), (None, None, "higher_better"))
        if lo is None:
            values = [p.value for p in points]
            lo, hi = min(values), max(values)
        mid, source = _mid(inst_id, scale)
        band = (points[0].value - mid, points[0].value + mid) if mid else None
        title = _instrument_title(inst_id)
        word = "høyere er bedre" if direction == "higher_better" else "høyere er verre"
        record.series.append(
            ScoreSeries(
                inst_id,
                title,
                scale,
                direction,
                mid,
                source,
                points,
                _change_text(points, mid, direction),
                line_chart(
                    points,
                    title=f"{title} {scale} over tid ({word})",
                    y_min=lo,
                    y_max=hi,
                    band=band,
                    band_label=f"Utgangsverdi ± MID ({mid:g})" if mid else "",
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
