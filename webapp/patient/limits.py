"""Coarse per-process request limits on invitation links (Flask-Limiter, in memory).

The real guard against token guessing is the database-backed failure counter in
:mod:`webapp.services.invitations`; this limiter only slows down floods.
"""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])


def token_route_limit() -> str:
    """Requests per client on invitation routes (config ``OPENPROM_TOKEN_RATE_LIMIT``)."""
    return str(current_app.config.get("OPENPROM_TOKEN_RATE_LIMIT", "120 per minute"))
