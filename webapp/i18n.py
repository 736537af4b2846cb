"""User-interface languages (Flask-Babel): bokmål (default), nynorsk and English.

UI texts are gettext messages with English ids, translated in ``webapp/translations``
(``pybabel compile -d webapp/translations`` turns the .po files into the .mo files that are
committed). Questionnaire texts never go through here: they come from the instrument files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.dates import format_date
from flask import Flask, g
from flask_babel import Babel

LANGUAGES = ("nb", "nn", "en")
LANGUAGE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}
DEFAULT_LANGUAGE = "nb"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# Babel locale for writing dates and numbers in each language (British English:
# "1 March 2027", not "March 1, 2027").
FORMAT_LOCALES = {"nb": "nb", "nn": "nn", "en": "en_GB"}

babel = Babel()


def current_language() -> str:
    """The UI language chosen for this request (``g.lang``), bokmål by default."""
    lang = g.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def init_i18n(app: Flask) -> None:
    """Set up Flask-Babel on ``app`` (locale from :func:`current_language`)."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    if "babel" not in app.extensions:
        babel.init_app(
            app,
            locale_selector=current_language,
            default_translation_directories=str(TRANSLATIONS),
        )


def long_date(day: dt.date | dt.datetime, lang: str) -> str:
    """A date as people write it in ``lang``: "1. mars 2027", "1 March 2027"."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return format_date(day, "long", locale=FORMAT_LOCALES.get(lang, "nb"))
