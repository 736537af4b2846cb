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

FLOOR_CEILING_MAX = 15.0
ALPHA_RANGE = (0.70, 0.95)
CFI_MIN, RMSEA_MAX = 0.95, 0.06
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
    "structural_validity": (
        "+ when the CFA of all multi-item scales (correlated factors, ML) has CFI > 0.95 and "
        "RMSEA < 0.06, - otherwise, ? when it cannot be computed or is saturated (df = 0)"
    ),
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
ID_COLUMNS = ("id", "respondent")


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


def _score_extremes(instrument_id: str, scale_id: str, inst: Any, items: Sequence[str],
                    reversed_: Sequence[str], ranges: dict[str, tuple]) -> tuple[float, float]:
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
    instrument_id: str, table: pd.DataFrame, keyed: pd.DataFrame, scales: Sequence[Any],
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
    return {"n": n, "min_possible": lo, "max_possible": hi, "floor_pct": floor,
            "ceiling_pct": ceiling, "rating": rating}


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


def _structural_validity(model: dict[str, list[str]], keyed_all: pd.DataFrame) -> dict[str, Any]:
    from scoring.psychometrics.cfa import cfa

    if not model:
        return {"rating": "?", "note": "no multi-item scale"}
    if len(model) == 1 and len(next(iter(model.values()))) < 3:
        return {"rating": "?", "note": "a single two-item scale is not identified"}
    try:
        fit = cfa(keyed_all, model)
    except Exception as exc:
        return {"rating": "?", "error": _error_text(exc)}
    out = fit.to_dict()
    if fit.df == 0:
        out["rating"], out["note"] = "?", "saturated model (df = 0): fit cannot be judged"
    elif not fit.converged:
        out["rating"] = "?"
    else:
        out["rating"] = "+" if fit.cfi > CFI_MIN and fit.rmsea < RMSEA_MAX else "-"
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


def _match_retest(data: pd.DataFrame, retest: pd.DataFrame, id_column: str | None) -> tuple:
    if id_column is None:
        common = [c for c in ID_COLUMNS if c in data.columns and c in retest.columns]
        if not common:
            raise ValueError(
                "to match test and retest rows both files need an 'id' or 'respondent' column"
            )
        id_column = common[0]
    for name, frame in (("data", data), ("retest", retest)):
        if id_column not in frame.columns:
            raise ValueError(f"{name} has no column {id_column!r} to match test and retest rows")
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


def build_report(
    data: pd.DataFrame,
    instrument: Any,
    *,
    retest: pd.DataFrame | None = None,
    groups: str | None = None,
    hypotheses: Any = None,
    id_column: str | None = None,
    value_set: str | None = None,
    progress: bool = False,
) -> Report:
    """Compute the COSMIN measurement-property report of ``instrument`` on ``data``.

    ``instrument`` is a bundled instrument id (``instruments.load``), a path to a definition
    file (``*.yaml``) or a loaded :class:`instruments.Instrument`.
    ``data`` has one row per respondent and the instrument's item ids as columns (other
    columns are kept for hypotheses and groups). ``retest``: the same respondents answering
    again; rows are matched on ``id_column`` (default: an ``id`` or ``respondent`` column
    present in both). ``groups``: a column of ``data`` for DIF. ``hypotheses``: a YAML/JSON
    file or list of dicts for :func:`scoring.psychometrics.hypotheses`, evaluated on the
    scale scores plus every other column of ``data``.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    inst = _instrument(instrument)
    instrument = inst.id
    scales = list(inst.scales)
    if not scales:
        raise ValueError(f"instrument {instrument!r} defines no scales")
    needed = sorted({i for s in scales for i in s.items})
    missing_cols = [i for i in needed if i not in data.columns]
    if missing_cols:
        raise ValueError(f"data lacks item column(s) of {instrument}: {', '.join(missing_cols)}")
    if groups is not None and groups not in data.columns:
        raise ValueError(f"group column {groups!r} is not in the data")

    multi = [s for s in scales if len(s.items) >= 3] if groups else []
    n_steps = 4 + len(scales) + (1 if retest is not None else 0) + (1 if hypotheses else 0)
    n_steps += sum(len(s.items) for s in multi)
    from tqdm import tqdm

    bar = tqdm(total=n_steps, desc="report", file=sys.stderr, disable=not progress, leave=False)

    def tick(label: str | None = None) -> None:
        if label:
            bar.set_postfix_str(label, refresh=False)
        bar.update(1)

    items_all, invalid = _clean_items(data, inst, needed)
    ranges = {i: _item_range(inst, i) for i in inst.item_ids}
    tick("keys")
    keyed_all = items_all.copy()
    scale_reversed: dict[str, list[str]] = {}
    for s in scales:
        rev = _reversed_items(items_all[list(s.items)])
        scale_reversed[s.id] = rev
        keyed_all[list(s.items)] = _keyed(items_all[list(s.items)], rev, ranges)
    tick("scores")
    score_frame, sources, scoring_note = _scale_scores(
        instrument, data, keyed_all, scales, value_set
    )

    report: dict[str, Any] = {
        "instrument": {"id": inst.id, "version": inst.version, "title": _label(inst.title)},
        "generated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "n": int(len(data)),
        "invalid_cells": invalid,
        "scoring": scoring_note,
        "criteria": CRITERIA,
        "scales": [],
    }
    plots: dict[str, str] = {}

    retest_scores = None
    if retest is not None:
        tick("retest")
        id_col, test_ids, retest_ids = _match_retest(data, retest, id_column)
        missing_retest = [i for i in needed if i not in retest.columns]
        if missing_retest:
            raise ValueError(f"retest lacks item column(s): {', '.join(missing_retest)}")
        r_items, _ = _clean_items(retest, inst, needed)
        r_keyed = r_items.copy()
        for s in scales:
            r_keyed[list(s.items)] = _keyed(r_items[list(s.items)], scale_reversed[s.id], ranges)
        r_frame, _, _ = _scale_scores(instrument, retest, r_keyed, scales, value_set)
        lookup = pd.Series(np.arange(len(retest)), index=retest_ids.to_numpy())
        pos = lookup.reindex(test_ids.to_numpy()).to_numpy()
        matched = ~np.isnan(pos)
        report["retest"] = {"id_column": id_col, "n_matched": int(matched.sum()),
                            "n_retest_rows": int(len(retest))}
        retest_scores = {}
        for s in scales:
            aligned = np.full(len(data), np.nan)
            aligned[matched] = r_frame[s.id].to_numpy(float)[pos[matched].astype(int)]
            retest_scores[s.id] = aligned

    for s in scales:
        tick(f"scale {s.id}")
        items = list(s.items)
        keyed = keyed_all[items]
        entry: dict[str, Any] = {
            "id": s.id,
            "label": _label(s.label),
            "direction": s.direction,
            "items": items,
            "reversed_items": scale_reversed[s.id],
            "score_source": sources[s.id],
        }
        score = score_frame[s.id]
        if sources[s.id] == "scoring.score_table":
            try:
                lo, hi = _score_extremes(instrument, s.id, inst, items, scale_reversed[s.id],
                                         ranges)
            except Exception:
                lo, hi = float("nan"), float("nan")
        else:
            lo = sum(ranges[i][0] for i in items)
            hi = sum(ranges[i][1] for i in items)
        if math.isnan(lo) or math.isnan(hi):
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
        entry["internal_consistency"] = _internal_consistency(
            keyed, {i: ranges[i] for i in items}
        )
        if retest_scores is not None:
            entry["test_retest"] = _test_retest(score, pd.Series(retest_scores[s.id]))
        else:
            entry["test_retest"] = {"rating": "?", "note": "no retest data"}
        if groups is not None and len(items) >= 3:
            entry["dif"] = _dif(keyed, data[groups], lambda: tick())
        elif groups is not None:
            entry["dif"] = {"rating": "?", "note": "fewer than 3 items"}
        else:
            entry["dif"] = {"rating": "?", "note": "no group column"}
        plots[f"hist_{s.id}"] = svg_histogram(valid.to_numpy(float), lo, hi, s.id)
        report["scales"].append(entry)

    tick("CFA")
    model = {s.id: list(s.items) for s in scales if len(s.items) >= 2}
    structural = _structural_validity(model, keyed_all)
    report["structural_validity"] = structural
    for entry in report["scales"]:
        if entry["id"] in model:
            entry["structural_validity"] = {
                "rating": structural["rating"],
                "see": "instrument CFA",
                "cfi": structural.get("cfi"),
                "rmsea": structural.get("rmsea"),
            }
        else:
            entry["structural_validity"] = {"rating": "?", "note": "single-item scale"}
    tick("EFA")
    report["dimensionality"] = _efa(keyed_all[needed], len(model))
    eig = report["dimensionality"].get("eigenvalues")
    if eig:
        plots["scree"] = svg_scree(eig)

    if hypotheses:
        tick("hypotheses")
        from scoring.psychometrics.validity import hypotheses as test_hypotheses

        frame = pd.concat(
            [data.drop(columns=[c for c in score_frame.columns if c in data.columns]),
             score_frame],
            axis=1,
        )
        report["hypotheses"] = test_hypotheses(frame, hypotheses).to_dict()
    else:
        report["hypotheses"] = {"rating": "?", "note": "no hypotheses given"}
    if groups is not None:
        report["groups"] = {"column": groups,
                            "levels": [str(v) for v in pd.unique(data[groups].dropna())]}
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
        return f'<svg width="{w}" height="40"><text x="4" ' \
               f'y="20" font-size="12">{html.escape(title)}: no scores</text></svg>'
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
    w, h, pad = 420, 220, 34
    ev = list(eigenvalues)[:40]
    top = max(max(ev), 1.0) * 1.05
    k = len(ev)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (w - 2 * pad) * (i / max(k - 1, 1))
        return x, h - pad - (h - 2 * pad) * v / top

    pts = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in (xy(i, v) for i, v in enumerate(ev)))
    dots = "".join(
        f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.5" fill="#4a7ab0"><title>{i + 1}: '
        f"{v:.3f}</title></circle>"
        for i, v in enumerate(ev)
        for x, y in [xy(i, v)]
    )
    _, y1 = xy(0, 1.0)
    return (
        f'<svg width="{w}" height="{h}" role="img" '
        'aria-label="Scree plot">'
        f'<text x="{pad}" y="16" font-size="12">Scree plot: eigenvalues of the item '
        "correlations</text>"
        f'<line x1="{pad}" y1="{_fmt(y1)}" x2="{w - pad}" y2="{_fmt(y1)}" stroke="#b55" '
        'stroke-dasharray="4 3"/>'
        f'<polyline points="{pts}" fill="none" stroke="#4a7ab0"/>{dots}'
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#333"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#333"/>'
        f'<text x="{pad - 4}" y="{_fmt(y1 + 4)}" font-size="10" text-anchor="end">1</text>'
        f'<text x="{w - pad}" y="{h - 10}" font-size="10" text-anchor="end">factor {k}</text>'
        "</svg>"
    )


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f2f2f2}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.r{display:inline-block;min-width:1.4em;text-align:center;font-weight:bold;border-radius:3px}
.r-plus{background:#cfe8cf;color:#175017}.r-minus{background:#f3cccc;color:#7a1515}
.r-q{background:#eee;color:#555}.note{color:#555;font-size:.9rem}
.plots{display:flex;flex-wrap:wrap;gap:1rem}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _badge(rating: str | None) -> str:
    cls = {"+": "r-plus", "-": "r-minus"}.get(rating or "?", "r-q")
    text = {"-": "−"}.get(rating or "?", rating or "?")
    return f'<span class="r {cls}" title="rating">{_e(text)}</span>'


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return _e(x)


def _est(d: dict[str, Any] | None, digits: int = 2) -> str:
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
        detail = f"α = {_num(prop['alpha'].get('value'), 2)}"
    elif key == "structural_validity" and prop.get("cfi") is not None:
        detail = f"CFI {prop['cfi']:.3f}, RMSEA {prop['rmsea']:.3f}"
    elif key == "test_retest" and prop.get("icc"):
        detail = f"ICC = {_num(prop['icc'].get('value'), 2)}"
    elif key == "dif" and "flagged" in prop:
        detail = ", ".join(prop["flagged"]) or "no item flagged"
    elif prop.get("note"):
        detail = prop["note"]
    return f'<td>{_badge(rating)} <span class="note">{_e(detail)}</span></td>'


def _table(rows: list[dict[str, Any]], columns: Sequence[str], digits: int = 3) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{_num(v, digits)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _render_html(d: dict[str, Any], plots: dict[str, str]) -> str:
    inst = d["instrument"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Measurement properties: {_e(inst['title'] or inst['id'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Measurement properties of {_e(inst['title'] or inst['id'])}</h1>",
        f'<p class="note">Instrument <code>{_e(inst["id"])}</code> version '
        f"{_e(inst['version'])}; {d['n']} responses; {d['invalid_cells']} impossible answers "
        f"treated as missing; generated {_e(d['generated'])}.</p>",
        "<h2>Summary (COSMIN ratings)</h2><table><thead><tr><th>Scale</th>",
    ]
    parts += [f"<th>{_e(label)}</th>" for _, label in PROPERTIES]
    parts.append("</tr></thead><tbody>")
    for s in d["scales"]:
        cells = "".join(_summary_cell(k, s.get(k, {})) for k, _ in PROPERTIES)
        parts.append(f"<tr><th>{_e(s['id'])}<br><span class='note'>{_e(s['label'])}</span>"
                     f"</th>{cells}</tr>")
    parts.append("</tbody></table>")
    hyp = d.get("hypotheses", {})
    share = hyp.get("share_confirmed")
    hyp_text = (f"{hyp.get('n_confirmed')} of {hyp.get('n_hypotheses')} confirmed "
                f"({100 * share:.0f} %)" if share is not None else hyp.get("note", ""))
    parts.append(f"<p>Hypotheses testing (construct validity): {_badge(hyp.get('rating'))} "
                 f"{_e(hyp_text)}</p>")
    parts.append("<h3>Criteria</h3><ul>")
    parts += [f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in d["criteria"].items()]
    parts.append("</ul>")

    parts.append("<h2>Score distributions</h2><div class='plots'>")
    parts += [plots[f"hist_{s['id']}"] for s in d["scales"] if f"hist_{s['id']}" in plots]
    parts.append("</div>")
    rows = [{"scale": s["id"], **s["score"], **{k: s["floor_ceiling"].get(k) for k in
             ("min_possible", "max_possible", "floor_pct", "ceiling_pct")},
             "reversed items": ", ".join(s["reversed_items"]) or "–"} for s in d["scales"]]
    parts.append(_table(rows, ["scale", "n", "missing_pct", "mean", "sd", "median",
                               "min_possible", "max_possible", "floor_pct", "ceiling_pct",
                               "reversed items"], 2))

    parts.append("<h2>Internal consistency and item analysis</h2>")
    for s in d["scales"]:
        ic = s["internal_consistency"]
        parts.append(f"<h3>{_e(s['id'])} {_badge(ic.get('rating'))}</h3>")
        if ic.get("alpha"):
            parts.append(f"<p>Cronbach's α = {_est(ic['alpha'])}, n = {ic['alpha'].get('n')}</p>")
        for key in ("note", "error", "item_analysis_error"):
            if ic.get(key):
                parts.append(f"<p class='note'>{_e(ic[key])}</p>")
        if ic.get("items"):
            cols = [c for c in ic["items"][0] if c != "index"]
            first = "item" if "item" in ic["items"][0] else "index"
            parts.append(_table(ic["items"], [first] + [c for c in cols if c != first]))

    sv = d["structural_validity"]
    parts.append(f"<h2>Structural validity {_badge(sv.get('rating'))}</h2>")
    if "cfi" in sv:
        parts.append(
            f"<p>CFA (ML, {_e(sv.get('identification', ''))}), n = {sv['n']}: χ² = "
            f"{_num(sv['chi2'], 2)}, df = {sv['df']}, p = {_num(sv['p'], 4)}, CFI = "
            f"{_num(sv['cfi'])}, TLI = {_num(sv['tli'])}, RMSEA = {_num(sv['rmsea'])} (90 % CI "
            f"{_num(sv['rmsea_ci_low'])}–{_num(sv['rmsea_ci_high'])}), SRMR = "
            f"{_num(sv['srmr'])}</p>"
        )
        parts.append(_table(sv["loadings"], ["factor", "item", "estimate", "std_all"]))
        for w in sv.get("warnings", []):
            parts.append(f"<p class='note'>{_e(w)}</p>")
    for key in ("note", "error"):
        if sv.get(key):
            parts.append(f"<p class='note'>{_e(sv[key])}</p>")
    if "scree" in plots:
        parts.append(plots["scree"])
    dim = d.get("dimensionality", {})
    if dim.get("efa_error"):
        parts.append(f"<p class='note'>EFA: {_e(dim['efa_error'])}</p>")

    parts.append("<h2>Test–retest reliability</h2>")
    if "retest" in d:
        rt = d["retest"]
        parts.append(f"<p>Matched on <code>{_e(rt['id_column'])}</code>: {rt['n_matched']} "
                     f"of {d['n']} rows ({rt['n_retest_rows']} retest rows).</p>")
        rows = []
        for s in d["scales"]:
            t = s["test_retest"]
            rows.append({"scale": s["id"], "rating": t.get("rating"), "n": t.get("n"),
                         "ICC(A,1) (95 % CI)": _est(t.get("icc")),
                         "SEM": _est(t.get("sem")), "SDC": _est(t.get("sdc")),
                         "note": t.get("note") or t.get("error") or ""})
        parts.append(_table(rows, ["scale", "rating", "n", "ICC(A,1) (95 % CI)", "SEM", "SDC",
                                   "note"]))
    else:
        parts.append("<p class='note'>No retest data given.</p>")

    parts.append(f"<h2>Hypotheses testing {_badge(hyp.get('rating'))}</h2>")
    if hyp.get("hypotheses"):
        rows = [{"id": h["id"], "hypothesis": h["description"], "expected": h["expected"],
                 "observed (95 % CI)": _est(h["estimate"]), "n": h["estimate"].get("n"),
                 "confirmed": "yes" if h["confirmed"] else "no"} for h in hyp["hypotheses"]]
        parts.append(_table(rows, ["id", "hypothesis", "expected", "observed (95 % CI)", "n",
                                   "confirmed"]))
    else:
        parts.append(f"<p class='note'>{_e(hyp.get('note', ''))}</p>")

    parts.append("<h2>Differential item functioning</h2>")
    if "groups" in d:
        parts.append(f"<p>Groups from column <code>{_e(d['groups']['column'])}</code>: "
                     f"{_e(', '.join(d['groups']['levels']))}.</p>")
        for s in d["scales"]:
            dd = s["dif"]
            parts.append(f"<h3>{_e(s['id'])} {_badge(dd.get('rating'))}</h3>")
            if dd.get("items"):
                parts.append(f"<p class='note'>{_e(dd.get('criterion', ''))}</p>")
                parts.append(_table(dd["items"], ["item", "n", "chi2_uniform", "p_uniform",
                                                  "r2_mcfadden_uniform", "chi2_nonuniform",
                                                  "p_nonuniform", "r2_mcfadden_nonuniform",
                                                  "flagged"], 4))
            elif dd.get("note") or dd.get("error"):
                parts.append(f"<p class='note'>{_e(dd.get('note') or dd.get('error'))}</p>")
    else:
        parts.append("<p class='note'>No group column given.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
