"""Staff error pages (403, 404, 500) in the staff language with a way back.

Registered for the whole app from the clinician blueprint; requests outside the staff
pages (patients, the API) keep their own answers.
"""

from __future__ import annotations

from flask import g, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.clinician import bp
from webapp.clinician.language import is_staff_path, use_staff_language


def _staff_page(exc: HTTPException):  # type: ignore[no-untyped-def]
    if not is_staff_path():
        return exc
    use_staff_language()
    signed_in = g.get("user") is not None
    description = exc.description if exc.code == 500 and _own_description(exc) else ""
    page = render_template(
        "errors/staff.html",
        code=exc.code,
        signed_in=signed_in,
        description=description,
        back=request.referrer if _same_site(request.referrer) else None,
    )
    return page, exc.code


def _own_description(exc: HTTPException) -> bool:
    """Whether a 500 carries our own message (e.g. a broken register file)."""
    return bool(exc.description) and exc.description != InternalServerError.description


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)  # type: ignore[union-attr]


@bp.app_errorhandler(403)
def forbidden(exc: HTTPException):  # type: ignore[no-untyped-def]
    """403 for staff: not allowed, with links back."""
    return _staff_page(exc)


@bp.app_errorhandler(404)
def not_found(exc: HTTPException):  # type: ignore[no-untyped-def]
    """404 for staff: no such page, with links back."""
    return _staff_page(exc)


@bp.app_errorhandler(500)
def server_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    """500 for staff: something went wrong, nothing is shown of the cause."""
    if not isinstance(exc, HTTPException):  # an unhandled exception wrapped by Flask
        exc = InternalServerError()
    return _staff_page(exc)
