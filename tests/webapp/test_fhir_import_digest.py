"""import-responses keeps a keyed hash (HMAC-SHA256) of each imported resource, not a
plain SHA-256: the resource holds a national ID, a date and a few answers, few enough
combinations to try against a plain hash. Imports stored before still count as imported."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.webapp.fhir_support import HELSENORGE_QR, qr, seed
from webapp.crypto import content_digest_key
from webapp.extensions import db
from webapp.models import Response, ResponseImport


@pytest.fixture
def seeded(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return seed()


def _canonical(resource: dict) -> bytes:  # type: ignore[type-arg]
    text = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _import(app, tmp_path: Path, resource: dict):  # type: ignore[no-untyped-def,type-arg]
    path = tmp_path / "in.ndjson"
    path.write_text(json.dumps(resource) + "\n", "utf-8")
    return app.test_cli_runner().invoke(args=["import-responses", str(path), "--register", "hip"])


def _rows(app) -> list[ResponseImport]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(ResponseImport)))


def _responses(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def test_the_stored_hash_is_keyed(app, seeded, tmp_path):  # type: ignore[no-untyped-def]
    resource = qr(identifier=None)
    assert _import(app, tmp_path, resource).exit_code == 0
    (row,) = _rows(app)
    key = content_digest_key(app.config["OPENPROM_ID_KEY"])
    keyed = hmac.new(key, _canonical(resource), hashlib.sha256).hexdigest()
    assert row.content_hash == keyed and row.import_key == "hmac:" + keyed
    assert hashlib.sha256(_canonical(resource)).hexdigest() not in (
        row.content_hash,
        row.import_key.split(":", 1)[1],
    )


@pytest.mark.parametrize("with_identifier", [True, False])
def test_imports_stored_with_the_plain_hash_still_count(  # type: ignore[no-untyped-def]
    app, seeded, tmp_path, with_identifier
):
    resource = HELSENORGE_QR if with_identifier else qr(identifier=None)
    assert _import(app, tmp_path, resource).exit_code == 0
    plain = hashlib.sha256(_canonical(resource)).hexdigest()
    with app.app_context():  # as an import before the keyed hash wrote it
        row = db.session.scalars(select(ResponseImport)).one()
        row.content_hash = plain
        if not with_identifier:
            row.import_key = "sha256:" + plain
        db.session.commit()
    again = _import(app, tmp_path, resource)
    assert again.exit_code == 0, again.output
    assert "stored 0 response(s); 1 already imported" in again.output
    assert _responses(app) == 1 and len(_rows(app)) == 1


def test_same_identifier_other_content_is_still_refused_after_a_plain_hash(  # type: ignore[no-untyped-def]
    app, seeded, tmp_path
):
    assert _import(app, tmp_path, HELSENORGE_QR).exit_code == 0
    with app.app_context():
        row = db.session.scalars(select(ResponseImport)).one()
        row.content_hash = hashlib.sha256(_canonical(HELSENORGE_QR)).hexdigest()
        db.session.commit()
    other = qr(answers={"VAS": [{"valueInteger": 40}]})  # same identifier qr-0001
    refused = _import(app, tmp_path, other)
    assert refused.exit_code != 0
    assert "this identifier was imported before with other content" in refused.output
    assert _responses(app) == 1
