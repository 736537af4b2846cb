"""Multi-language Bundles: one Questionnaire per language, as helsenorge structor saves them.

:func:`merge_language_bundle` folds the translated Questionnaires of such a Bundle into the
first one as standard ``translation`` extensions (item texts and option labels matched by
``linkId`` and code), so the ordinary import can read every language.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

from instruments.fhir_terms import EXT_LANGUAGES, TRANSLATION, FhirImportError


def _maps(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _items(items: Any) -> Iterator[dict[str, Any]]:
    for item in _maps(items):
        yield item
        yield from _items(item.get("item"))


def _questionnaires(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Questionnaires of a Bundle; entries may wrap them (``{resource: ...}``) or not."""
    found = []
    for entry in _maps(bundle.get("entry")):
        resource = entry.get("resource", entry)
        if isinstance(resource, dict) and resource.get("resourceType") == "Questionnaire":
            found.append(resource)
    return found


def _is_translation(main: Any, translated: Any) -> bool:
    """A translated text, or one that needs none (numbers, symbols); not a copied original."""
    if not isinstance(translated, str) or not translated.strip():
        return False
    return translated != main or not re.search(r"[^\W\d_]", translated)


def _add(
    element: dict[str, Any], name: str, lang: str, value: Any, *, same_ok: bool = False
) -> None:
    """Add a ``translation`` of ``element[name]`` into ``lang`` (first one wins).

    ``same_ok``: a text equal to the main one counts (openprom's own bundles, whose
    languages may share a wording), else it is taken for an untranslated copy.
    """
    if not isinstance(element.get(name), str):
        return
    if not (same_ok and isinstance(value, str) and value.strip()) and not _is_translation(
        element[name], value
    ):
        return
    holder = element.setdefault("_" + name, {})
    extensions = holder.setdefault("extension", [])
    for ext in extensions:
        parts = {e.get("url"): e for e in _maps(ext.get("extension"))}
        if ext.get("url") == TRANSLATION and parts.get("lang", {}).get("valueCode") == lang:
            return
    extensions.append(
        {
            "url": TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": lang},
                {"url": "content", "valueString": value},
            ],
        }
    )


def _codings(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(o["valueCoding"].get("code")): o["valueCoding"]
        for o in _maps(item.get("answerOption"))
        if isinstance(o.get("valueCoding"), dict)
    }


def _concepts(questionnaire: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Concepts of the contained ValueSets, by (ValueSet id, code)."""
    concepts = {}
    for vs in _maps(questionnaire.get("contained")):
        if vs.get("resourceType") != "ValueSet":
            continue
        compose = vs.get("compose")
        for include in _maps(compose.get("include") if isinstance(compose, dict) else None):
            for concept in _maps(include.get("concept")):
                concepts[(str(vs.get("id")), str(concept.get("code")))] = concept
    return concepts


def merge_language_bundle(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The Bundle's first Questionnaire with the others' texts added as translations."""
    questionnaires = _questionnaires(bundle)
    if not questionnaires:
        raise FhirImportError("the Bundle holds no Questionnaire")
    main = copy.deepcopy(questionnaires[0])
    ours = any(
        isinstance(e, dict) and e.get("url") == EXT_LANGUAGES for e in _maps(main.get("extension"))
    )
    items = {i["linkId"]: i for i in _items(main.get("item")) if isinstance(i.get("linkId"), str)}
    concepts = _concepts(main)
    for other in questionnaires[1:]:
        lang = other.get("language")
        if not isinstance(lang, str) or not lang:
            raise FhirImportError("a Questionnaire in the Bundle (not the first) has no language")
        for name in ("title", "description"):
            _add(main, name, lang, other.get(name), same_ok=ours)
        for item in _items(other.get("item")):
            link_id = item.get("linkId")
            target = items.get(link_id) if isinstance(link_id, str) else None
            if target is None:
                continue
            _add(target, "text", lang, item.get("text"), same_ok=ours)
            target_codes = {(c.get("system"), c.get("code")): c for c in _maps(target.get("code"))}
            for coding in _maps(item.get("code")):
                key = (coding.get("system"), coding.get("code"))
                if key in target_codes:
                    _add(target_codes[key], "display", lang, coding.get("display"), same_ok=ours)
            target_codings = _codings(target)
            for code, coding in _codings(item).items():
                if code in target_codings:
                    _add(target_codings[code], "display", lang, coding.get("display"), same_ok=ours)
        for key, concept in _concepts(other).items():
            if key in concepts and _is_translation(
                concepts[key].get("display"), concept.get("display")
            ):
                concepts[key].setdefault("designation", []).append(
                    {"language": lang, "value": concept["display"]}
                )
    return main
