"""Minimal important differences (MIDs) per instrument and score, with their sources.

Data: ``instruments/data/mid.csv`` (one row per instrument and score; ``better`` says which
direction of change is an improvement). MIDs are for interpreting change, not for scoring.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MID_CSV = Path(__file__).resolve().parent.parent / "instruments" / "data" / "mid.csv"


@dataclass(frozen=True)
class Mid:
    """A minimal important difference in score units.

    ``upper`` is the top of a published range (None for a single value); ``relative_percent``
    is an alternative relative threshold (e.g. ODI: 30 % of the baseline score).
    ``better`` is ``"higher"`` or ``"lower"``: the direction of improvement.
    """

    instrument_id: str
    score: str
    value: float
    better: str
    method: str
    source: str
    upper: float | None = None
    relative_percent: float | None = None

    def is_important_improvement(self, before: float, after: float) -> bool:
        """True when the change from ``before`` to ``after`` improves by at least ``value``."""
        change = after - before if self.better == "higher" else before - after
        return change >= self.value


def _optional(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def _load() -> dict[tuple[str, str], Mid]:
    table: dict[tuple[str, str], Mid] = {}
    with MID_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["better"] not in ("higher", "lower"):
                raise ValueError(f"{MID_CSV}: better must be higher/lower (got {row['better']!r})")
            key = (row["instrument"], row["score"])
            table[key] = Mid(
                instrument_id=row["instrument"],
                score=row["score"],
                value=float(row["value"]),
                better=row["better"],
                method=row["method"],
                source=row["source"],
                upper=_optional(row["upper"]),
                relative_percent=_optional(row["relative_percent"]),
            )
    return table


def mid(instrument_id: str, score: str) -> Mid | None:
    """The MID of ``score`` of ``instrument_id``, or None when none is recorded."""
    return _load().get((instrument_id, score))


def all_mids() -> tuple[Mid, ...]:
    """Every recorded MID, in file order."""
    return tuple(_load().values())
