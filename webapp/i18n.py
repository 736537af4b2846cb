"""User-interface languages (Flask-Babel): bokmål (default), nynorsk and English.

UI texts are gettext messages with English ids, translated in ``webapp/translations``
(``pybabel compile -d webapp/translations`` turns the .po files into the .mo files that are
committed). Questionnaire texts never go through here: they come from the instrument files.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, support
from babel.dates import format_date
from flask import Flask, g, request
from flask_babel import Babel, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from wtforms.i18n import messages_path

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


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def current_locale() -> Locale:
    """:func:`current_language` as a Babel locale (parsed once per language and process:
    Flask-Babel parses whatever string its selector returns, on every request)."""
    return _locale(current_language())


def init_i18n(app: Flask) -> None:
    """Set up Flask-Babel on ``app`` (locale from :func:`current_language`)."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    if "babel" not in app.extensions:
        babel.init_app(
            app,
            locale_selector=current_locale,
            default_translation_directories=str(TRANSLATIONS),
        )
        app.before_request(_share_wtforms_translations)


@cache
def _wtforms_catalogue(locale: str) -> support.Translations:
    """WTForms' own messages ("Not a valid integer value.") in ``locale``, read once."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsTranslations:
    """WTForms messages in the request's locale (resolved when a message is needed).

    Flask-WTF (1.3) reads the WTForms catalogue from disk on every request unless
    ``request.wtforms_translations`` is set; this object is set there instead and serves
    every request from a catalogue loaded once per locale and process. The locale is
    :func:`current_language` (what Flask-Babel's locale selector returns), read directly:
    WTForms translates a default label for every field bound without one.
    """

    def ugettext(self, string: str) -> str:
        return _wtforms_catalogue(current_language()).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(current_language()).ungettext(singular, plural, n)


_SHARED_WTFORMS_TRANSLATIONS = _WTFormsTranslations()


def _share_wtforms_translations() -> None:
    request.wtforms_translations = _SHARED_WTFORMS_TRANSLATIONS  # type: ignore[attr-defined]


def template_gettext() -> Callable[..., str]:
    """Jinja's ``_`` (newstyle gettext) bound to this request's catalogue.

    Behaves like the callable Flask-Babel installs (translate, mark safe when
    autoescaping, then ``%``-format with escaped variables), but finds the catalogue once
    per render instead of on every call (each lookup goes through several context
    locals). Context processors put it into a template's context, where it wins over the
    environment's ``_``.
    """
    translations = get_translations()
    ugettext = translations.ugettext
    plain = _plain_texts.setdefault(translations, {})

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        autoescape = context.eval_ctx.autoescape
        if not variables and autoescape:  # most calls: the same Markup every time
            done = plain.get(string)
            if done is None:
                done = plain[string] = Markup(ugettext(string)) % {}  # noqa: S704
            return done
        text = ugettext(string)
        if autoescape:
            text = Markup(text)  # noqa: S704 (our catalogue, as Jinja's i18n does)
        return text % variables

    return gettext


# catalogue -> message id -> its translation as Markup, for ``_`` calls without variables
# (a catalogue holds a finite set of messages; an id it lacks is kept as given)
_plain_texts: weakref.WeakKeyDictionary[Any, dict[str, Markup]] = weakref.WeakKeyDictionary()


def long_date(day: dt.date | dt.datetime, lang: str) -> str:
    """A date as people write it in ``lang``: "1. mars 2027", "1 March 2027"."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return format_date(day, "long", locale=FORMAT_LOCALES.get(lang, "nb"))
