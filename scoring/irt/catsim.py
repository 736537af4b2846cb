"""Simulated adaptive testing on an item bank (the ``cat-sim`` command).

Simulees get theta ~ N(0, 1) and an answer to every bank item drawn from the bank's own
parameters. Each is scored on the full bank (EAP) and by the CAT engine
(:func:`scoring.irt.cat.run_batch`, the same selection as the live engine) on those same
answers, so the comparison isolates what adaptivity costs in precision.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.irt.cat import Bank, CatSettings, run_batch
from scoring.irt.quadrature import normal_grid
from scoring.irt.simulate import draw_categories
from scoring.irt.svg import bar_chart
from scoring.irt.theta import eap

BANDS = (-np.inf, -2.0, -1.0, 0.0, 1.0, 2.0, np.inf)


@dataclass(frozen=True)
class CatSimReport:
    """Numbers of a CAT simulation (``data``) and its charts."""

    data: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly numbers."""
        return self.data

    def to_html(self) -> str:
        """A self-contained HTML report."""
        return _render(self.data, self.charts)


def _rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((x - y) ** 2)))


def simulate_cat(
    bank: Bank, n: int, seed: int, settings: CatSettings, *, bank_name: str = "bank"
) -> CatSimReport:
    """Run ``n`` simulated adaptive tests and summarise them."""
    if n < 2:
        raise ValueError("--n must be at least 2")
    rng = np.random.default_rng(seed)
    true_theta = rng.standard_normal(n)
    cats = draw_categories(bank.items, true_theta, rng)
    nodes, weights = normal_grid(sd=settings.prior_sd)
    full_theta, full_se = eap(bank.items, cats, nodes, weights)
    result = run_batch(bank, cats, settings, rng)
    used = result.n_items
    lengths, counts = np.unique(used, return_counts=True)
    given = result.administered[result.administered >= 0]
    exposure = np.bincount(given, minlength=bank.items.n_items) / n
    bands = []
    band_index = np.digitize(full_theta, BANDS[1:-1])
    for k in range(len(BANDS) - 1):
        mask = band_index == k
        if mask.any():
            bands.append(
                {
                    "band": f"{BANDS[k]:g} to {BANDS[k + 1]:g}",
                    "n": int(mask.sum()),
                    "mean_items": float(used[mask].mean()),
                    "rmse_vs_full_bank": _rmse(result.theta[mask], full_theta[mask]),
                    "mean_se": float(result.se[mask].mean()),
                }
            )
    data = {
        "bank": bank_name,
        "bank_items": bank.items.n_items,
        "n": n,
        "seed": seed,
        "settings": {
            "start_theta": settings.start_theta,
            "select": settings.select,
            "stop_se": settings.stop_se,
            "max_items": settings.max_items,
            "min_items": settings.min_items,
            "exposure": settings.exposure,
            "randomesque_k": settings.randomesque_k,
        },
        "items_used": {
            "mean": float(used.mean()),
            "sd": float(used.std(ddof=1)),
            "min": int(used.min()),
            "median": float(np.median(used)),
            "max": int(used.max()),
            "distribution": {str(int(k)): int(c) for k, c in zip(lengths, counts, strict=True)},
        },
        "vs_full_bank": {
            "correlation": float(np.corrcoef(result.theta, full_theta)[0, 1]),
            "rmse": _rmse(result.theta, full_theta),
            "bias": float(np.mean(result.theta - full_theta)),
            "rmse_t_score": 10 * _rmse(result.theta, full_theta),
        },
        "vs_true_theta": {
            "cat_correlation": float(np.corrcoef(result.theta, true_theta)[0, 1]),
            "cat_rmse": _rmse(result.theta, true_theta),
            "full_bank_correlation": float(np.corrcoef(full_theta, true_theta)[0, 1]),
            "full_bank_rmse": _rmse(full_theta, true_theta),
        },
        "se_reached": {
            "mean": float(result.se.mean()),
            "share_at_or_below_stop_se": float(np.mean(result.se <= settings.stop_se)),
            "full_bank_mean": float(full_se.mean()),
        },
        "exposure": {
            "max": float(exposure.max()),
            "mean": float(exposure.mean()),
            "items_never_used": int(np.sum(exposure == 0)),
            "items_over_0.3": int(np.sum(exposure > 0.3)),
            "by_item": {bank.item_ids[i]: float(exposure[i]) for i in range(len(exposure))},
        },
        "by_theta_band": bands,
    }
    charts = {
        "items_used": bar_chart(
            [str(int(k)) for k in lengths], counts, "Items used per test", "items", "simulees"
        ),
        "exposure": bar_chart(
            list(bank.item_ids), exposure, "Item exposure rate", "item (bank order)", "share"
        ),
    }
    return CatSimReport(data, charts)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _render(data: dict[str, Any], charts: dict[str, str]) -> str:
    s = data["settings"]
    bands = "".join(
        f"<tr><td>{html.escape(b['band'])}</td><td>{b['n']}</td><td>{b['mean_items']:.2f}</td>"
        f"<td>{b['rmse_vs_full_bank']:.3f}</td><td>{b['mean_se']:.3f}</td></tr>"
        for b in data["by_theta_band"]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>CAT simulation: {html.escape(data['bank'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;"
        "padding:.2rem .5rem;text-align:left}</style></head><body>",
        f"<h1>CAT simulation: {html.escape(data['bank'])}</h1>",
        f"<p>{data['n']:,} simulees (theta ~ N(0, 1), seed {data['seed']}), bank of "
        f"{data['bank_items']} items. Every simulee answers every item (drawn from the bank's "
        "parameters); the full-bank EAP and the adaptive EAP use the same answers.</p>",
        "<h2>Rules</h2>",
        _table([(k, v) for k, v in s.items()]),
        "<h2>Items used</h2>",
        _table([(k, v) for k, v in data["items_used"].items() if k != "distribution"]),
        charts.get("items_used", ""),
        "<h2>Agreement with the full bank</h2>",
        _table(list(data["vs_full_bank"].items()) + list(data["vs_true_theta"].items())),
        "<h2>Standard error reached</h2>",
        _table(list(data["se_reached"].items())),
        "<h2>By full-bank theta</h2>",
        "<table><tr><th>theta</th><th>n</th><th>mean items</th><th>RMSE vs full bank</th>"
        f"<th>mean SE</th></tr>{bands}</table>",
        "<h2>Item exposure</h2>",
        _table([(k, v) for k, v in data["exposure"].items() if k != "by_item"]),
        charts.get("exposure", ""),
        "</body></html>",
    ]
    return "\n".join(parts)
