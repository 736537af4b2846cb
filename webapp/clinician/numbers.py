"""Numbers on the staff pages, written in the staff language's format.

The services hand the templates plain floats; the templates format them here, so that a
median reads ``51,5`` in bokmål and nynorsk and ``51.5`` in English.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from webapp.clinician import bp
from webapp.i18n import FORMAT_LOCALES, current_language


def decimal_pattern(decimals: int) -> str:
    """The CLDR pattern for ``decimals``: 1 means "at most one" (``47``, ``51.5``), any
    other number exactly that many (``0.300``), 0 none."""
    if decimals <= 0:
        return "0"
    if decimals == 1:
        return "0.#"
    return "0." + "0" * decimals


@bp.app_template_filter("decimal")
def format_number(value: float | None, decimals: int = 1) -> str:
    """``value`` with ``decimals`` (see :func:`decimal_pattern`) in the staff language's
    number format; ``""`` for None."""
    if value is None:
        return ""
    locale = FORMAT_LOCALES.get(current_language(), FORMAT_LOCALES["nb"])
    return format_decimal(value, format=decimal_pattern(decimals), locale=locale)
