"""Clinician authentication: argon2id passwords, throttling, TOTP, server-side sessions.

Sessions live in the ``user_session`` table (only the token hash is stored), so logout,
disabling a user and changing a password end sessions on the server.

Password guessing is slowed, never turned into a lockout of the owner: attempts are
counted per (account, client address) in the database with one atomic statement that
checks and counts at once, so parallel requests cannot get past the limit. After
:data:`FREE_ATTEMPTS` attempts from an address, each further attempt from that address
for that account must wait ``2**(n - FREE_ATTEMPTS)`` seconds (n = the attempt number,
capped at :data:`MAX_DELAY`). Past :data:`ACCOUNT_CEILING` failures of an account from
all addresses together, every address gets a single free attempt before the delays start:
an attacker spread over many addresses is slowed, the owner's first attempt from their
own address still goes through. The second factor has counters of its own (per account
and per session), so wrong codes never slow the password step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import case, delete, literal, or_, select, update

from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import AttemptCounter, User, UserSession, utcnow
from webapp.services import attempt_counters, password_policy
from webapp.services.passwords import hash_password, verify_password

FREE_ATTEMPTS = 5  # per (account, address) and window before the growing delay
MAX_FAILURES = FREE_ATTEMPTS  # name kept for callers
MAX_DELAY = dt.timedelta(minutes=15)
ACCOUNT_CEILING = 100  # failures of one account (all addresses) before every address slows
COUNTER_WINDOW = dt.timedelta(days=1)
TOTP_SESSION_LIMIT = 5  # wrong codes in one session before it is revoked
TOTP_CONTEXT = b"totp-secret"
IDLE_TIMEOUT = dt.timedelta(hours=2)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


class LockedOut(Exception):
    """Too many attempts: the next one is allowed after ``retry_after`` seconds."""

    def __init__(self, retry_after: int = 0, scope: str = "address") -> None:
        super().__init__(f"retry after {retry_after} s ({scope})")
        self.retry_after = retry_after
        self.scope = scope


@dataclass(frozen=True)
class SessionInfo:
    """A valid session: the user and whether the second factor is still owed."""

    session: UserSession
    user: User
    needs_second_factor: bool


@dataclass(frozen=True)
class LoginResult:
    """What the password step found: the user (None on failure) and why it failed."""

    user: User | None
    reason: str = ""  # "", "unknown", "password", "disabled", "pending"
    account_id: int | None = None


def _as_aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _window_start(now: dt.datetime) -> dt.datetime:
    seconds = int(COUNTER_WINDOW.total_seconds())
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _norm(email: str) -> str:
    return email.strip().lower()


def login_key(email: str, ip: str | None) -> str:
    """Counter key of password attempts for an account from one client address."""
    return "login-addr:" + _digest(_norm(email), ip or "unknown")


def account_key(email: str) -> str:
    """Counter key of failed password attempts for an account from all addresses."""
    return "login-acct:" + _digest(_norm(email))


def totp_key(user_id: int) -> str:
    """Counter key of second-factor attempts for an account (never the password key)."""
    return f"totp-acct:{user_id}"


def totp_session_key(session_id: int) -> str:
    """Counter key of wrong second-factor codes in one session."""
    return f"totp-sess:{session_id}"


def delay_after(count: int, free: int = FREE_ATTEMPTS) -> dt.timedelta:
    """How long after the last attempt the next one may come when ``count`` were made."""
    if count < free:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=2 ** (count + 1 - free)), MAX_DELAY)


def count_attempt(key: str, now: dt.datetime | None = None) -> int:
    """Add one attempt for ``key`` in the current window; returns the new count.

    One ``UPDATE ... SET count = count + 1 ... RETURNING count`` (an insert that does
    nothing on conflict for the first attempt), so parallel requests never lose a count.
    The caller commits.
    """
    now = now or utcnow()
    return attempt_counters.increment(key, _window_start(now), now)


def take_attempt(key: str, free: int = FREE_ATTEMPTS, now: dt.datetime | None = None) -> None:
    """Check and count one attempt for ``key`` atomically; LockedOut while it must wait.

    The check is part of the ``UPDATE``'s WHERE clause (count below ``free``, or the last
    attempt longer ago than :func:`delay_after` the count), so of any number of parallel
    attempts at most ``free`` get through before the delay. Refused attempts are not
    counted. Commits its own small transaction.
    """
    now = now or utcnow()
    start = _window_start(now)
    moment_type = AttemptCounter.__table__.c.last_at.type
    latest_allowed = case(
        *[
            (AttemptCounter.count == n, literal(now - delay_after(n, free), moment_type))
            for n in range(free, free + 12)
        ],
        else_=literal(now - MAX_DELAY, moment_type),
    )
    bump = (
        update(AttemptCounter)
        .where(
            AttemptCounter.key == key,
            AttemptCounter.window_start == start,
            or_(
                AttemptCounter.count < free,
                AttemptCounter.last_at.is_(None),
                AttemptCounter.last_at <= latest_allowed,
            ),
        )
        .values(count=AttemptCounter.count + 1, last_at=now)
        .returning(AttemptCounter.count)
        .execution_options(synchronize_session=False)
    )
    for _ in range(3):
        # the update, else the first attempt's insert (a parallel request may have made
        # the row in between, or dropped it after a success: then round again)
        taken = db.session.execute(bump).scalar_one_or_none()
        if taken is None:
            taken = attempt_counters.insert_first(key, start, now)
        if taken is not None:
            db.session.commit()
            return
        row = db.session.execute(
            select(AttemptCounter.count, AttemptCounter.last_at).where(
                AttemptCounter.key == key, AttemptCounter.window_start == start
            )
        ).first()
        if row is not None:
            break
    db.session.commit()
    count, last = (row.count, row.last_at) if row is not None else (free, None)
    wait = (_as_aware(last) if last else now) + delay_after(count, free) - now
    raise LockedOut(max(1, int(wait.total_seconds() + 0.999)))


def attempts(key: str, now: dt.datetime | None = None) -> int:
    """Attempts counted for ``key`` in the current window."""
    now = now or utcnow()
    count = db.session.scalar(
        select(AttemptCounter.count).where(
            AttemptCounter.key == key, AttemptCounter.window_start == _window_start(now)
        )
    )
    return int(count or 0)


def forget_attempts(key: str) -> None:
    """Drop the counter of ``key`` (after a success; the caller commits)."""
    db.session.execute(
        delete(AttemptCounter)
        .where(AttemptCounter.key == key)
        .execution_options(synchronize_session=False)
    )


def authenticate(email: str, password: str, ip: str | None = None) -> LoginResult:
    """Check e-mail and password; LockedOut while this account + address must wait.

    A disabled account, one waiting for approval and a wrong password give the same
    result to the caller's user (``user`` None); ``reason`` is for the security log.
    """
    free = FREE_ATTEMPTS if attempts(account_key(email)) < ACCOUNT_CEILING else 1
    take_attempt(login_key(email, ip), free)
    user = db.session.scalar(select(User).where(User.email == _norm(email)))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    reason = ""
    if user is None:
        reason = "unknown"
    elif not ok:
        reason = "password"
    elif not user.active:
        reason = "disabled"
    elif user.pending_approval:
        reason = "pending"
    if reason:
        count_attempt(account_key(email))
        db.session.commit()
        return LoginResult(None, reason, user.id if user else None)
    forget_attempts(login_key(email, ip))
    db.session.commit()
    return LoginResult(user, "", user.id)


def start_session(user: User, ip: str | None, *, second_factor_ok: bool = False) -> str:
    """Create a session for ``user``; returns the cookie token (only its hash is stored).

    The session owes the second factor when the user has one, unless ``second_factor_ok``
    (a new session for a browser that passed it already, e.g. after a password change).
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
            second_factor_ok=second_factor_ok or not has_totp(user),
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
        or user.pending_approval
        or _as_aware(row.expires_at) <= now
        or _as_aware(row.last_seen_at) + IDLE_TIMEOUT <= now
        or _as_aware(row.created_at) < _as_aware(user.password_changed_at)
    ):
        return None
    if now - _as_aware(row.last_seen_at) > dt.timedelta(minutes=1):
        row.last_seen_at = now
        db.session.commit()
    return SessionInfo(row, user, not row.second_factor_ok)


# --- second factor -------------------------------------------------------------------


def _cipher():  # type: ignore[no-untyped-def]
    from webapp.services.patients import cipher

    return cipher()


def has_totp(user: User) -> bool:
    """Whether ``user`` has a second factor (encrypted or legacy clear-text secret)."""
    return bool(user.totp_secret_encrypted or user.totp_secret)


def totp_secret_of(user: User) -> str | None:
    """The user's TOTP secret; a legacy clear-text secret is moved to the encrypted column.

    The move is left in the session for the caller to commit.
    """
    if user.totp_secret_encrypted:
        return _cipher().decrypt(user.totp_secret_encrypted, TOTP_CONTEXT)
    secret = user.totp_secret
    if secret:
        _store_secret(user, secret)
    return secret


def _store_secret(user: User, secret: str | None) -> None:
    user.totp_secret_encrypted = _cipher().encrypt(secret, TOTP_CONTEXT) if secret else None
    user.totp_secret = None


def matching_step(secret: str, code: str, now: dt.datetime | None = None) -> int | None:
    """The time step (current ±1) whose code is ``code``, or None."""
    code = code.strip()
    if not (code.isascii() and code.isdigit()):  # "³".isdigit() is True
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    try:
        codes = [(step, totp.generate_otp(step)) for step in (current - 1, current, current + 1)]
    except ValueError:  # not base32
        return None
    found = None
    for step, expected in codes:
        if hmac.compare_digest(expected, code):
            found = step
    return found


def _claim_step(user: User, step: int) -> bool:
    """Record ``step`` as used; False when it (or a later one) was used already (replay)."""
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


@dataclass(frozen=True)
class SecondFactorResult:
    """Outcome of a code: ``ok``; otherwise ``replay`` and whether the session was ended."""

    ok: bool
    replay: bool = False
    session_revoked: bool = False
    wrong_in_session: int = 0


def verify_second_factor(info: SessionInfo, code: str) -> SecondFactorResult:
    """Check a TOTP code (±1 step, each step once) and mark the session as fully signed in.

    Raises LockedOut while the account's second factor must wait (growing delay after
    :data:`FREE_ATTEMPTS` codes). The :data:`TOTP_SESSION_LIMIT` th wrong code in a
    session revokes it (back to the password step).
    """
    user = info.user
    take_attempt(totp_key(user.id))
    secret = totp_secret_of(user)
    step = matching_step(secret, code) if secret else None
    if step is not None and _claim_step(user, step):
        info.session.second_factor_ok = True
        forget_attempts(totp_key(user.id))
        forget_attempts(totp_session_key(info.session.id))
        db.session.commit()
        return SecondFactorResult(True)
    wrong = count_attempt(totp_session_key(info.session.id))
    revoked = wrong >= TOTP_SESSION_LIMIT
    if revoked:
        info.session.revoked_at = utcnow()
    db.session.commit()
    return SecondFactorResult(False, step is not None, revoked, wrong)


def end_session(token: str | None) -> UserSession | None:
    """Revoke the session of ``token`` (logout); returns it when there was one."""
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    db.session.commit()
    return row


def revoke_all(user: User, *, keep: UserSession | None = None) -> None:
    """End every session of ``user`` but ``keep`` (disabled account, new password, second
    factor turned on or off). The caller commits."""
    stmt = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    db.session.execute(stmt.values(revoked_at=utcnow()))


class PasswordRefused(ValueError):
    """The new password is not allowed (the message says why, in Norwegian)."""


def set_password(user: User, password: str) -> None:
    """Set a new password and end all the user's sessions.

    Raises :class:`PasswordRefused` when the password is too short, commonly used or
    contains a context word (:mod:`webapp.services.password_policy`).
    """
    reason = password_policy.problem(password, email=user.email)
    if reason is not None:
        raise PasswordRefused(reason)
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

    Clears a pending forced change. Raises ValueError with a message for the user when
    the current password is wrong; :class:`PasswordRefused` when the new one is the
    current one or is refused by the password policy.
    """
    if not verify_password(user.password_hash, current):
        raise ValueError("Nåværende passord stemmer ikke.")
    if new == current:
        raise PasswordRefused("Velg et annet passord enn det nåværende.")
    set_password(user, new)
    user.must_change_password = False


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (not stored until :func:`enable_totp` confirms a code)."""
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="openprom")


def enable_totp(user: User, secret: str, code: str) -> bool:
    """Turn on the second factor when ``code`` matches ``secret`` (±1 step).

    The secret is stored encrypted, and the confirming code's step counts as used.
    """
    step = matching_step(secret, code) if len(secret) >= 16 else None
    if step is None:
        return False
    _store_secret(user, secret)
    user.totp_last_step = step
    return True


def disable_totp(user: User, password: str) -> bool:
    """Turn off the second factor after checking the password."""
    if not verify_password(user.password_hash, password):
        return False
    _store_secret(user, None)
    user.totp_last_step = None
    return True
