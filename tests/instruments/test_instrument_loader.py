"""Loader: parsing, validation problems, content hash and immutability of instruments."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruments import InstrumentError, Text, load_file, parse
from instruments.loader import SCHEMA_PATH, build, check, content_hash
from instruments.model import LANGUAGES, FrozenMap

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal.yaml"
FULL = FIXTURES / "full.yaml"


def raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def from_mapping(data: dict[str, Any]):
    """Load a definition mapping through the YAML front door, as a file would be."""
    return parse(yaml.safe_dump(data, allow_unicode=True), "test.yaml")


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# ---------------------------------------------------------------- a valid definition


def test_minimal_definition_loads_into_typed_objects():
    inst = load_file(MINIMAL)
    assert (inst.id, inst.version, inst.kind, inst.languages) == ("minimal", "1.0", "prom", ("en",))
    assert inst.title == {"en": "Minimal test questionnaire"}
    assert inst.item_ids == ("q01",)
    q01 = inst.item("q01")
    assert q01.type == "choice"
    assert q01.required is False
    assert q01.codes == (1, 2)
    assert q01.option(2).label["en"] == "Not well"
    assert inst.licence.holder == "openprom tests"
    assert inst.licence.required is False
    assert (inst.scoring.algorithm, inst.scoring.value_sets) == ("none", ())
    assert inst.path == str(MINIMAL)
    assert [p.items for p in inst.screen_pages()] == [("q01",)]


def test_full_definition_exposes_every_part():
    inst = load_file(FULL)
    assert inst.languages == ("nb", "nn", "en")
    assert inst.item_ids == ("q01", "q02", "vas", "q03")  # display item "info" takes no answer
    assert [i.id for i in inst.items] == ["info", "q01", "q02", "vas", "q03"]
    assert inst.intro["en"] == "Please answer every question."
    assert inst.item("q01").help["nn"] == "Tenk på i dag."
    assert inst.item("q01").option(9).not_applicable is True
    assert inst.item("vas").anchors["max"]["nb"] == "Best tenkelige"
    (cond,) = inst.item("q02").enable_when
    assert (cond.item, cond.operator, cond.answer) == ("q01", "=", 2)
    assert [c.operator for c in inst.item("q03").enable_when] == ["<", "!="]
    assert [(p.id, p.items) for p in inst.pages] == [
        ("p1", ("info", "q01", "q02")),
        ("p2", ("vas", "q03")),
    ]
    assert inst.pages[1].title is None
    assert [(s.id, s.direction) for s in inst.scales] == [
        ("feeling", "higher_worse"),
        ("VAS", "higher_better"),
    ]
    assert inst.scoring.default_value_set == "B"
    assert inst.licence.required is True


def test_answer_validity_follows_codes_and_bounds():
    inst = load_file(FULL)
    assert inst.item("q01").is_valid_answer(9)
    assert not inst.item("q01").is_valid_answer(3)
    assert inst.item("vas").is_valid_answer(0) and inst.item("vas").is_valid_answer(100)
    assert not inst.item("vas").is_valid_answer(101)
    assert not inst.item("info").is_valid_answer(1)


@pytest.mark.parametrize("value", [True, 2.5, float("nan"), "2", None])
def test_only_whole_numbers_are_answers(value):
    inst = load_file(FULL)
    assert not inst.item("q01").is_valid_answer(value)
    assert not inst.item("vas").is_valid_answer(value)


def test_integral_floats_and_numpy_integers_are_answers():
    np = pytest.importorskip("numpy")
    inst = load_file(FULL)
    assert inst.item("q01").is_valid_answer(2.0)
    assert inst.item("q01").is_valid_answer(np.int64(2))
    assert inst.item("vas").is_valid_answer(np.float64(50.0))


def test_missing_language_is_an_error_not_a_fallback():
    inst = load_file(MINIMAL)
    with pytest.raises(KeyError):
        inst.title.get_text("nb")


def test_to_definition_is_the_file_without_spelled_out_defaults():
    data = raw(FULL)
    assert load_file(FULL).to_definition() == data
    data["items"][2]["required"] = False
    data["items"][2]["enable_when"] += []
    data["licence"]["required"] = True
    assert from_mapping(data).to_definition() == raw(FULL)


# ---------------------------------------------------------------- content hash


def test_content_hash_is_sha256_and_stable():
    first = load_file(FULL).content_hash
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first)
    assert load_file(FULL).content_hash == first
    assert parse(FULL.read_text(encoding="utf-8")).content_hash == first


def test_content_hash_ignores_layout_comments_key_order_and_defaults():
    original = load_file(FULL).content_hash
    data = raw(FULL)
    reordered = dict(reversed(list(data.items())))
    reordered["items"] = [dict(reversed(list(i.items()))) for i in data["items"]]
    reordered["items"][2]["required"] = False  # the default, spelled out
    text = "# a comment\n" + yaml.safe_dump(reordered, default_flow_style=True, allow_unicode=True)
    assert parse(text).content_hash == original


def _text_slots(node: Any) -> Iterator[tuple[MutableMapping[str, Any], str]]:
    """Every (text mapping, language) in a parsed definition."""
    if isinstance(node, dict):
        if node and set(node) <= set(LANGUAGES) and all(isinstance(v, str) for v in node.values()):
            for lang in node:
                yield node, lang
        else:
            for value in node.values():
                yield from _text_slots(value)
    elif isinstance(node, list):
        for value in node:
            yield from _text_slots(value)


def test_content_hash_changes_when_any_single_text_changes():
    data = raw(FULL)
    n_slots = len(list(_text_slots(data)))
    # 19 texts x 3 languages: title, intro, source, 5 item texts, 1 help, 5 option labels,
    # 2 anchors, 1 page title, 2 scale labels
    assert n_slots == 57
    hashes = {load_file(FULL).content_hash}
    for index in range(n_slots):
        changed = copy.deepcopy(data)
        text, lang = list(_text_slots(changed))[index]
        text[lang] += "."
        hashes.add(from_mapping(changed).content_hash)
    assert len(hashes) == n_slots + 1


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["items"][1]["options"][0].update(code=3),
        lambda d: d["items"][3].update(max=99),
        lambda d: d["items"][2]["enable_when"][0].update(operator="!="),
        lambda d: d["pages"][0]["items"].remove("q02") or d["pages"][1]["items"].append("q02"),
        lambda d: d["scales"][0].update(direction="higher_better"),
        lambda d: d["scoring"].update(missing="all_items"),
        lambda d: d["licence"].update(notice="Other notice."),
        lambda d: d.update(version="2.2"),
        lambda d: d["items"][1].update(required=False),
    ],
    ids=["code", "max", "operator", "page", "direction", "missing", "notice", "version", "req"],
)
def test_content_hash_changes_when_anything_else_changes(edit):
    data = raw(FULL)
    edit(data)
    assert from_mapping(data).content_hash != load_file(FULL).content_hash


def test_content_hash_function_is_independent_of_key_order():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": [1, 2]}) != content_hash({"a": [2, 1]})


# ---------------------------------------------------------------- immutability


def test_instrument_and_parts_are_frozen():
    inst = load_file(FULL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.version = "9"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.items[1].required = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        inst.title["nb"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        inst.item("vas").anchors["min"] = Text({"nb": "x"})  # type: ignore[index]
    with pytest.raises(AttributeError):
        inst.items.append(inst.items[0])  # type: ignore[attr-defined]


def test_instruments_are_hashable_values():
    a, b = load_file(FULL), load_file(FULL)
    assert a == b and hash(a) == hash(b)
    assert {a, b} == {a}
    assert isinstance(a.item("vas").anchors, FrozenMap)


def test_changing_the_parsed_mapping_does_not_change_a_built_instrument():
    data = raw(FULL)
    inst = build(data)
    data["title"]["nb"] = "Endret"
    data["items"][1]["options"][0]["label"]["nb"] = "Endret"
    assert inst.title["nb"] == "Fullt eksempel"
    assert inst.item("q01").option(1).label["nb"] == "Bra"


# ---------------------------------------------------------------- problems


def test_every_problem_is_reported_at_once():
    data = raw(FULL)
    data["items"][1]["text"].pop("en")
    data["items"][2]["enable_when"][0]["item"] = "nope"
    data["scales"][0]["items"].append("ghost")
    data["scoring"]["default_value_set"] = "C"
    data["items"][0]["required"] = True
    with pytest.raises(InstrumentError) as err:
        from_mapping(data)
    assert [str(p) for p in err.value.problems] == [
        "test.yaml:q01: missing translation 'en' in text",
        "test.yaml:info: a display item cannot be required",
        "test.yaml:q02: enable_when names unknown item 'nope'",
        "test.yaml:scale feeling: unknown item 'ghost'",
        "test.yaml:scoring: default_value_set 'C' is not in value_sets",
    ]


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (lambda d: d["items"][3].update(min=0.5), "vas: min of an integer item is not whole"),
        (
            lambda d: d["items"][3].update(repeats=True),
            "vas: repeats is not allowed on integer items",
        ),
        (
            lambda d: d["items"][1].update(unit={"code": "kg"}),
            "q01: unit is not allowed on choice items",
        ),
        (
            lambda d: d["items"][4]["enable_when"][0].update(operator="exists"),
            "q03: enable_when 'exists' needs true or false",
        ),
        (lambda d: d["items"][3].update(min=200), "vas: min 200 is greater than max 100"),
        (
            lambda d: d["items"][3].update(options=[{"code": 1, "label": {"nb": "a"}}]),
            "vas: only choice items have options, not integer",
        ),
        (lambda d: d["items"][1]["options"][1].update(code=1), "q01: duplicate option code 1"),
        (lambda d: d["items"][2].update(options=[]), "q02: a choice item needs options"),
        (lambda d: d["pages"][1]["items"].remove("q03"), "q03: item is on no page"),
        (lambda d: d["pages"][1]["items"].append("q01"), "q01: item is on more than one page"),
        (lambda d: d["pages"][1].update(id="p1"), "page p1: duplicate page id"),
        (lambda d: d["scales"][1].update(id="feeling"), "scale feeling: duplicate scale id"),
        (lambda d: d["scales"][1]["items"].append("info"), "scale VAS: 'info' is a display item"),
        (
            lambda d: d["items"][2]["enable_when"][0].update(item="q02"),
            "q02: enable_when names the item itself",
        ),
        (
            lambda d: d["items"][2]["enable_when"][0].update(item="info"),
            "q02: enable_when names display item 'info'",
        ),
        (
            lambda d: d["items"][4]["enable_when"][0].update(answer=101),
            "q03: enable_when answer 101 is outside 0..100 of item 'vas'",
        ),
        (
            lambda d: d["title"].update(de="Beispiel"),
            "title: 'de' is not one of ['nb', 'nn', 'en']",
        ),
        (lambda d: d.pop("licence"), "-: 'licence' is a required property"),
        (lambda d: d["items"][1]["text"].update(en=" \xa0"), r"q01.text.en: ' \xa0' is blank"),
        (lambda d: d["licence"].update(holder="  "), "licence.holder: '  ' is blank"),
    ],
)
def test_semantic_and_schema_problems_name_the_item(edit, line):
    data = raw(FULL)
    edit(data)
    problems = [f"{p.where}: {p.message}" for p in check(data, "f.yaml")]
    assert line in problems, problems


def test_bad_yaml_reports_the_line():
    with pytest.raises(InstrumentError) as err:
        parse("id: x\nitems: [a, b\nkind: prom\n", "x.yaml")
    (problem,) = err.value.problems
    assert problem.where == "line 3"
    assert problem.message.startswith("bad YAML: ")
    assert "\n" not in str(problem)


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "42\n"])
def test_a_file_that_is_not_a_mapping_is_rejected(text):
    with pytest.raises(InstrumentError) as err:
        parse(text, "x.yaml")
    assert str(err.value) == "x.yaml:-: the file must hold a mapping (id, version, items, ...)"


def test_unreadable_file_is_an_instrument_error(tmp_path):
    with pytest.raises(InstrumentError, match="cannot read"):
        load_file(tmp_path / "absent.yaml")


_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


_FULL_PATHS = _paths(raw(FULL))[1:]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FULL_PATHS), _junk)
def test_check_never_crashes_on_malformed_definitions(path, junk):
    data = raw(FULL)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = junk
    problems = check(data, "f.yaml")
    assert all(str(p).startswith("f.yaml:") for p in problems)
    if not problems:  # the junk happened to be valid: it must also build
        build(data)
