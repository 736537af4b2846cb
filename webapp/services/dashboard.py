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
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    case,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import selectinload

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
    Withdrawal,
    utcnow,
)
from webapp.services.indicators import Indicator
from webapp.services.invitations import aware
from webapp.services.withdrawal import withdrawn_invitations

MIN_CELL = 5
SUPPRESSED = "n<5"

Units = frozenset[int] | None  # a set of unit ids; None = the whole register
CACHE_SECONDS = 900  # aggregates are recounted at least this often, even with no change
CACHE_REGISTERS = 16  # registers whose aggregates one process keeps
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
        """``28 (16–40), n=57`` or ``n<5``, with a decimal point (plain text for reports;
        the staff pages format the numbers in the staff language, ``|decimal``)."""
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
        decimals,
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


class RegisterStats:
    """The aggregates of one register at one moment (``now``), for the dashboards.

    Each aggregate is read by one query the first time it is needed and kept for the
    life of the object (one request). Selections are a set of unit ids (None = the whole
    register) and an index year (None = all years).
    """

    def __init__(
        self, register: Register, now: dt.datetime | None = None, *, cached: bool = True
    ) -> None:
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
        self._rate_counts, self._agg = self._cached() if cached else (_Aggregates(),) * 2
        self._distributions = self._agg.distributions
        self._changes = self._agg.changes
        self._thresholds = self._agg.thresholds
        self._scales = self._agg.scales

    # -- reuse between requests -----------------------------------------------------------

    def _stamp(self) -> tuple[Any, ...]:
        """What the aggregates are computed from: the register's definition, and counts
        and highest ids of the rows (every write of the app adds rows or completes a
        response; a changed count or id means recount)."""
        definition = (
            tuple(sorted(self.units)),
            tuple(
                (p.id, name, tp.id, tp.name, tuple(tp.instruments or ()))
                for name, p in self.protocols.items()
                for tp in p.time_points
            ),
        )
        complete = Response.status == "complete"
        counts = db.session.execute(
            select(
                select(func.count()).select_from(Enrolment).scalar_subquery(),
                select(func.max(Enrolment.id)).scalar_subquery(),
                select(func.count()).select_from(Invitation).scalar_subquery(),
                select(func.max(Invitation.id)).scalar_subquery(),
                select(func.count()).select_from(Response).where(complete).scalar_subquery(),
                # scores are only ever deleted by a withdrawal (a new row, or an earlier
                # one now erasing: counted below) and added with higher ids: the highest
                # id and the withdrawal counts see every change without counting the
                # score table (the largest: 15 ms at 20,000 patients on PostgreSQL)
                select(func.count())
                .select_from(Withdrawal)
                .where(Withdrawal.erased.is_(True))
                .scalar_subquery(),
                select(func.max(Score.id)).scalar_subquery(),
                select(func.count()).select_from(Withdrawal).scalar_subquery(),
                # a reinstatement changes no row count: count the withdrawals in force too
                select(func.count())
                .select_from(Withdrawal)
                .where(Withdrawal.reinstated_at.is_(None))
                .scalar_subquery(),
            )
        ).one()
        return definition, tuple(counts)

    def _next_change(self) -> dt.datetime:
        """The first moment after ``now`` at which an invitation opens or closes (the
        response rates change then without any write), at most :data:`CACHE_SECONDS`."""
        later = [self.now + dt.timedelta(seconds=CACHE_SECONDS)]
        for column in (Invitation.opens_at, Invitation.expires_at):
            found = db.session.scalar(select(func.min(column)).where(column > self.now))
            if found is not None:
                later.append(aware(found))
        return min(later)

    def _cached(self) -> tuple[_Aggregates, _Aggregates]:
        """The (rate, score) aggregates counted by an earlier request when nothing they
        depend on has changed since, else fresh (empty) ones kept for the next requests.

        Score aggregates depend only on completed responses and their scores: they are
        kept when invitations open or close and when patients are enrolled.
        """
        url = db.engine.url.render_as_string(hide_password=True)
        definition, counts = self._stamp()
        rates = self._entry((url, self.register.id, "rates"), (definition, counts), True)
        scores = self._entry((url, self.register.id, "scores"), (definition, counts[4:]), False)
        return rates, scores

    def _entry(self, key: tuple[str, int, str], stamp: tuple[Any, ...], timed: bool) -> _Aggregates:
        entry = _CACHE.get(key)
        if entry is not None and entry.stamp == stamp and entry.since <= self.now < entry.until:
            _CACHE.move_to_end(key)
            return entry.aggregates
        until = self._next_change() if timed else self.now + dt.timedelta(seconds=CACHE_SECONDS)
        aggregates = _Aggregates()
        _CACHE[key] = _Entry(stamp, self.now, until, aggregates)
        while len(_CACHE) > 2 * CACHE_REGISTERS:
            _CACHE.popitem(last=False)
        return aggregates

    # -- invitations ---------------------------------------------------------------------

    def _registered(self) -> ColumnElement[bool]:
        # invitations of patients withdrawn from the register are not counted (their
        # scores are deleted at the withdrawal); ``id`` is read from ix_invitation_rates
        return Invitation.unit_id.in_(sorted(self.units)) & Invitation.id.not_in(
            withdrawn_invitations(self.register.id)
        )

    def _closed(self) -> ColumnElement[bool]:
        return or_(Invitation.completed_at.is_not(None), Invitation.expires_at <= self.now)

    @property
    def _invitations(self) -> dict[tuple[int, int, int], tuple[int, int]]:
        """(time point id, unit id, year) -> (due invitations, closed ones)."""
        return self._rates()[0]

    @property
    def _answered(self) -> dict[tuple[int, int, int, str], tuple[int, int]]:
        """(time point id, unit id, year, instrument) -> (answered due invitations, those
        of them whose invitation is not closed)."""
        return self._rates()[1]

    def _rates(
        self,
    ) -> tuple[
        dict[tuple[int, int, int], tuple[int, int]],
        dict[tuple[int, int, int, str], tuple[int, int]],
    ]:
        counts = self._rate_counts
        if counts.invitations is None or counts.answered is None:
            counts.invitations, counts.answered = self._count_invitations()
        return counts.invitations, counts.answered

    def _count_invitations(
        self,
    ) -> tuple[
        dict[tuple[int, int, int], tuple[int, int]],
        dict[tuple[int, int, int, str], tuple[int, int]],
    ]:
        """Due, closed and answered invitations, from the invitation table alone: each
        invitation carries its enrolment's unit and index year (migration 0006), read in
        GROUP BY order from ix_invitation_rates (one query, no join).

        Answered is counted from the invitation rows, not from ``response``:
        :func:`~webapp.services.responses.submit` completes every response of an
        invitation (one per instrument of its time point) in the same transaction as it
        sets ``invitation.completed_at``, so an invitation's responses are complete exactly
        when it is (``flask verify-scores`` checks this). A completed due invitation is
        one answer to each instrument of its time point, and none of them is still open
        (a completed invitation is closed).
        """
        invitations: dict[tuple[int, int, int], tuple[int, int]] = {}
        answered: dict[tuple[int, int, int, str], tuple[int, int]] = {}
        if self.units:
            keys = (Invitation.time_point_id, Invitation.unit_id, Invitation.index_year)
            rows = db.session.execute(
                select(
                    *keys,
                    func.count(),
                    func.sum(case((self._closed(), 1), else_=0)),
                    func.count(Invitation.completed_at),
                )
                .where(self._registered(), Invitation.opens_at <= self.now)
                .group_by(*keys)
            )
            for tp, unit, y, due, closed, done in rows:
                invitations[(tp, unit, y)] = (int(due), int(closed))
                if done and tp in self._time_points:
                    for instrument in self._time_points[tp][1].instruments or ():
                        answered[(tp, unit, y, instrument)] = (int(done), 0)
        return invitations, answered

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

    def _scored(self, protocol: str, *columns: Any) -> Any:
        """Finite scores of ``protocol`` at the register's units, from the score table
        alone: each score carries its response's instrument and its invitation's and
        enrolment's keys (migration 0005), and scores exist only for completed responses
        (written when the response is completed; ``flask verify-scores`` checks both)."""
        return (
            select(*columns)
            .select_from(Score)
            .where(
                Score.protocol_id == self.protocols[protocol].id,
                Score.unit_id.in_(sorted(self.units)),
                _finite(Score.value),
            )
        )

    def distributions(
        self, protocol: str, year: int | None = None
    ) -> dict[Cell, list[tuple[float, int, int]]]:
        """Frequency tables of every score of ``protocol`` in ``year``: per cell (time
        point, instrument, scale) the distinct values with their unit and count, values
        ascending (one query for every unit and the whole register, kept)."""
        key = (protocol, year)
        if key in self._distributions:
            return self._distributions[key]
        found: dict[Cell, list[tuple[float, int, int]]] = {}
        if protocol not in self.protocols or not self.units:
            self._distributions[key] = found
            return found
        # the order of ix_score_distribution: read in GROUP BY order, no sort
        group = (Score.time_point_id, Score.instrument_id, Score.scale, Score.value, Score.unit_id)
        rows = db.session.execute(
            self._scored(protocol, *group, func.count(), func.min(Score.id))
            .where(true() if year is None else Score.index_year == year)
            .group_by(*group)
        ).all()
        rows.sort(key=lambda row: (row[0], row[1], row[2], row[3]))  # values ascending per cell
        first_seen: dict[tuple[str, str], int] = {}
        for tp_id, instrument, scale, value, unit_id, count, first in rows:
            if tp_id not in self._time_points:
                continue
            cell = (self._time_points[tp_id][1].name, instrument, scale)
            found.setdefault(cell, []).append((value, unit_id, int(count)))
            key_scale = (instrument, scale)
            first_seen[key_scale] = min(first, first_seen.get(key_scale, first))
        if year is None:
            self._scales[protocol] = sorted(first_seen, key=first_seen.__getitem__)
        self._distributions[key] = found
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
        table = self.distributions(protocol, year).get((time_point, instrument, scale), [])
        chosen = [(v, n) for v, unit_id, n in table if units is None or unit_id in units]
        return summarise_counts([v for v, _ in chosen], [n for _, n in chosen], bounds, decimals)

    def scales(self, protocol: str) -> list[tuple[str, str]]:
        """(instrument, scale) with numeric scores in ``protocol`` (any year), first scored
        first."""
        if protocol not in self._scales:
            self.distributions(protocol, None)  # the frequency tables of all years find them
        return self._scales.get(protocol, [])

    # -- change beyond the MID ------------------------------------------------------------

    def _change_counts(
        self, protocol: str, before: str, instrument: str, scale: str
    ) -> dict[tuple[Any, ...], list[int]]:
        """(instrument, scale, follow-up time point, unit id, year) -> [pairs, improved,
        worsened] for one score with a MID, from ``before`` to each other time point.

        One query, counted once per score (a page asking for one indicator's score counts
        only that one): its values are grouped per enrolment into (before, after 1,
        after 2, ...) columns, then the pairs are counted per unit and year.
        """
        key = (protocol, before, instrument, scale)
        if key in self._changes:
            return self._changes[key]
        found: dict[tuple[Any, ...], list[int]] = {}
        self._changes[key] = found
        first = self._time_point(protocol, before)
        if first is None or not self.units:
            return found
        tps = self.protocols[protocol].time_points
        later = [tp for tp in tps if tp.id != first.id]
        asked = {i for tp in tps for i in tp.instruments or ()}
        mids = [
            m
            for m in (lookup_mid(i, s) for i, s in self._scales_with_mid(asked))
            if m is not None and (m.instrument_id, m.score) == (instrument, scale)
        ]
        if not mids or not later:
            return found

        def at(tp: TimePoint) -> Any:
            return func.max(case((Score.time_point_id == tp.id, Score.value)))

        for m in mids:
            # one score at a time: its range of ix_score_change is read in GROUP BY order
            # (per unit, year and enrolment), no other score's rows are touched
            per = (
                self._scored(
                    protocol,
                    Score.unit_id.label("unit_id"),
                    Score.index_year.label("year"),
                    at(first).label("before"),
                    *(at(tp).label(f"after_{n}") for n, tp in enumerate(later)),
                )
                .where(Score.instrument_id == m.instrument_id, Score.scale == m.score)
                .group_by(Score.unit_id, Score.index_year, Score.enrolment_id)
                .subquery()
            )
            columns: list[Any] = []
            for n in range(len(later)):
                after = per.c[f"after_{n}"]
                # the change in the better direction, exactly as
                # Mid.is_important_improvement computes it (after - before, or
                # before - after when lower is better)
                up, down = after - per.c.before, per.c.before - after
                better, worse = (up, down) if m.better == "higher" else (down, up)
                columns += [
                    func.count(after),
                    func.sum(case((better >= m.value, 1), else_=0)),
                    func.sum(case((worse >= m.value, 1), else_=0)),
                ]
            rows = db.session.execute(
                select(per.c.unit_id, per.c.year, *columns)
                .where(per.c.before.is_not(None))
                .group_by(per.c.unit_id, per.c.year)
            )
            for unit_id, y, *counts in rows:
                for n, tp in enumerate(later):
                    pairs, improved, worsened = counts[3 * n : 3 * n + 3]
                    if pairs:
                        found[(m.instrument_id, m.score, tp.name, unit_id, y)] = [
                            int(pairs),
                            int(improved or 0),
                            int(worsened or 0),
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
            protocol, before, instrument, scale
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
        rows = db.session.execute(
            self._scored(
                indicator.protocol,
                Score.unit_id,
                Score.index_year,
                func.count(),
                func.sum(case((hit, 1), else_=0)),
            )
            .where(
                Score.time_point_id == tp.id,
                Score.instrument_id == indicator.instrument,
                Score.scale == (indicator.scale or ""),
            )
            .group_by(Score.unit_id, Score.index_year)
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


def _keep(units: Units, year: int | None):  # type: ignore[no-untyped-def]
    return lambda unit_id, y: (units is None or unit_id in units) and (year is None or y == year)


@dataclass
class _Aggregates:
    """What :class:`RegisterStats` has counted (plain values keyed by ids and names)."""

    invitations: dict[tuple[int, int, int], tuple[int, int]] | None = None
    answered: dict[tuple[int, int, int, str], tuple[int, int]] | None = None
    distributions: dict[tuple[str, int | None], dict[Cell, list[tuple[float, int, int]]]] = field(
        default_factory=dict
    )
    changes: dict[tuple[str, str, str, str], dict[tuple[Any, ...], list[int]]] = field(
        default_factory=dict
    )
    thresholds: dict[tuple[Any, ...], dict[tuple[int, int], list[int]]] = field(
        default_factory=dict
    )
    scales: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass
class _Entry:
    """A register's aggregates, valid for the same stamp from ``since`` until ``until``."""

    stamp: tuple[Any, ...]
    since: dt.datetime
    until: dt.datetime
    aggregates: _Aggregates


_CACHE: OrderedDict[tuple[str, int, str], _Entry] = OrderedDict()


def clear_cache() -> None:
    """Forget every register's aggregates (the next view counts again)."""
    _CACHE.clear()
