"""Immutable typed objects for a loaded instrument definition.

A definition file is parsed into these dataclasses by :mod:`instruments.loader`.
Texts are :class:`Text` mappings from language code (``nb``, ``nn``, ``en``) to string.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeVar

LANGUAGES: tuple[str, ...] = ("nb", "nn", "en")

K = TypeVar("K")
V = TypeVar("V")

ItemType = Literal["choice", "integer", "display"]
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


@dataclass(frozen=True)
class Option:
    """One response option: an integer code and its label."""

    code: int
    label: Text
    not_applicable: bool = False


@dataclass(frozen=True)
class EnableWhen:
    """Show an item only when another item's answer compares true (FHIR enableWhen)."""

    item: str
    operator: Literal["=", "!=", ">", "<", ">=", "<="]
    answer: int


@dataclass(frozen=True)
class Item:
    """A question (``choice`` or ``integer``) or a text shown to the respondent (``display``)."""

    id: str
    type: ItemType
    text: Text
    required: bool = False
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    help: Text | None = None
    anchors: Mapping[str, Text] = field(default_factory=FrozenMap)
    enable_when: tuple[EnableWhen, ...] = ()

    @property
    def codes(self) -> tuple[int, ...]:
        """Allowed option codes (choice items)."""
        return tuple(o.code for o in self.options)

    def option(self, code: int) -> Option:
        """The option with ``code``; KeyError when there is none."""
        for o in self.options:
            if o.code == code:
                return o
        raise KeyError(f"{self.id}: no option with code {code}")

    def is_valid_answer(self, value: object) -> bool:
        """Whether ``value`` is a possible answer to this item.

        Whole numbers only: ``3`` and ``3.0`` (as read from a CSV) are, ``True``, ``2.5``,
        NaN and strings are not.
        """
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


@dataclass(frozen=True)
class Page:
    """Items shown together on one screen."""

    id: str
    items: tuple[str, ...]
    title: Text | None = None


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
    kind: Literal["prom", "prem"]
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
        return data

    def screen_pages(self) -> tuple[Page, ...]:
        """Pages as defined, or one page per item when the file defines none."""
        if self.pages:
            return self.pages
        return tuple(Page(id=i.id, items=(i.id,)) for i in self.items)


def _item_definition(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id, "type": item.type}
    if item.required:
        data["required"] = True
    data["text"] = dict(item.text)
    if item.help is not None:
        data["help"] = dict(item.help)
    if item.options:
        data["options"] = []
        for o in item.options:
            option: dict[str, Any] = {"code": o.code, "label": dict(o.label)}
            if o.not_applicable:
                option["not_applicable"] = True
            data["options"].append(option)
    if item.min is not None:
        data["min"] = item.min
    if item.max is not None:
        data["max"] = item.max
    if item.anchors:
        data["anchors"] = {end: dict(text) for end, text in item.anchors.items()}
    if item.enable_when:
        data["enable_when"] = [
            {"item": c.item, "operator": c.operator, "answer": c.answer} for c in item.enable_when
        ]
    return data


def _page_definition(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = {"id": page.id}
    if page.title is not None:
        data["title"] = dict(page.title)
    data["items"] = list(page.items)
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
