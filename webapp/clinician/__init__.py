"""Clinician pages: patient lookup and scores over time (login required)."""

from flask import Blueprint

bp = Blueprint("clinician", __name__, template_folder="../templates")

from webapp.clinician import (  # noqa: E402,F401
    account_views,
    consent_views,
    dashboard_views,
    errors,
    export_views,
    language,
    numbers,
    views,
    withdrawal_list_views,
)
