"""Two years of synthetic follow-up for the demo register, so every view has real numbers.

Patients are enrolled at the three demo units with index dates spread over the last two
years; each due time point is answered with a unit-specific probability, and the answers
come from a simple latent-trait model (one health level per patient and time point, items
answered by their own difficulty plus noise), so scores improve after surgery, correlate
across items and differ between units. Scores are computed by :mod:`scoring` exactly as for
real submissions (in bulk: one scoring call per instrument, multi-row inserts). Nothing here
is real data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import insert, select

import instruments
import scoring
from instruments import Instrument, Item
from scoring.rand36 import RECODE as RAND36_RECODE
from webapp.extensions import db
from webapp.models import Enrolment, Invitation, Patient, Protocol, Response, Score, Unit
from webapp.national_id import validate
from webapp.services.invitations import innsyn_until
from webapp.services.patients import cipher
from webapp.services.protocols import due_at
from webapp.services.responses import value_set_for


@dataclass(frozen=True)
class Cohort:
    """Who a unit enrols in a protocol: share of the demo patients, health and answering."""

    unit: str
    protocol: str
    share: float
    baseline: tuple[float, float]  # latent health at baseline: mean, SD
    gain: tuple[float, float]  # change baseline -> first follow-up: mean, SD
    later_gain: tuple[float, float]  # change first -> later follow-ups: mean, SD
    answer_rates: tuple[float, ...]  # probability of answering each time point


# fmt: off
COHORTS = (
    Cohort("demo-unit", "lumbar-surgery", 0.38, (-1.0, 0.7), (0.80, 0.7), (0.05, 0.3),
           (0.93, 0.84, 0.76)),
    Cohort("demo-unit-b", "lumbar-surgery", 0.27, (-1.05, 0.7), (0.60, 0.8), (0.0, 0.35),
           (0.86, 0.71, 0.60)),
    Cohort("demo-unit-c", "lumbar-surgery", 0.15, (-0.95, 0.7), (0.45, 0.8), (-0.05, 0.35),
           (0.80, 0.64, 0.52)),
    Cohort("demo-unit-c", "copd-rehab", 0.20, (-0.6, 0.7), (0.30, 0.45), (-0.1, 0.4),
           (0.88, 0.72, 0.58)),
)
# fmt: on

LANGUAGES = (("nb", 0.82), ("nn", 0.12), ("en", 0.06))
PROXY_SHARE = 0.06
ITEM_MISSING = {"rand36": 0.015, "odi": 0.0}
ODI_SEX_LIFE_MISSING = 0.18  # q08 is the section people most often leave out
# Shift of the latent scale per instrument, tuned so that the demo cohorts land near
# typical published levels (lumbar surgery: ODI about 45 before and 20-30 a year after).
LEVEL = {"odi": 1.2, "eq5d5l": 1.2, "cat": 0.5, "rand36": 0.4}


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _goodness(instrument_id: str, item: Item) -> Callable[[int], float]:
    """How good each code of ``item`` is for health, on 0..1 (1 = best)."""
    codes = item.codes
    lo, hi = min(codes), max(codes)
    if instrument_id == "rand36":
        recode = RAND36_RECODE[item.id]
        return lambda code: recode[code - 1] / 100.0
    return lambda code: 1.0 - (code - lo) / (hi - lo)  # EQ-5D, ODI, CAT: low code = good


class AnswerModel:
    """Answers for a latent health level: each item has a fixed difficulty and slope."""

    def __init__(self, instrument: Instrument, rng: random.Random):
        self.instrument = instrument
        self.items = [i for i in instrument.questions]
        self.params = {i.id: (rng.uniform(0.9, 1.5), rng.uniform(-0.6, 0.6)) for i in self.items}
        self.goodness = {
            i.id: _goodness(instrument.id, i) for i in self.items if i.type == "choice"
        }

    def answers(self, health: float, rng: random.Random) -> dict[str, int | None]:
        """One respondent's answers at latent ``health`` (0 = average patient)."""
        out: dict[str, int | None] = {}
        missing = ITEM_MISSING.get(self.instrument.id, 0.0)
        health += LEVEL.get(self.instrument.id, 0.0)
        for item in self.items:
            slope, offset = self.params[item.id]
            target = _phi(slope * health + offset + rng.gauss(0.0, 0.55))
            if item.type == "integer":  # EQ VAS
                value = round(38 + 22 * health + rng.gauss(0.0, 9.0))
                out[item.id] = max(item.min or 0, min(item.max or 100, value))
                continue
            if rng.random() < missing or (
                self.instrument.id == "odi"
                and item.id == "q08"
                and rng.random() < ODI_SEX_LIFE_MISSING
            ):
                out[item.id] = None
                continue
            good = self.goodness[item.id]
            out[item.id] = min(item.codes, key=lambda code: abs(good(code) - target))
        return out


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def create_history(
    national_ids: list[str],
    units: dict[str, Unit],
    protocols: dict[str, Protocol],
    *,
    today: dt.date,
    seed: int = 2026,
) -> int:
    """Enrol ``national_ids`` across :data:`COHORTS` with answered, due and expired time
    points over the two years before ``today``; returns the number of completed responses.

    The rows are those :func:`~webapp.services.patients.get_or_create_patient`,
    :func:`~webapp.services.protocols.enrol` and a submit would write (same columns, same
    random stream), inserted in bulk, and the responses are scored per instrument in one
    :func:`scoring.score_table` call each.
    """
    rng = random.Random(seed)
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    models = {
        iid: AnswerModel(instruments.load(iid), rng)
        for p in protocols.values()
        for tp in p.time_points
        for iid in tp.instruments
    }
    cohorts = [c for c in COHORTS if c.unit in units and c.protocol in protocols]
    plans: list[_Plan] = []
    completed = 0
    for number in national_ids:
        cohort = rng.choices(cohorts, weights=[c.share for c in cohorts])[0]
        language = _pick(rng, LANGUAGES)
        index_date = today - dt.timedelta(days=rng.randrange(14, 760))
        plan = _Plan(number, language, units[cohort.unit], protocols[cohort.protocol], index_date)
        _follow(plan, cohort, models, rng, now)
        plans.append(plan)
        if len(plans) == PATIENTS_PER_BATCH:
            completed += _insert(plans)
            plans = []
    return completed + _insert(plans)


@dataclass
class _Plan:
    """One demo patient's enrolment: what to insert (filled in by :func:`_follow`)."""

    national_id: str
    language: str
    unit: Unit
    protocol: Protocol
    index_date: dt.date
    invitations: list[dict[str, Any]] = field(default_factory=list)
    responses: list[list[dict[str, Any]]] = field(default_factory=list)  # per invitation


def _follow(
    plan: _Plan,
    cohort: Cohort,
    models: dict[str, AnswerModel],
    rng: random.Random,
    now: dt.datetime,
) -> None:
    """Answer (or not) each time point of one enrolment, as rows to insert."""
    health = rng.gauss(*cohort.baseline)
    mode = "proxy" if rng.random() < PROXY_SHARE else "self"
    answered_before = True
    for position, time_point in enumerate(plan.protocol.time_points):
        opens = due_at(plan.index_date, time_point.offset_days)
        invitation: dict[str, Any] = {
            "time_point_id": time_point.id,
            "opens_at": opens,
            "expires_at": opens + dt.timedelta(days=plan.protocol.window_days),
            "state": "scheduled",
            "sent_at": None,
            "completed_at": None,
            "innsyn_until": None,
        }
        responses: list[dict[str, Any]] = []
        plan.invitations.append(invitation)
        plan.responses.append(responses)
        if position == 1:
            health += rng.gauss(*cohort.gain)
        elif position > 1:
            health += rng.gauss(*cohort.later_gain)
        if opens > now:
            continue  # not due yet: stays scheduled
        invitation["sent_at"] = opens
        rate = cohort.answer_rates[min(position, len(cohort.answer_rates) - 1)]
        if not answered_before:
            rate *= 0.7
        done_at = opens + dt.timedelta(days=rng.randrange(0, 21), hours=rng.randrange(7, 22))
        if rng.random() >= rate or done_at > now:
            answered_before = False
            invitation["state"] = "expired" if invitation["expires_at"] <= now else "sent"
            continue
        answered_before = True
        invitation.update(
            state="completed", completed_at=done_at, innsyn_until=innsyn_until(done_at)
        )
        for iid in time_point.instruments:
            model = models[iid]
            responses.append(
                {
                    "instrument_id": iid,
                    "instrument_version": model.instrument.version,
                    "instrument_hash": model.instrument.content_hash,
                    "language": plan.language,
                    "mode": mode,
                    "proxy_relation": "relative" if mode == "proxy" else None,
                    "status": "complete",
                    "answers": model.answers(health, rng),
                    "current_page": len(model.instrument.screen_pages()),
                    "started_at": done_at - dt.timedelta(minutes=rng.randrange(3, 25)),
                    "updated_at": done_at,
                    "completed_at": done_at,
                }
            )


BATCH = 2000  # rows per bulk INSERT statement
PATIENTS_PER_BATCH = 2000  # patients planned, then written (bounded memory)


def _insert_ids(model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in bulk; their new ids in the order of ``rows``."""
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        result = db.session.execute(
            insert(model).returning(model.id, sort_by_parameter_order=True),  # type: ignore[attr-defined]
            rows[start : start + BATCH],
        )
        ids.extend(result.scalars())
    return ids


def _patient_ids(plans: list[_Plan]) -> list[int]:
    """Ids of the plans' patients: existing ones looked up, the others inserted."""
    c = cipher()
    ids: dict[str, int] = {}
    indexes = [c.blind_index(validate(p.national_id).value) for p in plans]
    for start in range(0, len(indexes), 500):
        chunk = indexes[start : start + 500]
        found = db.session.execute(
            select(Patient.national_id_index, Patient.id).where(
                Patient.national_id_index.in_(chunk)
            )
        )
        ids.update((index, patient_id) for index, patient_id in found)
    new = [(plan, index) for plan, index in zip(plans, indexes, strict=True) if index not in ids]
    rows = []
    for plan, index in new:
        nid = validate(plan.national_id)
        rows.append(
            {
                "national_id_encrypted": c.encrypt(nid.value),
                "national_id_index": index,
                "id_kind": nid.kind,
                "birth_year": nid.birth_date.year if nid.birth_date else None,
                "email_encrypted": None,
                "language": plan.language,
            }
        )
    ids.update(zip((index for _, index in new), _insert_ids(Patient, rows), strict=True))
    if len(new) < len(plans):  # an existing patient keeps their language for invitations
        known = select(Patient.id, Patient.language).where(Patient.id.in_(ids.values()))
        languages = {patient_id: language for patient_id, language in db.session.execute(known)}
        for plan, index in zip(plans, indexes, strict=True):
            plan.language = languages[ids[index]]
    return [ids[index] for index in indexes]


def _insert(plans: list[_Plan]) -> int:
    """Write the planned patients, enrolments, invitations, responses and scores."""
    patient_ids = _patient_ids(plans)
    enrolment_ids = _insert_ids(
        Enrolment,
        [
            {
                "patient_id": patient_id,
                "protocol_id": plan.protocol.id,
                "unit_id": plan.unit.id,
                "index_date": plan.index_date,
            }
            for plan, patient_id in zip(plans, patient_ids, strict=True)
        ],
    )
    invitation_rows = []
    for plan, enrolment_id in zip(plans, enrolment_ids, strict=True):
        for invitation in plan.invitations:
            invitation_rows.append(
                {
                    **invitation,
                    "enrolment_id": enrolment_id,
                    "unit_id": plan.unit.id,  # the enrolment's keys (see Invitation)
                    "index_year": plan.index_date.year,
                    "language": plan.language,
                }
            )
    invitation_ids = iter(_insert_ids(Invitation, invitation_rows))
    response_rows = []
    response_keys = []  # the keys each response's scores carry (see Score)
    for plan, enrolment_id in zip(plans, enrolment_ids, strict=True):
        for invitation, responses in zip(plan.invitations, plan.responses, strict=True):
            invitation_id = next(invitation_ids)
            response_rows.extend({**r, "invitation_id": invitation_id} for r in responses)
            keys = {
                "enrolment_id": enrolment_id,
                "unit_id": plan.unit.id,
                "protocol_id": plan.protocol.id,
                "time_point_id": invitation["time_point_id"],
                "index_year": plan.index_date.year,
            }
            response_keys.extend({**keys, "instrument_id": r["instrument_id"]} for r in responses)
    response_ids = _insert_ids(Response, response_rows)
    scores = _score_all(response_rows)
    score_rows = [
        {**row, **keys, "response_id": response_id}
        for response_id, keys, rows in zip(response_ids, response_keys, scores, strict=True)
        for row in rows
    ]
    for start in range(0, len(score_rows), BATCH):
        db.session.execute(insert(Score), score_rows[start : start + BATCH])
    return len(response_rows)


def _plain(value: Any) -> Any:
    """A numpy scalar as a Python value, NaN as None (as :func:`scoring.score` returns)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _score_all(responses: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Score rows of each response, as :func:`~webapp.services.responses.score_rows` makes
    them, computed with one :func:`scoring.score_table` call per instrument."""
    out: list[list[dict[str, Any]]] = [[] for _ in responses]
    by_instrument: dict[str, list[int]] = {}
    for i, response in enumerate(responses):
        by_instrument.setdefault(response["instrument_id"], []).append(i)
    for instrument_id, positions in by_instrument.items():
        try:
            algorithm = scoring.get(instrument_id)
        except KeyError:  # no scoring algorithm: raw answers only
            continue
        value_set = value_set_for(instrument_id)
        table = {
            item: np.array(
                [
                    np.nan
                    if responses[i]["answers"].get(item) is None
                    else responses[i]["answers"][item]
                    for i in positions
                ],
                dtype=object,
            )
            for item in algorithm.items
        }
        result = scoring.score_table(instrument_id, table, value_set=value_set)
        for row, i in enumerate(positions):
            for name, values in result.items():
                value = _plain(values[row])
                text = name in algorithm.text_scores
                out[i].append(
                    {
                        "scale": name,
                        "value": None if text or value is None else float(value),
                        "text_value": str(value) if text and value is not None else None,
                        "algorithm_version": algorithm.algorithm_version,
                        "value_set": value_set or "",
                    }
                )
    return out
