"""Unit and register dashboards: response rates, score distributions, change beyond the
minimal important difference (MID), and the register's quality indicators.

Every number comes with its n, and every cell with n below :data:`MIN_CELL` is suppressed
(shown and downloaded as ``n<5``), so that no aggregate points to a single patient.

Definitions (also printed on the pages):

- response rate = invitations of the time point answered for the instrument, divided by
  invitations that are answered or whose answering window has closed (open invitations
  are not counted yet);
- median and quartiles of each score over completed responses (Hyndman & Fan type 7,
  numpy's default ``linear`` method);
- improved / worsened = share of enrolments with a score at baseline (first time point)
  and at the follow-up whose change is at least the MID (:mod:`scoring.mid`) in the
  better / worse direction;
- years are years of the index date (e.g. the operation).

Everything is counted by aggregate queries (:class:`RegisterStats`): counts per time
point, unit and index year; per score a frequency table (distinct value, how often), from
which the quartiles and the histogram are taken exactly as from the list of values; and
baseline/follow-up pairs joined per enrolment in SQL. No query returns a row per patient.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import aliased, selectinload

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
from webapp.services.indicators import Indicator

MIN_CELL = 5
SUPPRESSED = "n<5"

Units = frozenset[int] | None  # a set of unit ids; None = the whole register
Cell = tuple[str, str, str]  # (time point, instrument, scale)


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
    """Median, quartiles (type 7) and a 10-bin histogram (over ``bounds`` when given)."""
    arr = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
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


def summarise_counts(
    values: Sequence[float],
    counts: Sequence[int],
    bounds: tuple[float, float] | None = None,
    decimals: int = 1,
) -> Summary:
    """:func:`summarise` of a frequency table: each of ``values`` occurs ``counts`` times."""
    arr = np.repeat(np.asarray(values, dtype=float), np.asarray(counts, dtype=np.int64))
    return summarise(arr, bounds, decimals)


def change_shares(
    pairs: Iterable[tuple[float, float]], instrument: str, scale: str
) -> tuple[Share, Share] | None:
    """(improved, worsened) by at least the MID over (before, after) pairs; None when no
    MID is recorded. (The dashboard counts the same in SQL: :meth:`RegisterStats.change`.)"""
    found = lookup_mid(instrument, scale)
    if found is None:
        return None
    pairs = list(pairs)
    improved = sum(found.is_important_improvement(b, a) for b, a in pairs)
    worsened = sum(found.is_important_improvement(a, b) for b, a in pairs)
    return Share(improved, len(pairs)), Share(worsened, len(pairs))


def _finite(value: Any) -> ColumnElement[bool]:
    # NaN compares above every number on PostgreSQL (and is NULL on SQLite): this keeps
    # exactly the finite values, as math.isfinite did.
    return value.between(-sys.float_info.max, sys.float_info.max)


def _index_year() -> ColumnElement[int]:
    if db.session.get_bind().dialect.name == "sqlite":
        # dates are ISO text there: the first four characters (much cheaper than strftime)
        return cast(func.substr(Enrolment.index_date, 1, 4), Integer)
    return cast(extract("year", Enrolment.index_date), Integer)


def _in_year(year: int | None) -> ColumnElement[bool]:
    if year is None:
        return true()
    return and_(
        Enrolment.index_date >= dt.date(year, 1, 1), Enrolment.index_date < dt.date(year + 1, 1, 1)
    )


def _among(units: Units) -> ColumnElement[bool]:
    return true() if units is None else Enrolment.unit_id.in_(sorted(units))


class RegisterStats:
    """The aggregates of one register at one moment (``now``), for the dashboards.

    Each aggregate is read by one query the first time it is needed and kept for the
    life of the object (one request). Selections are a set of unit ids (None = the whole
    register) and an index year (None = all years).
    """

    def __init__(self, register: Register, now: dt.datetime | None = None) -> None:
        self.register = register
        self.now = now or utcnow()
        self.units: dict[int, Unit] = {
            u.id: u for u in db.session.scalars(select(Unit).where(Unit.register_id == register.id))
        }
        self.protocols: dict[str, Protocol] = {
            p.name: p
            for p in db.session.scalars(
                select(Protocol)
                .where(Protocol.register_id == register.id)
                .options(selectinload(Protocol.time_points))
                .order_by(Protocol.id)
            )
        }
        self._time_points: dict[int, tuple[str, TimePoint]] = {
            tp.id: (p.name, tp) for p in self.protocols.values() for tp in p.time_points
        }
        self._distributions: dict[tuple[str, int | None, Units], dict[Cell, _Frequencies]] = {}
        self._changes: dict[tuple[str, str], dict[tuple[Any, ...], list[int]]] = {}
        self._thresholds: dict[tuple[Any, ...], dict[tuple[int, int], list[int]]] = {}
        self._scales: dict[str, list[tuple[str, str]]] = {}

    # -- invitations ---------------------------------------------------------------------

    def _registered(self) -> ColumnElement[bool]:
        return Enrolment.unit_id.in_(sorted(self.units))

    def _closed(self) -> ColumnElement[bool]:
        return or_(Invitation.completed_at.is_not(None), Invitation.expires_at <= self.now)

    @cached_property
    def _invitations(self) -> dict[tuple[int, int, int], tuple[int, int]]:
        """(time point id, unit id, year) -> (due invitations, closed ones)."""
        if not self.units:
            return {}
        year = _index_year()
        rows = db.session.execute(
            select(
                Invitation.time_point_id,
                Enrolment.unit_id,
                year,
                func.count(),
                func.sum(case((self._closed(), 1), else_=0)),
            )
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .where(self._registered(), Invitation.opens_at <= self.now)
            .group_by(Invitation.time_point_id, Enrolment.unit_id, year)
        )
        return {(tp, unit, y): (int(due), int(closed)) for tp, unit, y, due, closed in rows}

    @cached_property
    def _answered(self) -> dict[tuple[int, int, int, str], tuple[int, int]]:
        """(time point id, unit id, year, instrument) -> (answered due invitations, those
        of them whose invitation is not closed)."""
        if not self.units:
            return {}
        year = _index_year()
        rows = db.session.execute(
            select(
                Invitation.time_point_id,
                Enrolment.unit_id,
                year,
                Response.instrument_id,
                func.count(),
                func.sum(case((self._closed(), 0), else_=1)),
            )
            .select_from(Response)
            .join(Invitation, Invitation.id == Response.invitation_id)
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .where(
                self._registered(), Invitation.opens_at <= self.now, Response.status == "complete"
            )
            .group_by(Invitation.time_point_id, Enrolment.unit_id, year, Response.instrument_id)
        )
        return {(tp, u, y, i): (int(k), int(still_open)) for tp, u, y, i, k, still_open in rows}

    @property
    def years(self) -> list[int]:
        """Index years with due invitations, newest first."""
        return sorted({y for _, _, y in self._invitations}, reverse=True)

    def _protocol_units(self) -> dict[str, set[int]]:
        found: dict[str, set[int]] = defaultdict(set)
        for tp_id, unit_id, _ in self._invitations:
            if tp_id in self._time_points:
                found[self._time_points[tp_id][0]].add(unit_id)
        return found

    def protocols_of(self, unit_id: int) -> list[str]:
        """Protocols with due invitations at the unit (in the order they were defined)."""
        taking_part = self._protocol_units()
        return [name for name in self.protocols if unit_id in taking_part.get(name, ())]

    def units_taking_part(self, protocol: str) -> set[int]:
        """Units with due invitations of ``protocol``."""
        return self._protocol_units().get(protocol, set())

    def _time_point(self, protocol: str, time_point: str) -> TimePoint | None:
        found = self.protocols.get(protocol)
        return (
            next((tp for tp in found.time_points if tp.name == time_point), None) if found else None
        )

    def response_rate(
        self,
        protocol: str,
        time_point: str,
        instrument: str,
        units: Units = None,
        year: int | None = None,
    ) -> Share:
        """Answered / closed-or-answered invitations of one time point and instrument."""
        tp = self._time_point(protocol, time_point)
        if tp is None or instrument not in (tp.instruments or ()):
            return Share(0, 0)
        keep = _keep(units, year)
        n = sum(
            closed
            for (t, u, y), (_, closed) in self._invitations.items()
            if t == tp.id and keep(u, y)
        )
        k = 0
        for (t, u, y, i), (answered, still_open) in self._answered.items():
            if t == tp.id and i == instrument and keep(u, y):
                k += answered
                n += still_open
        return Share(k, n)

    # -- score distributions -------------------------------------------------------------

    def _scored(self, *columns: Any) -> Any:
        return (
            select(*columns)
            .select_from(Score)
            .join(Response, Response.id == Score.response_id)
            .join(Invitation, Invitation.id == Response.invitation_id)
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .where(self._registered(), Response.status == "complete", _finite(Score.value))
        )

    def distributions(
        self, protocol: str, units: Units = None, year: int | None = None
    ) -> dict[Cell, _Frequencies]:
        """Frequency tables of every score of ``protocol`` in ``year``, for the whole
        register and for ``units`` (one query, kept)."""
        for (name, y, _), found in self._distributions.items():
            if units is None and (name, y) == (protocol, year):
                return found  # the register column comes with every query
        key = (protocol, year, units)
        if key in self._distributions:
            return self._distributions[key]
        found: dict[Cell, _Frequencies] = {}
        self._distributions[key] = found
        if protocol not in self.protocols or not self.units:
            return found
        mine = case((_among(units), 1), else_=0)
        group = (Invitation.time_point_id, Response.instrument_id, Score.scale, Score.value)
        rows = db.session.execute(
            self._scored(*group, func.count(), func.sum(mine), func.min(Score.id))
            .where(Enrolment.protocol_id == self.protocols[protocol].id, _in_year(year))
            .group_by(*group)
            .order_by(*group)
        )
        first_seen: dict[tuple[str, str], int] = {}
        for tp_id, instrument, scale, value, count, own, first in rows:
            if tp_id not in self._time_points:
                continue
            cell = (self._time_points[tp_id][1].name, instrument, scale)
            found.setdefault(cell, _Frequencies()).add(value, int(count), int(own))
            key_scale = (instrument, scale)
            first_seen[key_scale] = min(first, first_seen.get(key_scale, first))
        if year is None:
            self._scales[protocol] = sorted(first_seen, key=first_seen.__getitem__)
        return found

    def summary(
        self,
        protocol: str,
        time_point: str,
        instrument: str,
        scale: str,
        units: Units = None,
        year: int | None = None,
        bounds: tuple[float, float] | None = None,
        decimals: int = 1,
    ) -> Summary:
        """Median, quartiles and histogram of one score at one time point."""
        table = self.distributions(protocol, units, year).get((time_point, instrument, scale))
        if table is None:
            return summarise((), bounds, decimals)
        counts = table.everyone if units is None else table.selected
        return summarise_counts(table.values, counts, bounds, decimals)

    def scales(self, protocol: str) -> list[tuple[str, str]]:
        """(instrument, scale) with numeric scores in ``protocol`` (any year), first scored
        first."""
        if protocol not in self._scales:  # distributions() of all years also fills it
            first = func.min(Score.id)
            rows = db.session.execute(
                self._scored(Response.instrument_id, Score.scale, first)
                .where(Enrolment.protocol_id == self.protocols[protocol].id)
                .group_by(Response.instrument_id, Score.scale)
                .order_by(first)
            )
            self._scales[protocol] = [(i, s) for i, s, _ in rows]
        return self._scales[protocol]

    # -- change beyond the MID ------------------------------------------------------------

    def _change_counts(self, protocol: str, before: str) -> dict[tuple[Any, ...], list[int]]:
        """(instrument, scale, follow-up time point, unit id, year) -> [pairs, improved,
        worsened] for every score with a MID, from ``before`` to each other time point."""
        key = (protocol, before)
        if key in self._changes:
            return self._changes[key]
        found: dict[tuple[Any, ...], list[int]] = {}
        self._changes[key] = found
        first = self._time_point(protocol, before)
        if first is None or not self.units:
            return found
        tps = self.protocols[protocol].time_points
        instruments = {i for tp in tps for i in tp.instruments or ()}
        mids = [
            m
            for m in (lookup_mid(i, s) for i, s in self._scales_with_mid(instruments))
            if m is not None
        ]
        if not mids:
            return found
        ib, ia = aliased(Invitation), aliased(Invitation)
        rb, ra = aliased(Response), aliased(Response)
        sb, sa = aliased(Score), aliased(Score)

        def which(m: Any) -> ColumnElement[bool]:
            return and_(rb.instrument_id == m.instrument_id, sb.scale == m.score)

        # the change in the better direction; exactly after - before or before - after,
        # as Mid.is_important_improvement computes it
        higher = [which(m) for m in mids if m.better == "higher"]
        if higher:
            better = case((or_(*higher), sa.value - sb.value), else_=sb.value - sa.value)
            worse = case((or_(*higher), sb.value - sa.value), else_=sa.value - sb.value)
        else:
            better, worse = sb.value - sa.value, sa.value - sb.value
        threshold = case(*((which(m), m.value) for m in mids))
        year = _index_year()
        rows = db.session.execute(
            select(
                rb.instrument_id,
                sb.scale,
                ia.time_point_id,
                Enrolment.unit_id,
                year,
                func.count(),
                func.sum(case((better >= threshold, 1), else_=0)),
                func.sum(case((worse >= threshold, 1), else_=0)),
            )
            .select_from(Enrolment)
            .join(ib, and_(ib.enrolment_id == Enrolment.id, ib.time_point_id == first.id))
            .join(rb, and_(rb.invitation_id == ib.id, rb.status == "complete"))
            .join(sb, sb.response_id == rb.id)
            .join(ia, and_(ia.enrolment_id == Enrolment.id, ia.time_point_id != first.id))
            .join(
                ra,
                and_(
                    ra.invitation_id == ia.id,
                    ra.instrument_id == rb.instrument_id,
                    ra.status == "complete",
                ),
            )
            .join(sa, and_(sa.response_id == ra.id, sa.scale == sb.scale))
            .where(
                Enrolment.protocol_id == self.protocols[protocol].id,
                self._registered(),
                tuple_(rb.instrument_id, sb.scale).in_([(m.instrument_id, m.score) for m in mids]),
                _finite(sb.value),
                _finite(sa.value),
            )
            .group_by(rb.instrument_id, sb.scale, ia.time_point_id, Enrolment.unit_id, year)
        )
        for instrument, scale, tp_id, unit_id, y, n, improved, worsened in rows:
            if tp_id in self._time_points:
                after = self._time_points[tp_id][1].name
                found[(instrument, scale, after, unit_id, y)] = [
                    int(n),
                    int(improved),
                    int(worsened),
                ]
        return found

    def _scales_with_mid(self, instruments: set[str]) -> list[tuple[str, str]]:
        from scoring.mid import all_mids

        return [(m.instrument_id, m.score) for m in all_mids() if m.instrument_id in instruments]

    def change(
        self,
        protocol: str,
        instrument: str,
        scale: str,
        before: str,
        after: str,
        units: Units = None,
        year: int | None = None,
    ) -> tuple[Share, Share] | None:
        """(improved, worsened) by at least the MID from ``before`` to ``after`` among
        enrolments with both scores; None when no MID is recorded for the score."""
        if lookup_mid(instrument, scale) is None:
            return None
        keep = _keep(units, year)
        n = improved = worsened = 0
        for (i, s, t, u, y), (pairs, better, worse) in self._change_counts(
            protocol, before
        ).items():
            if (i, s, t) == (instrument, scale, after) and keep(u, y):
                n, improved, worsened = n + pairs, improved + better, worsened + worse
        return Share(improved, n), Share(worsened, n)

    # -- thresholds and indicators --------------------------------------------------------

    def _threshold_counts(self, indicator: Indicator) -> dict[tuple[int, int], list[int]]:
        """(unit id, year) -> [scores, scores meeting the threshold] of a threshold
        indicator."""
        key = (
            indicator.protocol,
            indicator.time_point,
            indicator.instrument,
            indicator.scale,
            indicator.at_most,
            indicator.at_least,
        )
        if key in self._thresholds:
            return self._thresholds[key]
        found: dict[tuple[int, int], list[int]] = {}
        self._thresholds[key] = found
        tp = self._time_point(indicator.protocol, indicator.time_point or "")
        if tp is None or not self.units:
            return found
        if indicator.at_most is not None:
            hit = Score.value <= indicator.at_most
        else:
            hit = Score.value >= (indicator.at_least or 0.0)
        year = _index_year()
        rows = db.session.execute(
            self._scored(Enrolment.unit_id, year, func.count(), func.sum(case((hit, 1), else_=0)))
            .where(
                Enrolment.protocol_id == self.protocols[indicator.protocol].id,
                Invitation.time_point_id == tp.id,
                Response.instrument_id == indicator.instrument,
                Score.scale == (indicator.scale or ""),
            )
            .group_by(Enrolment.unit_id, year)
        )
        for unit_id, y, n, hits in rows:
            found[(unit_id, y)] = [int(n), int(hits)]
        return found

    def indicator_share(
        self, indicator: Indicator, units: Units = None, year: int | None = None
    ) -> Share:
        """The value of a quality indicator for ``units`` (None = register) in ``year``."""
        if indicator.protocol not in self.protocols:
            return Share(0, 0)
        if indicator.kind == "response_rate":
            return self.response_rate(
                indicator.protocol, indicator.time_point or "", indicator.instrument, units, year
            )
        if indicator.kind == "improved":
            shares = self.change(
                indicator.protocol,
                indicator.instrument,
                indicator.scale or "",
                indicator.from_time_point or "",
                indicator.to_time_point or "",
                units,
                year,
            )
            return shares[0] if shares else Share(0, 0)
        keep = _keep(units, year)
        n = hits = 0
        for (u, y), (count, hit) in self._threshold_counts(indicator).items():
            if keep(u, y):
                n, hits = n + count, hits + hit
        return Share(hits, n)


@dataclass
class _Frequencies:
    """A score's distinct values (ascending) and how often each occurs: in the whole
    register (``everyone``) and in the selected units (``selected``)."""

    values: list[float]
    everyone: list[int]
    selected: list[int]

    def __init__(self) -> None:
        self.values, self.everyone, self.selected = [], [], []

    def add(self, value: float, everyone: int, selected: int) -> None:
        self.values.append(value)
        self.everyone.append(everyone)
        self.selected.append(selected)


def _keep(units: Units, year: int | None):  # type: ignore[no-untyped-def]
    return lambda unit_id, y: (units is None or unit_id in units) and (year is None or y == year)
