"""Administration pages: instruments and their licences, users, registers."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="../templates")

from webapp.admin import views  # noqa: E402,F401
