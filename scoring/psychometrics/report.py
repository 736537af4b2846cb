"""COSMIN measurement-property report for one instrument on a table of responses.

:func:`build_report` computes, per scale of the instrument definition, floor/ceiling
effects, internal consistency, structural validity (CFA), test-retest reliability
(with a retest table), hypotheses testing and DIF, rates each ``+``/``?``/``-`` against the
criteria in :data:`CRITERIA`, and returns a :class:`Report` that renders as one
self-contained HTML page (inline CSS and SVG, no scripts, no external links) or as JSON.

Items of a scale that run against the others (negative loading on the scale's first
principal component) are reversed before item analysis, alpha, CFA and DIF, as
``psych::alpha(check.keys = TRUE)`` does; the report lists them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import html
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.psychometrics.results import _clean
from scoring.psychometrics.tables import (
    ID_COLUMNS,
    TIME_POINT_COLUMN,
    merge_tables,
    prepare_table,
)

FLOOR_CEILING_MAX = 15.0
ALPHA_RANGE = (0.70, 0.95)
CFI_MIN, RMSEA_MAX = 0.95, 0.06
TLI_MIN, SRMR_MAX = 0.95, 0.08
ORDINAL_MAX_CATEGORIES = 7
INVARIANCE_COLUMNS = ("language", "mode")
STRUCTURAL_RULES: dict[str, str] = {
    "cosmin2018": (
        "+ when the CFA of all multi-item scales (correlated factors) has CFI > 0.95 or "
        "TLI > 0.95 or RMSEA < 0.06 or SRMR < 0.08 (COSMIN 2018, Prinsen et al. 2018; "
        "Mokkink et al. 2018), - otherwise, ? when it cannot be computed or is saturated "
        "(df = 0); with WLSMV the scaled (robust) CFI, TLI and RMSEA are judged"
    ),
    "strict": (
        "+ when the CFA of all multi-item scales (correlated factors) has CFI > 0.95 and "
        "RMSEA < 0.06, - otherwise, ? when it cannot be computed or is saturated (df = 0); "
        "with WLSMV the scaled (robust) CFI and RMSEA are judged"
    ),
}
ICC_MIN = 0.70

CRITERIA: dict[str, str] = {
    "floor_ceiling": (
        "+ when at most 15 % of respondents have the lowest and at most 15 % the highest "
        "possible score, - otherwise (Terwee et al. 2007)"
    ),
    "internal_consistency": (
        "+ when 0.70 <= Cronbach's alpha <= 0.95, - otherwise, ? for single-item scales "
        "(Terwee et al. 2007)"
    ),
    "structural_validity": STRUCTURAL_RULES["cosmin2018"],
    "test_retest": (
        "+ when ICC(A,1) (two-way random, absolute agreement, single measure) >= 0.70, "
        "- otherwise, ? without retest data (Terwee et al. 2007; Prinsen et al. 2018); "
        "SEM = sqrt(occasion variance + error variance) (agreement, de Vet et al. 2006), "
        "SDC = 1.96 * sqrt(2) * SEM"
    ),
    "hypotheses": (
        "+ when at least 75 % of the hypotheses are confirmed, - otherwise, ? without "
        "hypotheses (Prinsen et al. 2018)"
    ),
    "dif": (
        "+ when no item of the scale shows DIF (ordinal logistic regression: p < .01 and "
        "McFadden pseudo-R2 change >= 0.02), - when any item does, ? without a group column "
        "or for scales with fewer than 3 items"
    ),
}
PROPERTIES = (
    ("floor_ceiling", "Floor/ceiling"),
    ("internal_consistency", "Internal consistency"),
    ("structural_validity", "Structural validity"),
    ("test_retest", "Test–retest reliability"),
    ("dif", "DIF"),
)
PROPERTY_LABELS = dict(PROPERTIES) | {
    "hypotheses": "Hypotheses testing",
    "responsiveness": "Responsiveness",
}
METHODS: dict[str, str] = {
    "scores": (
        "Scale scores from the instrument's scoring algorithm (openprom scoring.score_table, "
        "its missing-item rule); without an algorithm, the sum of the keyed items over "
        "complete responses. Items running against the rest of their scale (negative loading "
        "on the scale's first principal component) are reversed (min + max - code) before "
        "the item-level analyses, as psych::alpha(check.keys = TRUE)."
    ),
    "floor_ceiling": (
        "Share of respondents with a score at the lowest / highest possible score (found by "
        "scoring the two extreme answer patterns)."
    ),
    "internal_consistency": (
        "Cronbach's alpha of the keyed item codes over complete responses (listwise), with "
        "Feldt's F-based 95 % CI (as psych::alpha). Item analysis: item n, missing %, mean, "
        "SD and floor/ceiling % use every answer to the item; the corrected item-total "
        "correlation and alpha if item deleted use the pairwise-complete covariance matrix "
        "(as psych::alpha's r.drop and alpha.drop)."
    ),
    "structural_validity": (
        "Confirmatory factor analysis of all multi-item scales together (one factor per "
        "scale, factors correlated, factor variances fixed to 1, no cross-loadings), complete "
        "responses. By default (estimator 'auto') items with at most 7 answer categories are "
        "treated as ordinal: WLSMV, i.e. DWLS on the polychoric correlations with robust "
        "standard errors and the scaled-shifted chi-square (as lavaan cfa(..., ordered = "
        "TRUE)); otherwise maximum likelihood on the covariance matrix of the keyed item "
        "codes (chi-square = N * F_ML). Fit indices and std.all loadings as lavaan 0.6 "
        "computes them (openprom's own implementation). Dimensionality: eigenvalues "
        "of the item correlation matrix; KMO and Bartlett's test (as psych::KMO and "
        "psych::cortest.bartlett)."
    ),
    "test_retest": (
        "Scale scores of respondents matched between test and retest; ICC(A,1) = Shrout & "
        "Fleiss ICC(2,1) (two-way random effects, absolute agreement, single measure) with "
        "its F-based 95 % CI (McGraw & Wong 1996, as psych::ICC); agreement SEM = "
        "sqrt(occasion variance + residual variance) from the two-way ANOVA; SDC = 1.96 * "
        "sqrt(2) * SEM (de Vet et al. 2006)."
    ),
    "responsiveness": (
        "With a follow-up measurement: change = follow-up - baseline score of matched "
        "respondents; mean change with its t-based 95 % CI, effect size = mean change / SD "
        "at baseline (Kazis et al. 1989), standardized response mean = mean change / SD of "
        "change (Liang et al. 1990). Not rated: COSMIN judges responsiveness by hypotheses "
        "about change (or an anchor), which the report does not take; the JSON also holds "
        "percentile-bootstrap CIs of ES and SRM (1000 resamples, fixed seed)."
    ),
    "hypotheses": (
        "Hypotheses stated in advance (file given to the report). Spearman or Pearson "
        "correlations with Fisher-z 95 % CIs (Spearman: SE = sqrt(1.06 / (n - 3))); known "
        "groups as Cohen's d (pooled SD) with the Hedges & Olkin CI; a hypothesis is "
        "confirmed when the point estimate meets the expectation."
    ),
    "dif": (
        "Ordinal logistic regression per item (proportional odds, logit link): item ~ total "
        "score (1), + group (2), + group x total (3); likelihood-ratio chi-square for "
        "uniform (2 vs 1) and non-uniform (3 vs 2) DIF and the change in McFadden's "
        "pseudo-R2 (Zumbo 1999; Crane et al. 2006). Rows with a missing item or group are "
        "left out."
    ),
}


@dataclass
class Report:
    """A computed report: ``data`` is the JSON content; :meth:`to_html` renders it."""

    data: dict[str, Any]
    plots: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-friendly dict."""
        return _clean(self.data)

    def to_html(self) -> str:
        """One self-contained HTML page."""
        return _render_html(self.to_dict(), self.plots)

    def notes(self) -> list[str]:
        """What was done to the input (time point chosen, rows left out, ...)."""
        notes = list((self.data.get("input") or {}).get("notes", []))
        for key in ("retest", "followup"):
            notes += ((self.data.get(key) or {}).get("input") or {}).get("notes", [])
        return notes


# --------------------------------------------------------------------------- helpers


def _label(text: Any) -> str:
    if text is None:
        return ""
    for lang in ("en", "nb", "nn"):
        try:
            return str(text[lang])
        except (KeyError, TypeError):
            continue
    return str(text)


def _item_range(inst: Any, item_id: str) -> tuple[float, float]:
    item = inst.item(item_id)
    codes = [o.code for o in item.options if not getattr(o, "not_applicable", False)]
    if codes:
        return float(min(codes)), float(max(codes))
    if item.min is not None and item.max is not None:
        return float(item.min), float(item.max)
    raise ValueError(f"item {item_id!r} has no options and no min/max")


def _clean_items(data: pd.DataFrame, inst: Any, items: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Numeric item columns; impossible codes become missing (and are counted)."""
    out = {}
    invalid = 0
    for item_id in items:
        col = pd.to_numeric(data[item_id], errors="coerce")
        item = inst.item(item_id)
        allowed = [o.code for o in item.options]
        if allowed:
            bad = col.notna() & ~col.isin(allowed)
        else:
            lo = -np.inf if item.min is None else item.min
            hi = np.inf if item.max is None else item.max
            bad = col.notna() & ((col < lo) | (col > hi))
        invalid += int(bad.sum()) + int((data[item_id].notna() & col.isna()).sum())
        out[item_id] = col.mask(bad)
    return pd.DataFrame(out, index=data.index), invalid


def _reversed_items(items: pd.DataFrame) -> list[str]:
    """Items with a negative loading on the first principal component of the scale."""
    if items.shape[1] < 2:
        return []
    corr = items.corr().to_numpy()
    if np.isnan(corr).any():
        return []
    vals, vecs = np.linalg.eigh(corr)
    v = vecs[:, -1]
    if v.sum() < 0:
        v = -v
    return [str(c) for c, load in zip(items.columns, v, strict=True) if load < 0]


def _keyed(items: pd.DataFrame, reversed_: Sequence[str], ranges: dict[str, tuple]) -> pd.DataFrame:
    out = items.copy()
    for c in reversed_:
        lo, hi = ranges[c]
        out[c] = lo + hi - out[c]
    return out


def _rate(value: float | None, ok: Callable[[float], bool]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    return "+" if ok(value) else "-"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _score_extremes(
    instrument_id: str,
    scale_id: str,
    inst: Any,
    items: Sequence[str],
    reversed_: Sequence[str],
    ranges: dict[str, tuple],
) -> tuple[float, float]:
    """Lowest and highest possible scale score: score the two extreme response patterns."""
    from scoring import score_table

    low_row, high_row = {}, {}
    for item_id in inst.item_ids:
        lo, hi = ranges.get(item_id, (np.nan, np.nan))
        low_row[item_id], high_row[item_id] = (hi, lo) if item_id in reversed_ else (lo, hi)
    table = pd.DataFrame([low_row, high_row])
    table = table[[c for c in table.columns if c in items]]
    scores = score_table(instrument_id, table, errors="blank")[scale_id]
    a, b = float(scores[0]), float(scores[1])
    return min(a, b), max(a, b)


def _scores(instrument_id: str, table: pd.DataFrame, value_set: str | None) -> tuple[dict, str]:
    """Scores from :func:`scoring.score_table` (rows with impossible answers blanked)."""
    from scoring import score_table

    try:
        return score_table(instrument_id, table, value_set=value_set, errors="blank"), (
            "scoring.score_table (rows with impossible answers get missing scores)"
        )
    except (KeyError, ImportError) as exc:
        return {}, f"no scoring algorithm available ({exc}); scales scored as item sums"


def _scale_scores(
    instrument_id: str,
    table: pd.DataFrame,
    keyed: pd.DataFrame,
    scales: Sequence[Any],
    value_set: str | None,
) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Every numeric score of the instrument plus one column per scale.

    A scale takes the score of the same name from :func:`scoring.score_table`; otherwise
    the sum of its (keyed) items over complete responses.
    """
    scores, note = _scores(instrument_id, table, value_set)
    frame = pd.DataFrame(
        {k: v for k, v in scores.items() if np.asarray(v).dtype.kind in "fiub"}, index=table.index
    )
    sources = {}
    for s in scales:
        if s.id in frame.columns:
            sources[s.id] = "scoring.score_table"
        else:
            items = keyed[list(s.items)]
            frame[s.id] = items.sum(axis=1, min_count=1).where(items.notna().all(axis=1))
            sources[s.id] = "sum of (keyed) items, complete responses only"
    return frame, sources, note


# --------------------------------------------------------------------------- analyses


def _floor_ceiling(score: pd.Series, lo: float, hi: float) -> dict[str, Any]:
    values = score.dropna().to_numpy(float)
    n = values.size
    if n == 0:
        return {"n": 0, "rating": "?", "floor_pct": None, "ceiling_pct": None}
    tol = 1e-9 * max(1.0, abs(hi - lo))
    floor = 100.0 * float(np.mean(values <= lo + tol))
    ceiling = 100.0 * float(np.mean(values >= hi - tol))
    rating = "+" if max(floor, ceiling) <= FLOOR_CEILING_MAX else "-"
    return {
        "n": n,
        "min_possible": lo,
        "max_possible": hi,
        "floor_pct": floor,
        "ceiling_pct": ceiling,
        "rating": rating,
    }


def _internal_consistency(keyed: pd.DataFrame, ranges: dict[str, tuple]) -> dict[str, Any]:
    if keyed.shape[1] < 2:
        return {"rating": "?", "note": "single-item scale"}
    from scoring.psychometrics.items import item_analysis
    from scoring.psychometrics.reliability import cronbach_alpha

    out: dict[str, Any] = {}
    try:
        alpha = cronbach_alpha(keyed)
        out["alpha"] = alpha.to_dict()
        lo, hi = ALPHA_RANGE
        out["rating"] = _rate(float(alpha.value), lambda a: lo <= a <= hi)
    except Exception as exc:  # a failure is reported, not hidden
        out["rating"], out["error"] = "?", _error_text(exc)
    try:
        lo = {i: r[0] for i, r in ranges.items()}
        hi = {i: r[1] for i, r in ranges.items()}
        ia = item_analysis(keyed, min_score=lo, max_score=hi)
        out["items"] = _clean(ia.table.reset_index().to_dict(orient="records"))
    except Exception as exc:
        out["item_analysis_error"] = _error_text(exc)
    return out


def _choose_estimator(
    model: dict[str, list[str]], keyed_all: pd.DataFrame, requested: str
) -> tuple[str, str]:
    """'auto' -> WLSMV when every CFA item has at most 7 observed categories, else ML."""
    if requested != "auto":
        return requested, f"estimator {requested} (requested)"
    items = sorted({i for cols in model.values() for i in cols})
    complete = keyed_all[items].dropna()
    most = int(complete.nunique().max()) if len(complete) else 0
    if 0 < most <= ORDINAL_MAX_CATEGORIES:
        return "WLSMV", (
            f"WLSMV (ordinal items: at most {most} categories, <= {ORDINAL_MAX_CATEGORIES})"
        )
    return "ML", f"ML (an item has {most} categories, > {ORDINAL_MAX_CATEGORIES})"


def structural_rating(indices: dict[str, Any], rule: str) -> str:
    """COSMIN rating of CFA fit indices (``cfi``, ``tli``, ``rmsea``, ``srmr``) by ``rule``."""

    def ok(key: str, good: Callable[[float], bool]) -> bool:
        value = indices.get(key)
        return value is not None and not np.isnan(value) and good(float(value))

    if rule == "strict":
        good = ok("cfi", lambda v: v > CFI_MIN) and ok("rmsea", lambda v: v < RMSEA_MAX)
    elif rule == "cosmin2018":
        good = (
            ok("cfi", lambda v: v > CFI_MIN)
            or ok("tli", lambda v: v > TLI_MIN)
            or ok("rmsea", lambda v: v < RMSEA_MAX)
            or ok("srmr", lambda v: v < SRMR_MAX)
        )
    else:
        raise ValueError(f"unknown structural validity rule {rule!r} (cosmin2018 or strict)")
    return "+" if good else "-"


def _structural_validity(
    model: dict[str, list[str]],
    keyed_all: pd.DataFrame,
    estimator: str = "auto",
    rule: str = "cosmin2018",
) -> dict[str, Any]:
    from scoring.psychometrics.cfa import cfa

    if not model:
        return {"rating": "?", "note": "no multi-item scale"}
    if len(model) == 1 and len(next(iter(model.values()))) < 3:
        return {"rating": "?", "note": "a single two-item scale is not identified"}
    chosen, why = _choose_estimator(model, keyed_all, estimator)
    fallback = None
    try:
        fit = cfa(keyed_all, model, estimator=chosen)
    except Exception as exc:
        if chosen != "WLSMV" or estimator != "auto":
            return {"rating": "?", "error": _error_text(exc), "estimator": chosen}
        fallback = f"WLSMV failed ({_error_text(exc)}); ML used instead"
        chosen, why = "ML", fallback
        try:
            fit = cfa(keyed_all, model)
        except Exception as exc2:
            return {"rating": "?", "error": _error_text(exc2), "estimator": "ML"}
    out = fit.to_dict()
    out["estimator"] = chosen
    out["estimator_choice"] = why
    out["rule"] = rule
    robust = chosen == "WLSMV"
    judged = {
        "cfi": fit.cfi_scaled if robust else fit.cfi,
        "tli": fit.tli_scaled if robust else fit.tli,
        "rmsea": fit.rmsea_scaled if robust else fit.rmsea,
        "srmr": fit.srmr,
        "scaled": robust,
    }
    out["judged"] = _clean_float(judged)
    if fit.df == 0:
        out["rating"], out["note"] = "?", "saturated model (df = 0): fit cannot be judged"
    elif not fit.converged:
        out["rating"] = "?"
    else:
        out["rating"] = structural_rating(judged, rule)
    return out


def _clean_float(d: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (float(v) if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) else v)
        for k, v in d.items()
    }


INVARIANCE_METHODS = {
    "ML": "multi-group CFA, ML on the keyed item codes with a mean structure (lavaan "
    "group.equal, std.lv); Δχ² = χ² difference test",
    "WLSMV": "multi-group CFA, WLSMV for ordinal items (polychoric correlations and "
    "thresholds per group, delta parameterization, as lavaan cfa(ordered = TRUE, group.equal "
    '= c("loadings", "thresholds"))); scaled-shifted χ² and scaled CFI/TLI/RMSEA; Δχ² = '
    "scaled difference test (lavTestLRT, satorra.2000)",
}


def _invariance(
    model: dict[str, list[str]],
    keyed_all: pd.DataFrame,
    groups: pd.Series,
    column: str,
    estimator: str = "ML",
    requested: str = "auto",
) -> dict[str, Any]:
    """Invariance of the report's CFA model across groups, with the CFA's estimator.

    WLSMV (ordinal items): configural/metric/scalar; ML: also strict. With the automatic
    choice, a failed WLSMV fit (e.g. a category no one in a group chose) falls back to ML
    with a note.
    """
    from scoring.psychometrics.invariance import invariance

    frame = keyed_all.assign(**{column: groups.astype("string")})
    fallback = None
    try:
        res = invariance(frame, model, column, estimator=estimator)
        failed = [lv for lv, ok in res.table["converged"].items() if not ok]
        if failed and estimator == "WLSMV" and requested == "auto":
            raise ValueError(f"the {', '.join(failed)} model did not converge")
    except Exception as exc:
        if estimator != "WLSMV" or requested != "auto":
            return {"error": _error_text(exc), "estimator": estimator}
        fallback = f"WLSMV failed ({_error_text(exc)}); ML on the item codes used instead"
        estimator = "ML"
        try:
            res = invariance(frame, model, column)
        except Exception as exc2:
            return {"error": _error_text(exc2), "estimator": "ML"}
    out = res.to_dict()
    out["method"] = INVARIANCE_METHODS[estimator]
    if fallback:
        out["notes"] = [fallback, *out["notes"]]
    steps = res.table.iloc[1:]
    ok = bool(steps["chen2007_invariant"].all()) if len(steps) else False
    out["chen2007_all_steps"] = ok
    return out


def _efa(keyed_all: pd.DataFrame, n_factors: int) -> dict[str, Any]:
    complete = keyed_all.dropna()
    out: dict[str, Any] = {"n": int(len(complete))}
    if keyed_all.shape[1] < 3 or len(complete) <= keyed_all.shape[1]:
        out["note"] = "too few items or complete rows"
        return out
    corr = np.corrcoef(complete.to_numpy(float), rowvar=False)
    out["eigenvalues"] = [float(v) for v in np.sort(np.linalg.eigvalsh(corr))[::-1]]
    try:
        from scoring.psychometrics.factor import efa

        res = efa(keyed_all, n_factors=max(1, n_factors))
        if hasattr(res, "to_dict"):
            out["efa"] = res.to_dict()
    except Exception as exc:
        out["efa_error"] = _error_text(exc)
    return out


def _match_retest(
    data: pd.DataFrame, retest: pd.DataFrame, id_column: str | None, what: str = "retest"
) -> tuple:
    if id_column is None:
        common = [c for c in ID_COLUMNS if c in data.columns and c in retest.columns]
        if not common:
            raise ValueError(
                f"to match test and {what} rows both files need an 'id', 'respondent' or "
                "'pseudonym' column (or name one with --id-column)"
            )
        id_column = common[0]
    for name, frame in (("data", data), (what, retest)):
        if id_column not in frame.columns:
            raise ValueError(f"{name} has no column {id_column!r} to match test and {what} rows")
        if frame[id_column].duplicated().any():
            raise ValueError(f"{name}: column {id_column!r} has repeated ids")
    return id_column, data[id_column].astype(str), retest[id_column].astype(str)


def _test_retest(test: pd.Series, retest: pd.Series) -> dict[str, Any]:
    from scoring.psychometrics.agreement import icc, sdc, sem

    pair = pd.DataFrame({"test": test.to_numpy(float), "retest": retest.to_numpy(float)}).dropna()
    out: dict[str, Any] = {"n": int(len(pair))}
    if len(pair) < 3:
        out["rating"], out["note"] = "?", "fewer than 3 complete pairs"
        return out
    try:
        est = icc(pair, model="ICC2")
        s = sem(pair, method="anova_agreement")
        d = sdc(s)
        out["icc"] = est.to_dict()
        out["sem"] = s.to_dict()
        out["sdc"] = d.to_dict()
        out["rating"] = _rate(float(est.value), lambda v: v >= ICC_MIN)
    except Exception as exc:
        out["rating"], out["error"] = "?", _error_text(exc)
    return out


def _dif(keyed: pd.DataFrame, group: pd.Series, tick: Callable[[], None]) -> dict[str, Any]:
    from scoring.psychometrics.dif import dif

    if keyed.shape[1] < 3:
        return {"rating": "?", "note": "fewer than 3 items"}
    try:
        res = dif(keyed, group, progress=tick)
    except Exception as exc:
        return {"rating": "?", "error": _error_text(exc)}
    out = res.to_dict()
    out["rating"] = "-" if res.flagged else "+"
    return out


# --------------------------------------------------------------------------- main entry


def _instrument(instrument: Any) -> Any:
    """An Instrument from an id, a path to a definition file, or an Instrument itself."""
    import instruments

    if isinstance(instrument, instruments.Instrument):
        return instrument
    text = str(instrument)
    if text.endswith((".yaml", ".yml")):
        return instruments.load_file(text)
    return instruments.load(text)


@dataclass(frozen=True)
class _Unit:
    """What the report rates: a scale of the definition, or a score when none is defined."""

    id: str
    label: str
    items: tuple[str, ...]
    direction: str | None
    kind: str  # "scale" (instrument file) or "score" (scoring algorithm output)


def _units(inst: Any) -> list[_Unit]:
    """The scales of the definition; without any, the numeric scores of its algorithm."""
    if inst.scales:
        return [
            _Unit(s.id, _label(s.label), tuple(s.items), s.direction, "scale") for s in inst.scales
        ]
    from scoring import get

    try:
        algorithm = get(inst.id)
    except (KeyError, ImportError):
        return []
    return [
        _Unit(name, "score (no scales defined)", (), None, "score")
        for name in algorithm.scores
        if name not in algorithm.text_scores
    ]


def _needed_items(inst: Any, units: Sequence[_Unit]) -> list[str]:
    if any(u.kind == "scale" for u in units):
        return sorted({i for u in units for i in u.items})
    from scoring import get

    answerable = [i.id for i in inst.questions]
    try:
        used = set(get(inst.id).items)
    except (KeyError, ImportError):
        return answerable
    return [i for i in answerable if i in used]


def _second_table(
    what: str,
    table: pd.DataFrame | None,
    time_point: str | None,
    source: pd.DataFrame,
    prepared: Any,
    instrument: str,
    inst: Any,
    needed: list[str],
    item_prefix: str | None,
    id_column: str | None,
) -> tuple[pd.DataFrame | None, Any]:
    """The retest or follow-up rows: ``table`` or, with only a time point, ``source``."""
    if table is None and time_point is None:
        return None, None
    origin = table if table is not None else source
    option = "--retest-time-point" if what == "retest" else "--followup-time-point"
    if (
        time_point is None
        and TIME_POINT_COLUMN in origin.columns
        and origin[TIME_POINT_COLUMN].nunique() > 1
    ):
        raise ValueError(f"the {what} table has several time points: choose one with {option}")
    out = prepare_table(
        origin,
        instrument,
        needed,
        version=inst.version,
        time_point=time_point,
        item_prefix=item_prefix,
        id_column=id_column,
        what=what,
    )
    if table is None and out.time_point is not None and out.time_point == prepared.time_point:
        raise ValueError(f"test and {what} are the same time point ({prepared.time_point!r})")
    return out.frame, out


def _matched_scores(
    what: str,
    data: pd.DataFrame,
    other: pd.DataFrame,
    prepared: Any,
    id_column: str | None,
    inst: Any,
    needed: list[str],
    scales: Sequence[Any],
    scale_reversed: dict[str, list[str]],
    ranges: dict[str, tuple],
    units: Sequence[Any],
    value_set: str | None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Scores of ``other`` aligned to the rows of ``data`` (NaN where unmatched)."""
    id_col, test_ids, other_ids = _match_retest(data, other, id_column, what)
    items, _ = _clean_items(other, inst, needed)
    keyed = items.copy()
    for s in scales:
        keyed[list(s.items)] = _keyed(items[list(s.items)], scale_reversed[s.id], ranges)
    frame, _, _ = _scale_scores(inst.id, other, keyed, units, value_set)
    lookup = pd.Series(np.arange(len(other)), index=other_ids.to_numpy())
    pos = lookup.reindex(test_ids.to_numpy()).to_numpy()
    matched = ~np.isnan(pos)
    info = {
        "id_column": id_col,
        "n_matched": int(matched.sum()),
        "n_rows": int(len(other)),
        "input": prepared.to_dict() if prepared else None,
    }
    if what == "retest":
        info["n_retest_rows"] = int(len(other))
    scores = {}
    for s in units:
        aligned = np.full(len(data), np.nan)
        aligned[matched] = frame[s.id].to_numpy(float)[pos[matched].astype(int)]
        scores[s.id] = aligned
    return info, scores


def _responsiveness(
    baseline: pd.Series, followup: np.ndarray, reliability: float | None = None
) -> dict[str, Any]:
    """Distribution-based responsiveness (no anchor in the report): not rated.

    Adds the distribution-based MIC: 0.5 SD at baseline and, with a test-retest ICC,
    1 SEM = SD sqrt(1 - ICC)."""
    from scoring.psychometrics.responsiveness import responsiveness

    base = baseline.to_numpy(float)
    ok = ~np.isnan(base) & ~np.isnan(followup)
    out: dict[str, Any] = {
        "n": int(ok.sum()),
        "rating": "?",
        "note": "not rated: COSMIN rates responsiveness by hypotheses about change",
    }
    if ok.sum() < 3:
        out["note"] = "fewer than 3 complete pairs"
        return out
    try:
        rel = reliability if reliability is not None and 0 <= reliability <= 1 else None
        r = responsiveness(base, followup, n_boot=1000, reliability=rel)
    except Exception as exc:
        out["error"] = _error_text(exc)
        return out
    out.update(
        {
            "mean_change": r.mean_change.to_dict(),
            "effect_size": r.effect_size.to_dict(),
            "srm": r.srm.to_dict(),
            "baseline_mean": float(np.mean(base[ok])),
            "followup_mean": float(np.mean(followup[ok])),
            "baseline_sd": float(np.std(base[ok], ddof=1)),
            "change_sd": float(np.std(followup[ok] - base[ok], ddof=1)),
            "mic_half_sd": r.mic_half_sd.value,
            "mic_sem": None if r.mic_sem is None else r.mic_sem.value,
        }
    )
    return out


def _software() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in (
        "openprom",
        "numpy",
        "scipy",
        "pandas",
        "statsmodels",
        "factor_analyzer",
        "scikit-learn",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "openprom":  # run from a checkout: the version in pyproject.toml
                import tomllib
                from pathlib import Path

                with contextlib.suppress(OSError, KeyError, tomllib.TOMLDecodeError):
                    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
                    out[name] = str(tomllib.loads(text)["project"]["version"])
    return out


def build_report(
    data: pd.DataFrame,
    instrument: Any,
    *,
    retest: pd.DataFrame | None = None,
    groups: str | None = None,
    hypotheses: Any = None,
    id_column: str | None = None,
    value_set: str | None = None,
    time_point: str | None = None,
    retest_time_point: str | None = None,
    followup: pd.DataFrame | None = None,
    followup_time_point: str | None = None,
    item_prefix: str | None = None,
    merge: Sequence[pd.DataFrame] = (),
    progress: bool = False,
    cfa_estimator: str = "auto",
    structural_rule: str = "cosmin2018",
) -> Report:
    """Compute the COSMIN measurement-property report of ``instrument`` on ``data``.

    ``instrument`` is a bundled instrument id (``instruments.load``), a path to a definition
    file (``*.yaml``) or a loaded :class:`instruments.Instrument`.
    ``data`` has one row per respondent and the instrument's item ids as columns (other
    columns are kept for hypotheses and groups), or is a register export
    (``flask --app wsgi export``): item columns ``<instrument>_<item>``, one row per
    response with a ``time_point`` column; see :mod:`scoring.psychometrics.tables` for how
    such tables are read (``time_point``, ``item_prefix``).
    ``retest``: the same respondents answering again; rows are matched on ``id_column``
    (default: an ``id``, ``respondent`` or ``pseudonym`` column present in both). With
    ``retest_time_point`` the retest rows are those of that time point, taken from
    ``retest`` or, when it is not given, from ``data``. ``groups``: a column of ``data`` for
    DIF. ``followup`` / ``followup_time_point`` (the same way as the retest): a later
    measurement of the same respondents for responsiveness (mean change, effect size,
    standardized response mean; not rated, see ``METHODS``). ``merge``: other tables (e.g.
    the export files of other instruments) whose columns are added to ``data`` for
    hypotheses, matched on the id column at the analysed time point. ``hypotheses``: a
    YAML/JSON
    file or list of dicts for
    :func:`scoring.psychometrics.hypotheses`, evaluated on the scale scores plus every
    other column of ``data``. Scales come from the instrument file; an instrument without
    scales (EQ-5D, GS-PEQ) is reported on the numeric scores of its scoring algorithm.
    ``cfa_estimator``: ``"auto"`` (WLSMV when every CFA item has at most 7 categories,
    else ML), ``"ML"`` or ``"WLSMV"``. ``structural_rule``: ``"cosmin2018"`` (CFI or TLI >
    0.95, or RMSEA < 0.06, or SRMR < 0.08) or ``"strict"`` (CFI > 0.95 and RMSEA < 0.06).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if cfa_estimator not in ("auto", "ML", "WLSMV"):
        raise ValueError(f"cfa_estimator must be auto, ML or WLSMV, got {cfa_estimator!r}")
    if structural_rule not in STRUCTURAL_RULES:
        raise ValueError(f"structural_rule must be cosmin2018 or strict, got {structural_rule!r}")
    inst = _instrument(instrument)
    instrument = inst.id
    units = _units(inst)
    if not units:
        raise ValueError(
            f"instrument {instrument!r} defines no scales and has no scoring algorithm"
        )
    needed = _needed_items(inst, units)
    prepared = prepare_table(
        data,
        instrument,
        needed,
        version=inst.version,
        time_point=time_point,
        item_prefix=item_prefix,
        id_column=id_column,
    )
    source = data
    data = prepared.frame
    if merge:
        data, merge_notes = merge_tables(
            data, list(merge), time_point=prepared.time_point, id_column=id_column
        )
        prepared.notes.extend(merge_notes)
    if len(data) == 0:
        raise ValueError("no rows to analyse")
    if groups is not None and groups not in data.columns:
        raise ValueError(f"group column {groups!r} is not in the data")
    retest, retest_prepared = _second_table(
        "retest",
        retest,
        retest_time_point,
        source,
        prepared,
        instrument,
        inst,
        needed,
        item_prefix,
        id_column,
    )
    followup, followup_prepared = _second_table(
        "follow-up",
        followup,
        followup_time_point,
        source,
        prepared,
        instrument,
        inst,
        needed,
        item_prefix,
        id_column,
    )

    scales = [u for u in units if u.kind == "scale"]
    multi = [s for s in scales if len(s.items) >= 3] if groups else []
    n_steps = 4 + len(units) + (retest is not None) + (followup is not None) + bool(hypotheses)
    n_steps += sum(c in data.columns for c in INVARIANCE_COLUMNS)
    n_steps += sum(len(s.items) for s in multi)
    from tqdm import tqdm

    bar = tqdm(total=n_steps, desc="report", file=sys.stderr, disable=not progress, leave=False)

    def tick(label: str | None = None) -> None:
        if label:
            bar.set_postfix_str(label, refresh=False)
        bar.update(1)

    items_all, invalid = _clean_items(data, inst, needed)
    ranges = {i: _item_range(inst, i) for i in inst.item_ids if inst.item(i).type != "display"}
    tick("keys")
    keyed_all = items_all.copy()
    scale_reversed: dict[str, list[str]] = {}
    for s in scales:
        rev = _reversed_items(items_all[list(s.items)])
        scale_reversed[s.id] = rev
        keyed_all[list(s.items)] = _keyed(items_all[list(s.items)], rev, ranges)
    tick("scores")
    score_frame, sources, scoring_note = _scale_scores(
        instrument, data, keyed_all, units, value_set
    )

    report: dict[str, Any] = {
        "instrument": {
            "id": inst.id,
            "version": inst.version,
            "title": _label(inst.title),
            "content_hash": inst.content_hash,
            "units": "scales" if scales else "scores",
        },
        "generated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "n": int(len(data)),
        "input": prepared.to_dict(),
        "invalid_cells": invalid,
        "scoring": scoring_note,
        "criteria": CRITERIA | {"structural_validity": STRUCTURAL_RULES[structural_rule]},
        "structural_validity_rule": structural_rule,
        "methods": METHODS,
        "software": _software(),
        "scales": [],
    }
    plots: dict[str, str] = {}

    retest_scores = None
    if retest is not None:
        tick("retest")
        report["retest"], retest_scores = _matched_scores(
            "retest",
            data,
            retest,
            retest_prepared,
            id_column,
            inst,
            needed,
            scales,
            scale_reversed,
            ranges,
            units,
            value_set,
        )
    followup_scores = None
    if followup is not None:
        tick("follow-up")
        report["followup"], followup_scores = _matched_scores(
            "follow-up",
            data,
            followup,
            followup_prepared,
            id_column,
            inst,
            needed,
            scales,
            scale_reversed,
            ranges,
            units,
            value_set,
        )

    for s in units:
        tick(f"scale {s.id}")
        items = list(s.items)
        keyed = keyed_all[items]
        entry: dict[str, Any] = {
            "id": s.id,
            "label": s.label,
            "kind": s.kind,
            "direction": s.direction,
            "items": items,
            "reversed_items": scale_reversed.get(s.id, []),
            "score_source": sources[s.id],
        }
        score = score_frame[s.id]
        if sources[s.id] == "scoring.score_table":
            try:
                lo, hi = _score_extremes(
                    instrument, s.id, inst, items or needed, scale_reversed.get(s.id, []), ranges
                )
            except Exception:
                lo, hi = float("nan"), float("nan")
        else:
            lo = sum(ranges[i][0] for i in items)
            hi = sum(ranges[i][1] for i in items)
        if math.isnan(lo) or math.isnan(hi) or not hi > lo:
            lo, hi = float(np.nanmin(score)), float(np.nanmax(score))
            entry["score_range_note"] = "possible range unknown: observed range used"
        valid = score.dropna()
        entry["score"] = {
            "n": int(valid.size),
            "missing_pct": 100.0 * (1 - valid.size / max(len(score), 1)),
            "mean": float(valid.mean()) if valid.size else None,
            "sd": float(valid.std()) if valid.size > 1 else None,
            "median": float(valid.median()) if valid.size else None,
        }
        entry["floor_ceiling"] = _floor_ceiling(score, lo, hi)
        no_scale = {"rating": "?", "note": "no multi-item scale"}
        if s.kind == "score":
            entry["internal_consistency"] = dict(no_scale)
        else:
            entry["internal_consistency"] = _internal_consistency(
                keyed, {i: ranges[i] for i in items}
            )
        if retest_scores is not None:
            entry["test_retest"] = _test_retest(score, pd.Series(retest_scores[s.id]))
        else:
            entry["test_retest"] = {"rating": "?", "note": "no retest data"}
        if followup_scores is not None:
            icc_value = (
                (entry["test_retest"].get("icc") or {}).get("value")
                if isinstance(entry["test_retest"].get("icc"), dict)
                else None
            )
            entry["responsiveness"] = _responsiveness(score, followup_scores[s.id], icc_value)
        if groups is not None and len(items) >= 3:
            entry["dif"] = _dif(keyed, data[groups], lambda: tick())
        elif groups is not None:
            entry["dif"] = (
                dict(no_scale)
                if s.kind == "score"
                else {"rating": "?", "note": "fewer than 3 items"}
            )
        else:
            entry["dif"] = {"rating": "?", "note": "no group column"}
        plots[f"hist_{s.id}"] = svg_histogram(valid.to_numpy(float), lo, hi, s.id)
        report["scales"].append(entry)

    tick("CFA")
    model = {s.id: list(s.items) for s in scales if len(s.items) >= 2}
    structural = _structural_validity(model, keyed_all, cfa_estimator, structural_rule)
    report["structural_validity"] = structural
    judged = structural.get("judged", {})
    for entry in report["scales"]:
        if entry["id"] in model:
            entry["structural_validity"] = {
                "rating": structural["rating"],
                "see": "instrument CFA",
                "cfi": judged.get("cfi", structural.get("cfi")),
                "rmsea": judged.get("rmsea", structural.get("rmsea")),
            }
        elif entry["kind"] == "score":
            entry["structural_validity"] = {"rating": "?", "note": "no multi-item scale"}
        else:
            entry["structural_validity"] = {"rating": "?", "note": "single-item scale"}
    report["invariance"] = {}
    for column in INVARIANCE_COLUMNS:
        if column in data.columns and data[column].dropna().nunique() >= 2 and model:
            tick(f"invariance {column}")
            report["invariance"][column] = _invariance(
                model,
                keyed_all,
                data[column],
                column,
                estimator="WLSMV" if structural.get("estimator") == "WLSMV" else "ML",
                requested=cfa_estimator,
            )
    tick("EFA")
    scale_items = sorted({i for s in scales for i in s.items})
    if scale_items:
        report["dimensionality"] = _efa(keyed_all[scale_items], len(model))
    else:
        report["dimensionality"] = {"note": "no multi-item scale in the definition"}
    eig = report["dimensionality"].get("eigenvalues")
    if eig:
        plots["scree"] = svg_scree(eig)

    if hypotheses:
        tick("hypotheses")
        from scoring.psychometrics.validity import hypotheses as test_hypotheses

        frame = pd.concat(
            [data.drop(columns=[c for c in score_frame.columns if c in data.columns]), score_frame],
            axis=1,
        )
        report["hypotheses"] = test_hypotheses(frame, hypotheses).to_dict()
    else:
        report["hypotheses"] = {"rating": "?", "note": "no hypotheses given"}
    if groups is not None:
        counts = data[groups].dropna().astype(str).value_counts()
        report["groups"] = {
            "column": groups,
            "levels": [str(v) for v in pd.unique(data[groups].dropna())],
            "counts": {str(k): int(v) for k, v in counts.items()},
        }
    bar.close()
    return Report(report, plots)


# --------------------------------------------------------------------------- SVG plots


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def svg_histogram(values: np.ndarray, lo: float, hi: float, title: str) -> str:
    """Histogram of ``values`` over [lo, hi] as an inline SVG string."""
    w, h, pad = 320, 160, 28
    values = values[~np.isnan(values)]
    if values.size == 0 or not (hi > lo):
        return (
            f'<svg width="{w}" height="40"><text x="4" '
            f'y="20" font-size="12">{html.escape(title)}: no scores</text></svg>'
        )
    integer = bool(np.all(values == np.round(values))) and float(lo).is_integer()
    if integer and hi - lo <= 40:  # one bar per possible integer score
        edges = np.arange(lo - 0.5, hi + 1.0, 1.0)
        counts, edges = np.histogram(values, bins=edges)
    else:
        counts, edges = np.histogram(values, bins=20, range=(lo, hi))
    n_bins = counts.size
    top = counts.max() or 1
    bw = (w - 2 * pad) / n_bins
    bars = []
    for k, c in enumerate(counts):
        bh = (h - 2 * pad) * c / top
        x, y = pad + k * bw, h - pad - bh
        bars.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(max(bw - 1, 0.5))}" '
            f'height="{_fmt(bh)}" fill="#4a7ab0"><title>{edges[k]:.4g}–{edges[k + 1]:.4g}: '
            f"{int(c)}</title></rect>"
        )
    return (
        f'<svg width="{w}" height="{h}" role="img" '
        f'aria-label="Distribution of {html.escape(title)}">'
        f'<text x="{pad}" y="16" font-size="12">{html.escape(title)} (n = {values.size})</text>'
        + "".join(bars)
        + f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#333"/>'
        f'<text x="{pad}" y="{h - 10}" font-size="10">{lo:.4g}</text>'
        f'<text x="{w - pad}" y="{h - 10}" font-size="10" text-anchor="end">{hi:.4g}</text>'
        "</svg>"
    )


def svg_scree(eigenvalues: Sequence[float]) -> str:
    """Scree plot (eigenvalues of the item correlation matrix) as an inline SVG string."""
    w, h, pad, left = 460, 240, 34, 46
    ev = list(eigenvalues)[:40]
    top = max(max(ev), 1.0) * 1.05
    k = len(ev)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (w - left - pad) * (i / max(k - 1, 1))
        return x, h - pad - (h - 2 * pad) * v / top

    pts = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in (xy(i, v) for i, v in enumerate(ev)))
    dots = "".join(
        f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.5" fill="#4a7ab0"><title>{i + 1}: '
        f"{v:.3f}</title></circle>"
        for i, v in enumerate(ev)
        for x, y in [xy(i, v)]
    )
    step = max(1, math.ceil(top / 5))
    ticks = "".join(
        f'<text x="{left - 4}" y="{_fmt(xy(0, t)[1] + 3)}" font-size="10" '
        f'text-anchor="end">{t}</text>'
        for t in range(0, int(top) + 1, step)
    )
    xticks = "".join(
        f'<text x="{_fmt(xy(i - 1, 0)[0])}" y="{h - pad + 12}" font-size="10" '
        f'text-anchor="middle">{i}</text>'
        for i in sorted({1, *range(5, k + 1, 5), k})
    )
    _, y1 = xy(0, 1.0)
    return (
        f'<svg width="{w}" height="{h}" role="img" '
        'aria-label="Scree plot">'
        f'<text x="{left}" y="16" font-size="12">Scree plot: eigenvalues of the item '
        "correlations (dashed: 1)</text>"
        f'<line x1="{left}" y1="{_fmt(y1)}" x2="{w - pad}" y2="{_fmt(y1)}" stroke="#b55" '
        'stroke-dasharray="4 3"/>'
        f'<polyline points="{pts}" fill="none" stroke="#4a7ab0"/>{dots}'
        f'<line x1="{left}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#333"/>'
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{h - pad}" stroke="#333"/>'
        f"{ticks}{xticks}"
        f'<text x="{_fmt((left + w - pad) / 2)}" y="{h - 4}" font-size="10" '
        'text-anchor="middle">component</text>'
        f'<text x="12" y="{_fmt(h / 2)}" font-size="10" text-anchor="middle" '
        f'transform="rotate(-90 12 {_fmt(h / 2)})">eigenvalue</text>'
        "</svg>"
    )


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:1px solid #ccc}h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left;vertical-align:top}
thead th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
.r{display:inline-block;min-width:1.4em;text-align:center;font-weight:bold;border-radius:3px}
.r-plus{background:#cfe8cf;color:#175017}.r-minus{background:#f3cccc;color:#7a1515}
.r-q{background:#eee;color:#555}.note{color:#555;font-size:.9rem}
.plots,.tables{display:flex;flex-wrap:wrap;gap:0 1.2rem;align-items:flex-start}
.flag{font-weight:bold;color:#7a1515}caption{text-align:left;font-weight:bold;
padding:.2rem 0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:bold}dd{margin:0}.nw{white-space:nowrap}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table{break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _badge(rating: str | None) -> str:
    cls = {"+": "r-plus", "-": "r-minus"}.get(rating or "?", "r-q")
    text = {"-": "−"}.get(rating or "?", rating or "?")
    words = {"+": "sufficient", "-": "insufficient"}.get(rating or "?", "indeterminate")
    return f'<span class="r {cls}" title="{words}">{_e(text)}</span>'


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isnan(x):
            return "–"
        return f"{x:.{digits}f}".replace("-", "−")
    return _e(x)


def _near(x: Any, bounds: Sequence[float]) -> str:
    """3 decimals, or more when 3 would print a rating threshold (0.9504 is not 0.950)."""
    digits = 3
    while (
        isinstance(x, float)
        and x not in bounds
        and digits < 6
        and any(round(x, digits) == b for b in bounds)
    ):
        digits += 1
    return _num(x, digits)


def _g(x: Any) -> str:
    """A bound or range end: up to 4 significant digits (-0.453, 100)."""
    return "–" if x is None else f"{x:.4g}".replace("-", "−")


def _p(x: Any) -> str:
    if not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x):
        return "–"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _p_eq(x: Any) -> str:
    text = _p(x)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _est(d: dict[str, Any] | None, digits: int = 3) -> str:
    if not d or not isinstance(d, dict):
        return _num(d, digits)
    text = _num(d.get("value"), digits)
    if d.get("ci_low") is not None and d.get("ci_high") is not None:
        text += f" ({_num(d['ci_low'], digits)} to {_num(d['ci_high'], digits)})"
    return text


def _summary_cell(key: str, prop: dict[str, Any]) -> str:
    rating = prop.get("rating")
    detail = ""
    if key == "floor_ceiling" and prop.get("floor_pct") is not None:
        detail = f"{prop['floor_pct']:.1f} % / {prop['ceiling_pct']:.1f} %"
    elif key == "internal_consistency" and prop.get("alpha"):
        detail = f"α = {_near(prop['alpha'].get('value'), ALPHA_RANGE)}"
    elif key == "structural_validity" and prop.get("cfi") is not None:
        judged = prop.get("judged") or prop
        detail = (
            f"CFI {_near(judged['cfi'], (CFI_MIN,))}, RMSEA {_near(judged['rmsea'], (RMSEA_MAX,))}"
        )
        if prop.get("judged", {}).get("scaled"):
            detail += " (scaled)"
    elif key == "test_retest" and prop.get("icc"):
        detail = f"ICC = {_near(prop['icc'].get('value'), (ICC_MIN,))}"
    elif key == "dif" and "flagged" in prop:
        detail = ", ".join(prop["flagged"]) or "no item flagged"
    elif prop.get("note"):
        detail = prop["note"]
    return f'<td class="nw">{_badge(rating)} <span class="note">{_e(detail)}</span></td>'


Column = tuple[str, str, Callable[[Any], str]]


def _fmt_num(digits: int) -> Callable[[Any], str]:
    return lambda v: _num(v, digits)


def _table(rows: list[dict[str, Any]], columns: Sequence[Column], caption: str = "") -> str:
    """``columns``: (key, header, formatter) triples; numbers are right-aligned."""
    head = "".join(f"<th>{_e(h)}</th>" for _, h, _ in columns)
    body = []
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            v = row.get(key)
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cells.append(f"<td{' class=num' if num else ''}>{fmt(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_TEXT = _e
_PCT = _fmt_num(1)
_TWO = _fmt_num(2)
_THREE = _fmt_num(3)

ITEM_COLUMNS: tuple[Column, ...] = (
    ("item", "Item", _TEXT),
    ("n", "n", _TEXT),
    ("missing_pct", "Missing %", _PCT),
    ("mean", "Mean", _TWO),
    ("sd", "SD", _TWO),
    ("floor_pct", "Floor %", _PCT),
    ("ceiling_pct", "Ceiling %", _PCT),
    ("item_total_r", "Corrected item–total r", _THREE),
    ("alpha_if_deleted", "α if item deleted", _THREE),
)
DIF_COLUMNS: tuple[Column, ...] = (
    ("item", "Item", _TEXT),
    ("n", "n", _TEXT),
    ("chi2_uniform", "χ² uniform (df)", _TWO),
    ("p_uniform", "p", _p),
    ("r2_mcfadden_uniform", "ΔR² uniform", _THREE),
    ("chi2_nonuniform", "χ² non-uniform", _TWO),
    ("p_nonuniform", "p", _p),
    ("r2_mcfadden_nonuniform", "ΔR² non-uniform", _THREE),
    ("flagged", "DIF", lambda v: '<span class="flag">yes</span>' if v else "no"),
)


def _header(d: dict[str, Any]) -> list[str]:
    inst = d["instrument"]
    title = inst["title"] or inst["id"]
    inp = d.get("input") or {}
    tp = f", time point <b>{_e(inp['time_point'])}</b>" if inp.get("time_point") else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Measurement properties: {_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Measurement properties of {_e(title)}</h1>",
        f'<p class="note">Instrument <code>{_e(inst["id"])}</code> version '
        f"{_e(inst['version'])} (definition hash <code>{_e(inst.get('content_hash', ''))[:19]}"
        f"</code>); {d['n']} respondents analysed{tp}; {d['invalid_cells']} impossible "
        f"answers treated as missing; generated {_e(d['generated'])}.</p>",
    ]
    notes = list(inp.get("notes", []))
    for key in ("retest", "followup"):
        notes += ((d.get(key) or {}).get("input") or {}).get("notes", [])
    if notes:
        parts.append("<ul class='note'>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return parts


def _summary(d: dict[str, Any]) -> list[str]:
    parts = ["<h2>Summary (COSMIN ratings)</h2><table><thead><tr><th>Scale</th>"]
    parts += [f"<th>{_e(label)}</th>" for _, label in PROPERTIES]
    parts.append("</tr></thead><tbody>")
    for s in d["scales"]:
        cells = "".join(_summary_cell(k, s.get(k, {})) for k, _ in PROPERTIES)
        parts.append(
            f"<tr><th>{_e(s['id'])}<br><span class='note'>{_e(s['label'])}</span></th>{cells}</tr>"
        )
    parts.append("</tbody></table>")
    hyp = d.get("hypotheses", {})
    share = hyp.get("share_confirmed")
    hyp_text = (
        f"{hyp.get('n_confirmed')} of {hyp.get('n_hypotheses')} confirmed ({100 * share:.0f} %)"
        if share is not None
        else hyp.get("note", "")
    )
    parts.append(
        f"<p>Hypotheses testing (construct validity): {_badge(hyp.get('rating'))} "
        f"{_e(hyp_text)}</p>"
    )
    parts.append(
        "<p class='note'>+ sufficient, − insufficient, ? indeterminate, against the "
        "criteria below (COSMIN; Prinsen et al. 2018, Terwee et al. 2007).</p>"
    )
    parts.append("<h3>Criteria</h3><dl>")
    parts += [
        f"<dt>{_e(PROPERTY_LABELS.get(k, k))}</dt><dd>{_e(v)}</dd>"
        for k, v in d["criteria"].items()
    ]
    parts.append("</dl>")
    return parts


def _methods(d: dict[str, Any]) -> list[str]:
    parts = ["<h2>Methods</h2><dl>"]
    labels = {"scores": "Scores", **PROPERTY_LABELS}
    parts += [
        f"<dt>{_e(labels.get(k, k))}</dt><dd>{_e(v)}</dd>" for k, v in d.get("methods", {}).items()
    ]
    parts.append("</dl>")
    parts.append(f"<p class='note'>Scoring: {_e(d.get('scoring', ''))}.</p>")
    sw = d.get("software") or {}
    if sw:
        parts.append(
            "<p class='note'>Software: "
            + ", ".join(f"{_e(k)} {_e(v)}" for k, v in sw.items())
            + ".</p>"
        )
    return parts


def _distributions(d: dict[str, Any], plots: dict[str, str]) -> list[str]:
    parts = ["<h2>Score distributions, floor and ceiling</h2><div class='plots'>"]
    parts += [plots[f"hist_{s['id']}"] for s in d["scales"] if f"hist_{s['id']}" in plots]
    parts.append("</div>")
    rows = []
    for s in d["scales"]:
        fc = s["floor_ceiling"]
        rows.append(
            {
                "scale": s["id"],
                **s["score"],
                "range": (
                    f"{_g(fc.get('min_possible'))} to {_g(fc.get('max_possible'))}"
                    if fc.get("min_possible") is not None
                    else "–"
                ),
                "floor_pct": fc.get("floor_pct"),
                "ceiling_pct": fc.get("ceiling_pct"),
                "reversed": ", ".join(s["reversed_items"]) or "–",
            }
        )
    parts.append(
        _table(
            rows,
            [
                ("scale", "Scale", _TEXT),
                ("n", "n", _TEXT),
                ("missing_pct", "Missing %", _PCT),
                ("mean", "Mean", _TWO),
                ("sd", "SD", _TWO),
                ("median", "Median", _TWO),
                ("range", "Possible range", _TEXT),
                ("floor_pct", "Floor %", _PCT),
                ("ceiling_pct", "Ceiling %", _PCT),
                ("reversed", "Reversed items", _TEXT),
            ],
        )
    )
    return parts


def _consistency(d: dict[str, Any]) -> list[str]:
    parts = ["<h2>Internal consistency and item analysis</h2>"]
    for s in d["scales"]:
        ic = s["internal_consistency"]
        if s.get("kind") == "score":
            continue
        parts.append(f"<h3>{_e(s['id'])} {_badge(ic.get('rating'))}</h3>")
        if ic.get("alpha"):
            a = ic["alpha"]
            parts.append(
                f"<p>Cronbach's α = {_est(a)} (95 % CI, Feldt), n = {a.get('n')} "
                f"complete responses, {len(s['items'])} items.</p>"
            )
        for key in ("note", "error", "item_analysis_error"):
            if ic.get(key):
                parts.append(f"<p class='note'>{_e(ic[key])}</p>")
        if ic.get("items"):
            parts.append(_table(ic["items"], ITEM_COLUMNS))
    if len(parts) == 1:
        parts.append("<p class='note'>No multi-item scale in the instrument definition.</p>")
    return parts


def _structural(d: dict[str, Any], plots: dict[str, str]) -> list[str]:
    sv = d["structural_validity"]
    parts = [f"<h2>Structural validity {_badge(sv.get('rating'))}</h2>"]
    if "cfi" in sv:
        how = (
            "WLSMV: DWLS on polychoric correlations"
            if sv.get("estimator") == "WLSMV"
            else "maximum likelihood"
        )
        parts.append(
            f"<p>CFA ({how}; {_e(sv.get('identification', ''))}), n = {sv['n']}: "
            f"χ² = {_num(sv['chi2'], 3)}, df = {sv['df']}, {_p_eq(sv['p'])}; CFI = "
            f"{_num(sv['cfi'])}, TLI = {_num(sv['tli'])}, RMSEA = {_num(sv['rmsea'])} "
            f"(90 % CI {_num(sv['rmsea_ci_low'])} to {_num(sv['rmsea_ci_high'])}), SRMR = "
            f"{_num(sv['srmr'])}.</p>"
        )
        if sv.get("chi2_scaled") is not None:
            parts.append(
                f"<p>Scaled-shifted (robust) χ² = {_num(sv['chi2_scaled'], 3)}, df = "
                f"{sv['df']}, {_p_eq(sv['p_scaled'])}; CFI = {_num(sv['cfi_scaled'])}, TLI = "
                f"{_num(sv['tli_scaled'])}, RMSEA = {_num(sv['rmsea_scaled'])} (90 % CI "
                f"{_num(sv['rmsea_ci_low_scaled'])} to {_num(sv['rmsea_ci_high_scaled'])}).</p>"
            )
        if sv.get("estimator_choice"):
            rule = sv.get("rule", "cosmin2018")
            rule_text = (
                "COSMIN 2018: CFI or TLI > 0.95, or RMSEA < 0.06, or SRMR < 0.08"
                if rule == "cosmin2018"
                else "strict: CFI > 0.95 and RMSEA < 0.06"
            )
            parts.append(
                f"<p class='note'>Estimator: {_e(sv['estimator_choice'])}. Rating rule: "
                f"{_e(rule_text)}.</p>"
            )
        by_factor: dict[str, list[dict[str, Any]]] = {}
        for row in sv["loadings"]:
            by_factor.setdefault(row["factor"], []).append(row)
        parts.append("<div class='tables'>")
        for factor, rows in by_factor.items():
            parts.append(
                _table(
                    rows,
                    [
                        ("item", "Item", _TEXT),
                        ("std_all", "Std. loading", _THREE),
                        ("estimate", "Loading", _THREE),
                    ],
                    caption=factor,
                )
            )
        parts.append("</div>")
        phi = sv.get("factor_correlations") or {}
        names = list(phi)
        if len(names) > 1:
            rows = [{"factor": r, **{c: phi[c].get(r) for c in names}} for r in names]
            parts.append(
                _table(
                    rows,
                    [("factor", "", _TEXT)] + [(c, c, _THREE) for c in names],
                    caption="Factor correlations",
                )
            )
        for w in sv.get("warnings", []):
            parts.append(f"<p class='note'>{_e(w)}</p>")
    for key in ("note", "error"):
        if sv.get(key):
            parts.append(f"<p class='note'>{_e(sv[key])}</p>")
    dim = d.get("dimensionality", {})
    efa = dim.get("efa") or {}
    if "scree" in plots:
        parts.append("<h3>Dimensionality</h3>")
        parts.append(plots["scree"])
        eig = dim.get("eigenvalues") or []
        above = sum(v > 1 for v in eig)
        text = (
            f"Eigenvalues of the item correlations (n = {dim.get('n')} complete "
            f"responses): {', '.join(_num(v, 3) for v in eig[:5])}, …; {above} above 1."
        )
        if efa:
            b = efa.get("bartlett") or {}
            text += (
                f" KMO = {_num(efa.get('kmo'))}; Bartlett's test χ² = "
                f"{_num(b.get('chi2'), 1)}, df = {_num(b.get('df'), 0)}, "
                f"{_p_eq(b.get('p'))}."
            )
        parts.append(f"<p>{text}</p>")
    if dim.get("efa_error"):
        parts.append(f"<p class='note'>EFA: {_e(dim['efa_error'])}</p>")
    return parts


def _retest(d: dict[str, Any]) -> list[str]:
    parts = ["<h2>Test–retest reliability and measurement error</h2>"]
    if "retest" not in d:
        parts.append("<p class='note'>No retest data given.</p>")
        return parts
    rt = d["retest"]
    tp = (rt.get("input") or {}).get("time_point")
    parts.append(
        f"<p>Matched on <code>{_e(rt['id_column'])}</code>: {rt['n_matched']} "
        f"of {d['n']} respondents ({rt['n_retest_rows']} retest rows"
        f"{', time point ' + _e(tp) if tp else ''}).</p>"
    )
    rows = []
    for s in d["scales"]:
        t = s["test_retest"]
        rows.append(
            {
                "scale": s["id"],
                "rating": _badge(t.get("rating")),
                "n": t.get("n"),
                "icc": _est(t.get("icc")),
                "sem": _num((t.get("sem") or {}).get("value"), 2),
                "sdc": _num((t.get("sdc") or {}).get("value"), 2),
                "note": t.get("note") or t.get("error") or "",
            }
        )
    parts.append(
        _table(
            rows,
            [
                ("scale", "Scale", _TEXT),
                ("rating", "Rating", str),
                ("n", "n", _TEXT),
                ("icc", "ICC(A,1) (95 % CI)", str),
                ("sem", "SEM (agreement)", str),
                ("sdc", "SDC", str),
                ("note", "Note", _TEXT),
            ],
        )
    )
    return parts


def _responsiveness_section(d: dict[str, Any]) -> list[str]:
    if "followup" not in d:
        return []
    fu = d["followup"]
    tp = (fu.get("input") or {}).get("time_point")
    parts = [
        "<h2>Responsiveness (distribution-based, not rated)</h2>",
        f"<p>Follow-up{' at time point ' + _e(tp) if tp else ''}, matched on "
        f"<code>{_e(fu['id_column'])}</code>: {fu['n_matched']} of {d['n']} "
        "respondents.</p>",
    ]
    rows = []
    for s in d["scales"]:
        r = s.get("responsiveness") or {}
        rows.append(
            {
                "scale": s["id"],
                "dir": {"higher_better": "higher = better", "higher_worse": "higher = worse"}.get(
                    s.get("direction"), "–"
                ),
                "n": r.get("n"),
                "base": r.get("baseline_mean"),
                "follow": r.get("followup_mean"),
                "change": _est(r.get("mean_change"), 2),
                "es": _num((r.get("effect_size") or {}).get("value")),
                "srm": _num((r.get("srm") or {}).get("value")),
                "half_sd": r.get("mic_half_sd"),
                "sem": r.get("mic_sem"),
                "note": r.get("error") or ("" if r.get("mean_change") else r.get("note")),
            }
        )
    parts.append(
        _table(
            rows,
            [
                ("scale", "Scale", _TEXT),
                ("dir", "Direction", _TEXT),
                ("n", "n", _TEXT),
                ("base", "Baseline mean", _TWO),
                ("follow", "Follow-up mean", _TWO),
                ("change", "Mean change (95 % CI)", str),
                ("es", "Effect size", str),
                ("srm", "SRM", str),
                ("half_sd", "MIC 0.5 SD", _TWO),
                ("sem", "MIC 1 SEM", _TWO),
                ("note", "Note", _TEXT),
            ],
        )
    )
    return parts


def _hypotheses_section(d: dict[str, Any]) -> list[str]:
    hyp = d.get("hypotheses", {})
    parts = [f"<h2>Hypotheses testing {_badge(hyp.get('rating'))}</h2>"]
    if hyp.get("hypotheses"):
        rows = [
            {
                "id": h["id"],
                "hypothesis": h["description"],
                "expected": h["expected"],
                "observed": _est(h["estimate"]),
                "n": h["estimate"].get("n"),
                "confirmed": "yes" if h["confirmed"] else "no",
            }
            for h in hyp["hypotheses"]
        ]
        parts.append(
            _table(
                rows,
                [
                    ("id", "Id", _TEXT),
                    ("hypothesis", "Hypothesis", _TEXT),
                    ("expected", "Expected", _TEXT),
                    ("observed", "Observed (95 % CI)", str),
                    ("n", "n", _TEXT),
                    ("confirmed", "Confirmed", _TEXT),
                ],
            )
        )
        parts.append(
            f"<p>{hyp['n_confirmed']} of {hyp['n_hypotheses']} hypotheses "
            f"confirmed ({100 * hyp['share_confirmed']:.0f} %).</p>"
        )
    else:
        parts.append(f"<p class='note'>{_e(hyp.get('note', ''))}</p>")
    return parts


def _dif_section(d: dict[str, Any]) -> list[str]:
    parts = ["<h2>Differential item functioning</h2>"]
    if "groups" not in d:
        parts.append("<p class='note'>No group column given.</p>")
        return parts
    g = d["groups"]
    counts = g.get("counts") or {}
    levels = ", ".join(f"{_e(k)} (n = {v})" for k, v in counts.items()) or _e(
        ", ".join(g["levels"])
    )
    parts.append(f"<p>Groups from column <code>{_e(g['column'])}</code>: {levels}.</p>")
    criterion = next(
        (s["dif"].get("criterion") for s in d["scales"] if s["dif"].get("criterion")), None
    )
    if criterion:
        parts.append(f"<p class='note'>Flagged when {_e(criterion)}.</p>")
    for s in d["scales"]:
        dd = s["dif"]
        if s.get("kind") == "score":
            continue
        parts.append(f"<h3>{_e(s['id'])} {_badge(dd.get('rating'))}</h3>")
        if dd.get("items"):
            df = dd["items"][0].get("df_uniform")
            cols = list(DIF_COLUMNS)
            cols[2] = ("chi2_uniform", f"χ² uniform (df {df})", _TWO)
            cols[5] = ("chi2_nonuniform", f"χ² non-uniform (df {df})", _TWO)
            parts.append(_table(dd["items"], cols))
        elif dd.get("note") or dd.get("error"):
            parts.append(f"<p class='note'>{_e(dd.get('note') or dd.get('error'))}</p>")
    return parts


INVARIANCE_TABLE: tuple[Column, ...] = (
    ("level", "Model", _TEXT),
    ("chi2", "χ²", _TWO),
    ("df", "df", _TEXT),
    ("cfi", "CFI", _THREE),
    ("tli", "TLI", _THREE),
    ("rmsea", "RMSEA", _THREE),
    ("delta_chi2", "Δχ²", _TWO),
    ("delta_df", "Δdf", _TEXT),
    ("delta_p", "p (Δχ²)", _THREE),
    ("delta_cfi", "ΔCFI", _THREE),
    ("delta_rmsea", "ΔRMSEA", _THREE),
)

INVARIANCE_TABLE_WLSMV: tuple[Column, ...] = (
    ("level", "Model", _TEXT),
    ("chi2_scaled", "χ² (scaled)", _TWO),
    ("df", "df", _TEXT),
    ("cfi_scaled", "CFI (scaled)", _THREE),
    ("tli_scaled", "TLI (scaled)", _THREE),
    ("rmsea_scaled", "RMSEA (scaled)", _THREE),
    ("delta_chi2", "Δχ² (scaled)", _TWO),
    ("delta_df", "Δdf", _TEXT),
    ("delta_p", "p (Δχ²)", _THREE),
    ("delta_cfi", "ΔCFI", _THREE),
    ("delta_rmsea", "ΔRMSEA", _THREE),
)


def _invariance_section(d: dict[str, Any]) -> list[str]:
    inv = d.get("invariance") or {}
    if not inv:
        return []
    parts = ["<h2>Measurement invariance</h2>"]
    for column, res in inv.items():
        if res.get("error"):
            parts.append(f"<p class='note'>{_e(column)}: {_e(res['error'])}</p>")
            continue
        groups = ", ".join(f"{k} (n = {v})" for k, v in res["groups"].items())
        parts.append(f"<p>Across <b>{_e(column)}</b>: {_e(groups)}. {_e(res['method'])}.</p>")
        wlsmv = res.get("estimator") == "WLSMV"
        parts.append(_table(res["models"], INVARIANCE_TABLE_WLSMV if wlsmv else INVARIANCE_TABLE))
        verdict = "hold" if res.get("chen2007_all_steps") else "do not all hold"
        parts.append(
            f"<p class='note'>Chen's (2007) cut-offs (ΔCFI > −0.010 and ΔRMSEA < 0.015 at each "
            f"step) {verdict}.</p>"
        )
        for note in res.get("notes", []):
            parts.append(f"<p class='note'>{_e(note)}</p>")
    return parts


def _render_html(d: dict[str, Any], plots: dict[str, str]) -> str:
    parts = _header(d) + _summary(d) + _distributions(d, plots) + _consistency(d)
    parts += _structural(d, plots) + _invariance_section(d) + _retest(d)
    parts += _responsiveness_section(d)
    parts += _hypotheses_section(d) + _dif_section(d)
    parts += _methods(d)
    parts.append("</body></html>")
    return "\n".join(parts)
