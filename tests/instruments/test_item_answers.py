"""The item types beyond choice/integer: how answers are validated and normalised.

Expected values follow the representation written down in ``Item.validate_answer``
(and docs/instrument-format.md); FHIR R4 data types (date, dateTime precision, decimal)
as defined in https://hl7.org/fhir/R4/datatypes.html.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from instruments import load_file
from instruments.loader import check
from instruments.model import AnswerError

ALL_TYPES = Path(__file__).parent / "fixtures" / "all_types.yaml"


@pytest.fixture(scope="module")
def inst():
    return load_file(ALL_TYPES)


GOOD = [
    ("mood", "LA6568-5", "LA6568-5"),
    ("symptoms", ["b", "a"], ["b", "a"]),
    ("symptoms", ("a",), ["a"]),
    ("other", 1, 1),
    ("other", "1", 1),
    ("other", "  my own words ", "my own words"),
    ("smoker", False, False),
    ("smoker", "true", True),
    ("packs", "12", 12),
    ("packs", 3.0, 3),
    ("packs", -4, -4),  # no min/max: any whole number
    ("weight", "72,5", 72.5),
    ("weight", 500, 500.0),
    ("temp", "-1e-3", -0.001),
    ("name", " Kari ", "Kari"),
    ("comment", "line 1\nline 2", "line 1\nline 2"),
    ("born", "1970", "1970"),
    ("born", "1970-02", "1970-02"),
    ("born", date(1970, 2, 28), "1970-02-28"),
    ("seen", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00"),
    (
        "seen",
        datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=2))),
        "2024-05-01T10:00:00+02:00",
    ),
]


@pytest.mark.parametrize(("item_id", "value", "expected"), GOOD)
def test_good_answers_are_normalised(inst, item_id, value, expected):
    item = inst.item(item_id)
    result = item.validate_answer(value)
    assert result == expected
    assert type(result) is type(expected)
    if not (item.type == "integer" and isinstance(value, str)):  # CSV path: numbers only
        assert item.is_valid_answer(value)


BAD = [
    ("mood", "LA0000-0", "is not one of the codes"),
    ("mood", ["LA6568-5"], "is not one of the codes"),
    ("symptoms", "a", "expected a list of answers"),
    ("symptoms", [], "the list of answers is empty"),
    ("symptoms", ["a", "a"], "answer 'a' given twice"),
    ("symptoms", ["c"], "is not one of the codes"),
    ("other", "x" * 21, "longer than 20 characters"),
    ("other", True, "neither an option code nor a text"),
    ("smoker", 1, "is not true or false"),
    ("packs", 2.5, "is not a whole number"),
    ("packs", True, "is not a number"),
    ("packs", "ten", "is not a number"),
    ("weight", 0.4, "below the minimum 0.5"),
    ("weight", 501, "above the maximum 500"),
    ("temp", float("nan"), "is not a number"),
    ("temp", "inf", "is not a number"),
    ("name", "   ", "not blank"),
    ("name", "a" * 11, "longer than 10 characters"),
    ("name", "two\nlines", "one line"),
    ("comment", "nul\x00", "NUL"),
    ("born", "1970-02-30", "is not a date"),
    ("born", "70-02-01", "is not a date"),
    ("born", datetime(1970, 1, 1, tzinfo=UTC), "not a date and time"),
    ("seen", "2024-05-01T10:00:00", "has no time zone"),
    ("seen", "yesterday", "is not an ISO 8601"),
    ("seen", date(2024, 5, 1), "is not a date and time"),
    ("intro", "x", "display item takes no answer"),
]


@pytest.mark.parametrize(("item_id", "value", "message"), BAD)
def test_bad_answers_raise_with_a_reason(inst, item_id, value, message):
    item = inst.item(item_id) if item_id != "intro" else _display(inst)
    with pytest.raises(AnswerError, match=message):
        item.validate_answer(value)
    assert not item.is_valid_answer(value)


def _display(inst):
    from dataclasses import replace

    return replace(inst.item("mood"), id="intro", type="display", options=())


def test_integer_coded_choice_keeps_the_old_rules():
    from instruments import load

    mo = load("eq5d5l").item("MO")
    assert mo.validate_answer("3") == 3
    assert mo.validate_answer(3.0) == 3
    assert mo.is_valid_answer(3.0)
    assert not mo.is_valid_answer("3")  # CSV scoring path: numbers only, as before
    assert not mo.is_valid_answer(True)


def test_fhir_fields_are_loaded(inst):
    mood = inst.item("mood")
    assert mood.fhir_link_id == "/44250-9"
    assert inst.item("symptoms").fhir_link_id == "symptoms"
    assert mood.prefix == "1."
    assert [(c.system, c.code) for c in mood.coding] == [("http://loinc.org", "44250-9")]
    assert mood.item_control == "radio-button"
    assert [(o.code, o.system, o.ordinal) for o in mood.options] == [
        ("LA6568-5", "http://loinc.org", 0),
        ("LA6569-3", "http://loinc.org", 1),
    ]
    assert inst.item("weight").unit.code == "kg"
    temp = inst.item("temp")
    assert temp.enable_behavior == "any"
    assert [(c.operator, c.answer) for c in temp.enable_when] == [("exists", True), ("=", "many")]
    assert inst.fhir.url == "http://example.org/Questionnaire/all-types"
    assert inst.fhir.code[0].code == "44249-1"
    assert inst.pages[0].link_id == "page-1"
    assert inst.item("total").calculated_expression.startswith("%resource")


def test_the_definition_round_trips_through_to_definition(inst):
    from instruments.loader import build

    again = build(inst.to_definition())
    assert again == inst
    assert again.content_hash == inst.content_hash


def test_new_fields_are_checked(inst):
    data = inst.to_definition()
    data["items"][3]["max_length"] = 5  # smoker: boolean
    data["items"][4]["enable_when"][0]["answer"] = 1  # packs: smoker = 1
    data["items"][1]["options"][1]["code"] = "a"
    data["pages"][1]["link_id"] = "/44250-9"
    problems = [f"{p.where}: {p.message}" for p in check(data, "f.yaml")]
    assert sorted(problems) == [
        "packs: enable_when answer 1 of yes/no item 'smoker' is not true or false",
        "page p2: duplicate link_id '/44250-9'",
        "smoker: max_length is not allowed on boolean items",
        "symptoms: duplicate option code a",
    ]


# FHIR R4 Questionnaire.item.enableWhen / enableBehavior (https://hl7.org/fhir/R4/questionnaire.html):
# "exists" tests presence; other operators are false when the question has no answer; a
# repeating answer matches when any of its values does.
ENABLED = [
    ("packs", {"smoker": True}, True),
    ("packs", {"smoker": False}, False),
    ("packs", {}, False),
    ("packs", {"smoker": 1}, False),  # 1 is not a yes
    ("temp", {"weight": 70.0}, True),  # exists true (any)
    ("temp", {"other": "many"}, True),
    ("temp", {"other": "few"}, False),
    ("temp", {"weight": None, "other": None}, False),
]


@pytest.mark.parametrize(("item_id", "answers", "shown"), ENABLED)
def test_enable_when_follows_fhir(inst, item_id, answers, shown):
    assert inst.item(item_id).is_enabled(answers) is shown


def test_enable_when_on_a_repeating_answer_and_comparisons():
    from instruments.model import EnableWhen, Item, Text

    def item(*conds, behavior="all"):
        return Item("x", "display", Text({"en": "x"}), enable_when=conds, enable_behavior=behavior)

    assert item(EnableWhen("s", "=", "a")).is_enabled({"s": ["b", "a"]})
    assert not item(EnableWhen("s", "!=", "a")).is_enabled({"s": ["b", "a"]})
    assert item(EnableWhen("s", "!=", "a")).is_enabled({"s": ["b"]})
    assert not item(EnableWhen("s", "!=", "a")).is_enabled({})
    assert item(EnableWhen("n", ">=", 2.5)).is_enabled({"n": 3})
    assert not item(EnableWhen("n", ">", 2)).is_enabled({"n": "text"})
    assert item(EnableWhen("n", "exists", False)).is_enabled({"n": []})
    both = (EnableWhen("n", ">", 1), EnableWhen("n", "<", 3))
    assert item(*both).is_enabled({"n": 2})
    assert not item(*both).is_enabled({"n": 5})
    assert item(*both, behavior="any").is_enabled({"n": 5})
