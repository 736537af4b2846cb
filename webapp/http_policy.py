"""Response policy for staff pages and oversized requests.

* Every staff response (blueprints ``clinician``, ``admin``, ``api`` and any path under
  their prefixes, including CSV downloads, redirects and error pages) carries
  ``Cache-Control: no-store``: these pages show health data and must not stay in a
  browser or proxy cache.
* Every response over HTTPS carries ``Strict-Transport-Security``.
* A request body above ``MAX_CONTENT_LENGTH`` (or with more than ``MAX_FORM_PARTS`` parts)
  gets 413 with a plain staff page in Norwegian; the patient blueprint has its own 413 page
  in the patient's language (``webapp/patient/views.py``).
* A NUL character in a query or form field (never legitimate, and PostgreSQL refuses it in
  text) gets 400 before any view runs: the patient blueprint's 400 page says the page was
  not saved, staff get a plain page.
* CSRF failures, NUL characters and 413s are security events (:func:`record_refused`):
  with a signed-in staff member on a staff page an audit row (with the account id) and
  the log line; for patients and anyone not signed in the log line only (no user id, no
  database write per refused request, so a flood of them cannot fill the audit table).
  The line names the endpoint, never the path (invitation tokens are in paths).
* A database outage (``OperationalError``) gets 503 and one error line on the logger
  ``openprom.errors`` with the exception's class names only (the message may hold SQL
  parameters, i.e. personal data).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, abort, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from webapp.extensions import db
from webapp.services import security_events

errors_log = logging.getLogger("openprom.errors")

STAFF_BLUEPRINTS = frozenset({"clinician", "admin", "api"})
STAFF_PREFIXES = ("/clinician/", "/admin/", "/api/")
HSTS = "max-age=31536000; includeSubDomains"
NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


def is_staff_request() -> bool:
    """Whether the current request is for a staff page (by blueprint, else by path)."""
    if request.blueprint in STAFF_BLUEPRINTS:
        return True
    path = request.path if request.path.endswith("/") else request.path + "/"
    return path.startswith(STAFF_PREFIXES)


def _signed_in_staff():  # type: ignore[no-untyped-def]
    """The signed-in staff member making a staff request, else None (never for patients)."""
    if not is_staff_request():
        return None
    if "user" in g:
        return g.user
    # refused before the session was loaded (Flask-WTF's check runs first)
    from webapp.auth import COOKIE
    from webapp.services.auth import load_session

    info = load_session(request.cookies.get(COOKIE))
    return info.user if info is not None and not info.needs_second_factor else None


def record_refusal(event: str, **details: Any) -> None:
    """Record a refused request as security event ``event`` (see the module docstring)."""
    details = {"method": request.method, **details}
    try:
        db.session.rollback()  # the request is refused: nothing of it is kept
        user = _signed_in_staff()
        security_events.record(
            event,
            user_id=user.id if user else None,
            email=user.email if user else None,
            outcome="refused",
            details=details,
            to_audit=user is not None,
        )
        if user is not None:
            db.session.commit()
    except SQLAlchemyError as exc:  # the database is away: the log line still goes out
        db.session.rollback()
        security_events.record(
            event,
            outcome="refused",
            details={**details, "audit": type(exc).__name__},
            to_audit=False,
        )


def record_refused(exc: Exception) -> None:
    """Record a CSRF failure (``csrf.refused``) or a 413 (``request.too_large``); other
    errors are not recorded here. Called by the app's and the patient blueprint's
    400/413 handlers."""
    if isinstance(exc, CSRFError):
        record_refusal("csrf.refused", reason=exc.description)
    elif getattr(exc, "code", None) == 413:
        record_refusal("request.too_large", content_length=request.content_length)


def log_database_outage(exc: Exception) -> None:
    """One error line for a database outage: class names and endpoint, never the message
    (it may carry SQL parameters: personal data)."""
    orig = getattr(exc, "orig", None)
    errors_log.error(
        "database unavailable, answered 503: %s (%s) at endpoint %s",
        type(exc).__name__,
        type(orig).__name__ if orig is not None else "-",
        request.endpoint,
    )


def init_http_policy(app: Flask) -> None:
    """Register the staff no-store header, HSTS, the NUL check, the 413 page and the 503 answer
    to a database outage on ``app``."""

    @app.before_request
    def refuse_nul() -> None:
        # a GET's body is never read (and parsing it costs every page view)
        sources = (request.args,) if request.method in NO_BODY else (request.args, request.form)
        for fields in sources:
            for key, values in fields.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    record_refusal("input.nul_refused")
                    abort(400, description="Skjemaet inneholdt et ugyldig tegn og ble ikke lagret.")

    @app.after_request
    def staff_no_store(response: Response) -> Response:
        if is_staff_request():
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    @app.errorhandler(413)
    def too_large(exc: Exception):  # type: ignore[no-untyped-def]
        record_refused(exc)
        return render_template("clinician/too_large.html"), 413

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError):  # type: ignore[no-untyped-def]
        # staff forms (the patient blueprint's own 400 handler records its refusals)
        record_refused(exc)
        return exc

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: Exception):  # type: ignore[no-untyped-def]
        # The database went away mid-request (restart, failover): 503 + Retry-After, not a
        # bare 500; the pool's pre-ping gives the next request a fresh connection.
        db.session.rollback()
        log_database_outage(exc)
        body = "Databasen svarer ikke akkurat nå. Ingenting ble lagret; prøv igjen om litt."
        return body, 503, {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"}
