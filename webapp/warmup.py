"""Load once what every request needs (called in gunicorn's master before forking).

Workers forked afterwards share these pages of memory, and no patient pays for a first
import: the instrument files (parsed and validated), the patient templates, and the
statistics imports of the dashboards (statsmodels takes about a second).
"""

from __future__ import annotations

import importlib
import logging

from flask import Flask

import instruments

log = logging.getLogger(__name__)

HEAVY_IMPORTS = ("statsmodels.stats.proportion", "scoring")


def warm_up(app: Flask) -> None:
    """Parse instruments, compile the patient templates and import heavy modules."""
    instruments.load_all()
    for name in HEAVY_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional part is missing: it loads (or fails) on use
            log.warning("warm-up could not import %s", name)
    with app.app_context():
        for template in app.jinja_env.list_templates(filter_func=_patient_template):
            app.jinja_env.get_template(template)


def _patient_template(name: str) -> bool:
    return name.startswith("patient/") and name.endswith(".html")
