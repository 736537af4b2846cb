"""HL7 FHIR R4 Questionnaire -> definition (see :func:`from_questionnaire`).

The import walks the whole Questionnaire and collects every problem (each naming its
linkId) before it gives up, so one run shows everything that needs fixing. An STU3 file is
recognised and, when that is simple, converted first (:mod:`instruments.fhir_stu3`).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from instruments.fhir_bundle import merge_language_bundle
from instruments.fhir_stu3 import convert_stu3, stu3_signs
from instruments.fhir_terms import (
    CALCULATED,
    CHILD_CONTROLS,
    EXT_ANCHORS,
    EXT_HELP,
    EXT_INSTRUMENT_ID,
    EXT_ITEM_ID,
    EXT_ITEM_ORDER,
    EXT_KIND,
    EXT_LANGUAGES,
    EXT_LICENCE,
    EXT_NO_ID,
    EXT_NO_LANGUAGE,
    EXT_NOT_APPLICABLE,
    EXT_PAGE_ID,
    EXT_RESOURCE_ID,
    EXT_SCALES,
    EXT_SCORING,
    EXT_SLIDER_OF,
    EXT_SOURCE,
    EXT_STEP_ADDED,
    EXT_VERSION,
    HASH_SYSTEM,
    ITEM_CONTROL,
    MAX_VALUE,
    MIN_VALUE,
    ORDINAL_ALIASES,
    RENDERING_MARKDOWN,
    RENDERING_XHTML,
    SDF_CALCULATED,
    SLIDER_DISPLAY_TYPE,
    SLIDER_LABELS,
    TRANSLATION,
    UNIT,
    URL_PREFIX,
    FhirImportError,
    FhirImportWarning,
)
from instruments.fhir_value_sets import shipped_value_set
from instruments.loader import build, check
from instruments.model import ITEM_TYPES, LANGUAGES

_ITEM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LANGUAGE_ALIASES = {"no": "nb", "nob": "nb", "nno": "nn", "eng": "en"}
_OPERATORS = {"=", "!=", ">", "<", ">=", "<=", "exists"}
_UNSUPPORTED_TYPES = {"time", "url", "attachment", "reference"}
_ANSWER_KEYS = (
    "answerCoding",
    "answerInteger",
    "answerDecimal",
    "answerString",
    "answerBoolean",
    "answerDate",
    "answerDateTime",
    "answerQuantity",
)
_STATUSES = {"draft", "active", "retired", "unknown"}
ENABLE_WHEN_EXPRESSION = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
)


class _Skip(Exception):
    """An item that cannot be held: recorded as a problem (or left out with skip)."""


def from_questionnaire(
    resource: Any,
    *,
    skip_unsupported: bool = False,
    language: str | None = None,
    file: str = "<questionnaire>",
) -> dict[str, Any]:
    """A definition mapping (as in a YAML file) made from a FHIR R4 Questionnaire.

    ``resource`` may also be a Bundle with one Questionnaire per language (structor's
    multi-language export). ``language`` (nb, nn, en) is used when the file has none; a
    file without a language and no ``language`` is an error, never silently Norwegian.

    Every item type of the definition format is imported, with linkIds, codes, code
    systems, prefixes, itemControl, option weights and calculatedExpression kept so that
    :func:`instruments.fhir.to_questionnaire` gives the same linkIds and answer codings.
    Problems are collected and raised together as :class:`FhirImportError` (``problems``
    lists them); with ``skip_unsupported`` items of a type openprom cannot hold (time,
    url, attachment, reference, repeating groups) are left out with a warning instead.
    """
    if not isinstance(resource, Mapping):
        raise FhirImportError("not a FHIR Questionnaire (the JSON is not an object)")
    if resource.get("resourceType") == "Bundle":
        resource = merge_language_bundle(resource)
    kind = resource.get("resourceType")
    if kind != "Questionnaire":
        raise FhirImportError(f"not a FHIR Questionnaire (resourceType is {kind!r})")
    signs = stu3_signs(resource)
    if signs:
        resource, left = convert_stu3(resource)
        note = "this is a FHIR STU3 Questionnaire (" + ", ".join(signs) + ")"
        if left:
            problems = [f"{note}; it cannot be converted to R4 automatically:"] + left
            raise FhirImportError("\n".join(problems), problems)
        _warn(note + "; converted to R4 (option -> answerOption, hasAnswer -> exists)")
    importer = _Importer(resource, skip_unsupported, language)
    data = importer.definition()
    if importer.problems:
        raise FhirImportError(_summary(importer.problems), importer.problems)
    problems = check(data, file)
    if problems:
        lines = [f"{p.where}: {p.message}" for p in problems]
        raise FhirImportError(
            "the converted definition is invalid:\n" + "\n".join(f"  {line}" for line in lines),
            lines,
        )
    return build(data).to_definition()


def _summary(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)


def read_questionnaire(path: str | Path) -> Any:
    """The parsed JSON of a Questionnaire file; FhirImportError when it cannot be read."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FhirImportError(f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FhirImportError(f"not JSON: the file is not UTF-8 text ({exc.reason})") from exc
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FhirImportError(
            f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc


def from_questionnaire_file(
    path: str | Path, *, skip_unsupported: bool = False, language: str | None = None
) -> str:
    """YAML text of the definition converted from the Questionnaire JSON file at ``path``."""
    path = Path(path)
    resource = read_questionnaire(path)
    data = from_questionnaire(
        resource, skip_unsupported=skip_unsupported, language=language, file=str(path)
    )
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


def _ext(element: Mapping[str, Any], *urls: str) -> dict[str, Any] | None:
    for ext in _maps(element.get("extension")):
        if ext.get("url") in urls:
            return dict(ext)
    return None


def item_control(element: Mapping[str, Any]) -> str | None:
    """The questionnaire-itemControl code of an item (first coding), or None."""
    ext = _ext(element, ITEM_CONTROL)
    if ext is None:
        return None
    for coding in _maps(_map(ext.get("valueCodeableConcept")).get("coding")):
        if isinstance(coding.get("code"), str):
            return coding["code"]
    return None


def _is_text_of_parent(child: Mapping[str, Any]) -> bool:
    """A display (or Helsenorge ``text``) child holding its parent's help or an end label."""
    return child.get("type") in ("display", "text") and item_control(child) in CHILD_CONTROLS


def _item_id(link_id: str) -> str:
    """An item id (``[A-Za-z][A-Za-z0-9_]*``) for a linkId: ``1.2`` -> ``q1_2``."""
    if _ITEM_ID.match(link_id):
        return link_id
    ident = re.sub(r"[^A-Za-z0-9_]+", "_", link_id).strip("_") or "item"
    return ident if ident[:1].isalpha() else "q" + ident


def _kept_system(system: Any) -> bool:
    """A code system to keep (not the urn:openprom one our export makes up)."""
    return isinstance(system, str) and bool(system) and not system.startswith("urn:openprom:")


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _coding(raw: Any) -> dict[str, Any] | None:
    """A definition coding from a FHIR Coding (None without a code)."""
    raw = _map(raw)
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        return None
    coding: dict[str, Any] = {}
    if isinstance(raw.get("system"), str) and raw["system"]:
        coding["system"] = raw["system"]
    coding["code"] = code
    if isinstance(raw.get("display"), str):
        coding["display"] = raw["display"]
    return coding


def _ordinal(*elements: Mapping[str, Any]) -> tuple[int | float | None, str | None, int]:
    """(weight, extension URL, index of the element holding it) from the first that has one."""
    for index, element in enumerate(elements):
        for ext in _maps(element.get("extension")):
            if ext.get("url") in ORDINAL_ALIASES:
                value = _number(ext.get("valueDecimal", ext.get("valueInteger")))
                if value is not None:
                    return value, ext["url"], index
    return None, None, -1


class _Importer:
    """Walks one Questionnaire and collects the parts of a definition (and its problems)."""

    def __init__(self, resource: Mapping[str, Any], skip: bool, language: str | None):
        self.q = resource
        self.skip = skip
        self.ours = str(resource.get("url") or "").startswith(URL_PREFIX)
        self.problems: list[str] = []
        self.items: list[dict[str, Any]] = []
        self.pages: list[dict[str, Any]] = []
        self.ids: dict[str, str] = {}  # linkId -> item id
        self.skipped: set[str] = set()
        self.seen_link_ids: set[str] = set()
        self.texts: list[tuple[str, dict[str, str]]] = []  # (where, text) for languages
        self.same_texts: list[tuple[dict[str, str], str]] = []  # (text, its only wording)
        self.unknown_languages: set[str] = set()
        self.ordinal_where: tuple[str, str] | None = None  # (extension url, coding|option)
        self.main = self._main_language(language)

    def problem(self, message: str) -> None:
        self.problems.append(message)

    # -- top level

    def definition(self) -> dict[str, Any]:
        q = self.q
        self._walk_top(self._list(q.get("item"), "Questionnaire.item"))
        if not self.items and not self.problems:
            self.problem("the Questionnaire has no items openprom can hold")
        self._resolve_enable_when()
        data: dict[str, Any] = {
            "id": self._instrument_id(),
            "version": self._version(),
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
        meta = self._fhir_meta()
        if meta:
            data["fhir"] = meta
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

    def _fhir_meta(self) -> dict[str, Any]:
        """What the Questionnaire says about itself (third-party files only)."""
        if self.ours:
            return {}
        q = self.q
        meta: dict[str, Any] = {}
        for name in ("url", "version", "name", "publisher", "id", "language"):
            value = q.get(name)
            if isinstance(value, str) and value.strip():
                meta[name] = value
        if _ext(q, EXT_NO_LANGUAGE) is not None:
            meta.pop("language", None)
        if _ext(q, EXT_NO_ID) is not None:
            meta.pop("id", None)
        resource_id = _ext(q, EXT_RESOURCE_ID)
        if resource_id is not None and isinstance(resource_id.get("valueString"), str):
            meta["id"] = resource_id["valueString"]
        if isinstance(q.get("status"), str) and q["status"] in _STATUSES:
            meta["status"] = q["status"]
        identifiers = []
        for ident in _maps(q.get("identifier")):
            value = ident.get("value")
            if ident.get("system") == HASH_SYSTEM:
                continue  # our content hash: recomputed, not kept
            if isinstance(value, str) and value.strip():
                entry = {"value": value}
                if isinstance(ident.get("system"), str) and ident["system"]:
                    entry = {"system": ident["system"], **entry}
                identifiers.append(entry)
        if identifiers:
            meta["identifier"] = identifiers
        codes = [c for c in (_coding(c) for c in _maps(q.get("code"))) if c]
        if codes:
            meta["code"] = codes
        if self.ordinal_where is not None:
            meta["ordinal_extension"], meta["ordinal_on"] = self.ordinal_where
        return meta

    def _declared_languages(self) -> list[str] | None:
        """The languages our export lists, in the definition's order (None: not ours)."""
        declared = self._json(self.q, EXT_LANGUAGES, "Questionnaire")
        if declared is None:
            return None
        if not isinstance(declared, list) or not declared:
            self.problem(f"extension {EXT_LANGUAGES} must hold a list of languages")
            return None
        return declared

    def _main_language(self, given: str | None) -> str:
        declared = self._declared_languages()
        language = self.q.get("language")
        if isinstance(language, str) and language.strip():
            main = _language(language)
            if main is None:
                self.problem(
                    f"language {language!r} is not supported "
                    f"(openprom holds {', '.join(LANGUAGES)})"
                )
                return "nb"
            if given is not None and given != main:
                _warn(f"the Questionnaire says its language is {language!r}; --language ignored")
            return main
        if declared:
            return declared[0]
        if given is not None:
            if given not in LANGUAGES:
                self.problem(f"--language {given!r} is not one of {', '.join(LANGUAGES)}")
                return "nb"
            return given
        self.problem(
            "the Questionnaire has no language; say which one its texts are in "
            f"(--language {'|'.join(LANGUAGES)})"
        )
        return "nb"

    def _instrument_id(self) -> str:
        own = _ext(self.q, EXT_INSTRUMENT_ID)
        if own is not None and isinstance(own.get("valueString"), str):
            return own["valueString"]
        url = self.q.get("url")
        if isinstance(url, str) and url.startswith(URL_PREFIX):
            return url[len(URL_PREFIX) :]
        for candidate in (self.q.get("name"), self.q.get("id"), self.q.get("title")):
            if isinstance(candidate, str) and candidate:
                ident = re.sub(r"[^a-z0-9_-]+", "-", candidate.lower()).strip("-")
                if ident and not ident[0].isalpha():
                    ident = "q" + ident
                if ident:
                    return ident[:64].rstrip("-")
        self.problem("the Questionnaire has no url, id, name or title to make an instrument id")
        return "imported"

    def _version(self) -> str:
        own = _ext(self.q, EXT_VERSION)
        if own is not None and isinstance(own.get("valueString"), str):
            return own["valueString"]
        version = self.q.get("version")
        return str(version) if isinstance(version, str | int) and str(version).strip() else "1"

    def _kind(self) -> str:
        ext = _ext(self.q, EXT_KIND)
        if ext is None:
            return "prom"
        value = ext.get("valueCode")
        if value not in ("prom", "prem"):
            self.problem(f"extension {EXT_KIND} has {value!r}, not 'prom' or 'prem'")
            return "prom"
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
            "holder": publisher if isinstance(publisher, str) and publisher.strip() else "unknown",
            "notice": notice,
            "url": url if isinstance(url, str) and url.strip() else "unknown",
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
                loose += self._flatten([entry], ([], "all"))
        if grouped:
            self._close_loose_page(loose)

    def _close_loose_page(self, ids: list[str]) -> None:
        if ids:
            self.pages.append({"id": self._unique_page_id(f"page_{ids[0]}"), "items": ids})

    def _page(self, group: Mapping[str, Any]) -> None:
        link_id = self._link_id(group)
        if link_id is None:
            return
        if group.get("repeats") is True:
            self._unsupported(link_id, "repeating group (answered several times)")
            return
        ext = _ext(group, EXT_PAGE_ID)
        page_id = ext.get("valueString") if ext else None
        page_id = page_id or self._unique_page_id(_item_id(link_id))
        children = self._list(group.get("item"), f"group {link_id!r}")
        conditions = self._conditions(group, ([], "all"))
        ids = self._flatten(children, conditions)
        if not ids:
            if children:
                _warn(f"group at linkId {link_id!r} holds no items openprom can hold; left out")
            else:
                self.problem(f"linkId {link_id!r}: a group without items (R4 que-1)")
            return
        page: dict[str, Any] = {"id": page_id}
        generated = ext is not None and link_id == f"{page_id}-page"
        if not generated and link_id != page_id:
            page["link_id"] = link_id
        control = item_control(group)
        if control is not None and _ext(group, EXT_STEP_ADDED) is None:
            page["item_control"] = control
        codes = [c for c in (_coding(c) for c in _maps(group.get("code"))) if c]
        if codes:
            page["code"] = codes
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
        self, entries: list[Mapping[str, Any]], inherited: tuple[list[dict[str, Any]], str]
    ) -> list[str]:
        """Items of ``entries`` (groups dissolved), in order; returns their ids."""
        ids: list[str] = []
        for entry in entries:
            link_id = self._link_id(entry)
            if link_id is None:
                continue
            kind = entry.get("type")
            conditions = self._conditions(entry, inherited)
            if kind == "group":
                if entry.get("repeats") is True:
                    self._unsupported(link_id, "repeating group (answered several times)")
                    continue
                if entry.get("text") or "_text" in entry:
                    heading = {"linkId": link_id, "type": "display", "text": entry.get("text")}
                    if "_text" in entry:
                        heading["_text"] = entry["_text"]
                    ids.append(self._item(heading, link_id, conditions)["id"])
                else:
                    self.seen_link_ids.discard(link_id)  # a group without a heading: not kept
                    _warn(f"group at linkId {link_id!r} has no text; its linkId is not kept")
                children = self._list(entry.get("item"), f"group {link_id!r}")
                ids += self._flatten(children, conditions)
                continue
            try:
                item = self._item(entry, link_id, conditions)
            except _Skip as exc:
                self._unsupported(link_id, str(exc))
                continue
            ids.append(item["id"])
            nested = [
                c
                for c in self._list(entry.get("item"), f"linkId {link_id!r}")
                if not _is_text_of_parent(c)
            ]
            if nested and kind == "display":
                self.problem(f"linkId {link_id!r}: a display item cannot have items (R4 que-1)")
                continue
            ids += self._flatten(nested, inherited)
        return ids

    def _unsupported(self, link_id: str, what: str) -> None:
        if self.skip:
            _warn(f"{what} at linkId {link_id!r} is not supported; left out")
            self.skipped.add(link_id)
        else:
            self.problem(
                f"linkId {link_id!r}: {what} is not supported "
                "(use --skip-unsupported to leave such items out)"
            )

    def _item(
        self, entry: Mapping[str, Any], link_id: str, conditions: tuple[list[dict[str, Any]], str]
    ) -> dict[str, Any]:
        kind = entry.get("type")
        where = f"linkId {link_id!r}"
        control = item_control(entry)
        if not isinstance(kind, str):
            raise _Skip(f"item type {kind!r}")
        slider_of = self._json(entry, EXT_SLIDER_OF, where)
        if isinstance(slider_of, dict):
            return self._slider_item(entry, link_id, conditions, slider_of)
        if kind == "text" and control == "sidebar":
            kind = "display"  # Helsenorge: a text shown beside the form, not a question
        elif kind in _UNSUPPORTED_TYPES or kind not in ITEM_TYPES:
            raise _Skip(f"item type {kind!r}")
        if entry.get("repeats") is True and kind not in ("choice", "open-choice"):
            raise _Skip(f"a repeating {kind} item (several answers)")
        own_id = _ext(entry, EXT_ITEM_ID)
        wanted = own_id.get("valueString") if own_id else None
        if not (isinstance(wanted, str) and _ITEM_ID.match(wanted)):
            wanted = _item_id(link_id)
        item_id = self._unique_item_id(wanted)
        self.ids[link_id] = item_id
        item: dict[str, Any] = {"id": item_id}
        if link_id != item_id:
            item["link_id"] = link_id
        item["type"] = kind
        if entry.get("repeats") is True:
            item["repeats"] = True
        if entry.get("required") is True:
            if kind == "display":
                _warn(f"{where}: a display item cannot be required (R4 que-6); ignored")
            else:
                item["required"] = True
        prefix = entry.get("prefix")
        if isinstance(prefix, str) and prefix.strip():
            item["prefix"] = prefix
        item["text"] = self._text(entry, "text", where, required=True) or self._same_text("?")
        codes = [c for c in (_coding(c) for c in _maps(entry.get("code"))) if c]
        if len(codes) != len(_maps(entry.get("code"))):
            _warn(f"{where}: item codes without a code are left out")
        if codes:
            item["code"] = codes
        if control is not None and not (kind == "display" and control in CHILD_CONTROLS):
            item["item_control"] = control
        self._children_texts(entry, item, where)
        if kind in ("choice", "open-choice"):
            item["options"] = self._options(entry, where, required=kind == "choice")
            if not item["options"]:
                del item["options"]
        elif entry.get("answerOption") or entry.get("answerValueSet"):
            self.problem(
                f"{where}: answer options on a {kind} item are not supported "
                "(make it a choice item)"
            )
        if kind in ("integer", "decimal", "quantity"):
            self._bounds(entry, item, where)
        max_length = entry.get("maxLength")
        if _number(max_length) and kind in ("string", "text", "open-choice"):
            item["max_length"] = int(max_length)
        unit = _ext(entry, UNIT)
        if unit is not None and kind in ("integer", "decimal", "quantity"):
            coding = _coding(unit.get("valueCoding"))
            if coding is None:
                self.problem(f"{where}: questionnaire-unit without a unit code")
            else:
                item["unit"] = coding
        expression = self._calculated(entry, where)
        if expression is not None and kind != "display":
            item["calculated_expression"] = expression
        own, behavior = conditions
        if own:
            item["enable_when"] = own
            if behavior != "all":
                item["enable_behavior"] = behavior
        self.items.append(item)
        return item

    def _slider_item(
        self,
        entry: Mapping[str, Any],
        link_id: str,
        conditions: tuple[list[dict[str, Any]], str],
        marker: dict[str, Any],
    ) -> dict[str, Any]:
        """An integer item our Helsenorge profile wrote as a slider (see fhir_helsenorge)."""
        plain = {k: v for k, v in entry.items() if k not in ("answerOption", "extension")}
        plain["type"] = marker.get("type", "integer")
        plain["code"] = [
            c
            for c in _maps(entry.get("code"))
            if c.get("system") not in (SLIDER_LABELS, SLIDER_DISPLAY_TYPE)
        ]
        if not plain["code"]:
            del plain["code"]
        extensions = [
            e
            for e in _maps(entry.get("extension"))
            if e.get("url") not in (EXT_SLIDER_OF, ITEM_CONTROL)
        ]
        if marker.get("item_control"):
            extensions.append(
                {
                    "url": ITEM_CONTROL,
                    "valueCodeableConcept": {"coding": [{"code": marker["item_control"]}]},
                }
            )
        for name, url in (("min", MIN_VALUE), ("max", MAX_VALUE)):
            if marker.get(name) is not None:
                extensions.append({"url": url, "valueInteger": marker[name]})
        plain["extension"] = extensions
        item = self._item(plain, link_id, conditions)
        where = f"linkId {link_id!r}"
        anchors = {}
        for coding in _maps(entry.get("code")):
            end = {"LabelLeft": "min", "LabelRight": "max"}.get(str(coding.get("code")))
            if coding.get("system") == SLIDER_LABELS and end:
                anchors[end] = self._text(coding, "display", where, required=True)
        if anchors:
            item["anchors"] = anchors
        return item

    def _unique_item_id(self, wanted: str) -> str:
        taken = set(self.ids.values())
        item_id, n = wanted, 2
        while item_id in taken:
            item_id, n = f"{wanted}_{n}", n + 1
        return item_id

    def _children_texts(self, entry: Mapping[str, Any], item: dict[str, Any], where: str) -> None:
        for child in self._list(entry.get("item"), where):
            if not _is_text_of_parent(child):
                continue
            child_id = child.get("linkId")
            child_where = f"linkId {child_id!r}"
            if isinstance(child_id, str):
                if child_id in self.seen_link_ids:
                    self.problem(f"{child_where}: linkId used twice (R4 que-2)")
                self.seen_link_ids.add(child_id)
            text = self._text(child, "text", child_where, required=True) or self._same_text("?")
            control = item_control(child)
            if control == "help":
                item["help"] = text
                if isinstance(child_id, str) and child_id != f"{item['id']}-help":
                    item["help_link_id"] = child_id
            else:
                item.setdefault("anchors", {})[CHILD_CONTROLS[str(control)]] = text
        help_text = self._json(entry, EXT_HELP, where)
        if help_text is not None:
            item["help"] = help_text
        anchors = self._json(entry, EXT_ANCHORS, where)
        if anchors is not None:
            item["anchors"] = anchors

    def _calculated(self, entry: Mapping[str, Any], where: str) -> str | None:
        ext = _ext(entry, CALCULATED)
        if ext is not None:
            expression = _map(ext.get("valueExpression")).get("expression")
            if isinstance(expression, str) and expression.strip():
                return expression
            self.problem(f"{where}: calculatedExpression without an expression")
            return None
        ext = _ext(entry, SDF_CALCULATED)
        if ext is not None and isinstance(ext.get("valueString"), str):
            return ext["valueString"]
        return None

    def _bounds(self, entry: Mapping[str, Any], item: dict[str, Any], where: str) -> None:
        for name, url in (("min", MIN_VALUE), ("max", MAX_VALUE)):
            ext = _ext(entry, url)
            if ext is None:
                continue
            value = _number(ext.get("valueInteger", ext.get("valueDecimal")))
            if value is None:
                self.problem(f"{where}: {url.rsplit('/', 1)[1]} is not a number")
            elif item["type"] == "integer" and not float(value).is_integer():
                self.problem(f"{where}: {name} of an integer item is not whole: {value}")
            else:
                item[name] = value

    def _option_code(self, value: Any, system: Any = None) -> int | str | None:
        """An option code: a string as in the file (our own exports: integers)."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if not isinstance(value, str) or not value.strip():
            return None
        ours = (self.ours and not isinstance(system, str)) or (
            isinstance(system, str) and system.startswith("urn:openprom:")
        )
        if ours and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        return value

    def _options(self, entry: Mapping[str, Any], where: str, *, required: bool) -> list:
        options: list[dict[str, Any]] = []
        for option in self._list(entry.get("answerOption"), where):
            result = self._answer_option(option, where)
            if result is not None:
                options.append(result)
        value_set = entry.get("answerValueSet")
        if value_set is not None:
            if options:
                self.problem(f"{where}: both answerOption and answerValueSet")
            options = self._value_set_options(value_set, where)
        if not options and required and value_set is None and not entry.get("answerOption"):
            self.problem(f"{where}: a choice item without answerOption or answerValueSet")
        codes = [(o.get("system"), o["code"]) for o in options]
        plain = [c for _, c in codes]
        for system, code in codes:
            if plain.count(code) > 1 and codes.count((system, code)) == 1:
                self.problem(
                    f"{where}: the code {code!r} appears in several code systems; "
                    "openprom needs codes unique within an item"
                )
                break
        return options

    def _answer_option(self, option: Mapping[str, Any], where: str) -> dict[str, Any] | None:
        result: dict[str, Any]
        if isinstance(option.get("valueCoding"), Mapping):
            raw = option["valueCoding"]
            code = self._option_code(raw.get("code"), raw.get("system"))
            if code is None:
                self.problem(f"{where}: an answerOption valueCoding without a code")
                return None
            label = self._text(raw, "display", where, required=False) or self._same_text(str(code))
            result = {"code": code}
            if _kept_system(raw.get("system")):
                result["system"] = raw["system"]
            result["label"] = label
            weight, url, index = _ordinal(option, raw)
        elif "valueInteger" in option and _number(option["valueInteger"]) is not None:
            code = int(option["valueInteger"])
            result = {"code": code, "label": self._same_text(str(code))}
            if not self.ours:
                result["fhir_type"] = "valueInteger"
            weight, url, index = _ordinal(option)
        elif isinstance(option.get("valueString"), str) and option["valueString"].strip():
            code = option["valueString"]
            result = {
                "code": code,
                "label": self._text(option, "valueString", where, required=True)
                or self._same_text(code),
                "fhir_type": "valueString",
            }
            weight, url, index = _ordinal(option)
        else:
            found = next((k for k in option if k.startswith("value")), "no value")
            self.problem(
                f"{where}: answerOption with {found} is not supported "
                "(valueCoding, valueInteger or valueString)"
            )
            return None
        ours_code = isinstance(result["code"], int) and not result.get("system")
        if weight is not None and not (ours_code and weight == result["code"]):
            result["ordinal"] = weight
            self._note_ordinal(str(url), "option" if index == 0 else "coding")
        na = _ext(option, EXT_NOT_APPLICABLE)
        if na is not None and na.get("valueBoolean"):
            result["not_applicable"] = True
        return result

    def _note_ordinal(self, url: str, on: str) -> None:
        if self.ordinal_where is None:
            self.ordinal_where = (url, on)

    def _value_set(self, reference: str) -> Mapping[str, Any] | None:
        contained = [
            r for r in _maps(self.q.get("contained")) if r.get("resourceType") == "ValueSet"
        ]
        if reference.startswith("#"):
            return next((r for r in contained if r.get("id") == reference[1:]), None)
        canonical = reference.split("|")[0]
        found = next((r for r in contained if r.get("url") == canonical), None)
        return found or shipped_value_set(canonical)

    def _value_set_options(self, reference: Any, where: str) -> list[dict[str, Any]]:
        """Options from a contained ValueSet (``#id`` or its url) or a shipped one."""
        if not isinstance(reference, str) or not reference.strip():
            self.problem(f"{where}: answerValueSet is not a canonical URL")
            return []
        vs = self._value_set(reference)
        if vs is None:
            self.problem(
                f"{where}: answerValueSet {reference!r} is neither contained in the "
                "Questionnaire nor one of the value sets shipped with openprom "
                "(python -m instruments value-sets lists them); add it to 'contained'"
            )
            return []
        concepts: list[tuple[str | None, Mapping[str, Any]]] = []
        for include in _maps(_map(vs.get("compose")).get("include")):
            system = include.get("system") if isinstance(include.get("system"), str) else None
            concepts += [(system, c) for c in _maps(include.get("concept"))]
        if not concepts:
            for c in _maps(_map(vs.get("expansion")).get("contains")):
                concepts.append((c.get("system") if isinstance(c.get("system"), str) else None, c))
        if not concepts:
            self.problem(f"{where}: answerValueSet {reference!r} lists no codes")
        options = []
        for system, concept in concepts:
            code = self._option_code(concept.get("code"), system)
            if code is None:
                self.problem(f"{where}: a concept without a code in {reference!r}")
                continue
            display = concept.get("display")
            label = {self.main: display if isinstance(display, str) and display else str(code)}
            for designation in _maps(concept.get("designation")):
                lang = _language(designation.get("language"))
                if lang and lang != self.main and designation.get("value"):
                    label[lang] = designation["value"]
            self.texts.append((f"{where} option {code}", label))
            option: dict[str, Any] = {"code": code}
            if _kept_system(system):
                option["system"] = system
            option["label"] = label
            weight, url, _ = _ordinal(concept)
            if weight is not None:
                option["ordinal"] = weight
                self._note_ordinal(str(url), "coding")
            options.append(option)
        return options

    def _conditions(
        self, entry: Mapping[str, Any], inherited: tuple[list[dict[str, Any]], str]
    ) -> tuple[list[dict[str, Any]], str]:
        """enableWhen of ``entry`` joined with its group's (linkIds resolved later)."""
        link_id = entry.get("linkId")
        where = f"linkId {link_id!r}"
        raw = self._list(entry.get("enableWhen"), where)
        behavior = entry.get("enableBehavior", "all")
        if behavior not in ("all", "any"):
            self.problem(f"{where}: enableBehavior {behavior!r} is not 'all' or 'any'")
            behavior = "all"
        if len(raw) > 1 and "enableBehavior" not in entry:
            self.problem(f"{where}: several enableWhen need enableBehavior (R4 que-12)")
        if _ext(entry, ENABLE_WHEN_EXPRESSION) is not None:
            self.problem(
                f"{where}: enableWhenExpression (FHIRPath) is not supported; "
                "openprom shows items by enableWhen only"
            )
        own = [c for c in (self._condition(c, where) for c in raw) if c is not None]
        parent, parent_behavior = inherited
        if not own:
            return list(parent), parent_behavior
        if not parent:
            return own, behavior if len(own) > 1 else "all"
        mixed = (len(parent) > 1 and parent_behavior == "any") or (
            len(own) > 1 and behavior == "any"
        )
        if mixed:
            self.problem(
                f"{where}: enableWhen of the item and of its group cannot be combined "
                "(one of them uses enableBehavior 'any')"
            )
        return parent + own, "all"

    def _condition(self, cond: Mapping[str, Any], where: str) -> dict[str, Any] | None:
        operator = cond.get("operator")
        question = cond.get("question")
        if not isinstance(question, str) or not question:
            self.problem(f"{where}: enableWhen without question")
            return None
        if not isinstance(operator, str) or operator not in _OPERATORS:
            self.problem(f"{where}: enableWhen operator {operator!r} is not an R4 operator")
            return None
        found = [k for k in cond if k.startswith("answer")]
        if len(found) != 1 or found[0] not in _ANSWER_KEYS:
            what = ", ".join(found) or "no answer"
            self.problem(f"{where}: enableWhen with {what} is not supported")
            return None
        key, value = found[0], cond[found[0]]
        answer: Any
        if operator == "exists":
            if not isinstance(value, bool):
                self.problem(f"{where}: enableWhen 'exists' needs answerBoolean")
                return None
            answer = value
        elif key == "answerCoding":
            answer = self._option_code(_map(value).get("code"), _map(value).get("system"))
        elif key == "answerQuantity":
            answer = _number(_map(value).get("value"))
        elif key in ("answerInteger", "answerDecimal"):
            answer = _number(value)
        elif key == "answerBoolean":
            answer = value if isinstance(value, bool) else None
        else:
            answer = value if isinstance(value, str) and value.strip() else None
        if answer is None:
            self.problem(f"{where}: enableWhen {key} has no usable value")
            return None
        return {"item": question, "operator": operator, "answer": answer}

    def _resolve_enable_when(self) -> None:
        by_id = {i["id"]: i for i in self.items}
        for item in self.items:
            where = f"linkId {item.get('link_id', item['id'])!r}"
            kept = []
            for cond in item.get("enable_when", []):
                link_id = cond["item"]
                if link_id in self.skipped:
                    self.problem(f"{where}: depends on linkId {link_id!r}, which was left out")
                elif link_id not in self.ids:
                    self.problem(f"{where}: enableWhen names unknown linkId {link_id!r}")
                else:
                    cond["item"] = self.ids[link_id]
                    target = by_id[cond["item"]]
                    answer = cond["answer"]
                    if target["type"] == "integer" and isinstance(answer, float):
                        cond["answer"] = int(answer) if answer.is_integer() else answer
                    kept.append(cond)
            if "enable_when" in item:
                item["enable_when"] = kept
                if not kept:
                    del item["enable_when"]
                    item.pop("enable_behavior", None)

    def _ordered_items(self) -> list[dict[str, Any]]:
        order = self._json(self.q, EXT_ITEM_ORDER, "Questionnaire")
        if order is None:
            return self.items
        by_id = {i["id"]: i for i in self.items}
        if sorted(order) != sorted(by_id):
            self.problem(f"extension {EXT_ITEM_ORDER} does not list the items")
            return self.items
        return [by_id[i] for i in order]

    # -- helpers

    def _link_id(self, entry: Mapping[str, Any]) -> str | None:
        link_id = entry.get("linkId")
        if not isinstance(link_id, str) or not link_id:
            text = entry.get("text")
            hint = f" (text {text!r})" if isinstance(text, str) else ""
            self.problem(f"item without linkId{hint}")
            return None
        if link_id in self.seen_link_ids:
            self.problem(f"linkId {link_id!r}: used twice (R4 que-2)")
            return None
        self.seen_link_ids.add(link_id)
        return link_id

    def _list(self, value: Any, where: str) -> list[Mapping[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.problem(f"{where}: expected a list of objects")
            return _maps(value)
        return value

    def _text(
        self, element: Mapping[str, Any], name: str, where: str, *, required: bool
    ) -> dict[str, str] | None:
        """A text in the main language plus its translation extensions.

        Without a plain text, a rendering-markdown/-xhtml text is used (Helsenorge).
        """
        main = element.get(name)
        translations = element.get("_" + name)
        if not isinstance(translations, Mapping):
            translations = {}
        if not isinstance(main, str) or not main.strip():
            rendered = _ext(translations, RENDERING_MARKDOWN, RENDERING_XHTML)
            main = rendered and (rendered.get("valueMarkdown") or rendered.get("valueString"))
        if not isinstance(main, str) or not main.strip():
            if required:
                self.problem(f"{where}: no {name}")
            return None
        text = {self.main: main}
        for ext in _maps(translations.get("extension")):
            if ext.get("url") != TRANSLATION:
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
        except (TypeError, json.JSONDecodeError):
            self.problem(f"{where}: extension {url} is not valid JSON")
            return None


__all__ = [
    "dump_definition",
    "from_questionnaire",
    "from_questionnaire_file",
    "item_control",
    "read_questionnaire",
]
