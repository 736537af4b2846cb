"""An IRT calibration report: parameters, fit, local dependence, information, DIF."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.irt.calibrate import Model, fit
from scoring.irt.checks import information_svg, q3, sx2, unidimensionality_note
from scoring.irt.dif import irt_dif


@dataclass(frozen=True)
class IRTReport:
    """Numbers (``data``) and inline SVG charts of an IRT calibration."""

    data: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly numbers (NaN as None)."""
        return _clean(self.data)

    def to_html(self) -> str:
        """A self-contained HTML page (no scripts)."""
        return _render(self.data, self.charts)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def irt_report(
    data: pd.DataFrame,
    model: Model = "grm",
    *,
    groups: pd.Series | None = None,
    dif_criterion: str = "r2",
) -> IRTReport:
    """Calibrate ``data`` (one column per item) and check the model.

    ``groups`` (one label per row) adds a lordif-style DIF analysis.
    """
    result = fit(data, model)
    params = result.params
    se = result.se.add_prefix("se_")
    items = pd.concat([params, se], axis=1).reset_index(names="item")
    out: dict[str, Any] = {
        "summary": result.summary(),
        "items": items.to_dict(orient="records"),
        "unidimensionality": unidimensionality_note(data),
    }
    notes = []
    try:
        out["item_fit"] = sx2(result, data).to_dict(orient="records")
    except ValueError as exc:
        notes.append(f"S-X2 not computed: {exc}")
    local = q3(result, data)
    out["local_dependence"] = {
        "mean_offdiagonal_q3": local.mean_offdiagonal,
        "max_q3_star": float(np.nanmax(local.q3_star.to_numpy())),
        "pairs_over_0.2": local.pairs(0.2).to_dict(orient="records"),
    }
    if groups is not None:
        dif = irt_dif(
            data, groups, model="gpcm" if model == "gpcm" else "grm", criterion=dif_criterion
        )
        out["dif"] = dif.to_dict()
    out["notes"] = notes
    return IRTReport(out, {"information": information_svg(result.items)})


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "" if not math.isfinite(float(v)) else f"{float(v):.3f}"
    return str(v)


def _table(records: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not records:
        return "<p>None.</p>"
    columns = columns or list(records[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in records
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _render(data: dict[str, Any], charts: dict[str, str]) -> str:
    s = data["summary"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>IRT calibration</title>',
        "<style>body{font-family:sans-serif;max-width:64rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;"
        "padding:.2rem .5rem;text-align:right}</style></head><body>",
        f"<h1>IRT calibration ({html.escape(s['model'].upper())})</h1>",
        f"<p>n = {s['n']:,}, {s['items']} items, log-likelihood {s['loglik']:.2f}, "
        f"AIC {s['aic']:.1f}, BIC {s['bic']:.1f}, {s['n_params']} parameters, "
        f"{'converged' if s['converged'] else 'NOT converged'}. Standard errors: "
        f"{html.escape(s['se'])}.</p>",
        "<h2>Item parameters</h2>",
        _table(data["items"]),
        "<h2>Dimensionality</h2>",
        f"<p>{html.escape(data['unidimensionality']['note'])}.</p>",
        "<h2>Item fit (S-X2)</h2>",
        _table(data.get("item_fit", [])),
        "<h2>Local dependence (Q3)</h2>",
        f"<p>Mean off-diagonal Q3 {data['local_dependence']['mean_offdiagonal_q3']:.3f}; "
        f"largest Q3* {data['local_dependence']['max_q3_star']:.3f}. Pairs with Q3* &gt; 0.2:</p>",
        _table(data["local_dependence"]["pairs_over_0.2"]),
        "<h2>Test information</h2>",
        charts.get("information", ""),
    ]
    if "dif" in data:
        d = data["dif"]
        parts += [
            "<h2>Differential item functioning</h2>",
            f"<p>{html.escape(d['matching'])}; {d['iterations']} iteration(s); flagged: "
            f"{html.escape(', '.join(d['flagged']) or 'none')}.</p>",
            _table(
                d["items"],
                [
                    "item",
                    "p_uniform",
                    "p_nonuniform",
                    "p_total",
                    "r2_mcfadden_uniform",
                    "r2_mcfadden_nonuniform",
                    "flagged",
                ],
            ),
        ]
    for note in data.get("notes", []):
        parts.append(f"<p>Note: {html.escape(note)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
