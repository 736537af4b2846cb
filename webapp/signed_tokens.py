"""Signed session cookie and CSRF token: each signature checked or made once per process.

Flask verifies the session cookie's HMAC (and decodes it) on every request, and
Flask-WTF signs the session's CSRF token again on every request that shows a form; both
derive the signing key first. For a patient answering page after page both are the same
every time. Neither cache changes what is accepted:

* :class:`VerifiedSessionInterface` remembers, for an exact cookie value that verified,
  its data and signing time. The same value is accepted again only while it is within
  ``PERMANENT_SESSION_LIFETIME`` of that time (as itsdangerous checks it); a value never
  seen is verified in full. Only flat sessions (strings, numbers) are remembered, and
  every request gets its own copy. A session nobody read or changed is not written back
  (Flask would only look at it to decide that).
* :func:`reuse_csrf_token` gives a request the signed CSRF token made earlier for the
  same session token and key, when ``WTF_CSRF_TIME_LIMIT`` is None (openprom's setting:
  a signed token never expires, so an earlier one is worth exactly a new one). With a
  time limit, Flask-WTF signs a fresh token per request as before.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, g
from flask.globals import request_ctx
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature

MAX_ENTRIES = 20_000  # per process; the cache is emptied when full (never grows unbounded)
FLAT = (str, int, float, bool, type(None))

_sessions: dict[tuple[Any, str], tuple[dict[str, Any], float]] = {}
_csrf_tokens: dict[tuple[Any, str], str] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = value


class VerifiedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with each cookie value verified once per process."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The session of ``request`` (empty when the cookie is missing, forged or old)."""
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (app.secret_key, value)
        known = _sessions.get(key)
        if known is not None:
            data, signed_at = known
            if 0 <= time.time() - signed_at <= max_age:
                return self.session_class(data)
            _sessions.pop(key, None)
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        try:
            data, stamp = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, FLAT) for v in data.values()):
            _remember(_sessions, key, (dict(data), stamp.timestamp()))
        return self.session_class(data)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        """As Flask does; a session nobody read or changed (not permanent) needs nothing:
        no ``Set-Cookie``, no ``Vary: Cookie``."""
        if (
            isinstance(session, SecureCookieSession)
            and not session.modified
            and not session.accessed
            and not dict.get(session, "_permanent", False)
        ):
            return
        super().save_session(app, session, response)


def _peek(field: str) -> Any:
    """A session value, read without marking the session accessed (no ``Vary: Cookie``)."""
    current = request_ctx.session
    return dict.get(current, field) if isinstance(current, dict) else None


def reuse_csrf_token() -> None:
    """Before a request: the signed CSRF token of this session, signed once per process."""
    config = current_app.config
    if config.get("WTF_CSRF_TIME_LIMIT", 3600) is not None:
        return
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = _peek(field)
    if not isinstance(raw, str):  # no session yet: Flask-WTF makes the token on first use
        return
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw)
    signed = _csrf_tokens.get(key)
    if signed is None:
        signed = generate_csrf()  # the key and field Flask-WTF uses, from the same config
        _remember(_csrf_tokens, key, signed)
    setattr(g, field, signed)


def init_signed_tokens(app: Flask) -> None:
    """Install the verified-once session and the CSRF token reuse on ``app``."""
    app.session_interface = VerifiedSessionInterface()
    app.before_request(reuse_csrf_token)
