"""Whole numbers typed by people: ASCII digits only, bounded length.

``str.isdigit()`` accepts ``²``, ``③`` and fullwidth ``３``; ``int()`` accepts fullwidth
and Arabic-Indic digits, underscores and surrounding whitespace, and raises ``ValueError``
beyond Python's 4,300-digit limit. User input goes through :func:`parse_whole_number`
(or :class:`WholeNumberField` in forms) instead.
"""

from __future__ import annotations

import re
from typing import Any

from wtforms import IntegerField

MAX_DIGITS = 6
_NUMBER = re.compile(r"(-?)([0-9]+)")


def parse_whole_number(
    raw: object, *, max_digits: int = MAX_DIGITS, signed: bool = True
) -> int | None:
    """``raw`` as an int when it is ``-?[0-9]{1,max_digits}`` (ASCII blanks around it allowed).

    Anything else (other scripts' digits, superscripts, underscores, longer strings,
    non-strings) gives None.
    """
    if not isinstance(raw, str) or len(raw) > max_digits + 32:
        return None
    match = _NUMBER.fullmatch(raw.strip(" \t\r\n"))
    if match is None or len(match[2]) > max_digits or (match[1] and not signed):
        return None
    return int(match[0])


class WholeNumberField(IntegerField):
    """An ``IntegerField`` that takes only :func:`parse_whole_number` input.

    Anything else leaves ``data`` None without an error of its own, so the field's
    validators (``NumberRange``, ``InputRequired``) give their one message.
    """

    def __init__(self, *args: Any, max_digits: int = MAX_DIGITS, signed: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_digits, self.signed = max_digits, signed

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the posted value strictly (never ``int()`` on raw input)."""
        if valuelist:
            self.data = parse_whole_number(
                valuelist[0], max_digits=self.max_digits, signed=self.signed
            )
