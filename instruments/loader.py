"""Load and validate instrument definition files (YAML + JSON Schema + semantic checks)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from instruments.item_bank import build_irt, check_irt
from instruments.model import (
    Coding,
    EnableWhen,
    FhirMeta,
    FrozenMap,
    Identifier,
    Instrument,
    Item,
    Licence,
    Option,
    Page,
    Scale,
    Scoring,
    Text,
)

DEFINITIONS_DIR = Path(__file__).resolve().parent
SCHEMA_PATH = DEFINITIONS_DIR / "schema.json"


@dataclass(frozen=True)
class Problem:
    """One validation problem: file, item (or section) and message."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.where}: {self.message}"


class InstrumentError(ValueError):
    """A definition file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def definition_files(directory: Path = DEFINITIONS_DIR) -> list[Path]:
    """All instrument definition files (``*.yaml``) in ``directory``, sorted."""
    return sorted(directory.glob("*.yaml"))


def content_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a definition mapping (``sha256:<hex>``).

    :func:`build` hashes :meth:`Instrument.to_definition`, so the hash depends on the
    content only, not on YAML layout, comments, key order or spelled-out defaults.
    """
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_path(error: jsonschema.ValidationError, data: Any) -> str:
    """Name the item (``items[3]`` -> its id) a schema error belongs to."""
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
        try:
            item_id = data["items"][path[1]]["id"]
        except (KeyError, IndexError, TypeError):
            item_id = f"items[{path[1]}]"
        rest = ".".join(str(p) for p in path[2:])
        return f"{item_id}" + (f".{rest}" if rest else "")
    return ".".join(str(p) for p in path) or "-"


def _maps(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a list (anything else: none); the schema reports wrong shapes."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _by_id(items: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {i["id"]: i for i in items if isinstance(i.get("id"), str)}


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "pattern" and error.validator_value == "\\S":
        return f"{error.instance!r} is blank"
    return error.message


def _texts(data: Mapping[str, Any]) -> Iterable[tuple[str, str, Any]]:
    """Every translatable text in a definition, as (where, field, text)."""
    for key in ("title", "intro", "source"):
        if key in data:
            yield "-", key, data[key]
    for item in _maps(data.get("items")):
        iid = str(item.get("id", "?"))
        yield iid, "text", item.get("text", {})
        if "help" in item:
            yield iid, "help", item["help"]
        anchors = item.get("anchors")
        if isinstance(anchors, Mapping):
            for end, text in anchors.items():
                yield iid, f"anchors.{end}", text
        for opt in _maps(item.get("options")):
            yield iid, f"option {opt.get('code')}", opt.get("label", {})
    for page in _maps(data.get("pages")):
        if "title" in page:
            yield f"page {page.get('id')}", "title", page["title"]
    for scale in _maps(data.get("scales")):
        yield f"scale {scale.get('id')}", "label", scale.get("label", {})


def _check_translations(data: Mapping[str, Any], file: str) -> list[Problem]:
    problems = []
    languages = _strings(data.get("languages"))
    for where, name, text in _texts(data):
        if not isinstance(text, Mapping):
            continue
        for lang in languages:
            if lang not in text:
                problems.append(Problem(file, where, f"missing translation '{lang}' in {name}"))
        for lang in text:
            if lang not in languages:
                problems.append(
                    Problem(file, where, f"{name} has '{lang}', not in the file's languages")
                )
    return problems


_CHOICES = ("choice", "open-choice")
_NUMBERS = ("integer", "decimal", "quantity")
_ONLY_ON = {
    "min": _NUMBERS,
    "max": _NUMBERS,
    "unit": _NUMBERS,
    "max_length": ("string", "text", "open-choice"),
    "repeats": _CHOICES,
}


def _check_items(items: list[Mapping[str, Any]], file: str) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for item in items:
        iid = str(item.get("id", "?"))
        if iid in seen:
            problems.append(Problem(file, iid, "duplicate item id"))
        seen.add(iid)
        kind = item.get("type")
        options = _maps(item.get("options"))
        if kind in _CHOICES:
            if kind == "choice" and not options:
                problems.append(Problem(file, iid, "a choice item needs options"))
            codes = [o.get("code") for o in options if isinstance(o.get("code"), int | str)]
            for code in sorted({repr(c) for c in codes if codes.count(c) > 1}):
                problems.append(Problem(file, iid, f"duplicate option code {code.strip(chr(39))}"))
        elif options:
            problems.append(Problem(file, iid, f"only choice items have options, not {kind}"))
        if kind == "display" and item.get("required"):
            problems.append(Problem(file, iid, "a display item cannot be required"))
        if kind == "display" and item.get("calculated_expression"):
            problems.append(Problem(file, iid, "a display item cannot be calculated"))
        for key, kinds in _ONLY_ON.items():
            if item.get(key) not in (None, False) and kind in _ITEM_KINDS and kind not in kinds:
                problems.append(Problem(file, iid, f"{key} is not allowed on {kind} items"))
        lo, hi = item.get("min"), item.get("max")
        if kind == "integer":
            for name, bound in (("min", lo), ("max", hi)):
                if isinstance(bound, float) and not bound.is_integer():
                    problems.append(Problem(file, iid, f"{name} of an integer item is not whole"))
        if _is_number(lo) and _is_number(hi) and lo > hi:
            problems.append(Problem(file, iid, f"min {lo} is greater than max {hi}"))
    return problems


_ITEM_KINDS = (
    "choice", "open-choice", "integer", "decimal", "quantity", "boolean", "string", "text",
    "date", "dateTime",
)  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_link_ids(data: Mapping[str, Any], file: str) -> list[Problem]:
    """FHIR linkIds (``link_id``, else the id) of items and pages are unique."""
    problems = []
    seen: set[str] = set()
    entries = [(str(i.get("id", "?")), i) for i in _maps(data.get("items"))]
    entries += [(f"page {p.get('id')}", p) for p in _maps(data.get("pages"))]
    for where, entry in entries:
        for key in ("link_id", "help_link_id"):
            link_id = entry.get(key)
            if link_id is None:
                continue
            if link_id in seen:
                problems.append(Problem(file, where, f"duplicate link_id {link_id!r}"))
            seen.add(link_id)
    return problems


def _condition_problem(cond: Mapping[str, Any], target: Mapping[str, Any]) -> str | None:
    """What is wrong with an enable_when answer for its target item (None: nothing)."""
    name, operator, answer = cond.get("item"), cond.get("operator"), cond.get("answer")
    kind = target.get("type")
    if operator == "exists":
        return None if isinstance(answer, bool) else "enable_when 'exists' needs true or false"
    if kind in _CHOICES:
        codes = [o.get("code") for o in _maps(target.get("options"))]
        if answer in codes and not isinstance(answer, bool):
            return None
        if kind == "open-choice" and isinstance(answer, str):
            return None
        return f"enable_when uses unknown option code {answer} of item '{name}'"
    if kind in _NUMBERS:
        if not _is_number(answer):
            return f"enable_when answer {answer!r} of number item '{name}' is not a number"
        lo, hi = target.get("min"), target.get("max")
        if kind == "integer" and _is_number(lo) and _is_number(hi) and not lo <= answer <= hi:
            return f"enable_when answer {answer} is outside {lo}..{hi} of item '{name}'"
        return None
    if kind == "boolean" and not isinstance(answer, bool):
        return f"enable_when answer {answer!r} of yes/no item '{name}' is not true or false"
    if kind in ("string", "text", "date", "dateTime") and not isinstance(answer, str):
        return f"enable_when answer {answer!r} of item '{name}' is not a text"
    return None


def _check_enable_when(items: list[Mapping[str, Any]], file: str) -> list[Problem]:
    problems = []
    by_id = _by_id(items)
    for item in items:
        iid = str(item.get("id", "?"))
        for cond in _maps(item.get("enable_when")):
            name = cond.get("item")
            target = by_id.get(name) if isinstance(name, str) else None
            if name == item.get("id"):
                problems.append(Problem(file, iid, "enable_when names the item itself"))
            elif target is None:
                problems.append(Problem(file, iid, f"enable_when names unknown item '{name}'"))
            elif target.get("type") == "display":
                problems.append(Problem(file, iid, f"enable_when names display item '{name}'"))
            else:
                message = _condition_problem(cond, target)
                if message is not None:
                    problems.append(Problem(file, iid, message))
    return problems


def _check_pages(data: Mapping[str, Any], ids: list[str], file: str) -> list[Problem]:
    problems = []
    pages = _maps(data.get("pages"))
    page_ids = [p.get("id") for p in pages]
    for pid in sorted({str(p) for p in page_ids if page_ids.count(p) > 1}):
        problems.append(Problem(file, f"page {pid}", "duplicate page id"))
    paged: list[str] = []
    for page in pages:
        for iid in _strings(page.get("items")):
            if iid not in ids:
                problems.append(Problem(file, f"page {page.get('id')}", f"unknown item '{iid}'"))
            paged.append(iid)
    if pages:
        for iid in ids:
            if iid not in paged:
                problems.append(Problem(file, str(iid), "item is on no page"))
        for iid in sorted({i for i in paged if paged.count(i) > 1}):
            problems.append(Problem(file, iid, "item is on more than one page"))
    return problems


def _check_scales(
    data: Mapping[str, Any], items: list[Mapping[str, Any]], file: str
) -> list[Problem]:
    problems = []
    by_id = _by_id(items)
    scale_ids: set[str] = set()
    for scale in _maps(data.get("scales")):
        sid = str(scale.get("id"))
        if sid in scale_ids:
            problems.append(Problem(file, f"scale {sid}", "duplicate scale id"))
        scale_ids.add(sid)
        for iid in _strings(scale.get("items")):
            if iid not in by_id:
                problems.append(Problem(file, f"scale {sid}", f"unknown item '{iid}'"))
            elif by_id[iid].get("type") == "display":
                problems.append(Problem(file, f"scale {sid}", f"'{iid}' is a display item"))
    return problems


def _check_scoring(data: Mapping[str, Any], file: str) -> list[Problem]:
    scoring = data.get("scoring")
    if not isinstance(scoring, Mapping):
        return []
    default = scoring.get("default_value_set")
    if default is not None and default not in _strings(scoring.get("value_sets")):
        return [Problem(file, "scoring", f"default_value_set '{default}' is not in value_sets")]
    return []


def check(data: Any, file: str) -> list[Problem]:
    """Every problem in a parsed definition: schema errors first, then semantic checks."""
    if not isinstance(data, Mapping):
        return [Problem(file, "-", "the file must hold a mapping (id, version, items, ...)")]
    problems = [
        Problem(file, _schema_path(e, data), _schema_message(e))
        for e in sorted(
            _validator().iter_errors(data),
            key=lambda e: list(map(str, e.absolute_path)),
        )
    ]
    items = _maps(data.get("items"))
    problems += _check_translations(data, file)
    problems += _check_items(items, file)
    problems += _check_enable_when(items, file)
    problems += _check_pages(data, list(_by_id(items)), file)
    problems += _check_link_ids(data, file)
    problems += _check_scales(data, items, file)
    problems += _check_scoring(data, file)
    problems += [Problem(file, where, message) for where, message in check_irt(data)]
    return problems


def _text(raw: Mapping[str, str] | None) -> Text | None:
    return None if raw is None else Text(raw)


def _coding(raw: Mapping[str, Any] | None) -> Coding | None:
    if raw is None:
        return None
    return Coding(code=raw["code"], system=raw.get("system"), display=raw.get("display"))


def _codings(raw: list[Mapping[str, Any]] | None) -> tuple[Coding, ...]:
    return tuple(Coding(c["code"], c.get("system"), c.get("display")) for c in raw or [])


def _fhir_meta(raw: Mapping[str, Any] | None) -> FhirMeta | None:
    if raw is None:
        return None
    return FhirMeta(
        url=raw.get("url"),
        identifier=tuple(
            Identifier(i["value"], i.get("system")) for i in raw.get("identifier", [])
        ),
        version=raw.get("version"),
        name=raw.get("name"),
        status=raw.get("status"),
        publisher=raw.get("publisher"),
        code=_codings(raw.get("code")),
        language=raw.get("language"),
        id=raw.get("id"),
        ordinal_extension=raw.get("ordinal_extension"),
        ordinal_on=raw.get("ordinal_on"),
    )


def _build_item(i: Mapping[str, Any]) -> Item:
    return Item(
        id=i["id"],
        type=i["type"],
        text=Text(i["text"]),
        required=bool(i.get("required", False)),
        options=tuple(
            Option(
                code=o["code"],
                label=Text(o["label"]),
                not_applicable=bool(o.get("not_applicable", False)),
                system=o.get("system"),
                ordinal=o.get("ordinal"),
                fhir_type=o.get("fhir_type"),
            )
            for o in i.get("options", [])
        ),
        min=i.get("min"),
        max=i.get("max"),
        help=_text(i.get("help")),
        anchors=FrozenMap({k: Text(v) for k, v in (i.get("anchors") or {}).items()}),
        enable_when=tuple(EnableWhen(**c) for c in i.get("enable_when", []) or []),
        enable_behavior=i.get("enable_behavior", "all"),
        repeats=bool(i.get("repeats", False)),
        max_length=i.get("max_length"),
        unit=_coding(i.get("unit")),
        prefix=i.get("prefix"),
        coding=_codings(i.get("code")),
        item_control=i.get("item_control"),
        calculated_expression=i.get("calculated_expression"),
        link_id=i.get("link_id"),
        help_link_id=i.get("help_link_id"),
    )


def build(data: Mapping[str, Any], *, path: str | None = None) -> Instrument:
    """Turn a checked definition mapping into an :class:`Instrument`."""
    items = tuple(_build_item(i) for i in data["items"])
    lic = data["licence"]
    sc = data["scoring"]
    inst = Instrument(
        id=data["id"],
        version=str(data["version"]),
        kind=data["kind"],
        languages=tuple(data["languages"]),
        title=Text(data["title"]),
        intro=_text(data.get("intro")),
        source=_text(data.get("source")),
        fhir=_fhir_meta(data.get("fhir")),
        items=items,
        pages=tuple(
            Page(
                id=p["id"],
                items=tuple(p["items"]),
                title=_text(p.get("title")),
                link_id=p.get("link_id"),
                item_control=p.get("item_control"),
                coding=_codings(p.get("code")),
            )
            for p in data.get("pages", []) or []
        ),
        scales=tuple(
            Scale(
                id=s["id"],
                items=tuple(s["items"]),
                direction=s["direction"],
                label=Text(s["label"]),
            )
            for s in data.get("scales", []) or []
        ),
        licence=Licence(
            holder=lic["holder"],
            notice=lic["notice"],
            url=lic["url"],
            required=bool(lic.get("required", False)),
        ),
        scoring=Scoring(
            algorithm=sc["algorithm"],
            missing=sc["missing"],
            value_sets=tuple(sc.get("value_sets", []) or []),
            default_value_set=sc.get("default_value_set"),
        ),
        irt=build_irt(data.get("irt")),
        content_hash="",
        path=path,
    )
    return replace(inst, content_hash=content_hash(inst.to_definition()))


def parse(text: str, file: str = "<string>") -> Instrument:
    """Parse and validate YAML text; raises :class:`InstrumentError` listing every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "-"
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        context_mark = getattr(exc, "context_mark", None)
        if (
            context
            and context_mark is not None
            and context_mark.line != getattr(mark, "line", None)
        ):
            context += f" that starts on line {context_mark.line + 1}"
        message = f"bad YAML: {what}" + (f" ({context})" if context else "")
        raise InstrumentError([Problem(file, where, message)]) from exc
    problems = check(data, file)
    if problems:
        raise InstrumentError(problems)
    return build(data, path=file)


def load_file(path: str | Path) -> Instrument:
    """Load one definition file; raises :class:`InstrumentError` when it is invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstrumentError([Problem(str(path), "-", f"cannot read: {exc}")]) from exc
    return parse(text, str(path))


@cache
def load_all() -> dict[str, Instrument]:
    """Every bundled instrument, keyed by id (cached; the files are immutable data)."""
    result: dict[str, Instrument] = {}
    for path in definition_files():
        inst = load_file(path)
        if inst.id in result:
            raise InstrumentError([Problem(str(path), "-", f"instrument id {inst.id!r} repeated")])
        result[inst.id] = inst
    return result


@cache
def load_banks() -> dict[str, Instrument]:
    """Every bundled item bank (``instruments/banks/*.yaml``, kind ``item-bank``), by id.

    Not part of :func:`load_all` (banks are asked adaptively, not as fixed forms), but
    :func:`load` finds them, so stored responses to a bank resolve like any instrument.
    """
    return {inst.id: inst for inst in map(load_file, definition_files(DEFINITIONS_DIR / "banks"))}


def load(instrument_id: str) -> Instrument:
    """The bundled instrument (or item bank) with ``instrument_id``; KeyError names the
    known ids."""
    instruments = load_all()
    try:
        return instruments[instrument_id]
    except KeyError:
        bank = load_banks().get(instrument_id)
        if bank is not None:
            return bank
        known = ", ".join(sorted(instruments))
        raise KeyError(f"unknown instrument {instrument_id!r} (known: {known})") from None
