"""Gunicorn access log without invitation tokens or query strings.

Invitation links carry their secret in the path (``/s/<token>/...``); redirects carry it
in ``Location`` and same-origin pages in ``Referer``. :class:`RedactingLogger` replaces the
token with ``…`` and drops query strings in every atom of the access log line, so no
format string can leak one. Used by ``gunicorn.conf.py`` (``logger_class``).
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

TOKEN_PATH = re.compile(r"/s/[^/?#\s\"]+")
QUERY = re.compile(r"\?[^\s\"]*")


def redact(text: str) -> str:
    """``text`` with invitation tokens replaced by ``…`` and query strings removed."""
    return TOKEN_PATH.sub("/s/…", QUERY.sub("", text))


class RedactingLogger(Logger):
    """Gunicorn's logger, with tokens and query strings removed from access-log atoms."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in list(atoms.items()):
            if isinstance(value, str) and "/" in value:
                atoms[key] = redact(value)
        atoms["q"] = ""
        return atoms
