"""cat-sim: simulated adaptive testing on an item bank (CLI and numbers)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.irt.bank import BANKS_DIR, load_bank
from scoring.irt.cat import CatSettings
from scoring.irt.catsim import simulate_cat
from scoring.psychometrics.__main__ import main

DEMO = BANKS_DIR / "demo-physical-function.yaml"


def test_cli_writes_html_and_json(tmp_path):
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    code = main(
        ["cat-sim", str(DEMO), "--n", "400", "--seed", "1", "--json", str(js), "-o", str(out)]
    )
    assert code == 0
    data = json.loads(js.read_text())
    html = out.read_text()
    assert "<svg" in html and "Item exposure" in html and "<script" not in html
    used = data["items_used"]
    assert sum(used["distribution"].values()) == 400
    assert 4 <= used["min"] <= used["mean"] <= used["max"] <= 12
    # identity: the exposure rates add up to the mean test length
    assert sum(data["exposure"]["by_item"].values()) == pytest.approx(used["mean"])
    assert data["settings"]["stop_se"] == 0.3 and data["settings"]["select"] == "max_info"
    # every simulee stops at SE <= 0.3 unless 12 items were not enough
    assert data["se_reached"]["share_at_or_below_stop_se"] > 0.9
    assert data["vs_full_bank"]["correlation"] > 0.9


def test_same_seed_same_report():
    _, bank = load_bank(DEMO)
    a = simulate_cat(bank, 200, 7, CatSettings()).to_dict()
    b = simulate_cat(bank, 200, 7, CatSettings()).to_dict()
    assert a == b


def test_whole_bank_cat_equals_full_bank():
    # With no early stop and every item given, the adaptive EAP uses the same answers
    # as the full-bank EAP, so the two agree exactly (order of answers is irrelevant to
    # the posterior).
    _, bank = load_bank(DEMO)
    settings = CatSettings(stop_se=1e-6, max_items=40, min_items=40, exposure="none")
    data = simulate_cat(bank, 100, 3, settings).to_dict()
    assert data["items_used"]["min"] == 40
    assert data["vs_full_bank"]["rmse"] < 1e-9
    assert np.isclose(data["exposure"]["max"], 1.0)


def test_bad_input_exit_code(tmp_path, capsys):
    assert main(["cat-sim", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "x.html")]) == 2
    assert "file not found" in capsys.readouterr().err
    fixed_form = BANKS_DIR.parent / "odi.yaml"
    assert main(["cat-sim", str(fixed_form), "-o", str(tmp_path / "x.html")]) == 2
    assert "not an item bank" in capsys.readouterr().err
    args = ["cat-sim", str(DEMO), "--min-items", "9", "--max-items", "3", "-o", "x.html"]
    assert main(args) == 2
    assert not (tmp_path / "x.html").exists()
