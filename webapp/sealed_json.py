"""The JSON column type of raw answers: every text inside is stored encrypted.

Answers are numbers, booleans, option codes and, for ``string``/``text``/``open-choice``
items, what the patient wrote. A text can identify a person (names, places, health
details), so every string value of the answers mapping (also inside lists) is written as
``{"$sealed": <base64 AES-256-GCM>}`` under a subkey of ``OPENPROM_ID_KEY`` (context
``answer-text``) and read back transparently. Numbers and booleans stay as they are, so
the bundled instruments (integer codes only) store exactly what they stored before.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

from webapp.crypto import IdCipher

SEALED = "$sealed"
CONTEXT = b"answer-text"


@lru_cache(maxsize=4)
def _cipher(key: bytes) -> IdCipher:
    return IdCipher(key)


def _current() -> IdCipher:
    return _cipher(current_app.config["OPENPROM_ID_KEY"])


def _seal(value: Any, cipher: IdCipher) -> Any:
    if isinstance(value, str):
        blob = cipher.encrypt(value, CONTEXT)
        return {SEALED: base64.urlsafe_b64encode(blob).decode("ascii")}
    if isinstance(value, list):
        return [_seal(v, cipher) for v in value]
    return value


def _unseal(value: Any, cipher: IdCipher) -> Any:
    if isinstance(value, dict) and SEALED in value:
        return cipher.decrypt(base64.urlsafe_b64decode(value[SEALED]), CONTEXT)
    if isinstance(value, list):
        return [_unseal(v, cipher) for v in value]
    return value


def _has(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, list):
        return any(_has(v, kind) for v in value)
    return isinstance(value, kind)


def seal(answers: dict[str, Any] | None) -> dict[str, Any] | None:
    """``answers`` with every string value encrypted (unchanged when it has none)."""
    if not answers or not any(_has(v, str) for v in answers.values()):
        return answers
    cipher = _current()
    return {k: _seal(v, cipher) for k, v in answers.items()}


def unseal(answers: dict[str, Any] | None) -> dict[str, Any] | None:
    """``answers`` with every sealed value decrypted (unchanged when it has none)."""
    if not answers or not any(_has(v, dict) for v in answers.values()):
        return answers
    cipher = _current()
    return {k: _unseal(v, cipher) for k, v in answers.items()}


class SealedAnswers(TypeDecorator[Any]):
    """JSON whose string values are encrypted at rest (see the module docs)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return seal(value) if isinstance(value, dict) else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return unseal(value) if isinstance(value, dict) else value
