"""``python -m scoring.psychometrics report ... --cfa-estimator ... --structural-rule ...``.

The options must reach the CFA: the structural-validity numbers in the JSON written by the
command line are checked against lavaan 0.6-14 (``cfa(std.lv = TRUE)`` for ML and
``cfa(..., ordered = TRUE)`` = WLSMV) on ``psych::bfi`` (data/bfi_report_data.csv), the
values stored by data/make_report_reference.R in data/report_reference_r.json. The ratings
follow COSMIN 2018 (Mokkink et al. 2018, user manual p. 28: CFI or TLI > 0.95, or RMSEA <
0.06, or SRMR < 0.08) and the stricter rule (CFI > 0.95 and RMSEA < 0.06; Terwee et al.
2007). On bfi, lavaan's ML fit has SRMR 0.0753 < 0.08 but CFI 0.78 and RMSEA 0.078, so the
two rules give different ratings: "+" and "-".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.psychometrics.__main__ import main

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
CSV = DATA / "bfi_report_data.csv"
INSTRUMENT = DATA / "bfi25_instrument.yaml"
TOLERANCE = 5e-4  # the report's R-agreement tolerance (test_report_r_agreement.py)
REF = json.loads((DATA / "report_reference_r.json").read_text())["bfi"]


def _args(tmp_path: Path, *options: str) -> list[str]:
    return [
        "report",
        str(CSV),
        "--instrument",
        str(INSTRUMENT),
        *options,
        "-o",
        str(tmp_path / "report.html"),
        "--json",
        str(tmp_path / "report.json"),
        "--no-progress",
    ]


def _close(ours: dict, ref: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        assert ours[key] == pytest.approx(ref[key], abs=TOLERANCE), key


def test_subprocess_ml_with_cosmin2018_rule(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "scoring.psychometrics"]
        + _args(tmp_path, "--cfa-estimator", "ML", "--structural-rule", "cosmin2018"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stderr
    js = json.loads((tmp_path / "report.json").read_text())
    sv = js["structural_validity"]
    assert sv["estimator"] == "ML" and sv["rule"] == "cosmin2018"
    assert js["structural_validity_rule"] == "cosmin2018"
    assert "chi2_scaled" not in sv  # ML: no scaled test
    _close(sv, REF["cfa"], ("chi2", "cfi", "tli", "rmsea", "srmr"))
    assert sv["df"] == REF["cfa"]["df"]
    assert sv["rating"] == "+"  # SRMR 0.0753 < 0.08 is enough under COSMIN 2018
    page = (tmp_path / "report.html").read_text()
    assert "Estimator: estimator ML (requested). Rating rule: COSMIN 2018: CFI or TLI" in page


def test_main_wlsmv_with_strict_rule(tmp_path):
    code = main(_args(tmp_path, "--cfa-estimator", "WLSMV", "--structural-rule", "strict"))
    assert code == 0
    js = json.loads((tmp_path / "report.json").read_text())
    sv = js["structural_validity"]
    assert sv["estimator"] == "WLSMV" and sv["rule"] == "strict"
    assert js["structural_validity_rule"] == "strict"
    ref = REF["cfa_wlsmv"]
    _close(sv, ref, ("chi2", "srmr"))
    assert sv["df"] == ref["df"]
    for lav, ours in (
        ("chisq.scaled", "chi2_scaled"),
        ("cfi.scaled", "cfi_scaled"),
        ("tli.scaled", "tli_scaled"),
        ("rmsea.scaled", "rmsea_scaled"),
    ):
        assert sv[ours] == pytest.approx(ref["scaled"][lav], abs=TOLERANCE), ours
    assert sv["judged"]["scaled"] is True
    assert sv["rating"] == "-"  # scaled CFI 0.82, RMSEA 0.095
    assert "CFI > 0.95 and RMSEA < 0.06" in js["criteria"]["structural_validity"]


@pytest.mark.parametrize(
    ("option", "value"), [("--cfa-estimator", "GLS"), ("--structural-rule", "lenient")]
)
def test_unknown_choices_are_refused(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exc:
        main(_args(tmp_path, option, value))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: invalid choice: '{value}'" in err
    assert not (tmp_path / "report.html").exists()
