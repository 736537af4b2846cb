"""Request glue for clinician sessions: load ``g.user``, guard views, set the cookie.

Every view of the clinician and admin blueprints is wrapped in :func:`guarded` (login +
an access rule); patient views declare :func:`public` with the reason. A test checks
that every route declares one of the two.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, url_for

from webapp.services.auth import load_session

COOKIE = "openprom_session"


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


def guarded(rule: str, check: Callable[..., bool] | None = None):  # type: ignore[no-untyped-def]
    """Require a signed-in user and, with ``check(user, **view_args)``, an access rule.

    Anonymous users are sent to the login page; users failing the check get 403.
    """

    def decorate(view):  # type: ignore[no-untyped-def]
        @wraps(view)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if g.get("user") is None:
                if g.get("needs_second_factor"):
                    return redirect(url_for("clinician.second_factor"))
                return redirect(url_for("clinician.login", next=request.path))
            if check is not None and not check(g.user, **kwargs):
                abort(403)
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
