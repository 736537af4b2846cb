"""Patient pages: answering questionnaires from an invitation link (no login)."""

from flask import Blueprint

bp = Blueprint("patient", __name__, template_folder="../templates")

from webapp.patient import views  # noqa: E402,F401
