"""How to show a score: its label, display range, which direction is better, decimals.

One place for the clinician patient page and the unit dashboard. Labels come from the
instrument file's scales where it has them; direction from the MID table
(:mod:`scoring.mid`), else the instrument's scale, else "higher is better".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import instruments
from scoring.mid import mid

# Scores the instrument files have no scale entry for (bokmål labels).
LABELS = {
    ("eq5d5l", "index"): "EQ-5D-indeks",
    ("eq5d3l", "index"): "EQ-5D-indeks",
    ("eq5d5l", "vas"): "EQ VAS (0–100)",
    ("eq5d3l", "vas"): "EQ VAS (0–100)",
    ("rand36", "HT"): "Helseendring siste år",
    ("rand36", "PCS"): "Fysisk sammendragsskår (PCS)",
    ("rand36", "MCS"): "Mental sammendragsskår (MCS)",
}
# Display ranges (instrument manuals; the EQ-5D index goes down to about -0.6 in the value
# sets shipped; PCS/MCS are norm-based with mean 50, SD 10).
RANGES = {
    ("eq5d5l", "index"): (-0.6, 1.0),
    ("eq5d3l", "index"): (-0.6, 1.0),
    ("cat", "total"): (0.0, 40.0),
    ("rand36", "PCS"): (10.0, 70.0),
    ("rand36", "MCS"): (10.0, 70.0),
}


@dataclass(frozen=True)
class ScoreInfo:
    """Presentation facts of one score of one instrument."""

    instrument_id: str
    scale: str
    label: str
    low: float
    high: float
    better: str  # "higher" or "lower"
    decimals: int

    @property
    def direction_text(self) -> str:
        """``høyere er bedre`` or ``høyere er verre``."""
        return "høyere er bedre" if self.better == "higher" else "høyere er verre"

    def format(self, value: float | None) -> str:
        """The value with this score's decimals (``""`` for None)."""
        if value is None:
            return ""
        text = f"{value:.{self.decimals}f}"
        return text.removesuffix(".0") if self.decimals == 1 else text


@cache
def score_info(instrument_id: str, scale: str) -> ScoreInfo:
    """Label, range, direction and decimals of ``scale`` of ``instrument_id``."""
    label, direction = LABELS.get((instrument_id, scale), scale), None
    try:
        for s in instruments.load(instrument_id).scales:
            if s.id == scale:
                label, direction = s.label.get_text("nb"), s.direction
    except KeyError:
        pass
    found = mid(instrument_id, scale)
    if found is not None:
        better = found.better
    else:
        better = "lower" if direction == "higher_worse" else "higher"
    low, high = RANGES.get((instrument_id, scale), (0.0, 100.0))
    decimals = 3 if scale == "index" else 1
    return ScoreInfo(instrument_id, scale, label, low, high, better, decimals)
