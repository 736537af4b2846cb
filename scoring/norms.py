"""Population norms by age band and sex, read from a CSV file, and the norm for a person.

The file (UTF-8, comma-separated, one header line) has exactly these columns:

``instrument``
    an instrument with a scoring algorithm (e.g. ``eq5d5l``);
``score``
    one of that instrument's scores (e.g. ``index``, ``vas``);
``sex``
    ``female`` or ``male``;
``age_low``, ``age_high``
    the age band in whole years, both ends included; ``age_high`` empty for an open band
    (e.g. 80 and over);
``mean``, ``sd``, ``n``
    the norm's mean (required), standard deviation and number of respondents (each may be
    empty when the source does not give it);
``source``
    where the numbers were copied from: paper and table (required);
``value_set``
    for a score computed with a value set (the EQ-5D index) the value set the source used
    (required, and one the instrument's scoring knows); empty for other scores.

:func:`load_norms` checks every row and raises :class:`NormsFileError` naming the file,
line and column of the first problem. Bands of one instrument, score, sex and value set
must not overlap; gaps are allowed (no norm there). No norms are bundled: the numbers
must come from a published table (see ``docs/clinician.md``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scoring import registry

Sex = Literal["female", "male"]
COLUMNS = (
    "instrument",
    "score",
    "sex",
    "age_low",
    "age_high",
    "mean",
    "sd",
    "n",
    "source",
    "value_set",
)
SEXES: tuple[Sex, ...] = ("female", "male")


class NormsFileError(ValueError):
    """The norms file cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class Norm:
    """One row of the norms file: the norm of one score for one sex and age band."""

    instrument: str
    score: str
    sex: Sex
    age_low: int
    age_high: int | None  # None: open band (age_low and over)
    mean: float
    sd: float | None
    n: int | None
    source: str
    value_set: str  # "" for scores without a value set

    def holds(self, age: int) -> bool:
        """Whether ``age`` (whole years) lies in this band, both ends included."""
        return self.age_low <= age and (self.age_high is None or age <= self.age_high)


@dataclass(frozen=True)
class NormTable:
    """The checked rows of a norms file."""

    rows: tuple[Norm, ...]

    def norm_for(
        self,
        score: str,
        sex: Sex,
        age: int,
        *,
        instrument: str,
        value_set: str | None = None,
    ) -> Norm | None:
        """The norm of ``instrument``'s ``score`` for ``sex`` at ``age`` (whole years).

        For a score with a value set only a row of the same ``value_set`` matches: a norm
        computed with another value set is not comparable and gives None. None too when no
        band holds ``age``.
        """
        for row in self.rows:
            if (row.instrument, row.score, row.sex) != (instrument, score, sex):
                continue
            if row.value_set and row.value_set != (value_set or ""):
                continue
            if row.holds(age):
                return row
        return None


def _number(text: str, where: str, *, required: bool) -> float | None:
    if text == "":
        if required:
            raise NormsFileError(f"{where}: a number is required")
        return None
    try:
        value = float(text)
    except ValueError:
        raise NormsFileError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise NormsFileError(f"{where}: {text!r} is not a finite number")
    return value


def _whole(text: str, where: str, *, required: bool, minimum: int) -> int | None:
    if text == "":
        if required:
            raise NormsFileError(f"{where}: a whole number is required")
        return None
    if not (text.isascii() and text.isdigit()):
        raise NormsFileError(f"{where}: {text!r} is not a whole number")
    value = int(text)
    if value < minimum:
        raise NormsFileError(f"{where}: must be at least {minimum}, not {value}")
    return value


def _row(cells: dict[str, str], where: str) -> Norm:
    """One checked row; ``where`` is ``file, line N``."""
    instrument = cells["instrument"]
    try:
        algorithm = registry.get(instrument)
    except KeyError as exc:
        raise NormsFileError(f"{where}, column instrument: {exc.args[0]}") from None
    score = cells["score"]
    if score not in algorithm.scores or score in algorithm.text_scores:
        known = ", ".join(s for s in algorithm.scores if s not in algorithm.text_scores)
        raise NormsFileError(
            f"{where}, column score: {instrument} has no numeric score {score!r} (known: {known})"
        )
    sex = cells["sex"]
    if sex not in SEXES:
        raise NormsFileError(f"{where}, column sex: {sex!r} is neither 'female' nor 'male'")
    age_low = _whole(cells["age_low"], f"{where}, column age_low", required=True, minimum=0)
    age_high = _whole(cells["age_high"], f"{where}, column age_high", required=False, minimum=0)
    assert age_low is not None
    if age_high is not None and age_high < age_low:
        raise NormsFileError(f"{where}: age_high {age_high} is below age_low {age_low}")
    mean = _number(cells["mean"], f"{where}, column mean", required=True)
    assert mean is not None
    sd = _number(cells["sd"], f"{where}, column sd", required=False)
    if sd is not None and sd < 0:
        raise NormsFileError(f"{where}, column sd: a standard deviation cannot be negative")
    n = _whole(cells["n"], f"{where}, column n", required=False, minimum=1)
    source = cells["source"]
    if not source:
        raise NormsFileError(f"{where}, column source: say where the numbers come from")
    value_set = cells["value_set"]
    if score == "index" and algorithm.value_sets:
        if not value_set:
            raise NormsFileError(
                f"{where}, column value_set: the value set the source's index was computed "
                "with is required (an index norm is only compared with the same value set)"
            )
        try:
            algorithm.value_set(value_set)
        except ValueError as exc:
            raise NormsFileError(f"{where}, column value_set: {exc}") from None
    elif value_set:
        raise NormsFileError(
            f"{where}, column value_set: {instrument} {score} takes no value set "
            f"(got {value_set!r}); leave it empty"
        )
    return Norm(instrument, score, sex, age_low, age_high, mean, sd, n, source, value_set)  # type: ignore[arg-type]


def _check_overlaps(rows: Iterable[tuple[int, Norm]], name: str) -> None:
    groups: dict[tuple[str, str, str, str], list[tuple[int, Norm]]] = {}
    for line, row in rows:
        groups.setdefault((row.instrument, row.score, row.sex, row.value_set), []).append(
            (line, row)
        )
    for (instrument, score, sex, _vs), members in groups.items():
        members.sort(key=lambda m: m[1].age_low)
        for (line_a, a), (line_b, b) in zip(members, members[1:], strict=False):
            if a.age_high is None or b.age_low <= a.age_high:
                raise NormsFileError(
                    f"{name}, lines {line_a} and {line_b}: the age bands of {instrument} "
                    f"{score} ({sex}) overlap"
                )


def load_norms(path: str | Path) -> NormTable:
    """Read and check a norms file (see the module docstring for its columns)."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NormsFileError(f"{path}: no such norms file") from None
    except UnicodeDecodeError:
        raise NormsFileError(f"{name}: not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise NormsFileError(f"{name}: the file is empty")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    if missing or extra or len(header) != len(COLUMNS):
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unknown " + ", ".join(extra))
        if not parts:
            parts.append("a column appears twice")
        raise NormsFileError(
            f"{name}, line 1: the header must name the columns {', '.join(COLUMNS)} "
            f"({'; '.join(parts)})"
        )
    rows: list[tuple[int, Norm]] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise NormsFileError(
                f"{name}, line {line}: {len(cells)} cells where the header has {len(header)}"
            )
        row = _row(
            {h: c.strip() for h, c in zip(header, cells, strict=True)}, f"{name}, line {line}"
        )
        rows.append((line, row))
    if not rows:
        raise NormsFileError(f"{name}: the file has a header but no norms")
    _check_overlaps(rows, name)
    return NormTable(tuple(row for _line, row in rows))
