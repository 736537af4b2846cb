"""Clinician views."""

from __future__ import annotations

from flask import render_template

from webapp.clinician import bp


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    """Start page for clinicians."""
    return render_template("clinician/index.html")
