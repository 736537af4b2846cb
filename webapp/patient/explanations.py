"""Plain-language explanations of scores and of audit actions for the insight page.

These are UI texts (translated with gettext), not questionnaire texts.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SCORE_EXPLANATIONS = {
    ("eq5d5l", "index"): _l(
        "A summary of your answers about mobility, self-care, usual activities, pain and "
        "anxiety, weighted by how members of the public value such health states. 1 means no "
        "problems in any area; lower numbers mean more problems."
    ),
    ("eq5d5l", "vas"): _l(
        "Your own rating of your health today, from 0 (the worst health you can imagine) "
        "to 100 (the best health you can imagine)."
    ),
    ("eq5d5l", "profile"): _l(
        "Your five answers as digits, one per area, from 1 (no problems) to 5 (the most problems)."
    ),
    ("odi", "total"): _l(
        "How much back or leg pain limits your everyday life, from 0 % (not at all) to "
        "100 % (as much as possible). Lower is better."
    ),
    ("odi", "band"): _l("The total score described in words."),
    ("cat", "total"): _l(
        "How much your lung disease affects your daily life, from 0 to 40. Lower is better."
    ),
    ("cat", "impact"): _l("The total score described in words."),
}

SCORE_NAMES = {
    "index": _l("Health index"),
    "vas": _l("Your own health rating (0–100)"),
    "profile": _l("Profile"),
    "total": _l("Total score"),
    "band": _l("Category"),
    "impact": _l("Impact"),
}

# Words of text scores (ODI bands: Fairbank & Pynsent 2000; CAT impact levels: CAT guide).
TEXT_VALUES = {
    ("odi", "band"): {
        "minimal": _l("minimal disability"),
        "moderate": _l("moderate disability"),
        "severe": _l("severe disability"),
        "crippled": _l("crippled: back pain affects all parts of life"),
        "bed-bound": _l("bed-bound"),
    },
    ("cat", "impact"): {
        "low": _l("low impact"),
        "medium": _l("medium impact"),
        "high": _l("high impact"),
        "very high": _l("very high impact"),
    },
}

ACTIONS = {
    "patient.view": _l("looked at your information"),
    "patient.search": _l("searched for you"),
    "export.create": _l("included your answers in an export"),
    "response.view": _l("looked at your answers"),
    "patient.print": _l("printed your information"),
}


def score_explanation(instrument_id: str, scale: str) -> str:
    """What a score means, in plain language (a general note when none is written)."""
    text = SCORE_EXPLANATIONS.get((instrument_id, scale))
    if text is None:
        return str(_l("Ask the people treating you what this score means for you."))
    return str(text)


def text_value(instrument_id: str, scale: str, value: str) -> str:
    """A text score in the patient's language (as stored when no translation is written)."""
    return str(TEXT_VALUES.get((instrument_id, scale), {}).get(value, value))


def score_name(scale: str) -> str:
    """A readable name of a score (its scale id when none is written)."""
    return str(SCORE_NAMES.get(scale, scale))


def action_text(action: str) -> str:
    """What an audited action means for the patient."""
    return str(ACTIONS.get(action, _l("used your information")))
