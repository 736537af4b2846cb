"""``/healthz``: is the app up and can it reach its database."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.auth import public
from webapp.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public("reports only whether the database answers")
def healthz():  # type: ignore[no-untyped-def]
    """200 with ``{"status": "ok"}`` when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify(status="error", database="unreachable", error=type(exc).__name__), 503
    return jsonify(status="ok", database="ok", schema=version)
