"""Answers to discuss: the ``flags`` rules of an instrument file.

An instrument file may list rules such as ``{item: AD, at_least: 4, reason: {...}}``: an
answer code at or above ``at_least`` is shown to the clinician with its reason. The rules
are a clinical aid, not part of scoring, so they are not in the content hash (changing a
rule does not make old answers belong to another definition).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from instruments.loader import definition_files, load_file
from instruments.model import Text


@dataclass(frozen=True)
class FlagRule:
    """Flag ``item`` when its answer code is at least ``at_least``."""

    item: str
    at_least: int
    reason: Text


@dataclass(frozen=True)
class Flag:
    """A rule that an answer met: the item, the code given and the rule."""

    rule: FlagRule
    code: int

    def reason(self, lang: str) -> str:
        """The reason in ``lang``; staff pages in nynorsk get bokmål when the file has no
        nynorsk (instrument files need not carry every language), then English."""
        for choice in (lang, "nb", "en"):
            if choice in self.rule.reason:
                return self.rule.reason.get_text(choice)
        return next(iter(self.rule.reason.values()))


class FlagRuleError(ValueError):
    """A flag rule names an unknown item or lacks a language of its instrument."""


def rules_from(data: Mapping[str, Any], file: str = "<string>") -> tuple[FlagRule, ...]:
    """The flag rules of a definition mapping (already schema-valid), checked against it."""
    items = {item["id"] for item in data.get("items", [])}
    languages = list(data.get("languages", []))
    rules = []
    for spec in data.get("flags", []) or []:
        if spec["item"] not in items:
            raise FlagRuleError(f"{file}: flag names unknown item {spec['item']!r}")
        missing = [lang for lang in languages if lang not in spec["reason"]]
        if missing:
            raise FlagRuleError(
                f"{file}: flag on {spec['item']!r} has no reason in {', '.join(missing)}"
            )
        rules.append(FlagRule(spec["item"], int(spec["at_least"]), Text(dict(spec["reason"]))))
    return tuple(rules)


@cache
def rules(instrument_id: str) -> tuple[FlagRule, ...]:
    """The flag rules of the bundled instrument ``instrument_id`` (none when unknown)."""
    for path in definition_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("id") == instrument_id:
            load_file(path)  # schema and semantic checks first: a broken file fails loudly
            return rules_from(data, str(path))
    return ()


def flagged(instrument_id: str, answers: Mapping[str, Any]) -> list[Flag]:
    """The rules of ``instrument_id`` that ``answers`` (item id -> code) meet, in file order.

    Unanswered items and non-numeric answers never raise a flag.
    """
    found = []
    for rule in rules(instrument_id):
        code = answers.get(rule.item)
        if isinstance(code, bool) or not isinstance(code, int | float):
            continue
        if code >= rule.at_least:
            found.append(Flag(rule, int(code)))
    return found
