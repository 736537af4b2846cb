"""Two years of synthetic follow-up for the demo register, so every view has real numbers.

Patients are enrolled at the three demo units with index dates spread over the last two
years; each due time point is answered with a unit-specific probability, and the answers
come from a simple latent-trait model (one health level per patient and time point, items
answered by their own difficulty plus noise), so scores improve after surgery, correlate
across items and differ between units. Scores are computed by :mod:`scoring` exactly as for
real submissions. Nothing here is real data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import instruments
from instruments import Instrument, Item
from scoring.rand36 import RECODE as RAND36_RECODE
from webapp.extensions import db
from webapp.models import Enrolment, Protocol, Response, Unit
from webapp.services.invitations import aware, innsyn_until
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import enrol
from webapp.services.responses import score_rows


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
    points over the two years before ``today``; returns the number of completed responses."""
    rng = random.Random(seed)
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    models = {
        iid: AnswerModel(instruments.load(iid), rng)
        for p in protocols.values()
        for tp in p.time_points
        for iid in tp.instruments
    }
    cohorts = [c for c in COHORTS if c.unit in units and c.protocol in protocols]
    completed = 0
    for number in national_ids:
        cohort = rng.choices(cohorts, weights=[c.share for c in cohorts])[0]
        language = _pick(rng, LANGUAGES)
        patient, _ = get_or_create_patient(number, language=language)
        index_date = today - dt.timedelta(days=rng.randrange(14, 760))
        enrolment = enrol(patient, protocols[cohort.protocol], units[cohort.unit], index_date)
        completed += _follow(enrolment, cohort, models, rng, now, language)
    db.session.flush()
    return completed


def _follow(
    enrolment: Enrolment,
    cohort: Cohort,
    models: dict[str, AnswerModel],
    rng: random.Random,
    now: dt.datetime,
    language: str,
) -> int:
    """Answer (or not) each time point of one enrolment; returns completed responses."""
    health = rng.gauss(*cohort.baseline)
    mode = "proxy" if rng.random() < PROXY_SHARE else "self"
    answered_before = True
    completed = 0
    invitations = sorted(enrolment.invitations, key=lambda i: i.time_point.position)
    for position, invitation in enumerate(invitations):
        if position == 1:
            health += rng.gauss(*cohort.gain)
        elif position > 1:
            health += rng.gauss(*cohort.later_gain)
        opens = aware(invitation.opens_at)
        if opens > now:
            continue  # not due yet: stays scheduled
        invitation.sent_at = opens
        rate = cohort.answer_rates[min(position, len(cohort.answer_rates) - 1)]
        if not answered_before:
            rate *= 0.7
        done_at = opens + dt.timedelta(days=rng.randrange(0, 21), hours=rng.randrange(7, 22))
        if rng.random() >= rate or done_at > now:
            answered_before = False
            invitation.state = "expired" if aware(invitation.expires_at) <= now else "sent"
            continue
        answered_before = True
        invitation.state, invitation.completed_at = "completed", done_at
        invitation.innsyn_until = innsyn_until(done_at)
        for iid in invitation.time_point.instruments:
            model = models[iid]
            response = Response(
                invitation_id=invitation.id,
                instrument_id=iid,
                instrument_version=model.instrument.version,
                instrument_hash=model.instrument.content_hash,
                language=language,
                mode=mode,
                proxy_relation="relative" if mode == "proxy" else None,
                status="complete",
                answers=model.answers(health, rng),
                current_page=len(model.instrument.screen_pages()),
                started_at=done_at - dt.timedelta(minutes=rng.randrange(3, 25)),
                updated_at=done_at,
                completed_at=done_at,
            )
            db.session.add(response)
            db.session.flush()
            db.session.add_all(score_rows(response))
            completed += 1
    return completed
