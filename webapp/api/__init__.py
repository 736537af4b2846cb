"""JSON and FHIR API."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import views  # noqa: E402,F401
