"""End-to-end tests of the COSMIN report on simulated RAND-36 data.

Data: ``simulate_rand36`` from ``bench/psychometrics.py`` (seeded; printed RAND-36 codes,
two correlated latent health dimensions, q05 given uniform DIF by sex). Reference values
come from independent implementations: pingouin ``cronbach_alpha`` and
``intraclass_corr`` (ICC2 = Shrout & Fleiss ICC(2,1)); the direction of every RAND-36
item follows the printed RAND 36-Item Health Survey 1.0 form.
"""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest

from scoring import score_table
from scoring.psychometrics import build_report
from scoring.psychometrics.__main__ import main

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
HYPOTHESES = HERE / "data" / "hypotheses_rand36_simulated.yaml"

_spec = importlib.util.spec_from_file_location(
    "bench_psychometrics", ROOT / "bench" / "psychometrics.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

SCALES = ["PF", "RP", "BP", "GH", "VT", "SF", "RE", "MH"]
TEST_INSTRUMENT = HERE / "data" / "rand36_like_instrument.yaml"


def _real_rand36_available() -> bool:
    import instruments
    from scoring import get

    try:
        instruments.load("rand36")
        get("rand36")
    except (KeyError, ImportError):
        return False
    return True


# The bundled RAND-36 (definition + scoring algorithm) when present; otherwise a test
# definition with the same items and scales and no scoring algorithm (item sums).
REAL = _real_rand36_available()
INSTRUMENT = "rand36" if REAL else str(TEST_INSTRUMENT)


def expected_scale_scores(table: pd.DataFrame, sid: str, reversed_items) -> pd.Series:
    """Scale scores computed outside the report: RAND scoring, or keyed item sums."""
    if REAL:
        return pd.Series(score_table("rand36", table, errors="blank")[sid])
    items = table[bench.RAND36_SCALES[sid]].astype(float).copy()
    for c in reversed_items:
        items[c] = 1 + bench.RAND36_CODES[c] - items[c]
    return items.sum(axis=1).where(items.notna().all(axis=1))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    d = bench.simulate_rand36(3000, seed=36, dif_item="q05")
    rng = np.random.default_rng(5)
    items = [f"q{i:02d}" for i in range(1, 37)]
    d[items] = d[items].astype(float).mask(rng.random((len(d), 36)) < 0.01)  # 1 % missing
    return d


@pytest.fixture(scope="module")
def retest(data) -> pd.DataFrame:
    # the same respondents again, 10 % of the answers moved one code, rows shuffled,
    # 100 respondents missing, 50 unknown ids added
    rng = np.random.default_rng(11)
    r = data.copy()
    for c in [f"q{i:02d}" for i in range(1, 37)]:
        k = bench.RAND36_CODES[c]
        move = rng.random(len(r)) < 0.10
        r[c] = np.where(move, np.clip(r[c] + rng.choice([-1, 1], len(r)), 1, k), r[c])
    r = r.iloc[100:].sample(frac=1.0, random_state=3)
    extra = r.iloc[:50].copy()
    extra["id"] = extra["id"] + 10_000_000
    return pd.concat([r, extra], ignore_index=True)


@pytest.fixture(scope="module")
def report(data, retest):
    return build_report(data, INSTRUMENT, retest=retest, groups="sex", hypotheses=HYPOTHESES)


@pytest.fixture(scope="module")
def js(report):
    d = report.to_dict()
    json.dumps(d)  # JSON-ready
    return d


def _scale(js, sid):
    return next(s for s in js["scales"] if s["id"] == sid)


def test_every_scale_is_rated_on_every_property(js):
    ids = [s["id"] for s in js["scales"]]
    assert set(SCALES) <= set(ids)
    for s in js["scales"]:
        for prop in (
            "floor_ceiling",
            "internal_consistency",
            "structural_validity",
            "test_retest",
            "dif",
        ):
            assert s[prop]["rating"] in {"+", "-", "?"}, (s["id"], prop)
    assert js["n"] == 3000
    assert js["instrument"]["id"] == ("rand36" if REAL else "rand36_like")
    assert set(js["criteria"]) >= {
        "floor_ceiling",
        "internal_consistency",
        "structural_validity",
        "test_retest",
        "hypotheses",
        "dif",
    }


def test_reversed_items_follow_the_printed_form(js):
    # within a scale, items printed in the opposite direction (RAND-36 form) are reversed
    for sid in SCALES:
        s = _scale(js, sid)
        better = {i for i in s["items"] if bench.RAND36_HIGHER_BETTER[i] > 0}
        worse = set(s["items"]) - better
        if better and worse:
            assert set(s["reversed_items"]) in (better, worse), sid
        else:
            assert s["reversed_items"] == [], sid


def test_floor_ceiling_percentages_match_the_scores(data, js):
    for sid in SCALES:
        s = _scale(js, sid)
        x = expected_scale_scores(data, sid, s["reversed_items"]).dropna()
        fc = s["floor_ceiling"]
        if REAL:  # RAND-36 scales run 0..100 (RAND 36-Item Health Survey 1.0 scoring)
            lo, hi = 0, 100
        else:  # item sums: number of items .. sum of the numbers of codes
            lo = len(s["items"])
            hi = sum(bench.RAND36_CODES[i] for i in s["items"])
        assert fc["min_possible"] == pytest.approx(lo) and fc["max_possible"] == pytest.approx(hi)
        assert fc["floor_pct"] == pytest.approx(100 * (x == lo).mean(), abs=1e-9)
        assert fc["ceiling_pct"] == pytest.approx(100 * (x == hi).mean(), abs=1e-9)
        expected = "+" if max(fc["floor_pct"], fc["ceiling_pct"]) <= 15 else "-"
        assert fc["rating"] == expected


def test_alpha_matches_pingouin(data, js):
    for sid in ("PF", "GH", "MH"):
        s = _scale(js, sid)
        items = data[s["items"]].astype(float).copy()
        for c in s["reversed_items"]:
            items[c] = 1 + bench.RAND36_CODES[c] - items[c]
        expected = pingouin.cronbach_alpha(items, nan_policy="listwise")[0]
        ic = s["internal_consistency"]
        assert ic["alpha"]["value"] == pytest.approx(expected, abs=1e-9), sid
        assert ic["rating"] == ("+" if 0.70 <= expected <= 0.95 else "-")
        assert len(ic["items"]) == len(s["items"])


def test_structural_validity_uses_all_multi_item_scales(js):
    sv = js["structural_validity"]
    factors = {row["factor"] for row in sv["loadings"]}
    assert set(SCALES) <= factors
    assert sv["df"] > 0 and 0 <= sv["cfi"] <= 1
    # RAND-36 items have 2-6 answer categories: the default CFA treats them as ordinal
    # (WLSMV) and COSMIN 2018 (Prinsen et al. 2018) judges the scaled indices:
    # + when CFI or TLI > 0.95, or RMSEA < 0.06, or SRMR < 0.08
    assert sv["estimator"] == "WLSMV" and sv["rule"] == "cosmin2018"
    good = (
        sv["cfi_scaled"] > 0.95
        or sv["tli_scaled"] > 0.95
        or sv["rmsea_scaled"] < 0.06
        or sv["srmr"] < 0.08
    )
    assert sv["rating"] == ("+" if good else "-")
    assert js["structural_validity_rule"] == "cosmin2018"
    assert "SRMR < 0.08" in js["criteria"]["structural_validity"]
    assert len(js["dimensionality"]["eigenvalues"]) == len(
        {i for s in js["scales"] for i in s["items"]}
    )


def test_retest_icc_matches_pingouin(data, retest, js):
    assert js["retest"]["id_column"] == "id"
    assert js["retest"]["n_matched"] == 2900
    t = pd.DataFrame({"id": data["id"], "score": expected_scale_scores(data, "PF", [])})
    r = pd.DataFrame({"id": retest["id"], "score": expected_scale_scores(retest, "PF", [])})
    pair = t.merge(r, on="id", suffixes=("_t", "_r")).dropna()
    long = pair.melt(id_vars="id", value_vars=["score_t", "score_r"], var_name="time")
    ref = pingouin.intraclass_corr(long, targets="id", raters="time", ratings="value")
    icc2 = ref.set_index("Type").loc["ICC(A,1)", "ICC"]  # = Shrout & Fleiss ICC(2,1)
    tr = _scale(js, "PF")["test_retest"]
    assert tr["n"] == len(pair)
    assert tr["icc"]["value"] == pytest.approx(icc2, abs=1e-9)
    assert tr["rating"] == ("+" if icc2 >= 0.70 else "-")
    assert tr["sem"] is not None and tr["sdc"] is not None


def test_hypotheses_section(js):
    h = js["hypotheses"]
    assert h["n_hypotheses"] == 4
    confirmed = {x["id"]: x["confirmed"] for x in h["hypotheses"]}
    assert confirmed["H4"] is False
    assert h["rating"] == ("+" if h["share_confirmed"] >= 0.75 else "-")


def test_dif_flags_the_simulated_item_only(js):
    pf = _scale(js, "PF")["dif"]
    assert pf["flagged"] == ["q05"]
    assert pf["rating"] == "-"
    for sid in ("RP", "GH", "MH", "VT", "RE"):
        assert _scale(js, sid)["dif"]["rating"] == "+", sid
    for sid in ("BP", "SF"):  # two-item scales: DIF not assessed
        assert _scale(js, sid)["dif"]["rating"] == "?"


def test_html_is_self_contained_and_structured(report):
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "http" not in page  # no external src/href (nor any URL at all)
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert "<style>" in page
    assert page.count("<svg") == len(report.to_dict()["scales"]) + 1  # histograms + scree
    for sid in SCALES:
        assert f"<th>{sid}<br>" in page
    for title in (
        "Summary (COSMIN ratings)",
        "Internal consistency",
        "Structural validity",
        "Test–retest reliability",
        "Hypotheses testing",
        "Differential item functioning",
    ):
        assert title in page


def test_cli_writes_html_and_json(tmp_path, data, retest):
    d, r = tmp_path / "data.csv", tmp_path / "retest.csv"
    data.iloc[:800].to_csv(d, index=False)
    retest.to_csv(r, index=False)
    out, js_path = tmp_path / "report.html", tmp_path / "report.json"
    code = main(
        [
            "report",
            str(d),
            "--instrument",
            INSTRUMENT,
            "--retest",
            str(r),
            "--hypotheses",
            str(HYPOTHESES),
            "-o",
            str(out),
            "--json",
            str(js_path),
            "--no-progress",
        ]
    )
    assert code == 0
    content = json.loads(js_path.read_text())
    assert content["n"] == 800 and content["retest"]["n_matched"] == 700  # first 100 dropped
    assert "groups" not in content
    assert _scale(content, "PF")["dif"]["rating"] == "?"
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_cli_errors_are_clear(tmp_path, data, capsys):
    d = tmp_path / "data.csv"
    data.iloc[:50].to_csv(d, index=False)
    code = main(
        [
            "report",
            str(d),
            "--instrument",
            INSTRUMENT,
            "--groups",
            "nope",
            "-o",
            str(tmp_path / "x.html"),
            "--no-progress",
        ]
    )
    assert code == 2
    assert "group column 'nope'" in capsys.readouterr().err
    code = main(
        [
            "report",
            str(d),
            "--instrument",
            INSTRUMENT,
            "--retest",
            str(d),
            "--id-column",
            "missing",
            "-o",
            str(tmp_path / "x.html"),
            "--no-progress",
        ]
    )
    assert code == 2


def test_missing_item_columns_raise(data):
    with pytest.raises(ValueError, match="lacks item column"):
        build_report(data.drop(columns=["q05"]), INSTRUMENT)


def test_floor_ceiling_rule_is_terwee_15_percent():
    # Terwee et al. 2007 (J Clin Epidemiol 60:34): floor/ceiling effects when > 15 % of
    # respondents achieve the lowest or highest possible score.
    from scoring.psychometrics.report import _floor_ceiling

    at_15 = pd.Series([0.0] * 15 + [50.0] * 85)
    at_16 = pd.Series([100.0] * 16 + [50.0] * 84)
    assert _floor_ceiling(at_15, 0, 100)["rating"] == "+"
    assert _floor_ceiling(at_15, 0, 100)["floor_pct"] == pytest.approx(15.0)
    r = _floor_ceiling(at_16, 0, 100)
    assert r["rating"] == "-" and r["ceiling_pct"] == pytest.approx(16.0)
    assert _floor_ceiling(pd.Series([np.nan]), 0, 100)["rating"] == "?"


def test_svg_histogram_and_scree_are_plain_inline_svg():
    from scoring.psychometrics.report import svg_histogram, svg_scree

    hist = svg_histogram(np.array([0, 0, 0, 50, 100.0]), 0, 100, "PF")
    assert hist.startswith("<svg") and hist.endswith("</svg>")
    assert hist.count("<rect") == 20  # wide range: 20 equal bins
    assert "<title>0–5: 3</title>" in hist
    small = svg_histogram(np.array([3, 3, 4, 6.0]), 3, 6, "RE")  # one bar per integer
    assert small.count("<rect") == 4
    assert "<title>2.5–3.5: 2</title>" in small and "<title>4.5–5.5: 0</title>" in small
    scree = svg_scree([3.2, 1.1, 0.5, 0.2])
    assert scree.count("<circle") == 4 and "http" not in hist + scree


def test_retest_ids_must_be_unique(data):
    dup = data.iloc[:20].copy()
    dup.loc[dup.index[1], "id"] = dup["id"].iloc[0]
    with pytest.raises(ValueError, match="repeated ids"):
        build_report(data.iloc[:20], INSTRUMENT, retest=dup)


def _rand_style_algorithm():
    """A test scoring algorithm for ``rand36_like``: RAND-style 0..100 scale scores.

    Items are keyed by the printed RAND-36 form (bench.RAND36_HIGHER_BETTER), rescaled to
    0..100 and averaged when at least half the scale's items are answered.
    """
    from scoring.registry import Algorithm

    codes = {i: frozenset(range(1, k + 1)) for i, k in bench.RAND36_CODES.items()}

    def compute(columns, _value_set):
        out = {}
        for sid, items in bench.RAND36_SCALES.items():
            parts = []
            for i in items:
                k = bench.RAND36_CODES[i]
                x = columns[i] if bench.RAND36_HIGHER_BETTER[i] > 0 else k + 1 - columns[i]
                parts.append(100.0 * (x - 1) / (k - 1))
            m = np.vstack(parts)
            answered = (~np.isnan(m)).sum(axis=0)
            total = np.nansum(m, axis=0)
            mean = np.divide(total, answered, out=np.full(total.shape, np.nan), where=answered > 0)
            out[sid] = np.where(answered * 2 >= len(items), mean, np.nan)
        return out

    return Algorithm(
        instrument_id="rand36_like",
        algorithm_version="test",
        items=tuple(codes),
        scores=tuple(bench.RAND36_SCALES),
        codes=codes,
        compute=compute,
    )


def test_report_uses_score_table_when_the_instrument_has_an_algorithm(monkeypatch, data):
    import scoring.core

    algorithm = _rand_style_algorithm()
    real_get = scoring.core.get
    monkeypatch.setattr(
        scoring.core, "get", lambda i: algorithm if i == "rand36_like" else real_get(i)
    )
    d = data.iloc[:1500].copy()
    d.loc[d.index[:3], "q03"] = 9  # impossible code: the row's scores become missing
    js = build_report(d, str(TEST_INSTRUMENT)).to_dict()
    assert js["invalid_cells"] == 3
    assert js["scoring"].startswith("scoring.score_table")
    expected = scoring.core.score_table("rand36_like", d, errors="blank")
    for sid in SCALES:
        s = _scale(js, sid)
        assert s["score_source"] == "scoring.score_table"
        fc = s["floor_ceiling"]
        # extremes of the test algorithm: 0 and 100 (all items at the worst / best code)
        assert (fc["min_possible"], fc["max_possible"]) == (0.0, 100.0), sid
        x = pd.Series(expected[sid]).dropna()
        assert fc["floor_pct"] == pytest.approx(100 * (x == 0).mean(), abs=1e-9)
        assert fc["ceiling_pct"] == pytest.approx(100 * (x == 100).mean(), abs=1e-9)
    assert _scale(js, "PF")["score"]["n"] == int(pd.Series(expected["PF"]).notna().sum())


def test_numbers_next_to_a_threshold_get_more_digits():
    # alpha 0.9504 is outside Terwee et al.'s (2007) 0.70-0.95; printed as 0.950 it would
    # look like the threshold itself
    from scoring.psychometrics.report import _g, _near

    assert _near(0.9504, (0.70, 0.95)) == "0.9504"
    assert _near(0.69996, (0.70,)) == "0.69996"
    assert _near(0.95, (0.70, 0.95)) == "0.950"
    assert _near(0.8123, (0.70, 0.95)) == "0.812"
    assert _g(-0.4529999999) == "−0.453" and _g(100.0) == "100"


def test_structural_validity_ml_and_strict_rule_on_request(data):
    # the stricter rule used before COSMIN 2018 (CFI > 0.95 and RMSEA < 0.06, Terwee et al.
    # 2007) and ML on the item codes stay available
    rep = build_report(data, INSTRUMENT, cfa_estimator="ML", structural_rule="strict")
    sv = rep.to_dict()["structural_validity"]
    assert sv["estimator"] == "ML" and sv["rule"] == "strict"
    assert "chi2_scaled" not in sv
    assert sv["rating"] == ("+" if sv["cfi"] > 0.95 and sv["rmsea"] < 0.06 else "-")
    assert "CFI > 0.95 and RMSEA < 0.06" in rep.to_dict()["criteria"]["structural_validity"]
    assert "Rating rule: strict" in rep.to_html()
    with pytest.raises(ValueError, match="cfa_estimator"):
        build_report(data, INSTRUMENT, cfa_estimator="GLS")
