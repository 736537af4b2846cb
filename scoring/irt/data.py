"""Turn a table of item answers into category indices and response patterns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = -1


@dataclass(frozen=True)
class Responses:
    """Answers as category indices ``0..K_i-1`` (``-1`` = missing), one row per respondent.

    ``codes[i]`` lists the answer codes of item ``i`` in category order.
    """

    items: tuple[str, ...]
    codes: tuple[tuple[float, ...], ...]
    index: np.ndarray  # (n, I) int
    row_labels: pd.Index

    @property
    def n(self) -> int:
        """Number of respondents."""
        return int(self.index.shape[0])

    def patterns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct answer patterns, their counts and each row's pattern number."""
        uniq, inverse, counts = np.unique(
            self.index, axis=0, return_inverse=True, return_counts=True
        )
        return uniq, counts.astype(float), inverse.reshape(-1)


def to_frame(data: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """A DataFrame of the answers (columns = items); arrays get columns ``item1..``."""
    if isinstance(data, pd.DataFrame):
        return data
    array = np.asarray(data, dtype=float)
    if array.ndim != 2:
        raise ValueError("answers must be a 2-D table: one row per respondent, one column per item")
    return pd.DataFrame(array, columns=[f"item{i + 1}" for i in range(array.shape[1])])


def prepare(
    data: pd.DataFrame | np.ndarray,
    categories: Mapping[str, Sequence[float]] | None = None,
) -> Responses:
    """Code the answers as category indices.

    ``categories`` maps an item to its answer codes in order (e.g. the options of an
    instrument); by default an item's categories are the distinct values observed in it.
    A value that is not one of an item's categories raises ``ValueError``.
    """
    frame = to_frame(data)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise ValueError("no answers: the table has no rows or no item columns")
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = frame.notna().to_numpy() & np.isnan(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"item {frame.columns[col]!r}: {frame.iat[row, col]!r} is not a number (row {row})"
        )
    items = tuple(str(c) for c in frame.columns)
    index = np.full(values.shape, MISSING, dtype=np.int64)
    codes: list[tuple[float, ...]] = []
    for j, item in enumerate(items):
        column = values[:, j]
        observed = ~np.isnan(column)
        if categories is not None and item in categories:
            cats = np.asarray(sorted(float(c) for c in categories[item]))
            unknown = observed & ~np.isin(column, cats)
            if unknown.any():
                raise ValueError(
                    f"item {item!r}: answer {column[unknown][0]:g} is not one of its codes "
                    f"{[float(c) for c in cats]}"
                )
        else:
            cats = np.unique(column[observed])
        if cats.size < 2:
            raise ValueError(f"item {item!r} has fewer than two answer categories")
        index[observed, j] = np.searchsorted(cats, column[observed])
        codes.append(tuple(float(c) for c in cats))
    return Responses(items, tuple(codes), index, frame.index)


def indicator(index: np.ndarray, width: int) -> np.ndarray:
    """One-hot matrix (n, I*width) of category indices; missing answers give zero rows."""
    n, n_items = index.shape
    out = np.zeros((n, n_items * width))
    rows, cols = np.nonzero(index >= 0)
    out[rows, cols * width + index[rows, cols]] = 1.0
    return out
