"""Item banks as instrument files (kind: item-bank) and the shipped synthetic bank."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from instruments.loader import InstrumentError, definition_files, load_file, parse
from scoring.irt.bank import BANKS_DIR, bank_from_instrument, load_bank, score_answers
from scoring.irt.cat import CatSettings, estimate, next_item

DEMO = BANKS_DIR / "demo-physical-function.yaml"


def _raw() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def test_demo_bank_loads_and_is_labelled_synthetic():
    instrument, bank = load_bank(DEMO)
    assert instrument.kind == "item-bank"
    assert instrument.irt is not None and instrument.irt.synthetic
    assert "synthetic" in instrument.title.get_text("en").lower()
    assert "syntetisk" in instrument.title.get_text("nb").lower()
    assert instrument.irt.model == "grm"
    assert instrument.irt.n == 3000
    assert len(bank.item_ids) == 40 == len(instrument.item_ids)
    assert all(codes == (1, 2, 3, 4, 5) for codes in bank.codes)
    assert np.all(bank.items.a > 0)
    assert np.all(np.diff(bank.items.b, axis=1) > 0)
    # the T-score transform of the file: 50 + 10 theta
    assert instrument.irt.transform(0.0) == 50.0 and instrument.irt.transform(-1.5) == 35.0


def test_item_banks_are_not_fixed_form_instruments():
    # banks live in instruments/banks/, outside the bundled fixed-form instruments
    assert DEMO not in definition_files()


def test_parameters_are_part_of_the_content_hash():
    data = _raw()
    original = parse(yaml.safe_dump(data, allow_unicode=True), "a.yaml").content_hash
    data["irt"]["params"]["pf01"]["a"] += 0.01
    changed = parse(yaml.safe_dump(data, allow_unicode=True), "b.yaml").content_hash
    assert original == load_file(DEMO).content_hash
    assert original != changed


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["irt"]["params"].pop("pf07"), "pf07: item bank item has no IRT parameters"),
        (
            lambda d: d["irt"]["params"]["pf02"].update(b=[0.1, 0.2, 0.3]),
            "3 thresholds but 5 options",
        ),
        (
            lambda d: d["irt"]["params"]["pf03"].update(b=[0.1, 0.0, 0.3, 0.4]),
            "thresholds must increase",
        ),
        (lambda d: d["irt"]["params"]["pf04"].update(a=-1.0), "slope a must be positive"),
        (
            lambda d: d["irt"]["params"].update(zz1={"a": 1.0, "b": [0, 1, 2, 3]}),
            "not a choice item of the bank",
        ),
        (lambda d: d.pop("irt"), "needs an irt block"),
        (lambda d: d.update(kind="prom"), "only an item bank"),
        (lambda d: d["irt"].update(model="3pl"), "'3pl' is not one of"),
    ],
)
def test_invalid_banks_are_refused(edit, message):
    data = _raw()
    edit(data)
    with pytest.raises(InstrumentError, match=message):
        parse(yaml.safe_dump(data, allow_unicode=True), "bank.yaml")


def test_a_fixed_form_instrument_is_not_a_bank():
    instrument = next(load_file(p) for p in definition_files())
    with pytest.raises(ValueError, match="not an item bank"):
        bank_from_instrument(instrument)


def test_demo_bank_runs_an_adaptive_test():
    # a respondent who answers "Easily" (code 5) to everything ends with a high theta
    _, bank = load_bank(DEMO)
    rng = np.random.default_rng(0)
    settings = CatSettings(stop_se=0.3, max_items=12, min_items=4)
    answers: list = []
    while (item := next_item(bank, answers, rng, settings)) is not None:
        answers.append((item, 5))
    est = estimate(bank, answers, settings)
    assert 4 <= len(answers) <= 12
    assert est.theta > 1.0


def test_score_answers_gives_theta_and_t_score():
    # T = 50 + 10 theta (the file's transform); SE scales by 10. Nothing answered:
    # the prior, theta 0 (T 50) and SE 1 (T 10).
    instrument, bank = load_bank(DEMO)
    answers = {"pf03": 5, "pf16": 4, "pf27": 2}
    scored = score_answers(instrument, answers)
    est = estimate(bank, list(answers.items()))
    assert scored["theta"] == est.theta and scored["n_items"] == 3
    assert scored["score"] == pytest.approx(50 + 10 * est.theta)
    assert scored["score_se"] == pytest.approx(10 * est.se)
    empty = score_answers(instrument, {})
    assert empty["score"] == pytest.approx(50.0, abs=1e-9)
    assert empty["score_se"] == pytest.approx(10.0, abs=1e-3)
    with pytest.raises(ValueError, match="not one of its codes"):
        score_answers(instrument, {"pf01": 9})
