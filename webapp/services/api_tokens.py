"""Bearer tokens of the FHIR API: issued per register with one scope, stored hashed.

A token is 32 random bytes (256 bits), URL-safe base64 with the prefix ``opf_``; only its
SHA-256 is stored (:class:`webapp.models.ApiToken`), so it is shown once at creation.
Scopes: ``read`` (read and search QuestionnaireResponses of the register, Questionnaires)
and ``write`` (create QuestionnaireResponses in the register, read Questionnaires). A
revoked token is refused from the moment it is revoked.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import ApiToken, Register, utcnow

SCOPES = ("read", "write")
PREFIX = "opf_"


class TokenError(ValueError):
    """A token request that cannot be carried out (unknown register, scope, token id)."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the row and the secret (shown once, never stored)."""

    token: ApiToken
    secret: str


def create(register: Register, scope: str, label: str = "") -> IssuedToken:
    """Issue a token for ``register`` with ``scope`` (not committed)."""
    if scope not in SCOPES:
        raise TokenError(f"unknown scope {scope!r} (choose from {', '.join(SCOPES)})")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        register_id=register.id, token_hash=token_hash(secret), scope=scope, label=label[:200]
    )
    db.session.add(row)
    db.session.flush()
    return IssuedToken(row, secret)


def revoke(token_id: int) -> ApiToken:
    """Revoke the token with this id (not committed); TokenError when there is none."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def find(secret: str | None) -> ApiToken | None:
    """The live (not revoked) token with this secret, or None."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    digest = token_hash(secret)
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.token_hash, digest):  # pragma: no cover (same by query)
        return None
    return row


def tokens_of(register: Register) -> list[ApiToken]:
    """Every token of a register (live and revoked), oldest first."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.register_id == register.id).order_by(ApiToken.id)
        )
    )
