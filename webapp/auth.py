"""Request glue for clinician sessions: load ``g.user``, guard views, set the cookie.

Every view of the clinician and admin blueprints is wrapped in :func:`guarded` (login +
an access rule); patient views declare :func:`public` with the reason. A test checks
that every route declares one of the two.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

from flask import Flask, abort, current_app, g, redirect, request, url_for

from webapp.services.auth import has_totp, load_session

COOKIE = "openprom_session"
ACCOUNT_PAGE = "clinician.account"


def init_auth(app: Flask) -> None:
    """Load the signed-in user (if any) before each request."""

    @app.before_request
    def load_user() -> None:
        g.user = None
        g.user_session = None
        g.needs_second_factor = False
        info = load_session(request.cookies.get(COOKIE))
        if info is not None:
            g.user_session = info.session
            g.needs_second_factor = info.needs_second_factor
            if not info.needs_second_factor:
                g.user = info.user

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        return {"current_user": g.get("user")}


def set_session_cookie(response, token: str):  # type: ignore[no-untyped-def]
    """Attach the session cookie: HttpOnly, SameSite=Strict, Secure unless plain-http dev."""
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", True),
        path="/",
    )
    return response


def clear_session_cookie(response):  # type: ignore[no-untyped-def]
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/")
    return response


def deny(rule: str) -> NoReturn:
    """Record the denial as a security event (committed) and answer 403."""
    from webapp.extensions import db
    from webapp.services import security_events

    security_events.record(
        "access.denied",
        user_id=g.user.id if g.get("user") else None,
        email=g.user.email if g.get("user") else None,
        outcome="denied",
        details={"rule": rule, "method": request.method},
    )
    db.session.commit()
    abort(403)


def guarded(rule: str, check: Callable[..., bool] | None = None):  # type: ignore[no-untyped-def]
    """Require a signed-in user and, with ``check(user, **view_args)``, an access rule.

    Anonymous users are sent to the login page; users failing the check get 403 (recorded
    as a security event). A user who must change a password someone else chose is sent
    to the account page until it is done; so is, with ``OPENPROM_REQUIRE_SECOND_FACTOR``,
    a user without a second factor, until TOTP is set up (logout stays reachable).
    """

    def decorate(view):  # type: ignore[no-untyped-def]
        @wraps(view)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if g.get("user") is None:
                if g.get("needs_second_factor"):
                    return redirect(url_for("clinician.second_factor"))
                return redirect(url_for("clinician.login", next=request.path))
            if request.endpoint != ACCOUNT_PAGE:
                if g.user.must_change_password:
                    return redirect(url_for(ACCOUNT_PAGE, must="password"))
                if current_app.config.get("OPENPROM_REQUIRE_SECOND_FACTOR") and not has_totp(
                    g.user
                ):
                    return redirect(url_for(ACCOUNT_PAGE, must="totp"))
            if check is not None and not check(g.user, **kwargs):
                deny(rule)
            return view(*args, **kwargs)

        wrapper.access_rule = rule  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public(reason: str):  # type: ignore[no-untyped-def]
    """Mark a view as reachable without login (``reason`` says what protects it)."""

    def decorate(view):  # type: ignore[no-untyped-def]
        view.access_rule = f"public: {reason}"
        return view

    return decorate
