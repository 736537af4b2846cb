"""The staff language: bokmål, nynorsk or English, chosen on the staff pages.

Kept in a cookie (``openprom_staff_lang``; no personal data), else taken from the
browser's Accept-Language, else bokmål. Sets ``g.lang`` for every staff request so that
Flask-Babel texts and number formats follow it. A choice made while signed in is also
stored on the user (``User.language``), for what is written to them outside a request
(the monthly report e-mail).
"""

from __future__ import annotations

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp.auth import public
from webapp.clinician import bp
from webapp.extensions import db
from webapp.i18n import DEFAULT_LANGUAGE, LANGUAGES

COOKIE = "openprom_staff_lang"


def staff_language() -> str:
    """The staff member's language for this request."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["nb", "nn", "en", "no"])
    if best == "no":
        return "nb"
    return best if best in LANGUAGES else DEFAULT_LANGUAGE


def use_staff_language() -> None:
    """Set ``g.lang`` to the staff language (before every staff request and error page)."""
    g.lang = staff_language()


def is_staff_path() -> bool:
    """Whether this request is for a staff HTML page (clinician or admin, not the API)."""
    path = request.path if request.path.endswith("/") else request.path + "/"
    return path.startswith(("/clinician/", "/admin/"))


@bp.before_app_request
def _staff_language_first() -> None:
    if is_staff_path():
        use_staff_language()


@bp.get("/language")
@public("only sets the staff language cookie")
def set_language() -> Response:
    """Remember ``?lang=`` for the staff pages and go back to the page it was chosen on."""
    lang = request.args.get("lang", "")
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("clinician.index")
    response = redirect(target)
    if lang in LANGUAGES:
        user = g.get("user")
        if user is not None and user.language != lang:
            user.language = lang
            db.session.commit()
        response.set_cookie(
            COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


@bp.app_context_processor
def _staff_language_in_templates() -> dict[str, str]:
    """``lang`` for staff templates (``<html lang>``, the language links)."""
    if is_staff_path():
        return {"lang": g.get("lang") or staff_language()}
    return {}
