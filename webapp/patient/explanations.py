"""Plain-language explanations of scores and of audit actions for the insight page.

These are UI texts (translated with gettext), not questionnaire texts.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

_EQ5D_INDEX = _l(
    "A summary of your answers about mobility, self-care, usual activities, pain and "
    "anxiety, weighted by how members of the public value such health states. 1 means no "
    "problems in any area; lower numbers mean more problems."
)
_EQ5D_VAS = _l(
    "Your own rating of your health today, from 0 (the worst health you can imagine) "
    "to 100 (the best health you can imagine)."
)
_TOTAL_IN_WORDS = _l("The total score described in words.")
_RAND36 = {
    "PF": _l(
        "How well you manage physical activities such as walking, climbing stairs and "
        "carrying shopping, from 0 to 100. Higher is better."
    ),
    "RP": _l(
        "How much your physical health has got in the way of work or other daily "
        "activities in the past 4 weeks, from 0 to 100. Higher means fewer problems."
    ),
    "BP": _l(
        "How much pain you have had in the past 4 weeks and how much it got in the way "
        "of your daily life, from 0 to 100. Higher means less pain."
    ),
    "GH": _l("How you rate your health in general, from 0 to 100. Higher is better."),
    "VT": _l(
        "How much energy you have had and how tired you have felt, from 0 to 100. "
        "Higher means more energy."
    ),
    "SF": _l(
        "How much your health has limited your time with family, friends and others, "
        "from 0 to 100. Higher means fewer limits."
    ),
    "RE": _l(
        "How much emotional problems have got in the way of work or other daily "
        "activities in the past 4 weeks, from 0 to 100. Higher means fewer problems."
    ),
    "MH": _l(
        "How you have felt emotionally, for example calm and happy or down and nervous, "
        "from 0 to 100. Higher is better."
    ),
    "HT": _l(
        "How you rate your health now compared with a year ago, from 0 (much worse) to "
        "100 (much better). 50 means about the same."
    ),
    "PCS": _l(
        "A summary of your physical health, compared with a large general population in "
        "which the average is 50. Higher is better."
    ),
    "MCS": _l(
        "A summary of your mental health, compared with a large general population in "
        "which the average is 50. Higher is better."
    ),
}
_GSPEQ = _l("Your own answer to this question, from 1 (not at all) to 5 (to a very large extent).")

SCORE_EXPLANATIONS = {
    ("eq5d5l", "index"): _EQ5D_INDEX,
    ("eq5d5l", "vas"): _EQ5D_VAS,
    ("eq5d5l", "profile"): _l(
        "Your five answers as digits, one per area, from 1 (no problems) to 5 (the most problems)."
    ),
    ("eq5d3l", "index"): _EQ5D_INDEX,
    ("eq5d3l", "vas"): _EQ5D_VAS,
    ("eq5d3l", "profile"): _l(
        "Your five answers as digits, one per area, from 1 (no problems) to 3 (the most problems)."
    ),
    ("odi", "total"): _l(
        "How much back or leg pain limits your everyday life, from 0 % (not at all) to "
        "100 % (as much as possible). Lower is better."
    ),
    ("odi", "band"): _TOTAL_IN_WORDS,
    ("cat", "total"): _l(
        "How much your lung disease affects your daily life, from 0 to 40. Lower is better."
    ),
    ("cat", "impact"): _TOTAL_IN_WORDS,
    **{("rand36", scale): text for scale, text in _RAND36.items()},
    **{("gspeq", f"q{i:02d}"): _GSPEQ for i in range(1, 11)},
}

SCORE_NAMES = {
    "index": _l("Health index"),
    "vas": _l("Your own health rating (0–100)"),
    "profile": _l("Profile"),
    "total": _l("Total score"),
    "band": _l("Category"),
    "impact": _l("Impact"),
    "HT": _l("Health compared with a year ago"),
    "PCS": _l("Physical health summary (PCS)"),
    "MCS": _l("Mental health summary (MCS)"),
    # an item bank asked adaptively (webapp.services.adaptive)
    "theta_se": _l("Standard error of theta"),
    "t_score": _l("T-score"),
    "t_score_se": _l("Standard error of the T-score"),
    "n_items": _l("Questions asked"),
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


# The scores shown in view on the insight page (the rest is folded); none for GS-PEQ,
# whose scores are its single questions.
MAIN_SCORES = {
    "eq5d5l": ("index", "vas"),
    "eq5d3l": ("index", "vas"),
    "odi": ("total", "band"),
    "cat": ("total", "impact"),
    "rand36": ("PCS", "MCS"),
}

# What a high score is about, keyed by the text score that names the band; the insight page
# joins them into one calm next step ("… show that A and B affect your daily life a lot")
# with the unit's contact details.
# CAT "high" (21-30) and "very high" (>30) impact: CAT user guide (GSK, 2016 revision);
# ODI 41 % and more ("severe disability" and worse): Fairbank & Pynsent 2000, Spine 25:2940.
HIGH_SCORE_REASONS = {
    ("cat", "impact"): (
        frozenset({"high", "very high"}),
        _l("your lung disease"),
    ),
    ("odi", "band"): (
        frozenset({"severe", "crippled", "bed-bound"}),
        _l("the pain in your back or legs"),
    ),
}


def high_score_reason(instrument_id: str, scale: str, text_value: str | None) -> str | None:
    """What a high score is about, for the next step (None: the score is not high)."""
    rule = HIGH_SCORE_REASONS.get((instrument_id, scale))
    if rule is None or text_value not in rule[0]:
        return None
    return str(rule[1])
