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
"""

from __future__ import annotations

from flask import Flask, Response, abort, render_template, request
from sqlalchemy.exc import OperationalError

from webapp.extensions import db

STAFF_BLUEPRINTS = frozenset({"clinician", "admin", "api"})
STAFF_PREFIXES = ("/clinician/", "/admin/", "/api/")
HSTS = "max-age=31536000; includeSubDomains"


def is_staff_request() -> bool:
    """Whether the current request is for a staff page (by blueprint, else by path)."""
    if request.blueprint in STAFF_BLUEPRINTS:
        return True
    path = request.path if request.path.endswith("/") else request.path + "/"
    return path.startswith(STAFF_PREFIXES)


def init_http_policy(app: Flask) -> None:
    """Register the staff no-store header, HSTS, the NUL check, the 413 page and the 503 answer
    to a database outage on ``app``."""

    @app.before_request
    def refuse_nul() -> None:
        for fields in (request.args, request.form):
            for key, values in fields.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    abort(400, description="Skjemaet inneholdt et ugyldig tegn og ble ikke lagret.")

    @app.after_request
    def staff_no_store(response: Response) -> Response:
        if is_staff_request():
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    @app.errorhandler(413)
    def too_large(_exc: Exception):  # type: ignore[no-untyped-def]
        return render_template("clinician/too_large.html"), 413

    @app.errorhandler(OperationalError)
    def database_unavailable(_exc: Exception):  # type: ignore[no-untyped-def]
        # The database went away mid-request (restart, failover): 503 + Retry-After, not a
        # bare 500; the pool's pre-ping gives the next request a fresh connection.
        db.session.rollback()
        body = "Databasen svarer ikke akkurat nå. Ingenting ble lagret; prøv igjen om litt."
        return body, 503, {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"}
