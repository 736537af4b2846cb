"""Public scoring entry points: :func:`score` (one response) and :func:`score_table` (many).

Both go through the same vectorised code. Input cells are validated against the
instrument's possible codes first; an invalid cell is reported as a :class:`CellError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np

from scoring.registry import Algorithm, get


@dataclass(frozen=True)
class CellError:
    """An impossible answer: row index (0-based), item id, the raw value and why."""

    row: int
    item: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"row {self.row + 1}, column {self.item}: {self.message}"


class ScoringInputError(ValueError):
    """Some cells hold impossible answers; ``errors`` lists them."""

    def __init__(self, errors: list[CellError]):
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} invalid answer(s): {shown}{more}")


def _column(raw: Any, n: int | None) -> np.ndarray:
    if hasattr(getattr(raw, "dtype", None), "na_value") and hasattr(raw, "to_numpy"):
        # a pandas extension column (Int64, string, ...): pd.NA becomes NaN / None
        try:
            raw = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raw = raw.to_numpy(dtype=object, na_value=None)
    arr = np.asarray(raw)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"columns differ in length ({arr.shape[0]} != {n})")
    return arr


def _text_to_float(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell conversion of text/object cells (also finds the cells that are not numbers)."""
    out = np.full(arr.shape[0], np.nan)
    bad = np.zeros(arr.shape[0], dtype=bool)
    for i, v in enumerate(arr.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        s = str(v).strip()
        if s == "":
            continue
        try:
            out[i] = float(s)
        except ValueError:
            bad[i] = True
    return out, bad


def _to_float(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert a column to float64; returns (values, mask of cells that are not numbers or
    None when every cell is a number or empty).

    Numeric columns are used as they are. Text and object columns (e.g. a CSV read as text)
    are converted in one vectorised step: blanks and None become NaN, surrounding spaces are
    ignored; only a block holding a cell that is not a number falls back to converting cell
    by cell, to find that cell.
    """
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False), None
    if arr.dtype.kind in "OUS":
        try:
            text = np.char.strip(arr.astype(np.str_))
            blank = text == ""
            if arr.dtype == object:
                blank |= np.equal(arr, None)
            text[blank] = "nan"
            return text.astype(np.float64), None
        except (TypeError, ValueError):
            pass  # a cell that is not a number: find it below
    out, bad = _text_to_float(arr)
    return out, (bad if bad.any() else None)


@cache
def _code_lookup(codes: frozenset[int]) -> tuple[int, int, np.ndarray]:
    """(lowest code, highest code, boolean table: is ``lo + i`` an allowed code)."""
    lo, hi = min(codes), max(codes)
    lookup = np.zeros(hi - lo + 1, dtype=bool)
    lookup[[c - lo for c in codes]] = True
    lookup.setflags(write=False)
    return lo, hi, lookup


def _impossible(values: np.ndarray, lo: int, hi: int, lookup: np.ndarray) -> np.ndarray | None:
    """Cells holding a number that is not an allowed code (NaN = missing is fine), or None
    when there are none.

    One cast to int32 plus integer range and lookup checks: several times cheaper than
    ``np.isin`` on float data. NaN, infinities and huge values cast to garbage integers,
    which the equality test rejects; counting first avoids building a mask for valid data.
    """
    with np.errstate(invalid="ignore"):
        as_int = values.astype(np.int32)
    ok = as_int == values  # False for NaN
    as_int -= lo
    offset = as_int.view(np.uint32)  # below lo wraps around to a huge number
    ok &= offset <= hi - lo
    if not lookup.all():
        ok &= lookup[np.minimum(offset, hi - lo)]
    n_not_ok = ok.shape[0] - np.count_nonzero(ok)
    if n_not_ok == 0:
        return None
    missing = np.isnan(values)
    if np.count_nonzero(missing) == n_not_ok:  # every cell that is not a code is missing
        return None
    ok |= missing
    return ~ok


def _raw_columns(
    algorithm: Algorithm, table: Mapping[str, Any] | Any
) -> tuple[dict[str, np.ndarray], int]:
    """The item columns present in ``table`` as arrays of equal length, and that length."""
    n: int | None = None
    raw: dict[str, np.ndarray] = {}
    for item in algorithm.items:
        if item in table:
            col = _column(table[item], n)
            n = col.shape[0]
            raw[item] = col
    if n is None:
        known = ", ".join(algorithm.items)
        raise ValueError(f"no item column of {algorithm.instrument_id} found (expected: {known})")
    return raw, n


def _validate(
    algorithm: Algorithm, raw: Mapping[str, np.ndarray], n: int, first_row: int = 0
) -> tuple[dict[str, np.ndarray], list[CellError], np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    errors: list[CellError] = []
    bad_rows = np.zeros(n, dtype=bool)
    for item in algorithm.items:
        if item not in raw:
            columns[item] = np.full(n, np.nan)
            continue
        values, not_number = _to_float(raw[item])
        lo, hi, lookup = _code_lookup(algorithm.codes[item])
        invalid = _impossible(values, lo, hi, lookup)
        if not_number is not None:
            invalid = not_number if invalid is None else invalid | not_number
        if invalid is not None:
            shown = (
                f"{lo}..{hi}"
                if lookup.all()
                else ", ".join(str(c) for c in sorted(algorithm.codes[item]))
            )
            for r in np.flatnonzero(invalid):
                value = raw[item][r]
                why = (
                    "not a number"
                    if not_number is not None and not_number[r]
                    else ("impossible code")
                )
                errors.append(
                    CellError(int(r) + first_row, item, value, f"{why} {value!r} (allowed {shown})")
                )
            values = np.where(invalid, np.nan, values)
            bad_rows |= invalid
        columns[item] = values
    errors.sort(key=lambda e: (e.row, algorithm.items.index(e.item)))
    return columns, errors, bad_rows


def prepare(
    algorithm: Algorithm, table: Mapping[str, Any] | Any
) -> tuple[dict[str, np.ndarray], list[CellError], np.ndarray]:
    """Validate a table (DataFrame or mapping item -> array).

    Returns float64 columns for every item (NaN = missing or invalid), the list of
    invalid cells, and a boolean mask of rows holding at least one invalid cell.
    Columns not named by the instrument are ignored; a missing item column is all missing.
    """
    raw, n = _raw_columns(algorithm, table)
    return _validate(algorithm, raw, n)


CHUNK_ROWS = 65_536
"""Rows validated and scored together: keeps temporaries in the CPU cache."""


def _blank(arr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if not rows.any():
        return arr
    arr = arr.copy()
    arr[rows] = None if arr.dtype == object else np.nan
    return arr


def score_table(
    instrument_id: str,
    table: Mapping[str, Any] | Any,
    *,
    value_set: str | None = None,
    errors: Literal["raise", "blank"] = "raise",
) -> dict[str, np.ndarray]:
    """Score many responses: one array per score name, one element per row.

    ``table`` is a pandas DataFrame or a mapping of item id -> array (NaN/None/"" =
    missing). Impossible answers raise :class:`ScoringInputError` by default; with
    ``errors="blank"`` the rows holding them get missing scores instead. Rows are
    processed in blocks of :data:`CHUNK_ROWS` (vectorised within a block).
    """
    algorithm = get(instrument_id)
    vs = algorithm.value_set(value_set)
    raw, n = _raw_columns(algorithm, table)
    if algorithm.kernel is not None:
        return _score_with_kernel(algorithm, vs, raw, n, errors)
    problems: list[CellError] = []
    out: dict[str, np.ndarray] = {}
    for start in range(0, max(n, 1), CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        block = {item: col[start:stop] for item, col in raw.items()}
        columns, block_problems, bad_rows = _validate(algorithm, block, stop - start, start)
        problems.extend(block_problems)
        if problems and errors == "raise":
            continue  # keep collecting every invalid cell for the error message
        result = algorithm.compute(columns, vs)
        if start == 0 and stop == n:
            return {name: _blank(result[name], bad_rows) for name in algorithm.scores}
        for name in algorithm.scores:
            part = _blank(result[name], bad_rows)
            if name not in out:
                out[name] = np.empty(n, dtype=part.dtype)
            out[name][start:stop] = part
    if problems and errors == "raise":
        raise ScoringInputError(problems)
    return out


def _score_with_kernel(
    algorithm: Algorithm,
    vs: str | None,
    raw: Mapping[str, np.ndarray],
    n: int,
    errors: Literal["raise", "blank"],
) -> dict[str, np.ndarray]:
    """score_table for an algorithm with a kernel: every block is written straight into
    the output arrays; text scores are integer codes until one final lookup."""
    categories = algorithm.categories
    out = {
        name: np.empty(n, dtype=np.intp if name in categories else np.float64)
        for name in algorithm.scores
    }
    problems: list[CellError] = []
    for start in range(0, max(n, 1), CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        block = {item: col[start:stop] for item, col in raw.items()}
        columns, block_problems, bad_rows = _validate(algorithm, block, stop - start, start)
        problems.extend(block_problems)
        if problems and errors == "raise":
            continue  # keep collecting every invalid cell for the error message
        views = {name: arr[start:stop] for name, arr in out.items()}
        algorithm.kernel(columns, vs, views)
        if block_problems:
            for name, view in views.items():
                view[bad_rows] = 0 if name in categories else np.nan
    if problems and errors == "raise":
        raise ScoringInputError(problems)
    for name, table in categories.items():
        out[name] = table.take(out[name])
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def score(
    instrument_id: str, answers: Mapping[str, Any], *, value_set: str | None = None
) -> dict[str, Any]:
    """Score one response (item id -> code; missing items or None = not answered).

    Returns score name -> value (float, str or None when the score is missing). Raises
    :class:`ScoringInputError` for an impossible answer and ValueError for an unknown item.
    """
    algorithm = get(instrument_id)
    unknown = sorted(set(answers) - set(algorithm.items))
    if unknown:
        raise ValueError(f"unknown item(s) for {instrument_id}: {', '.join(unknown)}")
    table = {
        item: np.array([np.nan if answers.get(item) is None else answers[item]], dtype=object)
        for item in algorithm.items
    }
    result = score_table(instrument_id, table, value_set=value_set)
    return {name: _scalar(arr[0]) for name, arr in result.items()}
