"""How to show a score: its label, display range, which direction is better, decimals.

One place for the clinician patient page and the unit dashboard. Labels come from the
instrument file's scales where it has them (in the staff language), else from the
Flask-Babel messages below; direction from the MID table (:mod:`scoring.mid`), else the
instrument's scale, else "higher is better". Labels and the direction in words are read in
the language of the moment (:func:`webapp.i18n.current_language`; bokmål outside a request).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from babel.numbers import format_decimal
from flask import has_app_context
from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

import instruments
from instruments.model import Text
from scoring.mid import mid
from webapp.i18n import current_language

# Scores the instrument files have no scale entry for (messages; nb/nn in the catalogues).
LABELS = {
    ("eq5d5l", "index"): _l("EQ-5D index"),
    ("eq5d3l", "index"): _l("EQ-5D index"),
    ("eq5d5l", "vas"): _l("EQ VAS (0–100)"),
    ("eq5d3l", "vas"): _l("EQ VAS (0–100)"),
    ("rand36", "HT"): _l("Health change in the last year"),
    ("rand36", "PCS"): _l("Physical component summary (PCS)"),
    ("rand36", "MCS"): _l("Mental component summary (MCS)"),
}
# Scores of an item bank asked adaptively (webapp.services.adaptive; theta has a scale).
# An adaptive test's precision and length: neither better nor worse health when higher.
NO_DIRECTION = frozenset({"theta_se", "t_score_se", "n_items"})
ADAPTIVE_LABELS = {
    "theta_se": _l("SE (theta)"),
    "t_score": _l("T-score"),
    "t_score_se": _l("SE (T-score)"),
    "n_items": _l("Number of questions asked"),
}
# Decimals a single patient's score is shown with (always the same for one score): whole
# numbers where the score can only be whole (CAT sum of 0..5 items, the EQ VAS 0..100).
SHOWN_DECIMALS = {
    ("cat", "total"): 0,
    ("eq5d5l", "vas"): 0,
    ("eq5d3l", "vas"): 0,
}
# Babel locale for numbers in each UI language (decimal comma in bokmål and nynorsk).
NUMBER_LOCALES = {"nb": "nb", "nn": "nn", "en": "en_GB"}

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
    label_source: Text | LazyString | str  # the instrument's text, a message, or the id
    low: float
    high: float
    better: str  # "higher", "lower" or "none" (not a health score: precision, length)
    decimals: int
    shown_decimals: int = 1

    @property
    def label(self) -> str:
        """The score's label in the current language (``EQ-5D-indeks``, ``EQ-5D index``)."""
        source = self.label_source
        if isinstance(source, Text):
            lang = _language()
            return source.get_text(lang) if lang in source else source.get_text("nb")
        return str(source)

    @property
    def direction_text(self) -> str:
        """``higher is better`` or ``higher is worse`` in the current language; empty for
        a score that is not a health score (an adaptive test's SE or number of items)."""
        if self.better == "none":
            return ""
        return gettext("higher is better" if self.better == "higher" else "higher is worse")

    def format(self, value: float | None) -> str:
        """The value with this score's decimals (``""`` for None)."""
        if value is None:
            return ""
        text = f"{value:.{self.decimals}f}"
        return text.removesuffix(".0") if self.decimals == 1 else text

    def display(self, value: float | None, lang: str, *, signed: bool = False) -> str:
        """A patient's value for people to read: always :attr:`shown_decimals` decimals,
        in the number format of ``lang`` (``"0,512"`` in nb/nn, ``"0.512"`` in en)."""
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * self.shown_decimals if self.shown_decimals else "")
        if signed:
            pattern = f"+{pattern};-{pattern}"
        return format_decimal(value, format=pattern, locale=NUMBER_LOCALES.get(lang, "nb"))


def _language() -> str:
    return current_language() if has_app_context() else "nb"


@cache
def score_info(instrument_id: str, scale: str) -> ScoreInfo:
    """Label, range, direction and decimals of ``scale`` of ``instrument_id``."""
    label: Text | LazyString | str = LABELS.get(
        (instrument_id, scale), ADAPTIVE_LABELS.get(scale, scale)
    )
    direction = None
    try:
        for s in instruments.load(instrument_id).scales:
            if s.id == scale:
                label, direction = s.label, s.direction
    except KeyError:
        pass
    found = mid(instrument_id, scale)
    if found is not None:
        better = found.better
    elif scale in NO_DIRECTION:
        better = "none"
    else:
        better = "lower" if direction == "higher_worse" else "higher"
    low, high = RANGES.get((instrument_id, scale), (0.0, 100.0))
    decimals = 3 if scale == "index" else 1
    shown = SHOWN_DECIMALS.get((instrument_id, scale), 0 if scale == "n_items" else decimals)
    return ScoreInfo(instrument_id, scale, label, low, high, better, decimals, shown)
