"""RAND-36 against published values: RAND's Table 1 item by item, and a published worked
example of a scale with an unanswered item.

Sources (the expected values are typed from these, never computed with openprom):

- [RAND] RAND Health, "Scoring Instructions for the 36-Item Short Form Survey (SF-36)",
  RAND 36-Item Health Survey 1.0, Table 1 ("Step 1: Recoding Items": original response
  category -> recoded value) and Table 2 ("Step 2: Averaging Items to Form Scales").
- [CHIRO] "Scoring the RAND SF-36-Item Health Survey 1.0", from Measuring Functional
  Health Status in the Chiropractic Office Using Self-Report Questionnaires, Top Clin
  Chiropr 1994;1(1):51-59 (reproduced at chiro.org/LINKS/How_to_score_the_SF-36.shtml):
  "If a patient circled 4 on 23, 3 on 27, 3 on 29 and left 31 blank ... 40+60+40 = 140.
  Now we divide by the 3 answered questions to get a total of 46.7."
"""

import numpy as np
import pytest

from scoring import get, score
from scoring.core import prepare
from scoring.rand36 import compute

# [RAND] Table 1, typed row by row: item numbers -> recoded value of response 1, 2, ...
TABLE_1 = [
    ((1, 2, 20, 22, 34, 36), (100, 75, 50, 25, 0)),
    ((3, 4, 5, 6, 7, 8, 9, 10, 11, 12), (0, 50, 100)),
    ((13, 14, 15, 16, 17, 18, 19), (0, 100)),
    ((21, 23, 26, 27, 30), (100, 80, 60, 40, 20, 0)),
    ((24, 25, 28, 29, 31), (0, 20, 40, 60, 80, 100)),
    ((32, 33, 35), (0, 25, 50, 75, 100)),
]
# [RAND] Table 2: items averaged into each scale (item 2 is the health transition item)
TABLE_2 = {
    "PF": (3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    "RP": (13, 14, 15, 16),
    "RE": (17, 18, 19),
    "VT": (23, 27, 29, 31),
    "MH": (24, 25, 26, 28, 30),
    "SF": (20, 32),
    "BP": (21, 22),
    "GH": (1, 33, 34, 35, 36),
}
CASES = [
    (item, code, value)
    for items, values in TABLE_1
    for item in items
    for code, value in enumerate(values, start=1)
]


def _scale_of(item: int) -> str:
    if item == 2:
        return "HT"
    return next(name for name, items in TABLE_2.items() if item in items)


def test_table_1_covers_every_item_once():
    items = [i for row, _ in TABLE_1 for i in row]
    assert sorted(items) == list(range(1, 37))
    assert sorted(i for row in TABLE_2.values() for i in row) == [1, *range(3, 37)]


@pytest.mark.parametrize(("item", "code", "value"), CASES)
def test_table_1_recode(item, code, value):
    # Only this item answered: under RAND's own rule (mean of the answered items) the
    # scale is that item's recoded value; the health transition item is scored alone.
    answers = {f"q{i:02d}": np.array([np.nan]) for i in range(1, 37)}
    answers[f"q{item:02d}"] = np.array([float(code)])
    columns, errors, _ = prepare(get("rand36"), answers)
    assert errors == []
    result = compute(columns, None, missing_rule="any")
    assert result[_scale_of(item)][0] == value


@pytest.mark.parametrize(("scale", "items"), list(TABLE_2.items()))
def test_table_2_scale_is_the_mean_of_its_items(scale, items):
    # [RAND] Table 2 with every item of the scale at its first response category: the scale
    # is the mean of the items' Table 1 values for response 1 (e.g. GH: 100, 0, 100, 0, 100).
    first = {i: values[0] for row, values in TABLE_1 for i in row}
    answers = {f"q{i:02d}": 1 for i in range(1, 37)}
    expected = sum(first[i] for i in items) / len(items)
    assert score("rand36", answers)[scale] == pytest.approx(expected)


def test_chiro_energy_fatigue_with_one_item_blank():
    # [CHIRO] items 23 = 4 (-> 40), 27 = 3 (-> 60), 29 = 3 (-> 40), 31 blank: 140 / 3 = 46.7.
    # Three of four items answered also satisfies openprom's half rule.
    answers = {f"q{i:02d}": 1 for i in range(1, 37)}
    answers.update(q23=4, q27=3, q29=3, q31=None)
    assert score("rand36", answers)["VT"] == pytest.approx(46.7, abs=0.05)
    columns, _, _ = prepare(get("rand36"), {k: np.array([np.nan if v is None else v])
                                            for k, v in answers.items()})  # fmt: skip
    assert compute(columns, None, missing_rule="any")["VT"][0] == pytest.approx(46.7, abs=0.05)
