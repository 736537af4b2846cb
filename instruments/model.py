"""Immutable typed objects for a loaded instrument definition.

A definition file is parsed into these dataclasses by :mod:`instruments.loader`.
Texts are :class:`Text` mappings from language code (``nb``, ``nn``, ``en``) to string.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal, TypeVar, get_args

from instruments.item_bank import ItemBankIrt

LANGUAGES: tuple[str, ...] = ("nb", "nn", "en")

K = TypeVar("K")
V = TypeVar("V")

ItemType = Literal[
    "choice",
    "open-choice",
    "integer",
    "decimal",
    "quantity",
    "boolean",
    "string",
    "text",
    "date",
    "dateTime",
    "display",
]
ITEM_TYPES: tuple[str, ...] = get_args(ItemType)
Operator = Literal["=", "!=", ">", "<", ">=", "<=", "exists"]
Answer = int | float | str | bool
Direction = Literal["higher_better", "higher_worse"]


class FrozenMap(Mapping[K, V]):
    """A read-only, hashable mapping (the immutable counterpart of ``dict``)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None):
        self._data = MappingProxyType(dict(data or {}))

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._data)!r})"


class Text(FrozenMap[str, str]):
    """A read-only text in several languages (language code -> string)."""

    __slots__ = ()

    def get_text(self, lang: str) -> str:
        """Text in ``lang``; raises KeyError (never falls back silently)."""
        return self._data[lang]


class AnswerError(ValueError):
    """An answer does not fit its item; the message says why (in English, for logs/CLIs)."""


@dataclass(frozen=True)
class Coding:
    """A code from a code system (FHIR Coding): LOINC item codes, units, questionnaire codes."""

    code: str
    system: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class Identifier:
    """A business identifier of a Questionnaire (FHIR Identifier: system + value)."""

    value: str
    system: str | None = None


@dataclass(frozen=True)
class Option:
    """One response option: a code (integer, or a string from ``system``) and its label.

    ``ordinal`` is the option's numeric weight for scoring (FHIR ``ordinalValue`` /
    ``itemWeight``); None when the option has none. ``fhir_type`` says how FHIR carried
    the option when it was not a ``valueCoding`` (imported files only).
    """

    code: int | str
    label: Text
    not_applicable: bool = False
    system: str | None = None
    ordinal: int | float | None = None
    fhir_type: Literal["valueInteger", "valueString"] | None = None


@dataclass(frozen=True)
class EnableWhen:
    """Show an item only when another item's answer compares true (FHIR enableWhen).

    ``answer`` is an option code, a number, a string or (for ``exists``) a boolean:
    ``exists`` + True means "the item has an answer", + False "has none".
    """

    item: str
    operator: Operator
    answer: Answer


@dataclass(frozen=True)
class FhirMeta:
    """What a FHIR Questionnaire says about itself, kept so an import exports back the same.

    ``language`` is the original language tag (``en-US``), ``id`` the resource id.
    ``ordinal_extension`` is the extension URL that carried option weights
    (``ordinalValue`` or ``itemWeight``) and ``ordinal_on`` where: ``coding`` or ``option``.
    """

    url: str | None = None
    identifier: tuple[Identifier, ...] = ()
    version: str | None = None
    name: str | None = None
    status: str | None = None
    publisher: str | None = None
    code: tuple[Coding, ...] = ()
    language: str | None = None
    id: str | None = None
    ordinal_extension: str | None = None
    ordinal_on: Literal["coding", "option"] | None = None


@dataclass(frozen=True)
class Item:
    """A question, or a text shown to the respondent (``display``).

    See :meth:`validate_answer` for how an answer of each type is represented.
    ``link_id`` is the FHIR linkId when it differs from ``id`` (imported files).
    """

    id: str
    type: ItemType
    text: Text
    required: bool = False
    options: tuple[Option, ...] = ()
    min: int | float | None = None
    max: int | float | None = None
    help: Text | None = None
    anchors: Mapping[str, Text] = field(default_factory=FrozenMap)
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: Literal["all", "any"] = "all"
    repeats: bool = False
    max_length: int | None = None
    unit: Coding | None = None
    prefix: str | None = None
    coding: tuple[Coding, ...] = ()
    item_control: str | None = None
    calculated_expression: str | None = None
    link_id: str | None = None
    help_link_id: str | None = None

    @property
    def fhir_link_id(self) -> str:
        """The FHIR linkId: ``link_id`` when set, else the item id."""
        return self.link_id or self.id

    @property
    def codes(self) -> tuple[int | str, ...]:
        """Allowed option codes (choice and open-choice items)."""
        return tuple(o.code for o in self.options)

    def option(self, code: int | str) -> Option:
        """The option with ``code``; KeyError when there is none."""
        for o in self.options:
            if o.code == code:
                return o
        raise KeyError(f"{self.id}: no option with code {code}")

    def is_enabled(self, answers: Mapping[str, Any]) -> bool:
        """Whether the item is shown, given normalised ``answers`` (item id -> answer).

        FHIR R4 rules: an unanswered item (absent or None) fails every comparison; only
        ``exists`` looks at presence. A list answer (``repeats``) matches ``=`` and the
        comparisons when any of its values does, ``!=`` when none equals.
        ``enable_behavior`` combines several conditions (all / any).
        """
        if not self.enable_when:
            return True
        results = (_condition_holds(c, answers.get(c.item)) for c in self.enable_when)
        return any(results) if self.enable_behavior == "any" else all(results)

    def validate_answer(self, value: object) -> Any:
        """``value`` as this item stores it (JSON-ready), or :class:`AnswerError`.

        * choice: the option code (``int`` or ``str`` as in the file); ``"3"`` and ``3.0``
          are accepted for integer codes. open-choice: an option code, or else the
          free text (``str``, stripped).
        * ``repeats`` (multi-select): a non-empty list of such answers, no repeats,
          in the order given.
        * integer: ``int`` (``3.0`` and ``"3"`` accepted), within min/max when set;
          decimal and quantity: ``float`` (``"2,5"`` accepted), finite, within min/max;
          a quantity's unit is :attr:`unit`, not part of the answer.
        * boolean: ``True``/``False`` (``"true"``/``"false"`` accepted).
        * string, text: ``str``, stripped, not blank, at most ``max_length`` characters
          (string: one line).
        * date: ``"YYYY"``, ``"YYYY-MM"`` or ``"YYYY-MM-DD"`` (a ``date`` is accepted);
          dateTime: ISO 8601 with a time zone (an aware ``datetime`` is accepted).
        * display: never takes an answer.
        """
        if self.type == "display":
            raise AnswerError(f"{self.id}: a display item takes no answer")
        if self.repeats:
            if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
                raise AnswerError(f"{self.id}: expected a list of answers")
            if not value:
                raise AnswerError(f"{self.id}: the list of answers is empty")
            result = [self._one_answer(v) for v in value]
            for v in result:
                if result.count(v) > 1:
                    raise AnswerError(f"{self.id}: answer {v!r} given twice")
            return result
        return self._one_answer(value)

    def _one_answer(self, value: object) -> Any:
        checker = getattr(self, "_answer_" + self.type.replace("-", "_"))
        return checker(value)

    def _answer_choice(self, value: object) -> int | str:
        code = self._as_code(value)
        if code is None:
            raise AnswerError(f"{self.id}: {value!r} is not one of the codes {list(self.codes)}")
        return code

    def _answer_open_choice(self, value: object) -> int | str:
        code = self._as_code(value)
        if code is not None:
            return code
        if not isinstance(value, str):
            raise AnswerError(f"{self.id}: {value!r} is neither an option code nor a text")
        return self._answer_text(value)

    def _as_code(self, value: object) -> int | str | None:
        if isinstance(value, bool):
            return None
        for code in self.codes:
            if value == code and type(value) is not bool:
                return code
            if isinstance(code, int) and isinstance(value, str) and value.strip() == str(code):
                return code
        return None

    def _answer_integer(self, value: object) -> int:
        number = _number(value, self.id)
        if not float(number).is_integer():
            raise AnswerError(f"{self.id}: {value!r} is not a whole number")
        return int(self._in_range(int(number)))

    def _answer_decimal(self, value: object) -> float:
        return float(self._in_range(float(_number(value, self.id))))

    _answer_quantity = _answer_decimal

    def _in_range(self, number: float) -> float:
        if self.min is not None and number < self.min:
            raise AnswerError(f"{self.id}: {number} is below the minimum {self.min}")
        if self.max is not None and number > self.max:
            raise AnswerError(f"{self.id}: {number} is above the maximum {self.max}")
        return number

    def _answer_boolean(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise AnswerError(f"{self.id}: {value!r} is not true or false")

    def _answer_text(self, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise AnswerError(f"{self.id}: expected a text that is not blank")
        text = value.strip()
        if "\x00" in text:
            raise AnswerError(f"{self.id}: the text holds a NUL character")
        if self.max_length is not None and len(text) > self.max_length:
            raise AnswerError(f"{self.id}: the text is longer than {self.max_length} characters")
        return text

    def _answer_string(self, value: object) -> str:
        text = self._answer_text(value)
        if "\n" in text or "\r" in text:
            raise AnswerError(f"{self.id}: expected one line of text")
        return text

    def _answer_date(self, value: object) -> str:
        if isinstance(value, datetime):
            raise AnswerError(f"{self.id}: expected a date, not a date and time")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str) and _DATE.fullmatch(value.strip()):
            text = value.strip()
            try:
                date.fromisoformat(text + "-01-01"[len(text) - 4 :] if len(text) < 10 else text)
            except ValueError:
                pass
            else:
                return text
        raise AnswerError(f"{self.id}: {value!r} is not a date (YYYY-MM-DD)")

    def _answer_dateTime(self, value: object) -> str:  # noqa: N802 (FHIR type name)
        moment = value
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise AnswerError(
                    f"{self.id}: {value!r} is not an ISO 8601 date and time"
                ) from None
        if not isinstance(moment, datetime):
            raise AnswerError(f"{self.id}: {value!r} is not a date and time")
        if moment.tzinfo is None:
            raise AnswerError(f"{self.id}: the date and time {value!r} has no time zone")
        return moment.isoformat()

    def is_valid_answer(self, value: object) -> bool:
        """Whether ``value`` is a possible answer to this item.

        For integer-coded choice and integer items (the bundled instruments, scored from
        CSV): whole numbers only; ``3`` and ``3.0`` are, ``True``, ``2.5``, NaN and strings
        are not. Every other item: whether :meth:`validate_answer` accepts ``value``.
        """
        legacy = not self.repeats and (
            self.type == "integer"
            or (self.type == "choice" and all(isinstance(c, int) for c in self.codes))
        )
        if not legacy:
            try:
                self.validate_answer(value)
            except AnswerError:
                return False
            return True
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if isinstance(value, float) and not value.is_integer():
            return False
        if self.type == "choice":
            return value in self.codes
        if self.type == "integer":
            lo = self.min if self.min is not None else -(2**31)
            hi = self.max if self.max is not None else 2**31
            return lo <= value <= hi
        return False


_COMPARE = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _condition_holds(cond: EnableWhen, answer: Any) -> bool:
    present = answer is not None and answer != [] and answer != ""
    if cond.operator == "exists":
        return present == bool(cond.answer)
    if not present:
        return False
    values = answer if isinstance(answer, list) else [answer]
    if cond.operator == "!=":
        return all(not _same(v, cond.answer) for v in values)
    if cond.operator == "=":
        return any(_same(v, cond.answer) for v in values)
    compare = _COMPARE[cond.operator]
    try:
        return any(compare(v, cond.answer) for v in values if not isinstance(v, bool))
    except TypeError:  # a text compared with a number: not true
        return False


def _same(value: Any, expected: Any) -> bool:
    """Equal, with True never equal to 1 (a yes/no answer is not an option code)."""
    return value == expected and isinstance(value, bool) == isinstance(expected, bool)


_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _number(value: object, item_id: str) -> int | float:
    """A finite number from a number or a numeric text (``"2,5"`` reads as 2.5)."""
    if isinstance(value, bool):
        raise AnswerError(f"{item_id}: {value!r} is not a number")
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        try:
            value = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        except ValueError:
            raise AnswerError(f"{item_id}: {value!r} is not a number") from None
    if not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise AnswerError(f"{item_id}: {value!r} is not a number")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Page:
    """Items shown together on one screen."""

    id: str
    items: tuple[str, ...]
    title: Text | None = None
    link_id: str | None = None
    item_control: str | None = None
    coding: tuple[Coding, ...] = ()


@dataclass(frozen=True)
class Scale:
    """A scale: which items it sums/averages and which direction is better."""

    id: str
    items: tuple[str, ...]
    direction: Direction
    label: Text


@dataclass(frozen=True)
class Licence:
    """Licence of an instrument: who holds it, the notice shown to administrators, a URL."""

    holder: str
    notice: str
    url: str
    required: bool = False


@dataclass(frozen=True)
class Scoring:
    """How responses are scored: algorithm name in :mod:`scoring`, value sets, missing rule."""

    algorithm: str
    missing: str
    value_sets: tuple[str, ...] = ()
    default_value_set: str | None = None


@dataclass(frozen=True)
class Instrument:
    """One version of a questionnaire, loaded from its definition file."""

    id: str
    version: str
    kind: Literal["prom", "prem", "item-bank"]
    languages: tuple[str, ...]
    title: Text
    items: tuple[Item, ...]
    licence: Licence
    scoring: Scoring
    content_hash: str
    intro: Text | None = None
    pages: tuple[Page, ...] = ()
    scales: tuple[Scale, ...] = ()
    source: Text | None = None
    fhir: FhirMeta | None = None
    irt: ItemBankIrt | None = None  # kind item-bank: IRT parameters (instruments/item_bank.py)
    path: str | None = field(default=None, compare=False)

    @property
    def questions(self) -> tuple[Item, ...]:
        """Items that take an answer (everything but ``display``)."""
        return tuple(i for i in self.items if i.type != "display")

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Ids of the items that take an answer, in order."""
        return tuple(i.id for i in self.questions)

    def item(self, item_id: str) -> Item:
        """The item with ``item_id``; KeyError when there is none."""
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(f"{self.id}: no item {item_id!r}")

    def to_definition(self) -> dict[str, Any]:
        """The definition mapping (as in the YAML file) in canonical form.

        Defaults are left out (``required: false``, empty lists), so two files that differ
        only in spelling out defaults give the same mapping and the same content hash.
        """
        data: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "languages": list(self.languages),
            "title": dict(self.title),
        }
        if self.intro is not None:
            data["intro"] = dict(self.intro)
        if self.source is not None:
            data["source"] = dict(self.source)
        data["licence"] = _licence_definition(self.licence)
        if self.fhir is not None:
            data["fhir"] = _fhir_definition(self.fhir)
        data["items"] = [_item_definition(i) for i in self.items]
        if self.pages:
            data["pages"] = [_page_definition(p) for p in self.pages]
        if self.scales:
            data["scales"] = [
                {
                    "id": s.id,
                    "items": list(s.items),
                    "direction": s.direction,
                    "label": dict(s.label),
                }
                for s in self.scales
            ]
        data["scoring"] = _scoring_definition(self.scoring)
        if self.irt is not None:
            data["irt"] = self.irt.to_definition()
        return data

    def screen_pages(self) -> tuple[Page, ...]:
        """Pages as defined, or one page per item when the file defines none."""
        if self.pages:
            return self.pages
        return tuple(Page(id=i.id, items=(i.id,)) for i in self.items)


def _coding_definition(coding: Coding) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if coding.system is not None:
        data["system"] = coding.system
    data["code"] = coding.code
    if coding.display is not None:
        data["display"] = coding.display
    return data


def _item_definition(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id}
    if item.link_id is not None:
        data["link_id"] = item.link_id
    data["type"] = item.type
    if item.repeats:
        data["repeats"] = True
    if item.required:
        data["required"] = True
    if item.prefix is not None:
        data["prefix"] = item.prefix
    data["text"] = dict(item.text)
    if item.coding:
        data["code"] = [_coding_definition(c) for c in item.coding]
    if item.item_control is not None:
        data["item_control"] = item.item_control
    if item.help is not None:
        data["help"] = dict(item.help)
    if item.help_link_id is not None:
        data["help_link_id"] = item.help_link_id
    if item.options:
        data["options"] = []
        for o in item.options:
            option: dict[str, Any] = {"code": o.code}
            if o.system is not None:
                option["system"] = o.system
            option["label"] = dict(o.label)
            if o.ordinal is not None:
                option["ordinal"] = o.ordinal
            if o.fhir_type is not None:
                option["fhir_type"] = o.fhir_type
            if o.not_applicable:
                option["not_applicable"] = True
            data["options"].append(option)
    if item.min is not None:
        data["min"] = item.min
    if item.max is not None:
        data["max"] = item.max
    if item.max_length is not None:
        data["max_length"] = item.max_length
    if item.unit is not None:
        data["unit"] = _coding_definition(item.unit)
    if item.anchors:
        data["anchors"] = {end: dict(text) for end, text in item.anchors.items()}
    if item.enable_when:
        data["enable_when"] = [
            {"item": c.item, "operator": c.operator, "answer": c.answer} for c in item.enable_when
        ]
        if item.enable_behavior != "all":
            data["enable_behavior"] = item.enable_behavior
    if item.calculated_expression is not None:
        data["calculated_expression"] = item.calculated_expression
    return data


def _page_definition(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = {"id": page.id}
    if page.link_id is not None:
        data["link_id"] = page.link_id
    if page.item_control is not None:
        data["item_control"] = page.item_control
    if page.coding:
        data["code"] = [_coding_definition(c) for c in page.coding]
    if page.title is not None:
        data["title"] = dict(page.title)
    data["items"] = list(page.items)
    return data


def _fhir_definition(meta: FhirMeta) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("url", "version", "name", "status", "publisher", "language", "id"):
        if getattr(meta, name) is not None:
            data[name] = getattr(meta, name)
    if meta.identifier:
        data["identifier"] = [
            {**({"system": i.system} if i.system is not None else {}), "value": i.value}
            for i in meta.identifier
        ]
    if meta.code:
        data["code"] = [_coding_definition(c) for c in meta.code]
    if meta.ordinal_extension is not None:
        data["ordinal_extension"] = meta.ordinal_extension
    if meta.ordinal_on is not None:
        data["ordinal_on"] = meta.ordinal_on
    return data


def _licence_definition(licence: Licence) -> dict[str, Any]:
    data: dict[str, Any] = {"holder": licence.holder, "notice": licence.notice, "url": licence.url}
    if licence.required:
        data["required"] = True
    return data


def _scoring_definition(scoring: Scoring) -> dict[str, Any]:
    data: dict[str, Any] = {"algorithm": scoring.algorithm, "missing": scoring.missing}
    if scoring.value_sets:
        data["value_sets"] = list(scoring.value_sets)
    if scoring.default_value_set is not None:
        data["default_value_set"] = scoring.default_value_set
    return data
