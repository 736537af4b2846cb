"""Contract tests for the bundled EQ-5D-5L, EQ-5D-3L, ODI and CAT definition files.

Item ids, codes, pages, value-set names and licence flags are relied on by scoring, exports
and the web forms (see /work/shared/DESIGN.md, "Item and score names"); these tests pin them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.loader import load_file
from instruments.model import Instrument

DEFINITIONS = Path(__file__).resolve().parents[2] / "instruments"
EQ5D_DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")


def _load(name: str) -> Instrument:
    return load_file(DEFINITIONS / f"{name}.yaml")


@pytest.fixture(scope="module", params=["eq5d5l", "eq5d3l", "odi", "cat"])
def instrument(request: pytest.FixtureRequest) -> Instrument:
    return _load(request.param)


def _all_texts(inst: Instrument):
    yield inst.title
    if inst.intro is not None:
        yield inst.intro
    for item in inst.items:
        yield item.text
        if item.help is not None:
            yield item.help
        yield from item.anchors.values()
        for option in item.options:
            yield option.label
    for scale in inst.scales:
        yield scale.label


def test_common_header(instrument: Instrument) -> None:
    assert instrument.kind == "prom"
    assert instrument.languages == ("nb", "en")
    assert instrument.scoring.algorithm == instrument.id
    assert instrument.licence.required is True
    assert instrument.licence.url.startswith("https://")
    assert instrument.source is not None


def test_every_text_has_bokmal_and_english(instrument: Instrument) -> None:
    for text in _all_texts(instrument):
        assert set(text) == {"nb", "en"}
        assert all(value.strip() for value in text.values())


def test_one_item_per_page_in_item_order(instrument: Instrument) -> None:
    assert [page.items for page in instrument.pages] == [(i,) for i in instrument.item_ids]


@pytest.mark.parametrize(
    ("name", "levels", "value_sets", "default"),
    [
        ("eq5d5l", 5, ("NO", "England", "UK-crosswalk", "DK", "SE", "SE-2020"), "NO"),
        ("eq5d3l", 3, ("UK", "DK"), "UK"),
    ],
)
def test_eq5d_contract(name: str, levels: int, value_sets: tuple[str, ...], default: str) -> None:
    inst = _load(name)
    assert inst.id == name
    assert inst.item_ids == (*EQ5D_DIMENSIONS, "VAS")
    for dim in EQ5D_DIMENSIONS:
        item = inst.item(dim)
        assert item.type == "choice"
        assert item.codes == tuple(range(1, levels + 1))
        assert item.required
    vas = inst.item("VAS")
    assert (vas.type, vas.min, vas.max, vas.required) == ("integer", 0, 100, True)
    assert set(vas.anchors) == {"min", "max"}
    assert "TODAY" in vas.text["en"] and "I DAG" in vas.text["nb"]
    assert "worst" in vas.anchors["min"]["en"] and "best" in vas.anchors["max"]["en"]
    assert "dårligste" in vas.anchors["min"]["nb"] and "beste" in vas.anchors["max"]["nb"]
    assert inst.scales == ()
    assert inst.scoring.value_sets == value_sets
    assert inst.scoring.default_value_set == default
    assert "EuroQol" in inst.licence.holder


def test_eq5d_dimensions_in_official_order() -> None:
    # Official order: mobility, self-care, usual activities, pain/discomfort, anxiety/depression.
    for name in ("eq5d5l", "eq5d3l"):
        headings = [_load(name).item(d).text["en"] for d in EQ5D_DIMENSIONS]
        assert [h.split(" (")[0] for h in headings] == [
            "MOBILITY",
            "SELF-CARE",
            "USUAL ACTIVITIES",
            "PAIN / DISCOMFORT",
            "ANXIETY / DEPRESSION",
        ]


def test_odi_contract() -> None:
    inst = _load("odi")
    ids = tuple(f"q{n:02d}" for n in range(1, 11))
    assert (inst.id, inst.version) == ("odi", "2.1a")
    assert inst.item_ids == ids
    for item in inst.questions:
        assert item.type == "choice"
        assert item.codes == (0, 1, 2, 3, 4, 5)
    assert {i.id: i.required for i in inst.questions} == {i: i != "q08" for i in ids}
    assert "Sex life" in inst.item("q08").text["en"]
    assert "Pain intensity" in inst.item("q01").text["en"]
    assert "Travelling" in inst.item("q10").text["en"]
    (total,) = inst.scales
    assert (total.id, total.items, total.direction) == ("total", ids, "higher_worse")
    assert "Mapi" in inst.licence.holder and "Fairbank" in inst.licence.holder
    assert inst.scoring.value_sets == ()


def test_cat_contract() -> None:
    inst = _load("cat")
    ids = tuple(f"q{n:02d}" for n in range(1, 9))
    assert (inst.id, inst.version) == ("cat", "2009")
    assert inst.item_ids == ids
    for item in inst.questions:
        assert item.type == "choice" and item.required
        assert item.codes == (0, 1, 2, 3, 4, 5)
        assert [o.label["en"] for o in item.options] == [str(c) for c in range(6)]
        assert set(item.anchors) == {"min", "max"}
        for lang in ("nb", "en"):
            assert item.anchors["min"][lang] in item.text[lang]
            assert item.anchors["max"][lang] in item.text[lang]
    assert inst.item("q01").anchors["min"]["en"] == "I never cough"
    assert inst.item("q01").anchors["max"]["en"] == "I cough all the time"
    (total,) = inst.scales
    assert (total.id, total.items, total.direction) == ("total", ids, "higher_worse")
    assert "GSK" in inst.licence.holder
    assert inst.scoring.value_sets == ()
