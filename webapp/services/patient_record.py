"""A patient's record for clinicians: time points with status, scores over time with the
minimal important difference (MID), and the raw answers of each response."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

import instruments
from scoring.mid import mid as lookup_mid
from webapp.extensions import db
from webapp.models import Enrolment, Invitation, Patient, Response, Unit, User, utcnow
from webapp.services import access, summary_panel
from webapp.services.charts import Panel, Series, panel_chart
from webapp.services.invitations import aware
from webapp.services.score_info import score_info
from webapp.services.summary_panel import InstrumentSummary, Measurement, ScoreLine
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
class ScoreRow:
    """One score of an instrument chart's table: values by time point and the change."""

    label: str
    direction: str
    values: list[str]
    line: ScoreLine


@dataclass
class InstrumentChart:
    """One instrument's scores over the time points: one chart, a table under it."""

    instrument: str
    instrument_title: str
    time_points: list[str]
    rows: list[ScoreRow]
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
    proxy_relation: str | None = None


@dataclass
class PatientRecord:
    """Everything the patient page shows."""

    patient_id: int
    birth_year: int | None
    enrolments: list[EnrolmentView] = field(default_factory=list)
    summary: list[InstrumentSummary] = field(default_factory=list)
    charts: list[InstrumentChart] = field(default_factory=list)
    responses: list[ResponseView] = field(default_factory=list)
    # titles of registers the patient has withdrawn from (their data is not shown)
    withdrawn: list[str] = field(default_factory=list)


def _status_text(status: str) -> str:
    """A time point's status in the request's language."""
    return {
        "scheduled": _("Planned"),
        "due": _("Waiting for an answer"),
        "answered": _("Answered"),
        "expired": _("Expired without an answer"),
    }[status]


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


def build(
    patient: Patient,
    allowed_units: set[int],
    now: dt.datetime | None = None,
    lang: str = "nb",
) -> PatientRecord:
    """The record of ``patient`` limited to enrolments at ``allowed_units`` (texts and
    numbers of the summary and charts in ``lang``)."""
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
    measurements: list[Measurement] = []
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
                    _status_text(status),
                )
            )
            if inv is None:
                continue
            for resp in sorted(inv.responses, key=lambda r: r.instrument_id):
                if resp.status != "complete":
                    continue
                record.responses.append(_response_view(resp, tp.title, lang))
                measurements.append(
                    Measurement(
                        resp.instrument_id,
                        tp.title,
                        resp.completed_at,
                        resp.mode,
                        resp.proxy_relation,
                        resp.answers,
                        {
                            sc.scale: sc.value
                            for sc in resp.scores
                            if sc.value is not None and math.isfinite(sc.value)
                        },
                        value_sets={sc.scale: sc.value_set for sc in resp.scores},
                    )
                )
        record.enrolments.append(
            EnrolmentView(enr.unit.title, enr.protocol.title, enr.index_date, tps)
        )
    record.summary = summary_panel.build(measurements, lang, patient=patient)
    record.charts = _charts(measurements, lang)
    return record


def _charts(measurements: list[Measurement], lang: str) -> list[InstrumentChart]:
    """One chart per instrument: its scores in panels by display range, in time order."""
    by_instrument: dict[str, list[Measurement]] = {}
    for m in measurements:
        by_instrument.setdefault(m.instrument_id, []).append(m)
    charts = []
    for inst_id, ms in by_instrument.items():
        labels = [m.time_point for m in ms]
        scales = list(dict.fromkeys(scale for m in ms for scale in m.scores))
        panels: dict[tuple[float, float], list[str]] = {}
        for scale in scales:
            info = score_info(inst_id, scale)
            panels.setdefault((info.low, info.high), []).append(scale)
        rows = []
        chart_panels = []
        for (low, high), members in panels.items():
            series = []
            for scale in members:
                info = score_info(inst_id, scale)
                label = summary_panel._label(inst_id, scale, lang)
                values = tuple(m.scores.get(scale) for m in ms)
                series.append(Series(label, values))
                known = [
                    (m.time_point, v) for m, v in zip(ms, values, strict=True) if v is not None
                ]
                rows.append(
                    ScoreRow(
                        label,
                        _direction(info.better, lang),
                        [info.display(v, lang) for v in values],
                        summary_panel.score_line(inst_id, scale, known, lang),
                    )
                )
            band, band_label = None, ""
            if len(members) == 1:
                found = lookup_mid(inst_id, members[0])
                first = next((v for v in series[0].values if v is not None), None)
                if found is not None and first is not None:
                    band = (first - found.value, first + found.value)
                    band_label = _("First measurement ± minimal important difference")
            panel_info = score_info(inst_id, members[0])
            chart_panels.append(
                Panel(
                    low,
                    high,
                    tuple(series),
                    band,
                    band_label,
                    lambda v, _i=panel_info: _i.display(v, lang),
                )
            )
        title = summary_panel._title(inst_id, lang)
        svg = panel_chart(chart_panels, labels, title=_("%(title)s over time", title=title))
        charts.append(InstrumentChart(inst_id, title, labels, rows, svg))
    return charts


def _direction(better: str, lang: str) -> str:
    if better == "none":  # an adaptive test's SE or number of items
        return ""
    return _("higher is better") if better == "higher" else _("higher is worse")


def _instrument_title(instrument_id: str) -> str:
    try:
        return _text(instruments.load(instrument_id).title)
    except KeyError:
        return instrument_id


def _response_view(resp: Response, time_point: str, lang: str = "nb") -> ResponseView:
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
            else score_info(resp.instrument_id, s.scale).display(s.value, lang),
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
        resp.proxy_relation,
    )


def dashboard_units(user: User) -> list[Unit]:
    """Units whose dashboard ``user`` may open."""
    ids = access.unit_ids(user, access.DASHBOARD_ROLES)
    if not ids:
        return []
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))
