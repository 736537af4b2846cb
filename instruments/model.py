"""Immutable typed objects for a loaded instrument definition.

A definition file is parsed into these dataclasses by :mod:`instruments.loader`.
Texts are :class:`Text` mappings from language code (``nb``, ``nn``, ``en``) to string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

LANGUAGES: tuple[str, ...] = ("nb", "nn", "en")

ItemType = Literal["choice", "integer", "display"]
Direction = Literal["higher_better", "higher_worse"]


class Text(Mapping[str, str]):
    """A read-only text in several languages (language code -> string)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str]):
        self._data = MappingProxyType(dict(data))

    def __getitem__(self, lang: str) -> str:
        return self._data[lang]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"Text({dict(self._data)!r})"

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
    anchors: Mapping[str, Text] = field(default_factory=dict)
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

    def is_valid_answer(self, value: int) -> bool:
        """Whether ``value`` is a possible answer to this item."""
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

    def screen_pages(self) -> tuple[Page, ...]:
        """Pages as defined, or one page per item when the file defines none."""
        if self.pages:
            return self.pages
        return tuple(Page(id=i.id, items=(i.id,)) for i in self.items)
