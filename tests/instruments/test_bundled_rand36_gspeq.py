"""Contract and wording tests for the bundled RAND-36 and GS-PEQ files, and checks that hold
for all six bundled instruments (complete translations, licence block, no placeholder text).

Sources of the expected values (independent of the files under test):
- RAND 36-Item Health Survey 1.0 questionnaire (RAND Corporation, rand.org; Hays RD,
  Sherbourne CD, Mazel RM. Health Econ 1993;2:217-27): item numbers, printed response codes
  and the scale membership of the items.
- Sjetne IS et al. The Generic Short Patient Experiences Questionnaire (GS-PEQ). BMC Health
  Serv Res 2011;11:88, Table 3 (the ten core items and the note on "the clinicians").
- The bokmål GS-PEQ wording used by the Norwegian eating-disorder quality register NorSpis
  (GitHub Rapporteket/norspis2, R/NorSpis1_2_VarTilrettelegg.R), whose local word
  "behandlingsenheten" is the generic "institusjonen" in the original.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from instruments.loader import load_file
from instruments.model import Instrument

DEFINITIONS = Path(__file__).resolve().parents[2] / "instruments"
BUNDLED = ("eq5d5l", "eq5d3l", "rand36", "odi", "cat", "gspeq")


def _load(name: str) -> Instrument:
    return load_file(DEFINITIONS / f"{name}.yaml")


def _texts(inst: Instrument):
    """(where, Text) for every text a respondent or administrator sees."""
    yield "title", inst.title
    if inst.intro is not None:
        yield "intro", inst.intro
    if inst.source is not None:
        yield "source", inst.source
    for item in inst.items:
        yield item.id, item.text
        if item.help is not None:
            yield f"{item.id} help", item.help
        for end, text in item.anchors.items():
            yield f"{item.id} anchor {end}", text
        for option in item.options:
            yield f"{item.id} option {option.code}", option.label
    for page in inst.pages:
        if page.title is not None:
            yield f"page {page.id}", page.title
    for scale in inst.scales:
        yield f"scale {scale.id}", scale.label


# ------------------------------------------------------------------ all six instruments


def test_the_six_instruments_are_bundled():
    assert sorted(p.stem for p in DEFINITIONS.glob("*.yaml")) == sorted(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_text_in_bokmal_and_english_and_nynorsk_where_required(name):
    inst = _load(name)
    required = {"nb", "en"} | ({"nn"} if name in ("rand36", "gspeq") else set())
    assert required <= set(inst.languages)
    for where, text in _texts(inst):
        assert set(text) == set(inst.languages), where
        assert all(value.strip() for value in text.values()), where


@pytest.mark.parametrize("name", BUNDLED)
def test_licence_block_names_holder_terms_and_url(name):
    lic = _load(name).licence
    assert lic.holder.strip()
    assert len(lic.notice.split()) >= 10  # a sentence of terms, not a stub
    assert re.fullmatch(r"https://\S+", lic.url)


PLACEHOLDER = re.compile(
    r"placeholder|todo|fixme|tbd|lorem|from memory|fra hukommelsen|etter minnet", re.I
)


@pytest.mark.parametrize("name", BUNDLED)
def test_no_text_is_marked_as_a_placeholder(name):
    inst = _load(name)
    for where, text in _texts(inst):
        for lang, value in text.items():
            assert not PLACEHOLDER.search(value), f"{name} {where} [{lang}]: {value}"
    assert not PLACEHOLDER.search(inst.licence.notice)
    raw = (DEFINITIONS / f"{name}.yaml").read_text(encoding="utf-8")
    assert not PLACEHOLDER.search(raw)


# ------------------------------------------------------------------------------ RAND-36

# Printed response codes per item on the RAND 36-Item Health Survey 1.0 form.
RAND_CODES = {
    **{f"q{n:02d}": 5 for n in (1, 2, 20, 22, 32, 33, 34, 35, 36)},
    **{f"q{n:02d}": 3 for n in range(3, 13)},
    **{f"q{n:02d}": 2 for n in range(13, 20)},
    "q21": 6,
    **{f"q{n:02d}": 6 for n in range(23, 32)},
}
# Scale membership (RAND 36-Item Health Survey 1.0 scoring instructions, Table 2).
RAND_SCALES = {
    "PF": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    "RP": [13, 14, 15, 16],
    "RE": [17, 18, 19],
    "VT": [23, 27, 29, 31],
    "MH": [24, 25, 26, 28, 30],
    "SF": [20, 32],
    "BP": [21, 22],
    "GH": [1, 33, 34, 35, 36],
}


def test_rand36_items_codes_and_scales():
    inst = _load("rand36")
    assert (inst.id, inst.kind, inst.languages) == ("rand36", "prom", ("nb", "nn", "en"))
    assert inst.item_ids == tuple(f"q{n:02d}" for n in range(1, 37))
    for item_id, n_codes in RAND_CODES.items():
        item = inst.item(item_id)
        assert item.type == "choice"
        assert item.codes == tuple(range(1, n_codes + 1)), item_id
    assert {s.id: [int(i[1:]) for i in s.items] for s in inst.scales} == RAND_SCALES
    assert all(s.direction == "higher_better" for s in inst.scales)
    assert inst.licence.required is False
    assert "RAND" in inst.licence.holder and "FHI" in inst.licence.notice


def test_rand36_english_follows_the_rand_form():
    inst = _load("rand36")

    def labels(item_id):
        return [o.label["en"] for o in inst.item(item_id).options]

    assert inst.item("q01").text["en"] == "In general, would you say your health is:"
    assert labels("q01") == ["Excellent", "Very good", "Good", "Fair", "Poor"]
    assert labels("q03") == [
        "Yes, limited a lot",
        "Yes, limited a little",
        "No, not limited at all",
    ]
    # Items 20 and 22 differ in their second category on the RAND form.
    assert labels("q20") == ["Not at all", "Slightly", "Moderately", "Quite a bit", "Extremely"]
    assert labels("q22") == ["Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"]
    assert labels("q21") == ["None", "Very mild", "Mild", "Moderate", "Severe", "Very severe"]
    assert labels("q23") == [
        "All of the time", "Most of the time", "A good bit of the time",
        "Some of the time", "A little of the time", "None of the time",
    ]  # fmt: skip
    assert labels("q32") == [
        "All of the time", "Most of the time", "Some of the time",
        "A little of the time", "None of the time",
    ]  # fmt: skip
    assert labels("q33") == [
        "Definitely true", "Mostly true", "Don't know", "Mostly false", "Definitely false",
    ]  # fmt: skip
    assert inst.item("q36").text["en"] == "My health is excellent"


def test_rand36_item_stems_are_shown_with_their_items():
    # Items 3-19, 23-31 and 33-36 are only meaningful under their printed stem.
    inst = _load("rand36")
    # A long group may be split over screens (phones): each screen repeats the stem.
    stem_of = {i: p.title for p in inst.pages if p.title is not None for i in p.items}
    grouped = [
        tuple(f"q{n:02d}" for n in r)
        for r in (range(3, 13), range(13, 17), range(17, 20), range(23, 32), range(33, 37))
    ]
    assert sorted(stem_of) == sorted(i for group in grouped for i in group)
    assert all(len({stem_of[i] for i in group}) == 1 for group in grouped)
    stems = {group: stem_of[group[0]] for group in grouped}
    assert "limit you in these activities" in stems[grouped[0]]["en"]
    assert "physical health" in stems[grouped[1]]["en"]
    assert "emotional problems" in stems[grouped[2]]["en"]
    assert "TRUE or FALSE" in stems[grouped[4]]["en"]
    assert "RIKTIG eller GAL" in stems[grouped[4]]["nb"]
    # The bokmål categories use the stem's words (riktig / gal).
    assert [o.label["nb"] for o in inst.item("q33").options] == [
        "Helt riktig", "Delvis riktig", "Vet ikke", "Delvis gal", "Helt gal",
    ]  # fmt: skip


# ------------------------------------------------------------------------------ GS-PEQ

# Sjetne et al. 2011, Table 3, in order (item numbers 4, 5, 15-18, 21, 24-26 of the pilot).
GSPEQ_EN = [
    "Did the clinicians talk to you in a way that was easy to understand?",
    "Do you have confidence in the clinicians' professional skills?",
    "Did you get sufficient information about your diagnosis/afflictions?",
    "Did you perceive the treatment as adapted to your situation?",
    "Were you involved in decisions regarding your treatment?",
    "Did you perceive the institution's work as well organised?",
    "Did you have to wait before you were admitted for services at the institution?",
    "Overall, was the help and treatment you received at the institution satisfactory?",
    "Overall, what benefit have you had from the care at the institution?",
    "Do you believe that you were in any way given incorrect treatment (according to your "
    "own judgment)?",
]
# NorSpis register wording, with "behandlingsenheten" -> "institusjonen" (see module doc).
GSPEQ_NB = {
    "q01": "Snakket behandlerne til deg slik at du forstod dem?",
    "q02": "Har du tillit til behandlernes faglige dyktighet?",
    "q03": "Fikk du tilstrekkelig informasjon om din diagnose/dine plager?",
    "q04": "Opplevde du at behandlingen var tilpasset din situasjon?",
    "q05": "Var du involvert i avgjørelser som angikk din behandling?",
    "q10": "Mener du at du på noen måte ble feilbehandlet (etter det du selv kan bedømme)?",
}
EXTENT_NB = ["Ikke i det hele tatt", "I liten grad", "I noen grad", "I stor grad",
             "I svært stor grad", "Ikke aktuelt"]  # fmt: skip


def test_gspeq_english_items_are_the_published_core_items():
    inst = _load("gspeq")
    assert (inst.id, inst.kind, inst.languages) == ("gspeq", "prem", ("nb", "nn", "en"))
    assert inst.item_ids == tuple(f"q{n:02d}" for n in range(1, 11))
    assert [i.text["en"] for i in inst.questions] == GSPEQ_EN
    assert inst.intro["en"].startswith("By 'the clinicians' we mean: Those who have had main")


def test_gspeq_bokmal_wording_and_response_scales():
    inst = _load("gspeq")
    for item_id, text in GSPEQ_NB.items():
        assert inst.item(item_id).text["nb"] == text
    for item in inst.questions:
        assert item.option(9).not_applicable and item.option(9).label["nb"] == "Ikke aktuelt"
        assert [o.code for o in item.options if o.not_applicable] == [9]
        if item.id not in ("q07", "q09"):
            assert [o.label["nb"] for o in item.options] == EXTENT_NB, item.id
            assert item.codes == (1, 2, 3, 4, 5, 9)
    waiting = inst.item("q07")
    assert [o.label["nb"] for o in waiting.options] == [
        "Nei", "Ja, men ikke lenge", "Ja, ganske lenge", "Ja, altfor lenge", "Ikke aktuelt",
    ]  # fmt: skip
    assert waiting.codes == (1, 2, 3, 4, 9)
    benefit = inst.item("q09")
    assert [o.label["nb"] for o in benefit.options] == [
        "Ikke noe utbytte", "Lite utbytte", "En del utbytte", "Stort utbytte",
        "Svært stort utbytte", "Ikke aktuelt",
    ]  # fmt: skip
    assert benefit.codes == (1, 2, 3, 4, 5, 9)
    assert "institusjonen" in inst.item("q07").text["nb"]
    assert "institusjonen" in inst.item("q09").text["nb"]


def test_gspeq_one_item_per_page_and_no_summary_scale():
    inst = _load("gspeq")
    assert [p.items for p in inst.pages] == [(i,) for i in inst.item_ids]
    assert inst.scales == ()
    assert inst.scoring.algorithm == "gspeq"
    assert inst.licence.required is False and "FHI" in inst.licence.holder
