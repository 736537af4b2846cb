"""GS-PEQ item scores.

Source: Sjetne IS et al. BMC Health Serv Res 2011;11:88 (Table 3, the ten core items): items
answered on their printed categories (extent 1 "not at all" .. 5 "to a very large extent";
item 7, waiting, 1 "no" .. 4 "yes, far too long", as in instruments/gspeq.yaml) and 9 "not
applicable"; no summary index is defined, results are reported per item.
"""

import numpy as np
import pytest

from scoring import ScoringInputError, score, score_table

ITEMS = [f"q{i:02d}" for i in range(1, 11)]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"q01": 1}, {"q01": 1.0}),  # "not at all" -> 1
        ({"q02": 5}, {"q02": 5.0}),  # "to a very large extent" -> 5
        ({"q03": 3}, {"q03": 3.0}),
        ({"q04": 9}, {"q04": None}),  # "not applicable" is no score, never 0 or 9
        ({"q05": None}, {"q05": None}),  # unanswered
        ({"q07": 4}, {"q07": 4.0}),  # waiting "far too long": reported as answered (4 = worst)
        ({"q10": 1}, {"q10": 1.0}),
        ({"q08": 4, "q09": 9}, {"q08": 4.0, "q09": None}),
    ],
)
def test_gspeq_item_scores(answers, expected):
    result = score("gspeq", answers)
    assert set(result) == set(ITEMS)
    for item, value in expected.items():
        assert result[item] == value


@pytest.mark.parametrize("bad", [0, 6, 8, 10])
def test_gspeq_rejects_codes_outside_1_5_and_9(bad):
    with pytest.raises(ScoringInputError, match="allowed 1, 2, 3, 4, 5, 9"):
        score("gspeq", {"q01": bad})


def test_gspeq_waiting_item_has_four_categories():
    # q07 "Did you have to wait...": No / Yes, but not long / Yes, quite long / Yes, far too
    # long (+ 9 not applicable); a 5 is not on the form.
    assert score("gspeq", {"q07": 9})["q07"] is None
    with pytest.raises(ScoringInputError, match="allowed 1, 2, 3, 4, 9"):
        score("gspeq", {"q07": 5})


def test_gspeq_table():
    table = {"q01": np.array([1, 9, np.nan]), "q02": np.array([2, 3, 4])}
    result = score_table("gspeq", table)
    np.testing.assert_array_equal(result["q01"], [1.0, np.nan, np.nan])
    np.testing.assert_array_equal(result["q02"], [2.0, 3.0, 4.0])


def test_gspeq_codes_match_definition_file():
    # The instrument file (instruments/gspeq.yaml) is written separately; when it exists its
    # item ids and codes must agree with the scoring algorithm.
    instruments = pytest.importorskip("instruments")
    try:
        definition = instruments.load("gspeq")
    except KeyError:
        pytest.skip("instruments/gspeq.yaml not there yet")
    from scoring import get

    algorithm = get("gspeq")
    choice_items = {i.id: i for i in definition.items if i.options}
    assert set(choice_items) == set(algorithm.items)
    for item_id, item in choice_items.items():
        assert {o.code for o in item.options} == set(algorithm.codes[item_id])
        assert {o.code for o in item.options if o.not_applicable} == {9}
