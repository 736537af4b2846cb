"""Encryption of register IDs, their blind index, and pseudonyms for exports.

- Register IDs are stored encrypted (AES-256-GCM, random nonce) under a subkey of
  ``OPENPROM_ID_KEY``; lookups use a keyed blind index (HMAC-SHA256 under another subkey).
- Exports carry a pseudonym: HMAC-SHA256 of the register ID under a key of the register,
  derived from ``OPENPROM_PSEUDONYM_KEY`` by HKDF-SHA256 with the register name as
  ``info`` (:func:`register_pseudonym_key`): two registers' exports cannot be linked
  without the master key (a plain hash would be reversible by trying all ~10^8 numbers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32


def generate_key() -> str:
    """A new random 256-bit key, URL-safe base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_key(text: str, name: str = "key") -> bytes:
    """Decode a base64 key and check it has 256 bits; ValueError says which key is wrong."""
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"{name} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{name} must be {KEY_BYTES} bytes (base64), got {len(raw)}")
    return raw


def _subkey(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class IdCipher:
    """Encrypts and decrypts register IDs and computes their blind index."""

    def __init__(self, master_key: bytes):
        self._aead = AESGCM(_subkey(master_key, b"openprom id encryption v1"))
        self._index_key = _subkey(master_key, b"openprom id blind index v1")

    def encrypt(self, value: str, context: bytes = b"national-id") -> bytes:
        """Nonce + ciphertext of ``value``; ``context`` (e.g. b"email") binds its purpose."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode("utf-8"), context)

    def decrypt(self, blob: bytes, context: bytes = b"national-id") -> str:
        """The text inside ``blob`` (raises on tampering, a wrong key or a wrong context)."""
        return self._aead.decrypt(blob[:12], blob[12:], context).decode("utf-8")

    def blind_index(self, national_id: str) -> str:
        """Deterministic keyed index for equality lookups (hex HMAC-SHA256)."""
        return hmac.new(self._index_key, national_id.encode("ascii"), hashlib.sha256).hexdigest()


def content_digest_key(master_key: bytes) -> bytes:
    """Key of keyed digests of stored contents (page idempotency hashes of answers, which
    may hold free text): an HKDF-SHA256 subkey of ``OPENPROM_ID_KEY``."""
    return _subkey(master_key, b"openprom content digest v1")


def register_pseudonym_key(master_key: bytes, register_name: str) -> bytes:
    """The pseudonym key of one register: HKDF-SHA256 (RFC 5869; no salt, 32 bytes) of
    ``OPENPROM_PSEUDONYM_KEY`` with the register name (UTF-8) as ``info``."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=register_name.encode("utf-8")
    ).derive(master_key)


def pseudonym(national_id: str, key: bytes, *, length: int = 20) -> str:
    """Stable export pseudonym: keyed HMAC-SHA256 of the register ID, base32, ``length`` chars."""
    digest = hmac.new(key, national_id.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()[:length]


def token_hash(token: str) -> str:
    """SHA-256 hex of an invitation or session token (only the hash is stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
