"""The report on the register export's layout (``flask --app wsgi export``, docs/export.md).

The export has one row per completed response: meta columns (``pseudonym``, ``response_id``,
``time_point``, ``days_from_index``, ``language`` ...), items as ``<instrument>_<item>`` and
scores as ``<instrument>_<score>``. The column names are taken from the export code itself
(``webapp.services.export.META_COLUMNS`` and ``instrument_columns``), so a change of the
export layout shows up here.

Reference values: pingouin 0.7.0 ``cronbach_alpha`` (independent implementation) on the
rows the report should analyse, selected here with pandas; counts by hand.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest

import instruments
from scoring import score_table
from scoring.psychometrics import build_report
from scoring.psychometrics.__main__ import main

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
_spec = importlib.util.spec_from_file_location(
    "bench_psychometrics", ROOT / "bench" / "psychometrics.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

export = pytest.importorskip("webapp.services.export")


def export_rows(
    instrument_id: str,
    wide: pd.DataFrame,
    *,
    time_point: str,
    days: int,
    first_response_id: int,
    pseudonyms: pd.Series,
    language: pd.Series,
) -> pd.DataFrame:
    """``wide`` (item ids as columns) laid out as the export writes one time point."""
    cols = export.instrument_columns(instrument_id)
    n = len(wide)
    meta = {
        "pseudonym": pseudonyms.to_numpy(),
        "response_id": np.arange(n) + first_response_id,
        "unit": "unit-a",
        "protocol": "p",
        "time_point": time_point,
        "index_year": 2025,
        "days_from_index": days,
        "completed_month": "2025-06",
        "instrument_version": "1.0",
        "language": language.to_numpy(),
        "mode": "self",
    }
    assert list(meta) == [name for name, _, _ in export.META_COLUMNS]
    scores = score_table(instrument_id, wide[list(cols.items)], errors="blank")
    frame = pd.DataFrame(meta)
    for item in cols.items:
        frame[cols.item_column(item)] = wide[item].to_numpy(float)
    for s in cols.scores:
        frame[cols.score_column(s)] = scores[s]
    assert list(frame.columns) == cols.names
    return frame


@pytest.fixture(scope="module")
def rand36_export() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Baseline (800), a 14-day retest (700 of them) and 3 months (500), long format."""
    base = bench.simulate_rand36(800, seed=61, dif_item="q05")
    rng = np.random.default_rng(62)
    ids = pd.Series([f"P{i:05d}" for i in range(800)])
    language = pd.Series(np.where(base["sex"] == "male", "nn", "nb"))
    retest = base.copy()
    for c in [f"q{i:02d}" for i in range(1, 37)]:
        move = rng.random(800) < 0.1
        k = bench.RAND36_CODES[c]
        retest[c] = np.where(move, np.clip(retest[c] + rng.choice([-1, 1], 800), 1, k), retest[c])
    later = bench.simulate_rand36(800, seed=63)
    parts = [
        export_rows(
            "rand36",
            base,
            time_point="baseline",
            days=-3,
            first_response_id=1,
            pseudonyms=ids,
            language=language,
        ),
        export_rows(
            "rand36",
            retest.iloc[100:],
            time_point="retest",
            days=11,
            first_response_id=5001,
            pseudonyms=ids.iloc[100:],
            language=language.iloc[100:],
        ),
        export_rows(
            "rand36",
            later.iloc[:500],
            time_point="3m",
            days=92,
            first_response_id=9001,
            pseudonyms=ids.iloc[:500],
            language=language.iloc[:500],
        ),
    ]
    long = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=4)
    return long, base, retest


def test_export_items_time_point_and_pseudonym_are_recognised(rand36_export):
    long, base, _ = rand36_export
    js = build_report(long, "rand36").to_dict()
    assert js["n"] == 800  # the baseline rows only
    inp = js["input"]
    assert inp["item_prefix"] == "rand36_"
    assert inp["time_point"] == "baseline" and inp["time_points"] == {
        "baseline": 800,
        "retest": 700,
        "3m": 500,
    }
    assert "earliest" in inp["time_point_rule"]
    assert any("several time points" in n for n in inp["notes"])
    for sid in ("PF", "MH"):
        s = next(x for x in js["scales"] if x["id"] == sid)
        items = base[s["items"]].astype(float)
        for c in s["reversed_items"]:
            items[c] = 1 + bench.RAND36_CODES[c] - items[c]
        expected = pingouin.cronbach_alpha(items, nan_policy="listwise")[0]
        assert s["internal_consistency"]["alpha"]["value"] == pytest.approx(expected, abs=1e-9)


def test_chosen_time_point_and_retest_from_the_same_file(rand36_export):
    long, _, retest = rand36_export
    js = build_report(long, "rand36", time_point="retest", groups="language").to_dict()
    assert js["n"] == 700 and js["input"]["time_point"] == "retest"
    assert (
        js["groups"]["counts"]
        == retest.iloc[100:]["sex"].map({"male": "nn", "female": "nb"}).value_counts().to_dict()
    )
    js = build_report(long, "rand36", retest_time_point="retest").to_dict()
    assert js["retest"]["id_column"] == "pseudonym"
    assert js["retest"]["n_matched"] == 700 and js["retest"]["input"]["time_point"] == "retest"
    pf = next(x for x in js["scales"] if x["id"] == "PF")["test_retest"]
    assert pf["n"] == 700 and pf["rating"] in {"+", "-"}
    with pytest.raises(ValueError, match="same time point"):
        build_report(long, "rand36", retest_time_point="baseline")
    with pytest.raises(ValueError, match="no rows at time point '6m'"):
        build_report(long, "rand36", time_point="6m")
    with pytest.raises(ValueError, match="several time points"):
        build_report(long, "rand36", retest=long)


def test_repeated_responses_keep_the_first(rand36_export):
    long, _, _ = rand36_export
    base = long[long["time_point"] == "baseline"]
    again = base.iloc[:5].copy()
    again["response_id"] += 100_000
    again["rand36_q03"] = 1.0
    js = build_report(pd.concat([long, again]), "rand36", time_point="baseline").to_dict()
    assert js["n"] == 800 and js["input"]["duplicates_dropped"] == 5


def test_other_instrument_versions_are_left_out(rand36_export):
    long, _, _ = rand36_export
    old = long[long["time_point"] == "baseline"].iloc[:30].copy()
    old["instrument_version"] = "0.9"
    old["pseudonym"] = old["pseudonym"] + "-old"
    js = build_report(pd.concat([long, old]), "rand36", time_point="baseline").to_dict()
    assert js["n"] == 800 and js["input"]["version_rows_dropped"] == 30
    assert js["input"]["versions"] == {"1.0": 800, "0.9": 30}


def test_cli_on_an_export_csv(tmp_path, rand36_export, capsys):
    long, _, _ = rand36_export
    path = tmp_path / "rand36.csv"
    long.to_csv(path, index=False)
    out, js_path = tmp_path / "r.html", tmp_path / "r.json"
    code = main(
        [
            "report",
            str(path),
            "--instrument",
            "rand36",
            "--time-point",
            "baseline",
            "--retest-time-point",
            "retest",
            "--groups",
            "language",
            "-o",
            str(out),
            "--json",
            str(js_path),
            "--no-progress",
        ]
    )
    assert code == 0
    js = json.loads(js_path.read_text())
    assert js["n"] == 800 and js["retest"]["n_matched"] == 700
    assert next(s for s in js["scales"] if s["id"] == "PF")["dif"]["flagged"] == ["q05"]
    assert "time point <b>baseline</b>" in out.read_text()
    assert "item columns rand36_<item>" in capsys.readouterr().err


def test_instrument_without_scales_is_reported_on_its_scores():
    # EQ-5D-5L defines no multi-item scale: the report rates its numeric scores
    rng = np.random.default_rng(8)
    n = 400
    wide = pd.DataFrame(
        {d: rng.choice([1, 1, 1, 2, 3, 4, 5], n) for d in ("MO", "SC", "UA", "PD", "AD")}
    )
    wide["VAS"] = rng.integers(0, 101, n)
    ids = pd.Series([f"E{i}" for i in range(n)])
    frame = export_rows(
        "eq5d5l",
        wide,
        time_point="baseline",
        days=0,
        first_response_id=1,
        pseudonyms=ids,
        language=pd.Series(["nb"] * n),
    )
    frame["instrument_version"] = "EQ-5D-5L Norwegian 1.0"
    js = build_report(frame, "eq5d5l", groups="language").to_dict()
    assert [s["id"] for s in js["scales"]] == ["index", "vas"]
    index = js["scales"][0]
    profile_11111 = (wide[["MO", "SC", "UA", "PD", "AD"]] == 1).all(axis=1).mean() * 100
    assert index["floor_ceiling"]["max_possible"] == pytest.approx(1.0)
    assert index["floor_ceiling"]["ceiling_pct"] == pytest.approx(profile_11111)
    vas = js["scales"][1]["floor_ceiling"]
    assert (vas["min_possible"], vas["max_possible"]) == (0.0, 100.0)
    assert vas["ceiling_pct"] == pytest.approx((wide["VAS"] == 100).mean() * 100)
    for s in js["scales"]:
        assert s["internal_consistency"]["rating"] == "?"
        assert s["dif"]["rating"] == "?"


def test_report_runs_on_the_demo_export(app, tmp_path):
    """End to end: demo register -> export -> report on every exported instrument (CSV),
    and on the Parquet, SPSS and Stata files of one of them (the same numbers)."""
    demo = pytest.importorskip("webapp.services.demo")
    with app.app_context():
        demo.create_demo()
        result = export.export_register("demo-register", tmp_path)
    # one file per instrument; adaptive_steps.csv is the steps table, not an instrument
    files = sorted(p for p in tmp_path.glob("*.csv") if p.stem != "adaptive_steps")
    if not files:
        pytest.skip("the demo register has no completed responses to export")
    for path in files:
        iid = path.stem
        out = tmp_path / f"{iid}.json"
        code = main(
            [
                "report",
                str(path),
                "--instrument",
                iid,
                "--groups",
                "language",
                "-o",
                str(tmp_path / f"{iid}.html"),
                "--json",
                str(out),
                "--no-progress",
            ]
        )
        assert code == 0, iid
        js = json.loads(out.read_text())
        frame = pd.read_csv(path)
        first = frame.groupby("time_point")["days_from_index"].median().idxmin()
        assert js["input"]["time_point"] == first, iid
        assert js["n"] == frame.loc[frame["time_point"] == first, "pseudonym"].nunique(), iid
        assert result.rows[iid] == len(frame)
        for s in js["scales"]:
            if instruments.load(iid).kind == "item-bank":
                # an adaptive test asks a few items of the bank: no response has the whole
                # classical scale, so floor/ceiling has no data (its IRT score is exported)
                assert s["floor_ceiling"]["n"] == 0 and s["floor_ceiling"]["rating"] == "?"
                continue
            assert s["floor_ceiling"]["rating"] in {"+", "-"}, (iid, s["id"])
    iid = files[0].stem
    numbers = []
    for fmt in ("csv", "parquet", "sav", "dta"):
        out = tmp_path / f"{iid}-{fmt}.json"
        args = ["report", str(tmp_path / f"{iid}.{fmt}"), "--instrument", iid]
        assert (
            main([*args, "-o", str(tmp_path / "x.html"), "--json", str(out), "--no-progress"]) == 0
        ), fmt
        js = json.loads(out.read_text())
        numbers.append([js["n"]] + [s["floor_ceiling"]["floor_pct"] for s in js["scales"]])
    assert all(row == pytest.approx(numbers[0], abs=1e-12) for row in numbers)


def test_followup_time_point_gives_responsiveness(rand36_export):
    # ES = mean change / SD baseline (Kazis et al. 1989), SRM = mean change / SD change
    # (Liang et al. 1990), computed here with pandas on RAND scores from scoring.score_table
    long, _, _ = rand36_export
    js = build_report(long, "rand36", followup_time_point="3m").to_dict()
    assert js["followup"]["n_matched"] == 500 and js["followup"]["id_column"] == "pseudonym"
    items = [f"q{i:02d}" for i in range(1, 37)]

    def pf(tp: str) -> pd.Series:
        rows = long[long["time_point"] == tp].set_index("pseudonym")
        table = rows[[f"rand36_{i}" for i in items]].set_axis(items, axis=1)
        return pd.Series(score_table("rand36", table, errors="blank")["PF"], index=rows.index)

    pair = pd.concat([pf("baseline"), pf("3m")], axis=1, keys=["b", "f"]).dropna()
    change = pair["f"] - pair["b"]
    r = next(s for s in js["scales"] if s["id"] == "PF")["responsiveness"]
    assert r["n"] == len(pair) and r["rating"] == "?"
    assert r["effect_size"]["value"] == pytest.approx(change.mean() / pair["b"].std(), abs=1e-12)
    assert r["srm"]["value"] == pytest.approx(change.mean() / change.std(), abs=1e-12)
    page = build_report(long, "rand36", followup_time_point="3m").to_html()
    assert "Responsiveness (distribution-based, not rated)" in page


def test_other_instruments_export_files_are_merged_for_hypotheses(rand36_export, tmp_path):
    # convergent validity across instruments: RAND-36 PF against the EQ-5D-5L index of the
    # same patients at the same time point (the export writes one file per instrument).
    # Expected: Spearman r from scipy on the rows matched here with pandas.
    from scipy import stats

    long, base, _ = rand36_export
    rng = np.random.default_rng(12)
    ids = pd.Series([f"P{i:05d}" for i in range(800)])
    wide = pd.DataFrame({d: rng.integers(1, 6, 800) for d in ("MO", "SC", "UA", "PD", "AD")})
    wide["VAS"] = rng.integers(0, 101, 800)
    eq = pd.concat([
        export_rows("eq5d5l", wide.iloc[50:], time_point="baseline", days=-3,
                    first_response_id=20001, pseudonyms=ids.iloc[50:],
                    language=pd.Series(["nb"] * 750)),
        export_rows("eq5d5l", wide, time_point="3m", days=90, first_response_id=30001,
                    pseudonyms=ids, language=pd.Series(["nb"] * 800)),
    ])  # fmt: skip
    spec = [{"id": "H1", "x": "PF", "y": "eq5d5l_index", "expected": "> -1"}]
    js = build_report(long, "rand36", merge=[eq], hypotheses=spec).to_dict()
    assert any("750 of 800 rows matched at time point 'baseline'" in n
               for n in js["input"]["notes"])  # fmt: skip
    pf = pd.Series(score_table("rand36", base, errors="blank")["PF"], index=ids.to_numpy())
    index = eq[eq["time_point"] == "baseline"].set_index("pseudonym")["eq5d5l_index"]
    pair = pd.concat([pf, index], axis=1, keys=["pf", "index"]).dropna()
    h = js["hypotheses"]["hypotheses"][0]["estimate"]
    assert h["n"] == len(pair) == 750
    assert h["value"] == pytest.approx(stats.spearmanr(pair["pf"], pair["index"])[0], abs=1e-12)
    path = tmp_path / "eq5d5l.csv"
    eq.to_csv(path, index=False)
    long.to_csv(tmp_path / "rand36.csv", index=False)
    hyp = tmp_path / "h.yaml"
    hyp.write_text("hypotheses:\n  - {x: PF, y: eq5d5l_index, expected: '> -1'}\n")
    out = tmp_path / "r.json"
    assert main(["report", str(tmp_path / "rand36.csv"), "--instrument", "rand36", "--merge",
                 str(path), "--hypotheses", str(hyp), "-o", str(tmp_path / "r.html"),
                 "--json", str(out), "--no-progress"]) == 0  # fmt: skip
    assert json.loads(out.read_text())["hypotheses"]["hypotheses"][0]["estimate"]["n"] == 750


def test_meta_columns_are_the_exports():
    # scoring may not import webapp (tests/test_architecture.py), so tables.py keeps its
    # own copy of the export's meta column names; it must stay the same list
    from scoring.psychometrics.tables import META_COLUMNS

    assert list(META_COLUMNS) == [name for name, _, _ in export.META_COLUMNS]
