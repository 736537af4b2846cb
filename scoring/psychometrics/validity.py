"""Construct validity: testing hypotheses stated in advance (COSMIN "hypotheses testing").

Hypotheses come from a YAML/JSON file, a dict with a ``hypotheses`` list, or a list of
dicts. Three kinds (file format in ``docs/psychometrics.md``):

``correlation``
    convergent/divergent: ``x``, ``y`` (score columns), ``method`` (``spearman`` default,
    or ``pearson``), ``expected`` such as ``"<= -0.5"`` or ``"|r| < 0.3"``.
``known_groups``
    ``score``, ``group`` (column), ``lower`` and ``higher`` (the group labels expected to
    score lower / higher), ``expected`` on Cohen's d = (mean higher - mean lower) / pooled
    SD, e.g. ``">= 0.5"``.
``correlation_comparison``
    ``x``, ``y`` and ``weaker: {x: ..., y: ...}``: |r(x, y)| is expected to exceed the
    absolute correlation of the other pair (same ``method``).

A hypothesis is confirmed when the **point estimate** satisfies the expectation. The
COSMIN rating (Prinsen et al. 2018; Terwee et al. 2007) is ``+`` when at least 75 % of the
hypotheses are confirmed, ``-`` otherwise, ``?`` when there are none.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from scoring.psychometrics.results import Estimate, _clean

COSMIN_SHARE = 0.75
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPECTED = re.compile(r"^\s*(\|\s*[a-z]+\s*\|)?\s*(<=|>=|<|>)\s*([-+]?\d*\.?\d+)\s*$")


@dataclass(frozen=True)
class Expectation:
    """A comparison such as ``r <= -0.5`` or ``|r| < 0.3``."""

    op: str
    threshold: float
    absolute: bool = False

    @classmethod
    def parse(cls, text: Any, where: str) -> Expectation:
        """Parse ``"<= -0.5"``, ``"|r| < 0.3"`` ..."""
        m = _EXPECTED.match(str(text))
        if not m:
            raise ValueError(
                f"{where}: cannot read expected {text!r} (write e.g. '<= -0.5' or '|r| < 0.3')"
            )
        return cls(op=m.group(2), threshold=float(m.group(3)), absolute=m.group(1) is not None)

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the expectation (False for NaN)."""
        if value is None or math.isnan(value):
            return False
        return _OPS[self.op](abs(value) if self.absolute else value, self.threshold)

    def __str__(self) -> str:
        return f"{'|x| ' if self.absolute else ''}{self.op} {self.threshold:g}"


@dataclass(frozen=True)
class HypothesisOutcome:
    """One hypothesis, what was observed and whether it was confirmed."""

    id: str
    kind: str
    description: str
    expected: str
    estimate: Estimate
    confirmed: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "id": self.id,
                "kind": self.kind,
                "description": self.description,
                "expected": self.expected,
                "estimate": self.estimate.to_dict(),
                "confirmed": self.confirmed,
                "details": self.details,
            }
        )


@dataclass(frozen=True)
class HypothesesResult:
    """All hypotheses with the share confirmed and the COSMIN rating."""

    outcomes: tuple[HypothesisOutcome, ...]

    @property
    def n_hypotheses(self) -> int:
        return len(self.outcomes)

    @property
    def n_confirmed(self) -> int:
        return sum(o.confirmed for o in self.outcomes)

    @property
    def share_confirmed(self) -> float:
        return self.n_confirmed / self.n_hypotheses if self.outcomes else float("nan")

    @property
    def rating(self) -> str:
        """COSMIN: ``+`` when >= 75 % confirmed, ``-`` below, ``?`` without hypotheses."""
        if not self.outcomes:
            return "?"
        return "+" if self.share_confirmed >= COSMIN_SHARE else "-"

    @property
    def table(self) -> pd.DataFrame:
        """One row per hypothesis."""
        return pd.DataFrame(
            [
                {
                    "id": o.id,
                    "kind": o.kind,
                    "description": o.description,
                    "expected": o.expected,
                    "estimate": o.estimate.value,
                    "ci_low": o.estimate.ci_low,
                    "ci_high": o.estimate.ci_high,
                    "n": o.estimate.n,
                    "confirmed": o.confirmed,
                }
                for o in self.outcomes
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(
            {
                "n_hypotheses": self.n_hypotheses,
                "n_confirmed": self.n_confirmed,
                "share_confirmed": self.share_confirmed,
                "rating": self.rating,
                "criterion": "COSMIN: + if >= 75 % of hypotheses confirmed, - otherwise",
                "hypotheses": [o.to_dict() for o in self.outcomes],
            }
        )


def load_spec(spec: Any) -> list[dict[str, Any]]:
    """Read hypotheses from a file path (.yaml/.yml/.json), a dict or a list of dicts."""
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"hypotheses file not found: {path}")
        text = path.read_text(encoding="utf-8")
        spec = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if isinstance(spec, Mapping):
        if "hypotheses" not in spec:
            raise ValueError("the hypotheses spec needs a top-level 'hypotheses' list")
        spec = spec["hypotheses"]
    if not isinstance(spec, Sequence) or isinstance(spec, str):
        raise ValueError("hypotheses must be a list of dicts")
    out = []
    for k, h in enumerate(spec):
        if not isinstance(h, Mapping):
            raise ValueError(f"hypothesis {k + 1} is not a mapping: {h!r}")
        out.append(dict(h))
    return out


def _column(scores: pd.DataFrame, name: Any, where: str) -> pd.Series:
    if name not in scores.columns:
        have = ", ".join(map(str, scores.columns))
        raise ValueError(f"{where}: column {name!r} not found (have: {have})")
    return pd.to_numeric(scores[name], errors="coerce")


def correlation(x: pd.Series, y: pd.Series, method: str = "spearman", ci: float = 0.95) -> Estimate:
    """Pearson or Spearman correlation with a Fisher-z confidence interval.

    Spearman's CI uses the standard error sqrt(1.06 / (n - 3)) (Fieller, Hartley & Pearson
    1957); Pearson's 1 / sqrt(n - 3). Rows missing either value are dropped.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman' (got {method!r})")
    ok = x.notna() & y.notna()
    a, b = x[ok].to_numpy(float), y[ok].to_numpy(float)
    n = int(ok.sum())
    if n < 4 or np.std(a) == 0 or np.std(b) == 0:
        return Estimate(float("nan"), n, method=method)
    r = float(stats.spearmanr(a, b)[0] if method == "spearman" else stats.pearsonr(a, b)[0])
    se = math.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    zc = stats.norm.ppf(0.5 + ci / 2)
    z = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15))
    return Estimate(
        r, n, math.tanh(z - zc * se), math.tanh(z + zc * se), ci, method=f"{method} r"
    )


def cohens_d(lower: pd.Series, higher: pd.Series, ci: float = 0.95) -> Estimate:
    """Cohen's d = (mean higher - mean lower) / pooled SD, with a CI.

    CI: d +/- t(n1 + n2 - 2) * SE, SE = sqrt((n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2)))
    (Hedges & Olkin 1985), as R ``effsize::cohen.d(noncentral = FALSE)``.
    """
    a, b = lower.dropna().to_numpy(float), higher.dropna().to_numpy(float)
    n1, n2 = a.size, b.size
    if n1 < 2 or n2 < 2:
        return Estimate(float("nan"), n1 + n2, method="Cohen's d")
    pooled = math.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    if pooled == 0:
        return Estimate(float("nan"), n1 + n2, method="Cohen's d")
    d = float((b.mean() - a.mean()) / pooled)
    se = math.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2)))
    zc = stats.t.ppf(0.5 + ci / 2, n1 + n2 - 2)
    return Estimate(d, n1 + n2, d - zc * se, d + zc * se, ci, method="Cohen's d (pooled SD)")


def _test_correlation(scores: pd.DataFrame, h: dict[str, Any], where: str) -> HypothesisOutcome:
    method = str(h.get("method", "spearman")).lower()
    x, y = h.get("x"), h.get("y")
    est = correlation(_column(scores, x, where), _column(scores, y, where), method)
    exp = Expectation.parse(h.get("expected"), where)
    desc = h.get("description") or f"{x} correlates with {y}"
    return HypothesisOutcome(
        id=where,
        kind="correlation",
        description=str(desc),
        expected=f"{method} r {exp}".replace("|x|", "|r|"),
        estimate=est,
        confirmed=exp.holds(est.value),
    )


def _describe(label: str, values: pd.Series) -> dict[str, Any]:
    n = int(values.notna().sum())
    return {"group": label, "n": n, "mean": values.mean(), "sd": values.std()}


def _test_known_groups(scores: pd.DataFrame, h: dict[str, Any], where: str) -> HypothesisOutcome:
    score, group = h.get("score"), h.get("group")
    if "lower" not in h or "higher" not in h:
        raise ValueError(f"{where}: known_groups needs 'lower' and 'higher' group labels")
    values = _column(scores, score, where)
    if group not in scores.columns:
        raise ValueError(f"{where}: group column {group!r} not found")
    labels = scores[group].astype(str)
    lo_label, hi_label = str(h["lower"]), str(h["higher"])
    for lab in (lo_label, hi_label):
        if not (labels == lab).any():
            raise ValueError(f"{where}: no row has {group} == {lab!r}")
    lo, hi = values[labels == lo_label], values[labels == hi_label]
    est = cohens_d(lo, hi)
    exp = Expectation.parse(h.get("expected", "> 0"), where)
    desc = h.get("description") or f"{score} lower in {lo_label} than in {hi_label}"
    welch = stats.ttest_ind(hi.dropna(), lo.dropna(), equal_var=False)
    details = {
        "lower": _describe(lo_label, lo),
        "higher": _describe(hi_label, hi),
        "welch_p": float(welch.pvalue),
    }
    return HypothesisOutcome(
        id=where,
        kind="known_groups",
        description=str(desc),
        expected=f"d {exp}".replace("|x|", "|d|"),
        estimate=est,
        confirmed=exp.holds(est.value),
        details=_clean(details),
    )


def _test_comparison(scores: pd.DataFrame, h: dict[str, Any], where: str) -> HypothesisOutcome:
    method = str(h.get("method", "spearman")).lower()
    other = h.get("weaker")
    if not isinstance(other, Mapping) or "x" not in other or "y" not in other:
        raise ValueError(f"{where}: correlation_comparison needs 'weaker: {{x: ..., y: ...}}'")
    x, y = h.get("x"), h.get("y")
    r1 = correlation(_column(scores, x, where), _column(scores, y, where), method)
    r2 = correlation(
        _column(scores, other["x"], where), _column(scores, other["y"], where), method
    )
    diff = abs(r1.value) - abs(r2.value)
    desc = h.get("description") or (
        f"|r({x}, {y})| exceeds |r({other['x']}, {other['y']})|"
    )
    est = Estimate(diff, min(r1.n, r2.n), method=f"difference of absolute {method} r")
    return HypothesisOutcome(
        id=where,
        kind="correlation_comparison",
        description=str(desc),
        expected="|r1| - |r2| > 0",
        estimate=est,
        confirmed=bool(diff > 0),
        details={"r1": r1.to_dict(), "r2": r2.to_dict()},
    )


_KINDS = {
    "correlation": _test_correlation,
    "known_groups": _test_known_groups,
    "correlation_comparison": _test_comparison,
}


def hypotheses(scores: pd.DataFrame, spec: Any) -> HypothesesResult:
    """Test construct-validity hypotheses on a table of scores (one column per score).

    ``spec`` is a path to a YAML/JSON file, a dict with a ``hypotheses`` list, or a list of
    dicts (see the module docstring for the keys). Returns every observed estimate with its
    CI and n, whether it was confirmed, and the COSMIN rating of the share confirmed.
    """
    if not isinstance(scores, pd.DataFrame):
        raise TypeError("scores must be a pandas DataFrame")
    outcomes = []
    for k, h in enumerate(load_spec(spec)):
        where = str(h.get("id", f"H{k + 1}"))
        kind = h.get("type", "correlation")
        if kind not in _KINDS:
            raise ValueError(f"{where}: unknown type {kind!r} (known: {', '.join(_KINDS)})")
        outcomes.append(_KINDS[kind](scores, h, where))
    return HypothesesResult(tuple(outcomes))
