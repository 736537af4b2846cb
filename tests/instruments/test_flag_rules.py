"""Flag rules in the instrument files (instruments/flags.py).

The thresholds are the ones issue #12 asks for: EQ-5D-5L anxiety/depression at level 4
("severely") or 5 ("extremely") (EQ-5D-5L descriptive system, EuroQol user guide 2019);
CAT item 6 (confidence leaving home) and item 7 (sleep) at 4 or 5 on the 0-5 row (CAT
item order as printed on the official form, Jones et al. 2009 Eur Respir J 34:648).
"""

import pytest

from instruments import flags


def test_bundled_rules_point_at_the_printed_items():
    assert [(r.item, r.at_least) for r in flags.rules("eq5d5l")] == [("AD", 4)]
    assert [(r.item, r.at_least) for r in flags.rules("cat")] == [("q06", 4), ("q07", 4)]
    assert flags.rules("odi") == ()  # no rules: nothing flagged
    assert flags.rules("no-such-instrument") == ()


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"AD": 3}, []),  # moderately anxious: not flagged
        ({"AD": 4}, [4]),  # severely: flagged
        ({"AD": 5, "MO": 5}, [5]),  # only AD has a rule
        ({"AD": None}, []),  # unanswered never flags
        ({}, []),
    ],
)
def test_eq5d_anxiety_depression_threshold(answers, expected):
    assert [f.code for f in flags.flagged("eq5d5l", answers)] == expected


def test_cat_sleep_and_confidence():
    found = flags.flagged("cat", {"q05": 5, "q06": 4, "q07": 5, "q08": 5})
    assert [(f.rule.item, f.code) for f in found] == [("q06", 4), ("q07", 5)]
    assert "trygg" in found[0].reason("nb") and "confident" in found[0].reason("en")
    assert found[1].reason("nn") == found[1].reason("nb")  # the file has no nynorsk
    assert flags.flagged("cat", {"q06": 3, "q07": 3}) == []


def test_rule_errors_name_the_file_and_item():
    data = {"languages": ["nb", "en"], "items": [{"id": "q01"}]}
    bad_item = {**data, "flags": [{"item": "q09", "at_least": 4, "reason": {"nb": "x", "en": "y"}}]}
    with pytest.raises(flags.FlagRuleError, match="f.yaml: flag names unknown item 'q09'"):
        flags.rules_from(bad_item, "f.yaml")
    no_en = {**data, "flags": [{"item": "q01", "at_least": 4, "reason": {"nb": "x"}}]}
    with pytest.raises(flags.FlagRuleError, match="no reason in en"):
        flags.rules_from(no_en, "f.yaml")
