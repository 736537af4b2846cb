"""The summary panel at the top of a clinician's patient page: per instrument the latest
scores with their severity band in words, the change since the first measurement against
the minimal important difference (MID), the answers flagged for discussion and who
answered.

Bands: CAT impact levels (CAT user guide: < 10 low, 10-20 medium, 21-30 high, > 30 very
high; :data:`scoring.cat.IMPACT`) and ODI disability bands (Fairbank & Pynsent 2000, Spine
25:2940: 0-20 minimal, 21-40 moderate, 41-60 severe, 61-80 crippled, 81-100 bed-bound;
:data:`scoring.odi.BANDS`). Flags: the ``flags`` rules of the instrument file
(:mod:`instruments.flags`). Population norms: the EQ-5D index and EQ VAS against the norm of
the patient's sex and age band at the measurement, from the CSV named by
``OPENPROM_NORMS_FILE`` (:mod:`scoring.norms`; none is bundled, see ``docs/clinician.md``);
sex and birth date are read from the national ID at view time and never stored or logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _

import instruments
from instruments import flags
from scoring.cat import IMPACT
from scoring.mid import Mid
from scoring.mid import mid as lookup_mid
from scoring.norms import Norm, NormsFileError, NormTable, load_norms
from scoring.odi import BANDS
from webapp.i18n import long_date
from webapp.models import Patient
from webapp.national_id import InvalidNationalId, NationalId, Sex, age_on, sex_of, validate
from webapp.services.invitations import aware
from webapp.services.score_info import score_info

log = logging.getLogger("openprom.norms")  # openprom.* lines reach stderr (webapp/__init__)
OSLO = ZoneInfo("Europe/Oslo")  # age at a measurement: its date in Norway
# Scores compared with population norms (when a norms file is configured).
NORMED = {"eq5d5l": ("index", "vas"), "eq5d3l": ("index", "vas")}

# Scores shown in the panel per instrument (others: every numeric score the response has).
HEADLINE = {
    "cat": ("total",),
    "odi": ("total",),
    "eq5d5l": ("index", "vas"),
    "eq5d3l": ("index", "vas"),
    "rand36": ("PCS", "MCS"),
}


@dataclass(frozen=True)
class Measurement:
    """One completed response as the panel needs it."""

    instrument_id: str
    time_point: str
    completed_at: dt.datetime | None
    mode: str
    proxy_relation: str | None
    answers: Mapping[str, Any]
    scores: Mapping[str, float | None]
    value_sets: Mapping[str, str] = field(default_factory=dict)  # scale -> value set ("")


@dataclass
class ScoreLine:
    """One score of the latest response: value, band and change in words."""

    label: str
    value: str
    band: str
    change: str
    trend: str  # improved | worsened | unclear | first


@dataclass
class InstrumentSummary:
    """The panel's block for one instrument."""

    instrument_id: str
    title: str
    time_point: str
    date: str
    answered_by: str
    lines: list[ScoreLine] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    norms: list[NormLine] = field(default_factory=list)
    norm_sources: list[str] = field(default_factory=list)  # footnotes, numbered from 1


@dataclass(frozen=True)
class NormLine:
    """A score of the latest response next to its population norm, in words."""

    text: str
    mark: int  # number of its source in the block's ``norm_sources``


@dataclass(frozen=True)
class NormPerson:
    """What population norms need of a patient: sex and the (validated) national ID for the
    age at each measurement. Derived at view time only; never stored, logged or shown."""

    sex: Sex
    nid: NationalId


def band_key(instrument_id: str, scale: str, value: float | None) -> str | None:
    """The severity band of a score (English key), None when the score has no bands.

    CAT total: the first impact level whose inclusive upper bound holds the total; ODI
    total: the first Fairbank band whose inclusive upper bound holds the percentage.
    """
    if value is None or math.isnan(value):
        return None
    if (instrument_id, scale) == ("cat", "total"):
        table = IMPACT
    elif (instrument_id, scale) == ("odi", "total"):
        table = BANDS
    else:
        return None
    return next((name for bound, name in table if value <= bound), table[-1][1])


def band_words(key: str | None) -> str:
    """A band key in the request's language."""
    words = {
        "low": _("low impact"),
        "medium": _("medium impact"),
        "high": _("high impact"),
        "very high": _("very high impact"),
        "minimal": _("minimal disability"),
        "moderate": _("moderate disability"),
        "severe": _("severe disability"),
        "crippled": _("crippled: back pain affects all parts of life"),
        "bed-bound": _("bed-bound"),
    }
    return words.get(key, "") if key else ""


def change_trend(found: Mid | None, before: float, after: float) -> str:
    """``improved`` / ``worsened`` by at least the MID, else ``unclear``; ``unclear`` too
    when the score has no MID."""
    if found is None:
        return "unclear"
    if found.is_important_improvement(before, after):
        return "improved"
    if found.is_important_improvement(after, before):
        return "worsened"
    return "unclear"


def _label(instrument_id: str, scale: str, lang: str) -> str:
    info = score_info(instrument_id, scale)
    try:
        for s in instruments.load(instrument_id).scales:
            if s.id == scale and lang in s.label:
                return s.label.get_text(lang)
    except KeyError:
        pass
    if scale == "index":
        return _("EQ-5D index")
    if scale == "vas":
        return _("EQ VAS (0–100)")
    if (instrument_id, scale) == ("rand36", "PCS"):
        return _("Physical component summary (PCS)")
    if (instrument_id, scale) == ("rand36", "MCS"):
        return _("Mental component summary (MCS)")
    if (instrument_id, scale) == ("rand36", "HT"):
        return _("Health change in the last year")
    return info.label


def _title(instrument_id: str, lang: str) -> str:
    try:
        title = instruments.load(instrument_id).title
    except KeyError:
        return instrument_id
    return title[lang] if lang in title else title.get("nb", instrument_id)


def _answered_by(m: Measurement) -> str:
    if m.mode == "proxy":
        relation = {
            "parent": _("a parent or guardian"),
            "relative": _("a relative"),
            "carer": _("a carer"),
        }.get(m.proxy_relation or "", _("someone else"))
        return _("Answered for the patient by %(who)s (proxy)", who=relation)
    if m.mode == "paper":
        return _("Answered on paper, entered by staff")
    return ""


def score_line(
    instrument_id: str, scale: str, series: Sequence[tuple[str, float]], lang: str
) -> ScoreLine:
    """The latest of ``series`` ((time point, value) in time order) in words: value, band
    and change since the first against the MID."""
    info = score_info(instrument_id, scale)
    first_tp, first = series[0]
    last_tp, last = series[-1]
    key = band_key(instrument_id, scale, last)
    if len(series) < 2:
        return ScoreLine(
            _label(instrument_id, scale, lang),
            info.display(last, lang),
            band_words(key),
            _("First measurement; no change yet."),
            "first",
        )
    found = lookup_mid(instrument_id, scale)
    trend = change_trend(found, first, last)
    numbers = _(
        "%(change)s since %(first)s (%(before)s)",
        change=info.display(last - first, lang, signed=True),
        first=first_tp[:1].lower() + first_tp[1:],
        before=info.display(first, lang),
    )
    if found is None:
        words = _("no minimal important difference recorded")
    else:
        mid_text = info.display(found.value, lang)
        words = {
            "improved": _("better by at least the MID (%(mid)s)", mid=mid_text),
            "worsened": _("worse by at least the MID (%(mid)s)", mid=mid_text),
            "unclear": _("less than the MID (%(mid)s): no certain change", mid=mid_text),
        }[trend]
    return ScoreLine(
        _label(instrument_id, scale, lang),
        info.display(last, lang),
        band_words(key),
        f"{numbers}: {words}",
        trend,
    )


@lru_cache(maxsize=4)
def _norms_at(path: str, stamp: int) -> NormTable:
    del stamp  # part of the cache key: a changed file is read again
    return load_norms(path)


def norm_table() -> NormTable | None:
    """The norms of ``OPENPROM_NORMS_FILE``; None when none is configured, or when the file
    cannot be used (the loader's message is logged; the panel then shows no norms)."""
    raw = current_app.config.get("OPENPROM_NORMS_FILE") if has_app_context() else None
    if not raw:
        return None
    path = Path(raw)
    try:
        return _norms_at(str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        log.error("population norms not shown: %s: %s", path, exc.strerror)
    except NormsFileError as exc:
        log.error("population norms not shown: %s", exc)
    return None


def norm_person(patient: Patient) -> NormPerson | None:
    """Sex and national ID of ``patient`` for norms; None when the number encodes no sex or
    birth date (FH and H-numbers, the gender-neutral 2032 format). The caller's view is
    already audited; nothing derived here leaves the request."""
    from webapp.services.patients import national_id_of

    try:
        nid = validate(national_id_of(patient))
    except InvalidNationalId:
        return None
    sex = sex_of(nid)
    if sex is None or nid.birth_date is None:
        return None
    return NormPerson(sex, nid)


def _ages(norm: Norm, lang: str) -> str:
    del lang  # the messages are in the request's language
    if norm.age_high is None:
        return _("%(low)s years and over", low=norm.age_low)
    return _("%(low)s–%(high)s years", low=norm.age_low, high=norm.age_high)


def norm_words(norm: Norm, instrument_id: str, lang: str) -> str:
    """``Norwegian women 60–69 years: mean 79 (SD 15, n = 120)`` in the request's language,
    numbers with the score's decimals in ``lang``'s format."""
    info = score_info(instrument_id, norm.score)
    mean = info.display(norm.mean, lang)
    if norm.sex == "female":
        words = _("Norwegian women %(ages)s: mean %(mean)s", ages=_ages(norm, lang), mean=mean)
    else:
        words = _("Norwegian men %(ages)s: mean %(mean)s", ages=_ages(norm, lang), mean=mean)
    details = []
    if norm.sd is not None:
        details.append(_("SD %(sd)s", sd=info.display(norm.sd, lang)))
    if norm.n is not None:
        details.append(f"n = {norm.n}")
    return f"{words} ({', '.join(details)})" if details else words


def _add_norms(
    block: InstrumentSummary,
    latest: Measurement,
    table: NormTable,
    person: NormPerson,
    lang: str,
) -> None:
    """Norm lines of the latest response's index and VAS (the index only against a norm of
    the value set it was computed with)."""
    if latest.completed_at is None:
        return
    age = age_on(person.nid, aware(latest.completed_at).astimezone(OSLO).date())
    if age is None:
        return
    for scale in NORMED.get(latest.instrument_id, ()):
        value = latest.scores.get(scale)
        if value is None or not math.isfinite(value):
            continue
        norm = table.norm_for(
            scale,
            person.sex,
            age,
            instrument=latest.instrument_id,
            value_set=latest.value_sets.get(scale) or None,
        )
        if norm is None:
            continue
        if norm.source not in block.norm_sources:
            block.norm_sources.append(norm.source)
        info = score_info(latest.instrument_id, scale)
        label = _label(latest.instrument_id, scale, lang)
        words = norm_words(norm, latest.instrument_id, lang)
        text = f"{label}: {info.display(value, lang)} — {words}"
        block.norms.append(NormLine(text, block.norm_sources.index(norm.source) + 1))


def build(
    measurements: Sequence[Measurement], lang: str, patient: Patient | None = None
) -> list[InstrumentSummary]:
    """One block per instrument (in order of first appearance), from its latest response.

    ``measurements`` must be in time order; change is latest against the first. With
    ``patient`` and a norms file configured, the EQ-5D index and VAS get their population
    norm (the national ID is decrypted only then, and only for a patient with EQ-5D).
    """
    normed = patient is not None and any(m.instrument_id in NORMED for m in measurements)
    table = norm_table() if normed else None
    person = norm_person(patient) if table is not None and patient is not None else None
    by_instrument: dict[str, list[Measurement]] = {}
    for m in measurements:
        by_instrument.setdefault(m.instrument_id, []).append(m)
    out = []
    for instrument_id, ms in by_instrument.items():
        latest = ms[-1]
        block = InstrumentSummary(
            instrument_id,
            _title(instrument_id, lang),
            latest.time_point,
            long_date(latest.completed_at, lang) if latest.completed_at else "",
            _answered_by(latest),
        )
        wanted = HEADLINE.get(instrument_id) or tuple(latest.scores)
        for scale in wanted:
            value = latest.scores.get(scale)
            if value is None or not math.isfinite(value):
                continue
            series = [
                (m.time_point, v)
                for m in ms
                if (v := m.scores.get(scale)) is not None and math.isfinite(v)
            ]
            block.lines.append(score_line(instrument_id, scale, series, lang))
        block.flags = [
            f"{f.reason(lang)}: {f.code}" for f in flags.flagged(instrument_id, latest.answers)
        ]
        if table is not None and person is not None:
            _add_norms(block, latest, table, person, lang)
        out.append(block)
    return out
