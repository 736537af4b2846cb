"""Patient views."""

from __future__ import annotations

from flask import render_template

from webapp.patient import bp


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    """Landing page: explains that questionnaires are opened from an invitation link."""
    return render_template("patient/home.html")
