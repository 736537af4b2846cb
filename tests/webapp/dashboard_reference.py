"""The unit dashboard as computed before the SQL aggregates (commit 5b1f071): the whole
register's due invitations and scores loaded into Python and scanned per cell.

Kept only as the reference implementation for ``test_dashboard_sql.py`` (the SQL results
must equal these numbers) and as the baseline of ``bench/dashboard.py``. Nothing in
``webapp`` imports it; it shares no code with :mod:`webapp.services.dashboard` except the
report's dataclasses and presentation helpers (titles, charts, score labels).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from scoring.mid import mid as lookup_mid
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
    utcnow,
)
from webapp.services import indicators as ind
from webapp.services.charts import histogram, indicator_bars
from webapp.services.indicators import Indicator
from webapp.services.invitations import aware
from webapp.services.score_info import score_info
from webapp.services.unit_report import (
    HIDDEN_SCALES,
    ChangeRow,
    IndicatorRow,
    IndicatorTable,
    ProtocolBlock,
    RateRow,
    ScoreBlock,
    ScoreRow,
    UnitReport,
    instrument_title,
)

MIN_CELL = 5
SUPPRESSED = "n<5"


@dataclass(frozen=True)
class Share:
    """A proportion with its Wilson 95 % confidence interval; ``n`` is the denominator."""

    k: int
    n: int

    @property
    def suppressed(self) -> bool:
        """Too few to show (n below :data:`MIN_CELL`)."""
        return self.n < MIN_CELL

    @property
    def value(self) -> float | None:
        """k / n, or None when suppressed."""
        return None if self.suppressed else self.k / self.n

    @property
    def ci(self) -> tuple[float, float] | None:
        """Wilson score interval (statsmodels), or None when suppressed."""
        if self.suppressed:
            return None
        from statsmodels.stats.proportion import proportion_confint

        low, high = proportion_confint(self.k, self.n, alpha=0.05, method="wilson")
        return float(low), float(high)

    def text(self) -> str:
        """``73 % (n=41)`` or ``n<5``."""
        if self.suppressed:
            return SUPPRESSED
        return f"{self.k / self.n:.0%} (n={self.n})".replace("%", " %")


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and a histogram of a score; ``n`` responses."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    counts: tuple[int, ...] = ()
    edges: tuple[float, ...] = ()
    decimals: int = 1

    @property
    def suppressed(self) -> bool:
        """Too few to show (n below :data:`MIN_CELL`)."""
        return self.n < MIN_CELL

    def text(self) -> str:
        """``28 (16–40), n=57`` or ``n<5``."""
        if self.suppressed:
            return SUPPRESSED
        return f"{self._num(self.median)} ({self._num(self.q1)}–{self._num(self.q3)}), n={self.n}"

    def _num(self, value: float | None) -> str:
        text = f"{value:.{self.decimals}f}"
        return text.removesuffix(".0") if self.decimals == 1 else text


def summarise(
    values: Iterable[float], bounds: tuple[float, float] | None = None, decimals: int = 1
) -> Summary:
    """Median, quartiles and a 10-bin histogram (over ``bounds`` when given)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size < MIN_CELL:
        return Summary(int(arr.size), None, None, None, decimals=decimals)
    q1, median, q3 = np.quantile(arr, [0.25, 0.5, 0.75])
    lo, hi = bounds if bounds else (float(arr.min()), float(arr.max()))
    counts, edges = np.histogram(arr, bins=10, range=(lo, hi if hi > lo else lo + 1))
    return Summary(
        int(arr.size),
        float(median),
        float(q1),
        float(q3),
        tuple(int(c) for c in counts),
        tuple(float(e) for e in edges),
    )


@dataclass(frozen=True)
class InvitationFact:
    """A due invitation: where, which time point, whether closed, what was answered."""

    unit_id: int
    protocol: str
    time_point: str
    position: int
    year: int
    instruments: tuple[str, ...]
    closed: bool
    answered: frozenset[str]


@dataclass(frozen=True)
class ScoreFact:
    """One numeric score of one completed response."""

    enrolment_id: int
    unit_id: int
    protocol: str
    time_point: str
    position: int
    year: int
    instrument: str
    scale: str
    value: float


@dataclass
class Facts:
    """Everything a register's dashboards are computed from."""

    register: Register
    units: dict[int, Unit]
    protocols: dict[str, Protocol]
    invitations: list[InvitationFact] = field(default_factory=list)
    scores: list[ScoreFact] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        """Index years present, newest first."""
        return sorted({f.year for f in self.invitations}, reverse=True)


def load_facts(register: Register, now: dt.datetime | None = None) -> Facts:
    """Read the register's due invitations and numeric scores (one query each)."""
    now = now or utcnow()
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.register_id == register.id))
    }
    protocols = {
        p.name: p
        for p in db.session.scalars(select(Protocol).where(Protocol.register_id == register.id))
    }
    facts = Facts(register, units, protocols)
    if not units:
        return facts
    answered: dict[int, set[str]] = defaultdict(set)
    rows = db.session.execute(
        select(Response.invitation_id, Response.instrument_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .where(Enrolment.unit_id.in_(units), Response.status == "complete")
    )
    for invitation_id, instrument_id in rows:
        answered[invitation_id].add(instrument_id)
    rows = db.session.execute(
        select(
            Invitation.id,
            Invitation.expires_at,
            Invitation.completed_at,
            Enrolment.unit_id,
            Enrolment.index_date,
            Protocol.name,
            TimePoint.name,
            TimePoint.position,
            TimePoint.instruments,
        )
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .join(Protocol, Protocol.id == Enrolment.protocol_id)
        .join(TimePoint, TimePoint.id == Invitation.time_point_id)
        .where(Enrolment.unit_id.in_(units), Invitation.opens_at <= now)
    )
    for inv_id, expires, completed, unit_id, index_date, proto, tp, pos, insts in rows:
        facts.invitations.append(
            InvitationFact(
                unit_id,
                proto,
                tp,
                pos,
                index_date.year,
                tuple(insts or ()),
                completed is not None or aware(expires) <= now,
                frozenset(answered[inv_id]),
            )
        )
    rows = db.session.execute(
        select(
            Enrolment.id,
            Enrolment.unit_id,
            Enrolment.index_date,
            Protocol.name,
            TimePoint.name,
            TimePoint.position,
            Response.instrument_id,
            Score.scale,
            Score.value,
        )
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .join(Protocol, Protocol.id == Enrolment.protocol_id)
        .join(TimePoint, TimePoint.id == Invitation.time_point_id)
        .join(Score, Score.response_id == Response.id)
        .where(
            Enrolment.unit_id.in_(units), Response.status == "complete", Score.value.is_not(None)
        )
    )
    for enr, unit_id, index_date, proto, tp, pos, inst, scale, value in rows:
        if math.isfinite(value):
            facts.scores.append(
                ScoreFact(enr, unit_id, proto, tp, pos, index_date.year, inst, scale, value)
            )
    return facts


Filter = Callable[[InvitationFact | ScoreFact], bool]


def where(unit_ids: set[int] | None = None, year: int | None = None) -> Filter:
    """A filter on unit and index year (None = all)."""
    return lambda f: (
        (unit_ids is None or f.unit_id in unit_ids) and (year is None or f.year == year)
    )


def response_rate(
    facts: Facts, protocol: str, time_point: str, instrument: str, keep: Filter
) -> Share:
    """Answered / closed-or-answered invitations of one time point and instrument."""
    k = n = 0
    for f in facts.invitations:
        if f.protocol != protocol or f.time_point != time_point or instrument not in f.instruments:
            continue
        if not keep(f):
            continue
        done = instrument in f.answered
        if done or f.closed:
            n += 1
            k += done
    return Share(k, n)


def values(
    facts: Facts, protocol: str, time_point: str, instrument: str, scale: str, keep: Filter
) -> list[float]:
    """Score values of one time point."""
    return [
        f.value
        for f in facts.scores
        if f.protocol == protocol
        and f.time_point == time_point
        and f.instrument == instrument
        and f.scale == scale
        and keep(f)
    ]


def paired(
    facts: Facts,
    protocol: str,
    instrument: str,
    scale: str,
    before: str,
    after: str,
    keep: Filter,
) -> list[tuple[float, float]]:
    """(before, after) values of enrolments that have both."""
    first: dict[int, float] = {}
    second: dict[int, float] = {}
    for f in facts.scores:
        if f.protocol != protocol or f.instrument != instrument or f.scale != scale:
            continue
        if not keep(f):
            continue
        if f.time_point == before:
            first[f.enrolment_id] = f.value
        elif f.time_point == after:
            second[f.enrolment_id] = f.value
    return [(first[e], second[e]) for e in first.keys() & second.keys()]


def change_shares(
    pairs: list[tuple[float, float]], instrument: str, scale: str
) -> tuple[Share, Share] | None:
    """(improved, worsened) by at least the MID; None when no MID is recorded."""
    found = lookup_mid(instrument, scale)
    if found is None:
        return None
    improved = sum(found.is_important_improvement(b, a) for b, a in pairs)
    worsened = sum(found.is_important_improvement(a, b) for b, a in pairs)
    return Share(improved, len(pairs)), Share(worsened, len(pairs))


def indicator_share(facts: Facts, indicator: Indicator, keep: Filter) -> Share:
    """The value of a quality indicator for the rows ``keep`` selects."""
    if indicator.kind == "response_rate":
        return response_rate(
            facts, indicator.protocol, indicator.time_point or "", indicator.instrument, keep
        )
    scale = indicator.scale or ""
    if indicator.kind == "improved":
        pairs = paired(
            facts,
            indicator.protocol,
            indicator.instrument,
            scale,
            indicator.from_time_point or "",
            indicator.to_time_point or "",
            keep,
        )
        shares = change_shares(pairs, indicator.instrument, scale)
        return shares[0] if shares else Share(0, 0)
    found = values(
        facts, indicator.protocol, indicator.time_point or "", indicator.instrument, scale, keep
    )
    if indicator.at_most is not None:
        hits = sum(v <= indicator.at_most for v in found)
    else:
        hits = sum(v >= (indicator.at_least or 0.0) for v in found)
    return Share(hits, len(found))


def _scales(facts: Facts, protocol: str, unit_ids: set[int]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for f in facts.scores:
        key = (f.instrument, f.scale)
        if f.protocol == protocol and f.unit_id in unit_ids and key not in HIDDEN_SCALES:
            seen.setdefault(key, None)
    return list(seen)


def _protocol_block(facts: Facts, name: str, unit: Unit, year: int | None) -> ProtocolBlock:
    protocol = facts.protocols[name]
    time_points = list(protocol.time_points)
    block = ProtocolBlock(name, protocol.title)
    mine, everyone = where({unit.id}, year), where(None, year)
    instrument_ids = list(dict.fromkeys(i for tp in time_points for i in tp.instruments))
    for tp in time_points:
        for iid in tp.instruments:
            block.rates.append(
                RateRow(
                    tp.title,
                    instrument_title(iid),
                    response_rate(facts, name, tp.name, iid, mine),
                    response_rate(facts, name, tp.name, iid, everyone),
                )
            )
    for iid, scale in _scales(facts, name, set(facts.units)):
        if iid not in instrument_ids:
            continue
        info = score_info(iid, scale)
        rows = []
        for tp in time_points:
            if iid not in tp.instruments:
                continue
            bounds = (info.low, info.high)
            own = summarise(values(facts, name, tp.name, iid, scale, mine), bounds, info.decimals)
            reg = summarise(
                values(facts, name, tp.name, iid, scale, everyone), bounds, info.decimals
            )
            title = f"Fordeling av {info.label}, {tp.title}, n={own.n}"
            svg = "" if own.suppressed else histogram(own.counts, own.edges, title=title)
            rows.append(ScoreRow(tp.title, own, reg, svg))
        block.scores.append(
            ScoreBlock(iid, instrument_title(iid), scale, info.label, info.direction_text, rows)
        )
        found = lookup_mid(iid, scale)
        if found is None:
            continue
        first = time_points[0]
        for tp in time_points[1:]:
            own_pairs = paired(facts, name, iid, scale, first.name, tp.name, mine)
            reg_pairs = paired(facts, name, iid, scale, first.name, tp.name, everyone)
            improved, worsened = change_shares(own_pairs, iid, scale) or (Share(0, 0),) * 2
            reg_improved = (change_shares(reg_pairs, iid, scale) or (Share(0, 0),))[0]
            block.changes.append(
                ChangeRow(
                    instrument_title(iid),
                    info.label,
                    found.value,
                    tp.title,
                    improved,
                    worsened,
                    reg_improved,
                )
            )
    return block


def indicator_tables(
    facts: Facts,
    indicators: tuple[ind.Indicator, ...],
    *,
    highlight: int | None = None,
    max_years: int = 3,
) -> list[IndicatorTable]:
    """Each indicator by unit (rows, plus the whole register) and index year (columns)."""
    years = sorted(facts.years[:max_years])
    columns = [str(y) for y in years] + ["Alle år"]
    tables = []
    for indicator in indicators:
        rows = []
        taking_part = {f.unit_id for f in facts.invitations if f.protocol == indicator.protocol}
        groups: list[tuple[str, int | None, set[int] | None]] = [
            (u.title, u.id, {u.id})
            for u in sorted(facts.units.values(), key=lambda u: u.name)
            if u.id in taking_part
        ]
        groups.append(("Hele registeret", None, None))
        for label, unit_id, ids in groups:
            cells = []
            for year in [*years, None]:
                share = indicator_share(facts, indicator, where(ids, year))
                cells.append((share, None if share.suppressed else indicator.level(share.value)))
            rows.append(IndicatorRow(label, unit_id, cells))
        bars = [(r.label, r.cells[-1][0].value, r.unit_id == highlight) for r in rows]
        svg = indicator_bars(
            bars,
            high=indicator.high,
            moderate=indicator.moderate,
            better=indicator.better,
            title=f"{indicator.title}, alle år",
        )
        tables.append(IndicatorTable(indicator, columns, rows, svg))
    return tables


def unit_report(unit: Unit, year: int | None = None) -> UnitReport:
    """The dashboard of ``unit`` for index ``year`` (None = all years)."""
    register = unit.register
    facts = load_facts(register)
    names = list(dict.fromkeys(f.protocol for f in facts.invitations if f.unit_id == unit.id))
    blocks = [_protocol_block(facts, name, unit, year) for name in names]
    tables = [
        t
        for t in indicator_tables(facts, ind.for_register(register.name), highlight=unit.id)
        if any(row.unit_id == unit.id for row in t.rows)  # only protocols the unit runs
    ]
    return UnitReport(unit, register, year, facts.years, blocks, tables)


def register_indicators(register: Register) -> tuple[list[IndicatorTable], list[int]]:
    """The register's indicator tables and the index years in its data."""
    facts = load_facts(register)
    return indicator_tables(facts, ind.for_register(register.name)), facts.years
