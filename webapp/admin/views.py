"""Admin views."""

from __future__ import annotations

from flask import abort, render_template

from instruments import load_all
from webapp.admin import bp


@bp.get("/instruments")
def instruments():  # type: ignore[no-untyped-def]
    """Every bundled instrument with version, languages and its licence notice."""
    items = sorted(load_all().values(), key=lambda i: i.id)
    return render_template("admin/instruments.html", instruments=items)


@bp.get("/instruments/<instrument_id>")
def instrument(instrument_id: str):  # type: ignore[no-untyped-def]
    """One instrument: licence notice, items and options."""
    inst = load_all().get(instrument_id)
    if inst is None:
        abort(404)
    return render_template("admin/instrument.html", inst=inst)
