"""Which new staff passwords are refused (ASVS V6.2.1, V6.2.4, V6.2.11, V6.2.12).

A new password (own change, ``create-user --password-stdin``) must

* have at least :data:`MIN_LENGTH` characters;
* not be a commonly used password: the list ``webapp/data/common_passwords.txt`` is
  checked against the whole password and against its *base* (lower case, digits and
  punctuation at both ends removed, common letter substitutions such as ``@`` → ``a``,
  ``0`` → ``o`` undone, a repeated part counted once), so ``Passord2024!`` and
  ``p@ssw0rdp@ssw0rd`` are refused as well; runs along the alphabet, the digits or the
  keyboard (``123456789012``, ``qwertyuiopå``) and passwords of fewer than
  :data:`MIN_DISTINCT` different characters too;
* not contain a context word, in any case: openprom, the names and title words of the
  registers and units in the database, ``helse``, ``pasient``, ``passord``,
  ``password`` and the user's e-mail local part (and its parts).

The reasons are Flask-Babel messages: on a staff page in the staff language; in the CLI
(``create-user --password-stdin``, no request, no language chosen) in bokmål, the default.

There is no breached-password lookup (no network call to a third party): the list is
a small, hand-compiled stand-in for one. Generated passwords (``generate_password``) and
the fixed demo password (``flask demo``, local use only) are not checked.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Register, Unit

MIN_LENGTH = 12
MIN_DISTINCT = 5
COMMON_LIST = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
FIXED_CONTEXT_WORDS = ("openprom", "helse", "pasient", "passord", "password")
MIN_WORD = 4  # shorter parts of names and e-mail addresses are not context words
MIN_TITLE_WORD = 5  # words of register and unit titles

TOO_COMMON = _l(
    "The password is too common: it (or a variant with digits and symbols) is on lists of "
    "much-used passwords. Choose another, preferably a sentence of several words."
)
TOO_UNIFORM = _l(
    "The password has too few different characters or follows the keyboard or the "
    "alphabet. Choose another, preferably a sentence of several words."
)

_SUBSTITUTIONS = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "3": "e",
        "0": "o",
        "$": "s",
        "5": "s",
        "7": "t",
        "1": "i",
        "!": "i",
        "|": "l",
        "8": "b",
        "9": "g",
    }
)
_SUBSTITUTIONS_L = str.maketrans({"1": "l"})
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_RUNS = (
    "0123456789" * 4,
    "9876543210" * 4,
    "abcdefghijklmnopqrstuvwxyzæøå" * 2,
    "åøæzyxwvutsrqponmlkjihgfedcba" * 2,
    "qwertyuiopåasdfghjkløæzxcvbnm" * 2,
    "mnbvcxzæølkjhgfdsaåpoiuytrewq" * 2,
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p" * 2,
    "zaq1xsw2cde3vfr4bgt5nhy6mju7" * 2,
    "1q2w3e4r5t6y7u8i9o0p" * 2,
    "q1w2e3r4t5y6u7i8o9p0" * 2,
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (lower case; ``#`` lines are comments)."""
    lines = COMMON_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def _period(text: str) -> str:
    """The shortest part that ``text`` repeats (``abcabc`` → ``abc``)."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _variants(password: str) -> set[str]:
    """The password in lower case, with substitutions undone, and the bases of both."""
    lower = password.lower()
    forms = {lower, lower.translate(_SUBSTITUTIONS), lower.translate(_SUBSTITUTIONS_L)}
    bases = set()
    for form in list(forms) + [_EDGES.sub("", lower)]:
        base = _EDGES.sub("", form)
        bases |= {base, base.translate(_SUBSTITUTIONS), _period(base)}
        bases.add(_period(base.translate(_SUBSTITUTIONS)))
    squeezed = {re.sub(r"[\s_.\-]+", "", form) for form in forms}
    return forms | squeezed | {b for b in bases if b}


def is_common(password: str) -> bool:
    """Whether the password, or its base, is on the list of commonly used passwords."""
    listed = common_passwords()
    return any(form in listed for form in _variants(password))


def is_uniform(password: str) -> bool:
    """Fewer than :data:`MIN_DISTINCT` characters, or a run along the keyboard, the
    alphabet or the digits (forwards or backwards)."""
    lower = password.lower()
    if len(set(lower)) < MIN_DISTINCT:
        return True
    compact = re.sub(r"\s+", "", lower)
    return any(compact in run for run in _RUNS)


def _parts(text: str, minimum: int) -> set[str]:
    return {part for part in re.split(r"[\W_]+", text.lower()) if len(part) >= minimum}


def context_words(email: str | None = None) -> set[str]:
    """Words a new password may not contain, for the account ``email``."""
    words = set(FIXED_CONTEXT_WORDS)
    names = db.session.execute(select(Register.name, Register.title)).all()
    names += db.session.execute(select(Unit.name, Unit.title)).all()
    for name, title in names:
        if name and len(name) >= MIN_WORD:
            words.add(name.lower())
        words |= _parts(name or "", MIN_WORD) | _parts(title or "", MIN_TITLE_WORD)
    if email and "@" in email:
        local = email.strip().lower().split("@", 1)[0]
        if len(local) >= MIN_WORD:
            words.add(local)
        words |= _parts(local, MIN_WORD)
    return words


def problem(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` may not be chosen (a sentence for the user in the current
    language), or None."""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(n)s characters.", n=MIN_LENGTH)
    forms = _variants(password)
    for word in sorted(context_words(email), key=lambda w: (-len(w), w)):
        if any(word in form for form in forms):
            return _(
                "The password cannot contain “%(word)s”: the names of openprom, registers "
                "and units and your e-mail address are easy to guess.",
                word=word,
            )
    if is_common(password):
        return str(TOO_COMMON)
    if is_uniform(password):
        return str(TOO_UNIFORM)
    return None


def check(password: str, *, email: str | None = None) -> None:
    """Raise ValueError with the user-facing reason when ``password`` is refused."""
    reason = problem(password, email=email)
    if reason is not None:
        raise ValueError(reason)
