"""Validation of Norwegian national identity numbers (pure Python, no Flask).

Accepts fødselsnummer, D-numbers (first digit +4), H-numbers (third digit +4),
Skatteetaten's synthetic test numbers (third digit +8), the health sector's FH numbers
(first digit 8 or 9, no date) and the 2032 format in which the first check digit may
leave a remainder 0–3 (so up to four values are valid; the second check digit is
unchanged). Each failure raises :class:`InvalidNationalId` with a ``reason`` code:
``length``, ``non_digit``, ``bad_date`` or ``bad_check_digit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Kind = Literal["fnr", "dnr", "hnr", "fh"]
Reason = Literal["length", "non_digit", "bad_date", "bad_check_digit"]

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)  # over digits 1..10 (incl. first check digit)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)  # over digits 1..11

_MESSAGES: dict[Reason, str] = {
    "length": "A national ID number has 11 digits",
    "non_digit": "A national ID number contains only digits",
    "bad_date": "The first six digits are not a valid date of birth",
    "bad_check_digit": "The check digits do not match (check for a typing error)",
}


class InvalidNationalId(ValueError):
    """The number is not a valid Norwegian national ID; ``reason`` tells why."""

    def __init__(self, reason: Reason, detail: str = ""):
        self.reason: Reason = reason
        message = _MESSAGES[reason] + (f": {detail}" if detail else "")
        super().__init__(message)


@dataclass(frozen=True)
class NationalId:
    """A validated national ID: the 11 digits, its kind and (except FH numbers) birth date."""

    value: str
    kind: Kind
    birth_date: dt.date | None
    synthetic: bool = False

    def __str__(self) -> str:  # never print the number itself by accident
        return f"NationalId({self.kind}, ***********)"

    __repr__ = __str__


def _century(year2: int, individual: int) -> int | None:
    """Century of birth from the two-digit year and the individual number (Folkeregisteret)."""
    if individual <= 499:
        return 1900
    if individual <= 749 and year2 >= 54:
        return 1800
    if individual >= 500 and year2 <= 39:
        return 2000
    if individual >= 900 and year2 >= 40:
        return 1900
    return None


def _check_digits_ok(d: list[int]) -> bool:
    if sum(w * x for w, x in zip(_W1, d[:10], strict=True)) % 11 not in (0, 1, 2, 3):
        return False
    return sum(w * x for w, x in zip(_W2, d, strict=True)) % 11 == 0


def validate(raw: str) -> NationalId:
    """Validate ``raw`` (spaces and a dot/dash separator allowed) and describe it."""
    value = "".join(ch for ch in str(raw) if ch not in " .-")
    # ASCII digits only: str.isdigit() also accepts "³", "③" and fullwidth "３"
    if value and not (value.isascii() and value.isdigit()):
        raise InvalidNationalId("non_digit")
    if len(value) != 11:
        raise InvalidNationalId("length", f"got {len(value)}")
    d = [int(c) for c in value]
    if not _check_digits_ok(d):
        raise InvalidNationalId("bad_check_digit")
    if d[0] in (8, 9):
        return NationalId(value, "fh", None)
    day, month, year2 = int(value[0:2]), int(value[2:4]), int(value[4:6])
    kind: Kind = "fnr"
    if day > 40:
        day, kind = day - 40, "dnr"
    synthetic = False
    if month > 80:
        month, synthetic = month - 80, True
    elif month > 40:
        month = month - 40
        kind = "hnr" if kind == "fnr" else kind
    century = _century(year2, int(value[6:9]))
    # The 2032 format no longer encodes the century in the individual number: then the
    # date must exist in some century, and the birth date is reported as unknown.
    centuries = (century,) if century is not None else (1900, 2000)
    dates = []
    for c in centuries:
        try:
            dates.append(dt.date(c + year2, month, day))
        except ValueError:
            continue
    if not dates:
        raise InvalidNationalId("bad_date")
    return NationalId(value, kind, dates[0] if century is not None else None, synthetic)


def is_valid(raw: str) -> bool:
    """Whether ``raw`` is a valid national ID."""
    try:
        validate(raw)
    except InvalidNationalId:
        return False
    return True


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(w * x for w, x in zip(weights, digits, strict=False)) % 11
    return 0 if rest == 11 else (None if rest == 10 else rest)


def synthetic_number(birth_date: dt.date, individual: int) -> str | None:
    """A synthetic test number (month + 80, Skatteetaten's convention) for demo data.

    Returns None when ``individual`` gives no valid check digit (try the next one).
    """
    base = f"{birth_date.day:02d}{birth_date.month + 80:02d}{birth_date.year % 100:02d}"
    digits = [int(c) for c in base + f"{individual:03d}"]
    k1 = _check_digit(digits, _W1[:9])
    if k1 is None:
        return None
    k2 = _check_digit([*digits, k1], _W2[:10])
    if k2 is None:
        return None
    return "".join(map(str, digits)) + f"{k1}{k2}"


Sex = Literal["female", "male"]


def sex_of(nid: NationalId) -> Sex | None:
    """The sex a fødselsnummer or D-number encodes: its ninth digit (the last individual
    digit) is even for women and odd for men, 0 counting as even (Store norske leksikon and
    Jusleksikon, «Fødselsnummer»). Synthetic test numbers follow the same rule.

    None when the number encodes no sex: FH numbers (no date, no individual number),
    H-numbers (auxiliary numbers given by the health service, not by Folkeregisteret) and
    the 2032 format, recognised by a first check digit whose remainder is 1–3 (Skatteetaten,
    «Nye fødselsnummer og d-nummer fra 2032»: the new numbers are gender-neutral and systems
    must no longer read sex from them). A 2032-format number with remainder 0 cannot be told
    apart from the old format; none is issued before 1 January 2032.
    """
    if nid.kind in ("fh", "hnr"):
        return None
    d = [int(c) for c in nid.value]
    if sum(w * x for w, x in zip(_W1, d[:10], strict=True)) % 11 != 0:
        return None
    return "male" if d[8] % 2 else "female"


def age_on(nid: NationalId, day: dt.date) -> int | None:
    """Age in whole years on ``day`` from the birth date the number encodes (None when it
    encodes none, or ``day`` is before the birth date). A 29 February birthday counts as
    passed on 1 March in other years."""
    born = nid.birth_date
    if born is None or day < born:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
