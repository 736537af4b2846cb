"""Clinician authentication: argon2id passwords, lockout, TOTP, server-side sessions.

Sessions live in the ``user_session`` table (only the token hash is stored), so logout,
disabling a user and changing a password end sessions on the server. Failed logins are
counted per e-mail in the database (works across worker processes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select, update

from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import AttemptCounter, User, UserSession, utcnow
from webapp.services.passwords import hash_password, verify_password

MAX_FAILURES = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
IDLE_TIMEOUT = dt.timedelta(hours=2)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


class LockedOut(Exception):
    """Too many failed logins for this account in the current window."""


@dataclass(frozen=True)
class SessionInfo:
    """A valid session: the user and whether the second factor is still owed."""

    session: UserSession
    user: User
    needs_second_factor: bool


def _as_aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _window_start(now: dt.datetime) -> dt.datetime:
    minutes = int(LOCK_WINDOW.total_seconds() // 60)
    return now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)


def _login_key(email: str) -> str:
    return "login:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def failures(email: str, now: dt.datetime | None = None) -> int:
    """Failed logins for ``email`` in the current window."""
    now = now or utcnow()
    counter = db.session.scalar(
        select(AttemptCounter).where(
            AttemptCounter.key == _login_key(email),
            AttemptCounter.window_start == _window_start(now),
        )
    )
    return counter.count if counter else 0


def count_attempt(key: str, now: dt.datetime | None = None) -> int:
    """Add one attempt for ``key`` in the current window; returns the new count."""
    now = now or utcnow()
    start = _window_start(now)
    counter = db.session.scalar(
        select(AttemptCounter).where(
            AttemptCounter.key == key, AttemptCounter.window_start == start
        )
    )
    if counter is None:
        counter = AttemptCounter(key=key, window_start=start, count=0)
        db.session.add(counter)
    counter.count += 1
    db.session.flush()
    return counter.count


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None; LockedOut when locked."""
    if failures(email) >= MAX_FAILURES:
        raise LockedOut
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        count_attempt(_login_key(email))
        db.session.commit()
        return None
    return user


def start_session(user: User, ip: str | None) -> str:
    """Create a session for ``user``; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
            second_factor_ok=user.totp_secret is None,
            ip=ip,
        )
    )
    db.session.commit()
    return token


def load_session(token: str | None) -> SessionInfo | None:
    """The valid session for a cookie token (expired, revoked or stale → None)."""
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    user = row.user
    if (
        not user.active
        or _as_aware(row.expires_at) <= now
        or _as_aware(row.last_seen_at) + IDLE_TIMEOUT <= now
        or _as_aware(row.created_at) < _as_aware(user.password_changed_at)
    ):
        return None
    if now - _as_aware(row.last_seen_at) > dt.timedelta(minutes=1):
        row.last_seen_at = now
        db.session.commit()
    return SessionInfo(row, user, not row.second_factor_ok)


def verify_second_factor(info: SessionInfo, code: str) -> bool:
    """Check a TOTP code (±1 step) and mark the session as fully signed in."""
    secret = info.user.totp_secret
    if not secret or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        count_attempt(_login_key(info.user.email))
        db.session.commit()
        return False
    info.session.second_factor_ok = True
    db.session.commit()
    return True


def end_session(token: str | None) -> None:
    """Revoke the session of ``token`` (logout)."""
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token))
            .values(revoked_at=utcnow())
        )
        db.session.commit()


def revoke_all(user: User) -> None:
    """End every session of ``user`` (disabled account, new password)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def set_password(user: User, password: str) -> None:
    """Set a new password and end all the user's sessions."""
    if len(password) < 12:
        raise ValueError("a password needs at least 12 characters")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_all(user)


def set_active(user: User, active: bool) -> None:
    """Enable or disable an account (disabling ends its sessions)."""
    user.active = active
    if not active:
        revoke_all(user)


def change_password(user: User, current: str, new: str) -> None:
    """Change the password after checking the current one (ends every session).

    Raises ValueError with a message for the user when the current password is wrong or
    the new one is too short.
    """
    if not verify_password(user.password_hash, current):
        raise ValueError("Nåværende passord stemmer ikke.")
    if len(new) < 12:
        raise ValueError("Det nye passordet må ha minst 12 tegn.")
    set_password(user, new)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (not stored until :func:`enable_totp` confirms a code)."""
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="openprom")


def enable_totp(user: User, secret: str, code: str) -> bool:
    """Turn on the second factor when ``code`` matches ``secret`` (±1 step)."""
    if len(secret) < 16 or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        return False
    user.totp_secret = secret
    return True


def disable_totp(user: User, password: str) -> bool:
    """Turn off the second factor after checking the password."""
    if not verify_password(user.password_hash, password):
        return False
    user.totp_secret = None
    return True
