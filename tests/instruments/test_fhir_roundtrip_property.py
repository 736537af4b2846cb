"""Property test: any valid definition survives definition -> FHIR -> definition unchanged."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from instruments.fhir import from_questionnaire, to_questionnaire
from instruments.loader import build, check

_IDENT = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True)
_WORDS = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]) | st.sampled_from("\n"),
    min_size=1,
    max_size=12,
).filter(str.strip)  # blank texts are invalid definitions (and invalid FHIR strings)


@st.composite
def _text(draw, languages: list[str]) -> dict[str, str]:
    return {lang: draw(_WORDS) for lang in languages}


@st.composite
def _item(draw, item_id: str, languages: list[str], earlier: list[dict[str, Any]]):
    kind = draw(st.sampled_from(["choice", "integer", "display"]))
    item: dict[str, Any] = {"id": item_id, "type": kind, "text": draw(_text(languages))}
    if kind != "display" and draw(st.booleans()):
        item["required"] = True
    if draw(st.booleans()):
        item["help"] = draw(_text(languages))
    for end in draw(st.sets(st.sampled_from(["min", "max"]))):
        item.setdefault("anchors", {})[end] = draw(_text(languages))
    if kind == "choice":
        codes = draw(st.lists(st.integers(-5, 99), min_size=1, max_size=4, unique=True))
        item["options"] = [
            {"code": c, "label": draw(_text(languages))}
            | ({"not_applicable": True} if draw(st.booleans()) else {})
            for c in codes
        ]
    if kind == "integer":
        low = draw(st.integers(-10, 100))
        item["min"], item["max"] = low, draw(st.integers(low, 200))
    targets = [i for i in earlier if i["type"] != "display"]
    for target in draw(st.lists(st.sampled_from(targets), max_size=2)) if targets else []:
        if target["type"] == "choice":
            answer = draw(st.sampled_from([o["code"] for o in target["options"]]))
        else:
            answer = draw(st.integers(target["min"], target["max"]))
        operator = draw(st.sampled_from(["=", "!=", ">", "<", ">=", "<="]))
        condition = {"item": target["id"], "operator": operator, "answer": answer}
        item.setdefault("enable_when", []).append(condition)
    return item


@st.composite
def definitions(draw) -> dict[str, Any]:
    languages = draw(
        st.permutations(["nb", "nn", "en"]).map(lambda p: p[: draw(st.integers(1, 3))])
    )
    text = _text(languages)
    ids = draw(st.lists(_IDENT, min_size=1, max_size=6, unique=True))
    items: list[dict[str, Any]] = []
    for item_id in ids:
        items.append(draw(_item(item_id, languages, items)))
    data: dict[str, Any] = {
        "id": draw(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)),
        "version": draw(_WORDS),
        "kind": draw(st.sampled_from(["prom", "prem"])),
        "languages": languages,
        "title": draw(text),
    }
    for key in ("intro", "source"):
        if draw(st.booleans()):
            data[key] = draw(text)
    data["licence"] = {"holder": draw(_WORDS), "notice": draw(_WORDS), "url": draw(_WORDS)}
    if draw(st.booleans()):
        data["licence"]["required"] = True
    data["items"] = items
    if draw(st.booleans()):
        order = draw(st.permutations(ids))
        cuts = sorted(draw(st.sets(st.integers(1, len(ids) - 1))) if len(ids) > 1 else set())
        chunks = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(ids)], strict=True)]
        page_ids = draw(
            st.lists(
                st.sampled_from(ids) | _IDENT,
                min_size=len(chunks),
                max_size=len(chunks),
                unique=True,
            )
        )
        data["pages"] = [
            {"id": pid, "items": list(chunk)}
            | ({"title": draw(text)} if draw(st.booleans()) else {})
            for pid, chunk in zip(page_ids, chunks, strict=True)
        ]
    questions = [i["id"] for i in items if i["type"] != "display"]
    if questions and draw(st.booleans()):
        data["scales"] = [
            {
                "id": draw(_WORDS),
                "items": draw(st.lists(st.sampled_from(questions), min_size=1, max_size=3)),
                "direction": draw(st.sampled_from(["higher_better", "higher_worse"])),
                "label": draw(text),
            }
        ]
    value_sets = draw(st.lists(_WORDS, max_size=3, unique=True))
    data["scoring"] = {"algorithm": draw(_WORDS), "missing": draw(_WORDS)}
    if value_sets:
        data["scoring"]["value_sets"] = value_sets
        if draw(st.booleans()):
            data["scoring"]["default_value_set"] = draw(st.sampled_from(value_sets))
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), st.data())
def test_any_valid_definition_round_trips_through_fhir(data, choose):
    assert check(data, "generated.yaml") == []
    inst = build(data)
    lang = choose.draw(st.sampled_from(inst.languages))
    q = to_questionnaire(inst, lang=lang)
    Questionnaire.model_validate(q)
    event(
        f"pages: {len(inst.pages)}, page named like an item: "
        f"{any(p.id in inst.item_ids for p in inst.pages)}"
    )
    event(f"conditions: {sum(len(i.enable_when) for i in inst.items)}")
    assert from_questionnaire(q) == inst.to_definition()
