"""Aggregate questions without row access (Microdata-style), with disclosure control.

A methodologist or register administrator asks for counts, means and quantiles of one
score by up to two of ``unit``, ``year`` (of the index date), ``sex`` and ``age_band``
(age in the index year) and gets a table with margins ("Alle"), never a row:

- **primary suppression**: every cell (margins included) with n below :data:`MIN_CELL`
  shows nothing but "n<5";
- **complementary suppression**: further cells are suppressed until no suppressed cell
  can be narrowed down from the published counts and margins. This is checked as an
  attacker would: for each suppressed cell the smallest and largest count consistent with
  every published count and margin are found by linear programming (the sum constraints
  of a table with margins are totally unimodular, so the bounds are whole numbers); the
  interval must span at least :data:`PROTECTION`. While one does not, the published
  interior cell with the smallest n in its row or column is suppressed as well;
- **rounding**: means and quantiles are rounded to the score's display decimals.

Quantiles are Hyndman & Fan type 7 (numpy's default), as on the dashboards. Patients
withdrawn from the register are left out. Every query is audited by the caller.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import numpy as np
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrolment, Patient, Protocol, Register, Score, TimePoint, Unit
from webapp.services.dashboard import MIN_CELL
from webapp.services.patients import cipher
from webapp.services.score_info import score_info
from webapp.services.withdrawal import withdrawn_patients

DIMENSIONS = ("unit", "year", "sex", "age_band")
ALL = "Alle"
PROTECTION = 3  # a suppressed count must stay uncertain over at least this range
MAX_TRIES = 12  # complementary candidates tried per step
AGE_BANDS = ((0, 17, "0–17"), (18, 39, "18–39"), (40, 59, "40–59"), (60, 79, "60–79"))
QUERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["instrument", "scale"],
    "additionalProperties": False,
    "properties": {
        "instrument": {"type": "string", "maxLength": 40},
        "scale": {"type": "string", "maxLength": 40},
        "protocol": {"type": "string", "maxLength": 80},
        "time_point": {"type": "string", "maxLength": 40},
        "by": {
            "type": "array",
            "items": {"enum": list(DIMENSIONS)},
            "maxItems": 2,
            "uniqueItems": True,
        },
        "years": {"type": "array", "items": {"type": "integer"}, "maxItems": 50},
    },
}


class AnalysisError(ValueError):
    """A query that cannot be answered (the message says why)."""


@dataclass
class Cell:
    """One cell: its statistics, or suppressed (``reason`` primary/complementary)."""

    n: int
    mean: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    reason: str = ""

    @property
    def suppressed(self) -> bool:
        """Whether nothing of this cell is shown."""
        return bool(self.reason)


@dataclass
class AnalysisTable:
    """Rows × columns (with margins ``Alle``); a 1-D table has the single column ``Alle``."""

    query: dict[str, Any]
    rows_dim: str | None
    cols_dim: str | None
    rows: list[str]
    cols: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def published_counts(self) -> dict[tuple[str, str], int | None]:
        """What a reader sees of the counts: n, or None where suppressed."""
        return {k: (None if c.suppressed else c.n) for k, c in self.cells.items()}


def check_query(query: Any) -> dict[str, Any]:
    """The query after schema checks (AnalysisError names the first problem)."""
    errors = sorted(jsonschema.Draft202012Validator(QUERY_SCHEMA).iter_errors(query), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise AnalysisError(f"query {where}: {errors[0].message}")
    return dict(query)


def sex_of(national_id: str) -> str:
    """``kvinne``/``mann`` from the ninth digit (even/odd); FH numbers carry none."""
    if national_id[0] in "89":
        return "ukjent"
    return "mann" if int(national_id[8]) % 2 else "kvinne"


def age_band(age: int | None) -> str:
    """The band of an age in years (``80+`` above the last band)."""
    if age is None:
        return "ukjent"
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "80+"


def _values(register: Register, query: dict[str, Any]) -> list[tuple[dict[str, str], float]]:
    """(dimension values, score) of every finite score the query selects (kept in memory,
    never returned to the caller)."""
    units = {
        u.id: u.name
        for u in db.session.scalars(select(Unit).where(Unit.register_id == register.id))
    }
    if not units:
        return []
    by = query.get("by", [])
    stmt = (
        select(
            Score.value,
            Score.unit_id,
            Score.index_year,
            Patient.birth_year,
            Patient.national_id_encrypted if "sex" in by else Patient.id,
        )
        .join(Enrolment, Enrolment.id == Score.enrolment_id)
        .join(Patient, Patient.id == Enrolment.patient_id)
        .where(
            Score.unit_id.in_(sorted(units)),
            Score.instrument_id == query["instrument"],
            Score.scale == query["scale"],
            Enrolment.patient_id.not_in(withdrawn_patients(register.id)),
        )
    )
    if "protocol" in query:
        stmt = stmt.join(Protocol, Protocol.id == Score.protocol_id).where(
            Protocol.name == query["protocol"]
        )
    if "time_point" in query:
        stmt = stmt.join(TimePoint, TimePoint.id == Score.time_point_id).where(
            TimePoint.name == query["time_point"]
        )
    if "years" in query:
        stmt = stmt.where(Score.index_year.in_(query["years"]))
    id_cipher = cipher() if "sex" in by else None
    sexes: dict[bytes, str] = {}
    out = []
    for value, unit_id, year, birth_year, extra in db.session.execute(stmt):
        if value is None or not math.isfinite(value):
            continue
        keys = {"unit": units[unit_id], "year": str(year)}
        if "age_band" in by:
            keys["age_band"] = age_band(year - birth_year if birth_year else None)
        if id_cipher is not None:
            if extra not in sexes:
                sexes[extra] = sex_of(id_cipher.decrypt(extra))
            keys["sex"] = sexes[extra]
        out.append((keys, float(value)))
    return out


def _cell(values: list[float], decimals: int) -> Cell:
    n = len(values)
    if n < MIN_CELL:
        return Cell(n, reason="primary")
    arr = np.asarray(values)
    q1, median, q3 = np.quantile(arr, [0.25, 0.5, 0.75])
    return Cell(
        n,
        round(float(arr.mean()), decimals),
        round(float(median), decimals),
        round(float(q1), decimals),
        round(float(q3), decimals),
    )


def _order(dim: str | None, labels: Iterable[str]) -> list[str]:
    found = sorted(set(labels), key=lambda s: (len(s), s) if dim == "year" else s)
    return found


def analyse(register: Register, query: Mapping[str, Any]) -> AnalysisTable:
    """Answer ``query`` for ``register`` with disclosure control (see the module docs)."""
    query = check_query(query)
    by = query.get("by", [])
    rows_dim = by[0] if by else None
    cols_dim = by[1] if len(by) > 1 else None
    data = _values(register, query)
    decimals = score_info(query["instrument"], query["scale"]).decimals
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for keys, value in data:
        r = keys[rows_dim] if rows_dim else ALL
        c = keys[cols_dim] if cols_dim else ALL
        groups[(r, c)].append(value)
    rows = _order(rows_dim, (r for r, _ in groups)) if rows_dim else []
    cols = _order(cols_dim, (c for _, c in groups)) if cols_dim else []
    table = AnalysisTable(query, rows_dim, cols_dim, rows, cols)
    row_keys = [*rows, ALL]
    col_keys = [*cols, ALL]
    for r in row_keys:
        for c in col_keys:
            values = [
                v
                for (gr, gc), vs in groups.items()
                if (r == ALL or gr == r) and (c == ALL or gc == c)
                for v in vs
            ]
            table.cells[(r, c)] = _cell(values, decimals)
    protect(table)
    return table


# -- disclosure control ---------------------------------------------------------------------


def equations(table: AnalysisTable) -> list[tuple[list[tuple[str, str]], tuple[str, str]]]:
    """The sum relations of the table: (parts, total) with sum(parts) == total."""
    rows, cols = table.rows, table.cols
    found = []
    if cols:
        for r in rows:
            found.append(([(r, c) for c in cols], (r, ALL)))
        found.append(([(ALL, c) for c in cols], (ALL, ALL)))
    if rows:
        for c in [*cols, ALL] if cols else [ALL]:
            found.append(([(r, c) for r in rows], (ALL, c)))
    return found


def bounds(
    published: Mapping[tuple[str, str], int | None],
    relations: list[tuple[list[tuple[str, str]], tuple[str, str]]],
    only: set[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], tuple[float, float]]:
    """Smallest and largest value of each unpublished count (of ``only``, when given)
    consistent with the published counts and the sum relations (linear programming,
    counts >= 0)."""
    from scipy.optimize import linprog

    unknown = [k for k, v in published.items() if v is None]
    if not unknown:
        return {}
    index = {k: i for i, k in enumerate(unknown)}
    a_eq, b_eq = [], []
    for parts, total in relations:
        row = [0.0] * len(unknown)
        rhs = 0.0
        for key, sign in [*((p, 1.0) for p in parts), (total, -1.0)]:
            if key in index:
                row[index[key]] += sign
            else:
                rhs -= sign * published[key]
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    found = {}
    for key, i in index.items():
        if only is not None and key not in only:
            continue
        objective = [0.0] * len(unknown)
        objective[i] = 1.0
        low = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None))
        objective[i] = -1.0
        high = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None))
        lo = low.fun if low.status == 0 else 0.0
        hi = -high.fun if high.status == 0 else math.inf  # unbounded: nothing is known
        found[key] = (lo, hi)
    return found


def _exposed(
    table: AnalysisTable, among: Iterable[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """Cells suppressed for their small n (of ``among``, when given) whose count the
    published ones narrow down. Hiding more cells only widens the others' bounds, so a
    cell that is safe stays safe: later checks need only look at the exposed ones."""
    primary = {k for k, c in table.cells.items() if c.reason == "primary"}
    if among is not None:
        primary &= set(among)
    limits = bounds(table.published_counts(), equations(table), primary)
    return [k for k, (lo, hi) in limits.items() if hi - lo < PROTECTION - 1e-9]


def _no_single_unknowns(table: AnalysisTable) -> None:
    """Fast first pass: no sum relation may have exactly one hidden cell (it would be the
    total minus the others); hide its smallest published part (interior first) until none
    has. What remains exposed after this is found by the exact check in :func:`protect`."""
    relations = equations(table)
    changed = True
    while changed:
        changed = False
        for parts, total in relations:
            keys = [*parts, total]
            hidden = [k for k in keys if table.cells[k].suppressed]
            if len(hidden) != 1:
                continue
            shown = [k for k in keys if not table.cells[k].suppressed]
            shown.sort(key=lambda k: (ALL in k, table.cells[k].n == 0, table.cells[k].n, k))
            key = shown[0]
            table.cells[key] = Cell(table.cells[key].n, reason="complementary")
            changed = True


def protect(table: AnalysisTable) -> None:
    """Complementary suppression until every suppressed small count is uncertain enough.

    First no sum relation is left with a single hidden cell (:func:`_no_single_unknowns`);
    then, while the exact check finds an exposed cell, greedily: among the published cells
    in a row or column with a hidden cell, hide the one that leaves the fewest exposed
    cells (ties: interior before margins, then the smallest n, a known zero last).
    """
    _no_single_unknowns(table)
    exposed = _exposed(table)
    while exposed:
        # rows and columns of every suppressed cell: completing a block of suppressed
        # cells is what protects them
        hidden = [k for k, c in table.cells.items() if c.suppressed]
        lines = {k[0] for k in hidden} | {k[1] for k in hidden}
        candidates = [
            key
            for key, cell in table.cells.items()
            if not cell.suppressed and (key[0] in lines or key[1] in lines)
        ] or [key for key, cell in table.cells.items() if not cell.suppressed]
        if not candidates:
            return
        # try the most likely few (interior, small n) rather than every cell of a big table
        candidates.sort(key=lambda k: (ALL in k, table.cells[k].n == 0, table.cells[k].n, k))
        best: tuple[Any, ...] | None = None
        for key in candidates[:MAX_TRIES]:
            cell = table.cells[key]
            table.cells[key] = Cell(cell.n, reason="complementary")
            left = _exposed(table, exposed)
            table.cells[key] = cell
            rank = (len(left), ALL in key, cell.n == 0, cell.n, key)
            if best is None or rank < best[0]:
                best = (rank, key, left)
        assert best is not None
        _, key, exposed = best
        table.cells[key] = Cell(table.cells[key].n, reason="complementary")


def as_rows(table: AnalysisTable) -> list[dict[str, Any]]:
    """The table as records for CSV/JSON (suppressed statistics as ``n<5``/``suppressed``)."""
    out = []
    for (r, c), cell in table.cells.items():
        record: dict[str, Any] = {}
        if table.rows_dim:
            record[table.rows_dim] = r
        if table.cols_dim:
            record[table.cols_dim] = c
        if cell.suppressed:
            mark = "n<5" if cell.reason == "primary" else "suppressed"
            record.update(n=mark, mean=mark, median=mark, q1=mark, q3=mark)
        else:
            record.update(n=cell.n, mean=cell.mean, median=cell.median, q1=cell.q1, q3=cell.q3)
        out.append(record)
    return out
