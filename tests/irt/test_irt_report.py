"""The IRT calibration report (python -m scoring.psychometrics irt ...)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.irt import fit
from scoring.irt.simulate import random_items, simulate
from scoring.psychometrics.__main__ import main


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    rng = np.random.default_rng(21)
    data, _ = simulate(random_items(6, 4, rng), 600, rng)
    data["grp"] = np.where(rng.random(600) < 0.5, "x", "y")
    data["id"] = np.arange(600)
    path = tmp_path_factory.mktemp("irt") / "answers.csv"
    data.to_csv(path, index=False)
    return path, data


def test_cli_report(csv_file, tmp_path):
    path, data = csv_file
    out, js = tmp_path / "irt.html", tmp_path / "irt.json"
    args = ["irt", str(path), "--groups", "grp", "-o", str(out), "--json", str(js)]
    assert main(args) == 0
    report = json.loads(js.read_text())
    items = [f"item{i}" for i in range(1, 7)]
    # the id and groups columns are not items
    assert [r["item"] for r in report["items"]] == items
    direct = fit(data[items], "grm")
    np.testing.assert_allclose([r["a"] for r in report["items"]], direct.params["a"], rtol=1e-6)
    assert all(r["se_a"] > 0 for r in report["items"])
    assert len(report["item_fit"]) == 6 and all(r["df"] > 0 for r in report["item_fit"])
    assert report["dif"]["flagged"] == []  # groups drawn at random: no DIF
    page = out.read_text()
    assert "<svg" in page and "Test information" in page and "<script" not in page


def test_cli_bad_columns(csv_file, tmp_path, capsys):
    path, _ = csv_file
    out = tmp_path / "x.html"
    assert main(["irt", str(path), "--items", "item1,nope", "-o", str(out)]) == 2
    assert "no such columns" in capsys.readouterr().err
    assert main(["irt", str(path), "--groups", "sex", "-o", str(out)]) == 2
    assert not out.exists()
