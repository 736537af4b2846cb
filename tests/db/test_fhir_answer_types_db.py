"""Texts inside raw answers are encrypted at rest on SQLite and PostgreSQL (ORM and Core
reads give them back; numbers stay in clear, so the bundled instruments are unchanged)."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from tests.webapp.export_support import seed_register
from webapp.extensions import db
from webapp.models import Response
from webapp.sealed_json import SEALED


def test_texts_in_answers_are_sealed(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        seeded = seed_register()
        response = seeded["responses"][0]
        numbers = dict(response.answers)
        response.answers = {**numbers, "note": "Vondt i ryggen", "codes": ["LA6568-5", 3]}
        db.session.commit()
        rid = response.id
        db.session.expire_all()
        raw = db.session.execute(
            text("SELECT answers FROM response WHERE id = :id"), {"id": rid}
        ).scalar_one()
        stored = raw if isinstance(raw, dict) else json.loads(raw)
        assert set(stored["note"]) == {SEALED}
        assert set(stored["codes"][0]) == {SEALED} and stored["codes"][1] == 3
        assert "Vondt" not in json.dumps(stored) and "LA6568" not in json.dumps(stored)
        assert {k: stored[k] for k in numbers} == numbers  # numbers as before
        expected = {**numbers, "note": "Vondt i ryggen", "codes": ["LA6568-5", 3]}
        assert db.session.get(Response, rid).answers == expected
        core = db.session.execute(
            select(Response.__table__.c.answers).where(Response.__table__.c.id == rid)
        ).scalar_one()
        assert core == expected
