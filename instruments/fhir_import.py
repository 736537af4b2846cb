"""HL7 FHIR R4 Questionnaire -> definition (see :func:`from_questionnaire`)."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from instruments.fhir_bundle import merge_language_bundle
from instruments.fhir_terms import (
    CHILD_CONTROLS,
    EXT_ANCHORS,
    EXT_HELP,
    EXT_ITEM_ORDER,
    EXT_KIND,
    EXT_LANGUAGES,
    EXT_LICENCE,
    EXT_NOT_APPLICABLE,
    EXT_PAGE_ID,
    EXT_SCALES,
    EXT_SCORING,
    EXT_SOURCE,
    ITEM_CONTROL,
    MAX_VALUE,
    MIN_VALUE,
    TRANSLATION,
    URL_PREFIX,
    FhirImportError,
    FhirImportWarning,
)
from instruments.loader import build, check
from instruments.model import LANGUAGES

_ITEM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LANGUAGE_ALIASES = {"no": "nb", "nob": "nb", "nno": "nn", "eng": "en"}
_OPERATORS = {"=", "!=", ">", "<", ">=", "<="}


def from_questionnaire(
    resource: Any, *, skip_unsupported: bool = False, file: str = "<questionnaire>"
) -> dict[str, Any]:
    """A definition mapping (as in a YAML file) made from a FHIR R4 Questionnaire.

    ``resource`` may also be a Bundle with one Questionnaire per language (structor's
    multi-language export); see :func:`instruments.fhir_bundle.merge_language_bundle`.

    Our own exports come back exactly. For other Questionnaires: groups become pages,
    nested groups become display headings, a missing kind becomes ``prom``, a missing
    licence becomes a placeholder that says the licence is unknown (``required: true``),
    and a missing scoring block becomes ``algorithm: none``. Items openprom cannot hold
    (free text, dates, multiple answers ...) raise :class:`FhirImportError`, or with
    ``skip_unsupported`` are left out with a :class:`FhirImportWarning`.
    """
    if not isinstance(resource, Mapping):
        raise FhirImportError("not a FHIR Questionnaire (the JSON is not an object)")
    if resource.get("resourceType") == "Bundle":
        resource = merge_language_bundle(resource)
    kind = resource.get("resourceType")
    if kind != "Questionnaire":
        raise FhirImportError(f"not a FHIR Questionnaire (resourceType is {kind!r})")
    data = _Importer(resource, skip_unsupported).definition()
    problems = check(data, file)
    if problems:
        lines = "\n".join(f"  {p.where}: {p.message}" for p in problems)
        raise FhirImportError(f"the converted definition is invalid:\n{lines}")
    return build(data).to_definition()


def from_questionnaire_file(path: str | Path, *, skip_unsupported: bool = False) -> str:
    """YAML text of the definition converted from the Questionnaire JSON file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FhirImportError(f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FhirImportError(f"not JSON: the file is not UTF-8 text ({exc.reason})") from exc
    try:
        resource = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FhirImportError(
            f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    data = from_questionnaire(resource, skip_unsupported=skip_unsupported, file=str(path))
    header = (
        f"# Converted from the FHIR Questionnaire {path.name} by python -m instruments from-fhir\n"
    )
    return header + dump_definition(data)


class _IndentedDumper(yaml.SafeDumper):
    """Indents list entries under their key, as the bundled files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_definition(data: Mapping[str, Any]) -> str:
    """A definition mapping as YAML text (keys in the file format's order)."""
    return yaml.dump(
        dict(data), Dumper=_IndentedDumper, sort_keys=False, allow_unicode=True, width=92
    )


def _warn(message: str) -> None:
    warnings.warn(message, FhirImportWarning, stacklevel=3)


def _language(code: Any) -> str | None:
    """``nb-NO`` -> ``nb``; None for languages openprom does not hold."""
    if not isinstance(code, str) or not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    base = _LANGUAGE_ALIASES.get(base, base)
    return base if base in LANGUAGES else None


def _maps(value: Any) -> list[Mapping[str, Any]]:
    """The objects in a JSON list; anything else (a malformed optional part) gives none."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ext(element: Mapping[str, Any], url: str) -> dict[str, Any] | None:
    for ext in _maps(element.get("extension")):
        if ext.get("url") == url:
            return dict(ext)
    return None


def _item_control(element: Mapping[str, Any]) -> str | None:
    ext = _ext(element, ITEM_CONTROL)
    if ext is None:
        return None
    for coding in _maps(_map(ext.get("valueCodeableConcept")).get("coding")):
        if isinstance(coding.get("code"), str):
            return coding["code"]
    return None


class _Importer:
    """Walks one Questionnaire and collects the parts of a definition."""

    def __init__(self, resource: Mapping[str, Any], skip_unsupported: bool):
        self.q = resource
        self.skip = skip_unsupported
        self.items: list[dict[str, Any]] = []
        self.pages: list[dict[str, Any]] = []
        self.ids: dict[str, str] = {}  # linkId -> item id
        self.skipped: set[str] = set()
        self.texts: list[tuple[str, dict[str, str]]] = []  # (where, text) for languages
        self.same_texts: list[tuple[dict[str, str], str]] = []  # (text, its only wording)
        self.unknown_languages: set[str] = set()
        self.main = self._main_language()

    # -- top level

    def definition(self) -> dict[str, Any]:
        q = self.q
        self._walk_top(self._list(q.get("item"), "Questionnaire.item"))
        if not self.items:
            raise FhirImportError("the Questionnaire has no items openprom can hold")
        self._resolve_enable_when()
        data: dict[str, Any] = {
            "id": self._instrument_id(),
            "version": str(q.get("version") or "unknown"),
            "kind": self._kind(),
            "languages": [],
            "title": self._text(q, "title", "title", required=False)
            or self._same_text(str(q.get("name") or q.get("id") or "Untitled")),
        }
        description = self._text(q, "description", "description", required=False)
        if description:
            data["intro"] = description
        source = self._json(q, EXT_SOURCE, "Questionnaire")
        if source is not None:
            data["source"] = source
        data["licence"] = self._licence()
        data["items"] = self._ordered_items()
        if self.pages:
            data["pages"] = self.pages
        scales = self._json(q, EXT_SCALES, "Questionnaire")
        if scales:
            data["scales"] = scales
        data["scoring"] = self._json(q, EXT_SCORING, "Questionnaire") or {
            "algorithm": "none",
            "missing": "none",
        }
        data["languages"] = self._languages()
        return data

    def _declared_languages(self) -> list[str] | None:
        """The languages our export lists, in the definition's order (None: not ours)."""
        declared = self._json(self.q, EXT_LANGUAGES, "Questionnaire")
        if declared is None:
            return None
        if not isinstance(declared, list) or not declared:
            raise FhirImportError(f"extension {EXT_LANGUAGES} must hold a list of languages")
        return declared

    def _main_language(self) -> str:
        declared = self._declared_languages()
        language = self.q.get("language")
        main = _language(language)
        if language is not None and main is None:
            raise FhirImportError(
                f"language {language!r} is not supported (openprom holds {', '.join(LANGUAGES)})"
            )
        if main is None:
            main = declared[0] if declared else "nb"
            if not declared:
                _warn("the Questionnaire has no language; assuming 'nb'")
        return main

    def _instrument_id(self) -> str:
        url = self.q.get("url")
        if isinstance(url, str) and url.startswith(URL_PREFIX):
            return url[len(URL_PREFIX) :]
        for candidate in (self.q.get("name"), self.q.get("id")):
            if isinstance(candidate, str) and candidate:
                ident = re.sub(r"[^a-z0-9_-]+", "-", candidate.lower()).strip("-")
                if ident and not ident[0].isalpha():
                    ident = "q" + ident
                if ident:
                    return ident
        raise FhirImportError("the Questionnaire has no url, id or name to make an instrument id")

    def _kind(self) -> str:
        ext = _ext(self.q, EXT_KIND)
        if ext is None:
            return "prom"
        value = ext.get("valueCode")
        if value not in ("prom", "prem"):
            raise FhirImportError(f"extension {EXT_KIND} has {value!r}, not 'prom' or 'prem'")
        return value

    def _licence(self) -> dict[str, Any]:
        copyright_text = self.q.get("copyright")
        info = self._json(self.q, EXT_LICENCE, "Questionnaire")
        if isinstance(info, dict) and isinstance(copyright_text, str):
            return {"notice": copyright_text, **info}
        notice = (
            "Licence unknown: imported from a FHIR Questionnaire without openprom licence "
            "information. Check the terms of use with the copyright holder before use."
        )
        if isinstance(copyright_text, str) and copyright_text.strip():
            notice += f" Copyright statement in the Questionnaire: {copyright_text.strip()}"
        _warn("no openprom licence information; wrote a placeholder saying the licence is unknown")
        publisher = self.q.get("publisher")
        url = self.q.get("url")
        return {
            "holder": publisher if isinstance(publisher, str) and publisher else "unknown",
            "notice": notice,
            "url": url if isinstance(url, str) and url else "unknown",
            "required": True,
        }

    def _languages(self) -> list[str]:
        keep = self._declared_languages() or self._kept_languages()
        for text, value in self.same_texts:
            text.update(dict.fromkeys(keep, value))
        return list(keep)

    def _kept_languages(self) -> list[str]:
        """For a third-party file: the main language and the translations every text has."""
        found: list[str] = []
        for _, text in self.texts:
            found += [lang for lang in text if lang not in found]
        keep = [self.main] + [
            lang
            for lang in found
            if lang != self.main and all(lang in text for _, text in self.texts)
        ]
        for lang in found:
            if lang not in keep:
                where = next(w for w, text in self.texts if lang not in text)
                _warn(f"dropped the '{lang}' translation: {where} has none")
        for _, text in self.texts:
            for lang in [x for x in text if x not in keep]:
                del text[lang]
        return keep

    # -- items

    def _walk_top(self, entries: list[Mapping[str, Any]]) -> None:
        grouped = any(e.get("type") == "group" for e in entries)
        loose: list[str] = []
        for entry in entries:
            if grouped and entry.get("type") == "group":
                self._close_loose_page(loose)
                loose = []
                self._page(entry)
            else:
                loose += self._flatten([entry], [])
        if grouped:
            self._close_loose_page(loose)

    def _close_loose_page(self, ids: list[str]) -> None:
        if ids:
            self.pages.append({"id": self._unique_page_id(f"page_{ids[0]}"), "items": ids})

    def _page(self, group: Mapping[str, Any]) -> None:
        link_id = self._link_id(group)
        ext = _ext(group, EXT_PAGE_ID)
        page_id = ext.get("valueString") if ext else None
        page_id = page_id or self._unique_page_id(_item_id(link_id))
        children = self._list(group.get("item"), f"group {link_id!r}")
        conditions = self._conditions(group)
        ids = self._flatten(children, conditions)
        if not ids:
            _warn(f"group at linkId {link_id!r} holds no items openprom can hold; left out")
            return
        page: dict[str, Any] = {"id": page_id}
        title = self._text(group, "text", f"group {link_id!r}", required=False)
        if title:
            page["title"] = title
        page["items"] = ids
        self.pages.append(page)

    def _unique_page_id(self, wanted: str) -> str:
        taken = {p["id"] for p in self.pages}
        page_id, n = wanted, 2
        while page_id in taken:
            page_id, n = f"{wanted}_{n}", n + 1
        return page_id

    def _flatten(
        self, entries: list[Mapping[str, Any]], inherited: list[dict[str, Any]]
    ) -> list[str]:
        """Items of ``entries`` (groups dissolved), in order; returns their ids."""
        ids: list[str] = []
        for entry in entries:
            link_id = self._link_id(entry)
            kind = entry.get("type")
            conditions = inherited + self._conditions(entry)
            if kind == "group":
                if entry.get("text"):
                    heading = {"linkId": link_id, "type": "display", "text": entry["text"]}
                    if "_text" in entry:
                        heading["_text"] = entry["_text"]
                    ids += self._flatten([heading], conditions)
                children = self._list(entry.get("item"), f"group {link_id!r}")
                ids += self._flatten(children, conditions)
                continue
            item = self._item(entry, link_id, conditions)
            if item is None:
                continue
            ids.append(item["id"])
            nested = [
                c
                for c in self._list(entry.get("item"), f"linkId {link_id!r}")
                if not _is_text_of_parent(c)
            ]
            ids += self._flatten(nested, conditions)
        return ids

    def _item(
        self, entry: Mapping[str, Any], link_id: str, conditions: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        kind = entry.get("type")
        problem = None
        if kind not in ("choice", "integer", "display"):
            problem = f"unsupported item type {kind!r} at linkId {link_id!r}"
        elif entry.get("repeats"):
            problem = f"repeating (multiple-answer) item at linkId {link_id!r} is not supported"
        if problem is not None:
            if not self.skip:
                raise FhirImportError(
                    problem + " (openprom holds choice, integer and display items)"
                )
            _warn(problem + "; left out")
            self.skipped.add(link_id)
            return None
        item_id = _item_id(link_id)
        if item_id in self.ids.values():
            other = next(k for k, v in self.ids.items() if v == item_id)
            raise FhirImportError(
                f"linkIds {other!r} and {link_id!r} both become item id {item_id!r}"
            )
        self.ids[link_id] = item_id
        item: dict[str, Any] = {"id": item_id, "type": kind}
        if entry.get("required") and kind != "display":
            item["required"] = True
        text = self._text(entry, "text", f"linkId {link_id!r}", required=True)
        item["text"] = text
        for child in self._list(entry.get("item"), f"linkId {link_id!r}"):
            control = _item_control(child)
            if _is_text_of_parent(child):
                where = f"linkId {self._link_id(child)!r}"
                child_text = self._text(child, "text", where, required=True)
                if control == "help":
                    item["help"] = child_text
                else:
                    item.setdefault("anchors", {})[CHILD_CONTROLS[control]] = child_text
        help_text = self._json(entry, EXT_HELP, f"linkId {link_id!r}")
        if help_text is not None:
            item["help"] = help_text
        anchors = self._json(entry, EXT_ANCHORS, f"linkId {link_id!r}")
        if anchors is not None:
            item["anchors"] = anchors
        if kind == "choice":
            item["options"] = self._options(entry, link_id)
        if kind == "integer":
            item["min"] = self._bound(entry, MIN_VALUE, "minValue", link_id)
            item["max"] = self._bound(entry, MAX_VALUE, "maxValue", link_id)
        if conditions:
            item["enable_when"] = conditions
        self.items.append(item)
        return item

    def _options(self, entry: Mapping[str, Any], link_id: str) -> list[dict[str, Any]]:
        where = f"linkId {link_id!r}"
        options: list[dict[str, Any]] = []
        for option in self._list(entry.get("answerOption"), where):
            if "valueCoding" in option:
                coding = option["valueCoding"]
                if not isinstance(coding, Mapping):
                    raise FhirImportError(f"answerOption.valueCoding is not an object at {where}")
                code = _integer_code(coding.get("code"), where)
                label = self._text(coding, "display", where, required=False)
                label = label or self._same_text(str(code))
            elif "valueInteger" in option:
                code = _integer_code(option["valueInteger"], where)
                label = self._same_text(str(code))
            else:
                found = next((k for k in option if k.startswith("value")), "no value")
                raise FhirImportError(
                    f"answerOption with {found} at {where} is not supported "
                    "(need valueCoding with an integer code, or valueInteger)"
                )
            result: dict[str, Any] = {"code": code, "label": label}
            na = _ext(option, EXT_NOT_APPLICABLE)
            if na is not None and na.get("valueBoolean"):
                result["not_applicable"] = True
            options.append(result)
        value_set = entry.get("answerValueSet")
        if value_set is not None:
            if options:
                raise FhirImportError(f"both answerOption and answerValueSet at {where}")
            options = self._value_set_options(value_set, where)
        if not options:
            raise FhirImportError(f"choice item without answerOption at {where}")
        return options

    def _value_set_options(self, reference: Any, where: str) -> list[dict[str, Any]]:
        """Options from a ValueSet contained in the Questionnaire (``#id``)."""
        contained = {
            r["id"]: r
            for r in _maps(self.q.get("contained"))
            if r.get("resourceType") == "ValueSet" and isinstance(r.get("id"), str)
        }
        vs = contained.get(reference[1:]) if isinstance(reference, str) else None
        if not (isinstance(reference, str) and reference.startswith("#")) or vs is None:
            raise FhirImportError(
                f"answerValueSet {reference!r} at {where} is not a ValueSet contained in the "
                "Questionnaire; only contained value sets can be imported"
            )
        concepts: list[Mapping[str, Any]] = []
        for include in _maps(_map(vs.get("compose")).get("include")):
            concepts += _maps(include.get("concept"))
        if not concepts:
            concepts = _maps(_map(vs.get("expansion")).get("contains"))
        options = []
        for concept in concepts:
            code = _integer_code(concept.get("code"), where)
            display = concept.get("display")
            label = {self.main: display if isinstance(display, str) and display else str(code)}
            for designation in _maps(concept.get("designation")):
                lang = _language(designation.get("language"))
                if lang and lang != self.main and designation.get("value"):
                    label[lang] = designation["value"]
            self.texts.append((f"{where} option {code}", label))
            options.append({"code": code, "label": label})
        return options

    def _bound(self, entry: Mapping[str, Any], url: str, name: str, link_id: str) -> int:
        ext = _ext(entry, url)
        if ext is None:
            raise FhirImportError(
                f"integer item at linkId {link_id!r} has no {name} extension "
                f"({url}); openprom needs both bounds"
            )
        value = ext.get("valueInteger", ext.get("valueDecimal"))
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise FhirImportError(f"{name} of linkId {link_id!r} is not an integer: {value!r}")
        return int(value)

    def _conditions(self, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
        """enableWhen of ``entry`` with linkIds still unresolved (see _resolve_enable_when)."""
        link_id = entry.get("linkId")
        raw = self._list(entry.get("enableWhen"), f"linkId {link_id!r}")
        if len(raw) > 1 and entry.get("enableBehavior") == "any":
            raise FhirImportError(
                f"enableBehavior 'any' at linkId {link_id!r} is not supported "
                "(openprom shows an item when all its conditions hold)"
            )
        conditions = []
        for cond in raw:
            operator = cond.get("operator")
            if not isinstance(operator, str) or operator not in _OPERATORS:
                raise FhirImportError(
                    f"enableWhen operator {operator!r} at linkId {link_id!r} is not supported"
                )
            if "answerCoding" in cond and isinstance(cond["answerCoding"], Mapping):
                answer = _integer_code(cond["answerCoding"].get("code"), f"linkId {link_id!r}")
            elif "answerInteger" in cond:
                answer = _integer_code(cond["answerInteger"], f"linkId {link_id!r}")
            else:
                found = next((k for k in cond if k.startswith("answer")), "no answer")
                raise FhirImportError(
                    f"enableWhen with {found} at linkId {link_id!r} is not supported "
                    "(need answerCoding or answerInteger)"
                )
            question = cond.get("question")
            if not isinstance(question, str) or not question:
                raise FhirImportError(f"enableWhen without question at linkId {link_id!r}")
            conditions.append({"item": question, "operator": operator, "answer": answer})
        return conditions

    def _resolve_enable_when(self) -> None:
        for item in self.items:
            for cond in item.get("enable_when", []):
                link_id = cond["item"]
                if link_id in self.skipped:
                    raise FhirImportError(
                        f"item {item['id']!r} depends on linkId {link_id!r}, which was left out"
                    )
                if link_id not in self.ids:
                    raise FhirImportError(
                        f"enableWhen of item {item['id']!r} names unknown linkId {link_id!r}"
                    )
                cond["item"] = self.ids[link_id]

    def _ordered_items(self) -> list[dict[str, Any]]:
        order = self._json(self.q, EXT_ITEM_ORDER, "Questionnaire")
        if order is None:
            return self.items
        by_id = {i["id"]: i for i in self.items}
        if sorted(order) != sorted(by_id):
            raise FhirImportError(f"extension {EXT_ITEM_ORDER} does not list the items")
        return [by_id[i] for i in order]

    # -- helpers

    def _link_id(self, entry: Mapping[str, Any]) -> str:
        link_id = entry.get("linkId")
        if not isinstance(link_id, str) or not link_id:
            text = entry.get("text")
            hint = f" (text {text!r})" if isinstance(text, str) else ""
            raise FhirImportError(f"item without linkId{hint}")
        return link_id

    def _list(self, value: Any, where: str) -> list[Mapping[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise FhirImportError(f"{where}: expected a list of objects")
        return value

    def _text(
        self, element: Mapping[str, Any], name: str, where: str, *, required: bool
    ) -> dict[str, str] | None:
        """A text in the main language plus its translation extensions."""
        main = element.get(name)
        if not isinstance(main, str) or not main:
            if required:
                raise FhirImportError(f"{where} has no {name}")
            return None
        text = {self.main: main}
        translations = element.get("_" + name)
        if not isinstance(translations, Mapping):
            translations = {}
        for ext in _maps(translations.get("extension")):
            if not isinstance(ext, Mapping) or ext.get("url") != TRANSLATION:
                continue
            parts = {
                e.get("url"): e
                for e in _maps(ext.get("extension"))
                if isinstance(e.get("url"), str)
            }
            code = (parts.get("lang") or {}).get("valueCode")
            content = parts.get("content") or {}
            value = content.get("valueString", content.get("valueMarkdown"))
            lang = _language(code)
            if lang is None:
                if repr(code) not in self.unknown_languages:
                    self.unknown_languages.add(repr(code))
                    _warn(f"dropped the translations into {code!r} (openprom holds nb, nn, en)")
                continue
            if lang != self.main and isinstance(value, str) and value:
                text[lang] = value
        self.texts.append((where, text))
        return text

    def _same_text(self, value: str) -> dict[str, str]:
        """A text that reads the same in every language (codes, names); filled in later."""
        text: dict[str, str] = {}
        self.same_texts.append((text, value))
        return text

    def _json(self, element: Mapping[str, Any], url: str, where: str) -> Any:
        ext = _ext(element, url)
        if ext is None:
            return None
        try:
            return json.loads(ext.get("valueString", ""))
        except (TypeError, json.JSONDecodeError) as exc:
            raise FhirImportError(f"extension {url} at {where} is not valid JSON") from exc


def _is_text_of_parent(child: Mapping[str, Any]) -> bool:
    """A display child that holds its parent's help or an end label (itemControl)."""
    return child.get("type") == "display" and _item_control(child) in CHILD_CONTROLS


def _item_id(link_id: str) -> str:
    """An item id (``[A-Za-z][A-Za-z0-9_]*``) for a linkId: ``1.2`` -> ``q1_2``."""
    if _ITEM_ID.match(link_id):
        return link_id
    ident = re.sub(r"[^A-Za-z0-9_]", "_", link_id)
    return ident if ident[:1].isalpha() else "q" + ident


def _integer_code(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise FhirImportError(f"option code {value!r} at {where} is not an integer")
