"""Coverage (dekningsgrad) against the national patient register, and PROM completeness.

The register secretariat imports how many patients each unit treated per year, as the
national patient register (NPR) counted them (``flask --app wsgi import-coverage FILE.csv
--register NAME``). Then, per unit and year of the index date:

- coverage = enrolled / treated, where *enrolled* counts the unit's enrolments with an
  index date in that year (one per treatment, as NPR counts treatments), leaving out
  patients withdrawn from the register;
- PROM completeness per time point = invitations answered / invitations whose answering
  window has closed or that were answered (open invitations are not counted yet).

Target levels for coverage are those of the stage system of the national medical quality
registers (Nasjonalt servicemiljø for medisinske kvalitetsregistre, SKDE,
https://www.kvalitetsregistre.no/stadieinndeling: coverage above 60 % for stage 3 and
above 80 % for stage 4): high ≥ 80 %, moderate 60–80 %, low < 60 %.

CSV file: a header row with ``unit``, ``year`` (or ``period``, a four-digit year) and
``treated``; comma or semicolon separated; UTF-8 (a byte-order mark is accepted). Every
line is checked first; on any error nothing is stored and every bad line is reported. An
import replaces the stored counts of every year it contains (for all units of the
register); other years are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, case, cast, delete, extract, func, or_, select

from webapp.extensions import db
from webapp.models import CoverageCount, Enrolment, Invitation, Register, TimePoint, Unit, utcnow
from webapp.services.withdrawal import withdrawn_invitations, withdrawn_patients
from webapp.whole_numbers import parse_whole_number

HIGH, MODERATE = 0.80, 0.60
MAX_ERRORS = 50
MAX_BYTES = 5 * 1024 * 1024


class CoverageImportError(ValueError):
    """The file cannot be imported; ``problems`` lists the bad lines (nothing was stored)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""))
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: rows, the years it replaced."""

    rows: int
    years: tuple[int, ...]
    replaced: int


@dataclass(frozen=True)
class CoverageRow:
    """Coverage of one unit in one year."""

    unit: str
    unit_title: str
    year: int
    enrolled: int
    treated: int

    @property
    def coverage(self) -> float | None:
        """enrolled / treated (None when nothing was treated)."""
        return self.enrolled / self.treated if self.treated else None

    @property
    def level(self) -> str:
        """``high``, ``moderate`` or ``low`` against the national target levels."""
        return level(self.coverage)


@dataclass(frozen=True)
class Completeness:
    """Answered / closed-or-answered invitations of one unit, year and time point."""

    unit: str
    year: int
    time_point: str
    answered: int
    due: int

    @property
    def share(self) -> float | None:
        """answered / due, or None when nothing is due."""
        return self.answered / self.due if self.due else None


def level(share: float | None) -> str:
    """The national target level of a coverage (``""`` when unknown)."""
    if share is None:
        return ""
    if share >= HIGH:
        return "high"
    return "moderate" if share >= MODERATE else "low"


def _read_rows(text: str) -> tuple[list[dict[str, str]], list[str]]:
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    missing = [
        name
        for name, alternatives in (("unit", ("unit",)), ("year", ("year", "period")))
        if not set(alternatives) & set(fields)
    ]
    if "treated" not in fields:
        missing.append("treated")
    if missing:
        return [], [
            f"line 1: missing column(s) {', '.join(missing)} (need unit, year or period, treated)"
        ]
    return list(reader), []


def parse(path: Path, register: Register) -> list[tuple[int, int, int]]:
    """(unit id, year, treated) of every line; CoverageImportError lists every bad line."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise CoverageImportError([f"{path}: larger than {MAX_BYTES // 1024 // 1024} MB"])
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CoverageImportError([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise CoverageImportError([f"{path}: not UTF-8 text"]) from None
    rows, problems = _read_rows(text)
    if problems:
        raise CoverageImportError(problems)
    units = {
        u.name: u for u in db.session.scalars(select(Unit).where(Unit.register_id == register.id))
    }
    this_year = utcnow().year
    out: list[tuple[int, int, int]] = []
    seen: dict[tuple[int, int], int] = {}
    for number, row in enumerate(rows, start=2):
        if None in row:  # more cells than columns
            problems.append(f"line {number}: more cells than columns")
            continue
        name = (row.get("unit") or "").strip()
        year_text = (row.get("year") or row.get("period") or "").strip()
        treated_text = (row.get("treated") or "").strip()
        errors = []
        unit = units.get(name)
        if unit is None:
            errors.append(f"unknown unit {name!r} in register {register.name}")
        year = parse_whole_number(year_text, signed=False) if len(year_text) == 4 else None
        if year is None or not 1990 <= year <= this_year:
            errors.append(f"year {year_text!r} is not a four-digit year up to {this_year}")
        treated = parse_whole_number(treated_text, max_digits=7, signed=False)
        if treated is None:
            errors.append(f"treated {treated_text!r} is not a whole number >= 0")
        if not errors and unit is not None and year is not None and treated is not None:
            key = (unit.id, year)
            if key in seen:
                errors.append(f"unit {name} and year {year} already on line {seen[key]}")
            else:
                seen[key] = number
                out.append((unit.id, year, treated))
        problems += [f"line {number}: {e}" for e in errors]
        if len(problems) >= MAX_ERRORS:
            problems.append("(stopped after 50 problems)")
            break
    if problems:
        raise CoverageImportError(problems)
    if not out:
        raise CoverageImportError([f"{path}: no data lines"])
    return out


def import_counts(path: Path, register: Register) -> ImportResult:
    """Check and store the file's counts, replacing the stored ones of its years (not
    committed; nothing changes on error)."""
    rows = parse(path, register)
    years = tuple(sorted({year for _, year, _ in rows}))
    replaced = db.session.execute(
        delete(CoverageCount)
        .where(CoverageCount.register_id == register.id, CoverageCount.year.in_(years))
        .execution_options(synchronize_session=False)
    ).rowcount
    now = utcnow()
    db.session.add_all(
        CoverageCount(
            register_id=register.id, unit_id=unit_id, year=year, treated=treated, imported_at=now
        )
        for unit_id, year, treated in rows
    )
    db.session.flush()
    return ImportResult(len(rows), years, replaced)


def _year_of(column: Any) -> Any:
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.substr(column, 1, 4), Integer)
    return cast(extract("year", column), Integer)


def coverage(register: Register, units: set[int] | None = None) -> list[CoverageRow]:
    """Coverage per unit and year for every imported count (newest year first)."""
    counts = db.session.execute(
        select(Unit.id, Unit.name, Unit.title, CoverageCount.year, CoverageCount.treated)
        .join(Unit, Unit.id == CoverageCount.unit_id)
        .where(CoverageCount.register_id == register.id)
    ).all()
    year = _year_of(Enrolment.index_date)
    enrolled = {
        (unit_id, int(y)): int(n)
        for unit_id, y, n in db.session.execute(
            select(Enrolment.unit_id, year, func.count())
            .join(Unit, Unit.id == Enrolment.unit_id)
            .where(
                Unit.register_id == register.id,
                Enrolment.patient_id.not_in(withdrawn_patients(register.id)),
            )
            .group_by(Enrolment.unit_id, year)
        )
    }
    rows = [
        CoverageRow(name, title, y, enrolled.get((unit_id, y), 0), treated)
        for unit_id, name, title, y, treated in counts
        if units is None or unit_id in units
    ]
    return sorted(rows, key=lambda r: (-r.year, r.unit))


def completeness(
    register: Register, now: dt.datetime | None = None, units: set[int] | None = None
) -> list[Completeness]:
    """PROM completeness per unit, index year and time point (answered / due)."""
    now = now or utcnow()
    closed = or_(Invitation.completed_at.is_not(None), Invitation.expires_at <= now)
    rows = db.session.execute(
        select(
            Unit.name,
            Invitation.unit_id,
            Invitation.index_year,
            TimePoint.name,
            TimePoint.position,
            func.count(Invitation.completed_at),
            func.sum(case((closed, 1), else_=0)),
        )
        .join(Unit, Unit.id == Invitation.unit_id)
        .join(TimePoint, TimePoint.id == Invitation.time_point_id)
        .where(
            Unit.register_id == register.id,
            Invitation.opens_at <= now,
            Invitation.id.not_in(withdrawn_invitations(register.id)),
        )
        .group_by(
            Unit.name, Invitation.unit_id, Invitation.index_year, TimePoint.name, TimePoint.position
        )
    ).all()
    out = [
        Completeness(name, int(y), tp, int(answered), int(due or 0))
        for name, unit_id, y, tp, _, answered, due in sorted(
            rows, key=lambda r: (-r[2], r[0], r[4])
        )
        if units is None or unit_id in units
    ]
    return [c for c in out if c.due]
