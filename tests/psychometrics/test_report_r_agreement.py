"""Every number the COSMIN report prints agrees with R on the reference data (issue 6).

Reference values: R 4.2.2 with psych 2.2.9, lavaan 0.6-14, GPArotation 2022.10.2 and MASS
7.3-58.2 (independent implementations), computed by data/make_report_reference.R into
data/report_reference_r.json:

* ``rand36``: data/rand36_reference.csv and _retest.csv (simulated RAND-36 answers,
  data/make_report_reference_data.py), scored by an R re-implementation of RAND's scoring
  instructions (RAND 36-Item Health Survey 1.0, Tables 1-2); alpha and item statistics
  ``psych::alpha``, CFA ``lavaan::cfa(std.lv = TRUE)``, KMO/Bartlett ``psych::KMO`` /
  ``cortest.bartlett``, ICC ``psych::ICC(lmer = FALSE)``, agreement SEM from ``aov``, DIF
  ``MASS::polr`` (``glm`` for two-category items), correlations ``cor``/``cor.test``;
  the retest also serves as the follow-up for responsiveness (mean change with
  ``t.test`` CI, effect size, SRM).
* ``bfi``: ``psych::bfi`` (Revelle, Wilt & Rosenthal 2010; SAPA project), 2800
  respondents, written to data/bfi_report_data.csv by the same R script; five 5-item
  scales scored as sums of the keyed items, keys from psych's ``bfi.keys``.

"Agrees to 3 decimals" is checked as an absolute difference below 5e-4 on the unrounded
numbers (the HTML prints them rounded); the largest differences are listed in
docs/psychometrics.md (run this file with ``python`` to print them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoring.psychometrics import build_report

DATA = Path(__file__).parent / "data"
TOLERANCE = 5e-4


def _reports() -> dict[str, tuple[dict, str]]:
    rand = build_report(
        _csv("rand36_reference.csv"),
        "rand36",
        retest=_csv("rand36_reference_retest.csv"),
        groups="sex",
        hypotheses=DATA / "hypotheses_rand36_reference.yaml",
        followup=_csv("rand36_reference_retest.csv"),
    )  # the retest as a follow-up, too
    bfi = build_report(
        _csv("bfi_report_data.csv"),
        DATA / "bfi25_instrument.yaml",
        groups="gender",
        hypotheses=DATA / "hypotheses_bfi.yaml",
        cfa_estimator="ML",
    )  # rand36 uses the default CFA (WLSMV for <= 7 categories), bfi ML: both are checked
    return {"rand36": (rand.to_dict(), rand.to_html()), "bfi": (bfi.to_dict(), bfi.to_html())}


def _csv(name: str):
    import pandas as pd

    return pd.read_csv(DATA / name)


def comparisons(js: dict, ref: dict) -> Iterator[tuple[str, str, float, float]]:
    """(statistic, where, openprom, R) for every number of the report that R computed."""
    scales = {s["id"]: s for s in js["scales"]}
    for sid, r in ref["scales"].items():
        s = scales[sid]
        for key in ("n", "missing_pct", "mean", "sd", "median"):
            yield f"score {key}", sid, s["score"][key], r["score"][key]
        for key in ("min_possible", "max_possible", "floor_pct", "ceiling_pct"):
            yield f"score {key}", sid, s["floor_ceiling"][key], r["score"][key]
        a = s["internal_consistency"]["alpha"]
        for key, name in (
            ("value", "alpha"),
            ("ci_low", "alpha Feldt lower"),
            ("ci_high", "alpha Feldt upper"),
            ("n", "alpha n"),
        ):
            yield name, sid, a[key], r["alpha"][key]
        items = {row["item"]: row for row in s["internal_consistency"]["items"]}
        for item, ri in r["items"].items():
            for key, value in ri.items():
                if value is not None:
                    yield f"item {key}", f"{sid} {item}", items[item][key], value
        if "retest" in r:
            t = s["test_retest"]
            yield "retest n", sid, t["n"], r["retest"]["n"]
            yield "ICC(A,1)", sid, t["icc"]["value"], r["retest"]["icc"]
            yield "ICC(A,1) lower", sid, t["icc"]["ci_low"], r["retest"]["ci_low"]
            yield "ICC(A,1) upper", sid, t["icc"]["ci_high"], r["retest"]["ci_high"]
            yield "SEM (agreement)", sid, t["sem"]["value"], r["retest"]["sem"]
            yield "SDC", sid, t["sdc"]["value"], r["retest"]["sdc"]
        if "responsiveness" in r:
            o, rr = s["responsiveness"], r["responsiveness"]
            pairs = (
                ("n", o["n"]),
                ("mean_change", o["mean_change"]["value"]),
                ("mean_change_low", o["mean_change"]["ci_low"]),
                ("mean_change_high", o["mean_change"]["ci_high"]),
                ("effect_size", o["effect_size"]["value"]),
                ("srm", o["srm"]["value"]),
                ("baseline_mean", o["baseline_mean"]),
                ("followup_mean", o["followup_mean"]),
                ("baseline_sd", o["baseline_sd"]),
                ("change_sd", o["change_sd"]),
            )
            for key, ours in pairs:
                yield f"responsiveness {key}", sid, ours, rr[key]
            # distribution-based MIC from R's numbers: 0.5 SD (Norman et al. 2003) and
            # 1 SEM = SD sqrt(1 - ICC(A,1)) (Wyrwich et al. 1999)
            yield "MIC 0.5 SD", sid, o["mic_half_sd"], 0.5 * rr["baseline_sd"]
            if "retest" in r:
                sem_r = rr["baseline_sd"] * math.sqrt(1 - r["retest"]["icc"])
                yield "MIC 1 SEM", sid, o["mic_sem"], sem_r
        if "dif" in r:
            rows = {row["item"]: row for row in s["dif"]["items"]}
            for item, ri in r["dif"].items():
                for key, value in ri.items():
                    yield f"DIF {key}", f"{sid} {item}", rows[item][key], value
    sv = js["structural_validity"]
    rc = ref["cfa_wlsmv"] if sv["estimator"] == "WLSMV" else ref["cfa"]
    for key in (
        "n",
        "chi2",
        "df",
        "p",
        "cfi",
        "tli",
        "rmsea",
        "rmsea_ci_low",
        "rmsea_ci_high",
        "srmr",
    ):
        yield f"CFA {key}", "", sv[key], rc[key]
    lavaan_scaled = {"chisq.scaled": "chi2_scaled", "pvalue.scaled": "p_scaled",
                     "cfi.scaled": "cfi_scaled", "tli.scaled": "tli_scaled",
                     "rmsea.scaled": "rmsea_scaled"}  # fmt: skip
    for lav, ours in lavaan_scaled.items() if rc.get("scaled") else ():
        yield f"CFA {ours}", "", sv[ours], rc["scaled"][lav]
    loads = {(row["factor"], row["item"]): row for row in sv["loadings"]}
    for factor, items in rc["loadings"].items():
        for item, rl in items.items():
            for key in ("estimate", "std_all"):
                yield f"CFA loading {key}", f"{factor} {item}", loads[factor, item][key], rl[key]
    for f1, row in rc["factor_correlations"].items():
        for f2, value in row.items():
            yield "CFA factor correlation", f"{f1}-{f2}", sv["factor_correlations"][f1][f2], value
    dim, rd = js["dimensionality"], ref["dimensionality"]
    yield "EFA n (complete rows)", "", dim["n"], rd["n"]
    for k, (ours, theirs) in enumerate(zip(dim["eigenvalues"], rd["eigenvalues"], strict=True)):
        yield "eigenvalue", str(k + 1), ours, theirs
    yield "KMO", "", dim["efa"]["kmo"], rd["kmo"]
    for key in ("chi2", "df", "p"):
        yield f"Bartlett {key}", "", dim["efa"]["bartlett"][key], rd["bartlett"][key]
    hyps = {h["id"]: h["estimate"] for h in js["hypotheses"]["hypotheses"]}
    for hid, rh in ref["hypotheses"].items():
        for key, value in rh.items():
            yield f"hypothesis {key}", hid, hyps[hid][key], value
    if "retest_matched" in ref:
        yield "retest rows matched", "", js["retest"]["n_matched"], ref["retest_matched"]


@pytest.fixture(scope="module")
def reports() -> dict[str, tuple[dict, str]]:
    return _reports()


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((DATA / "report_reference_r.json").read_text())


@pytest.mark.parametrize("dataset", ["rand36", "bfi"])
def test_every_reported_number_agrees_with_r(reports, reference, dataset):
    js, _ = reports[dataset]
    rows = list(comparisons(js, reference[dataset]))
    assert len(rows) > 300  # the whole report, not a sample
    bad = [
        (stat, where, ours, theirs)
        for stat, where, ours, theirs in rows
        if not math.isclose(ours, theirs, rel_tol=0, abs_tol=TOLERANCE)
    ]
    assert not bad, bad[:10]


@pytest.mark.parametrize("dataset", ["rand36", "bfi"])
def test_keys_match_r(reports, reference, dataset):
    # reversed items: the report's first-principal-component rule against the printed
    # RAND-36 form (checked against psych::alpha(check.keys = TRUE) in the R script) and
    # psych's bfi.keys
    js, _ = reports[dataset]
    for s in js["scales"]:
        assert sorted(s["reversed_items"]) == sorted(
            reference[dataset]["scales"][s["id"]]["reversed_items"]
        ), s["id"]


def test_printed_coefficients_are_rs_rounded(reports, reference):
    for dataset in ("rand36", "bfi"):
        _, page = reports[dataset]
        ref = reference[dataset]
        for r in ref["scales"].values():
            a = r["alpha"]
            assert f"α = {a['value']:.3f} ({a['ci_low']:.3f} to {a['ci_high']:.3f})" in page
            if "retest" in r:
                t = r["retest"]
                assert f"{t['icc']:.3f} ({t['ci_low']:.3f} to {t['ci_high']:.3f})" in page
        js, _ = reports[dataset]
        c = ref["cfa_wlsmv"] if js["structural_validity"]["estimator"] == "WLSMV" else ref["cfa"]
        assert (
            f"CFI = {c['cfi']:.3f}, TLI = {c['tli']:.3f}, RMSEA = {c['rmsea']:.3f} "
            f"(90 % CI {c['rmsea_ci_low']:.3f} to {c['rmsea_ci_high']:.3f}), SRMR = "
            f"{c['srmr']:.3f}"
        ) in page
        assert f"χ² = {c['chi2']:.3f}, df = {c['df']:.0f}" in page


def _max_differences() -> None:
    """Print the largest |openprom - R| per statistic (for docs/psychometrics.md)."""
    reference = json.loads((DATA / "report_reference_r.json").read_text())
    for dataset, (js, _) in _reports().items():
        worst: dict[str, tuple[float, int]] = {}
        for stat, _, ours, theirs in comparisons(js, reference[dataset]):
            d, k = worst.get(stat, (0.0, 0))
            worst[stat] = (max(d, abs(ours - theirs)), k + 1)
        print(f"## {dataset}")
        for stat, (d, k) in worst.items():
            print(f"| {stat} | {k} | {d:.1e} |")


if __name__ == "__main__":
    _max_differences()
