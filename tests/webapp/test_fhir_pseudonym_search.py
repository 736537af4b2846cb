"""The /fhir searches by pseudonym through the stored pseudonyms: after a new
OPENPROM_PSEUDONYM_KEY the stale rows are rewritten on the first search and the new
pseudonym finds the patient (the old one nothing); a patient enrolled without a row (bulk
insert) is found too; the search is audited as before. Expected pseudonyms come from
``webapp.crypto.pseudonym`` (the export's definition)."""

from __future__ import annotations

import os

from sqlalchemy import delete, select

from tests.webapp.fhir_support import DNR, FNR, HELSENORGE_QR, seed
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.models import AuditEvent, Register, RegisterPseudonym
from webapp.services import api_tokens
from webapp.services.fhir_import import Actor, import_responses


def _setup(app) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """Seeded registers, one imported response in 'hip', a read token of 'hip'."""
    with app.app_context():
        seed()
        hip = db.session.scalar(select(Register).where(Register.name == "hip"))
        imported = import_responses(
            [(1, HELSENORGE_QR)], hip, mode="paper", actor=Actor("cli", label="test")
        )
        secret = api_tokens.create(hip, "read").secret
        db.session.commit()
        return secret, imported.response_ids[0]


def _search(client, secret: str, alias: str, resource: str = "QuestionnaireResponse"):  # type: ignore[no-untyped-def]
    response = client.get(
        f"/fhir/{resource}?subject:identifier=urn:openprom:pseudonym|{alias}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.json
    return response.json


def test_a_new_pseudonym_key_is_picked_up_by_the_search(app, client):
    secret, response_id = _setup(app)
    old_key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip")
    app.config["OPENPROM_PSEUDONYM_KEY"] = os.urandom(32)
    new_key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip")
    new_alias = pseudonym(FNR, new_key)
    found = _search(client, secret, new_alias)
    assert [int(e["resource"]["id"]) for e in found["entry"]] == [response_id]
    assert found["entry"][0]["resource"]["subject"]["identifier"]["value"] == new_alias
    assert _search(client, secret, pseudonym(FNR, old_key))["total"] == 0
    observations = _search(client, secret, new_alias, "Observation")
    assert observations["total"] > 0
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "fhir.search")
        ).all()
        assert len(events) == 2  # one per search that returned the patient's data


def test_a_patient_without_a_stored_pseudonym_is_found(app, client):
    secret, response_id = _setup(app)
    with app.app_context():
        db.session.execute(delete(RegisterPseudonym))
        db.session.commit()
    key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip")
    found = _search(client, secret, pseudonym(FNR, key))
    assert [int(e["resource"]["id"]) for e in found["entry"]] == [response_id]
    assert _search(client, secret, pseudonym(DNR, key))["total"] == 0  # enrolled, no answers
    with app.app_context():
        assert db.session.scalar(select(RegisterPseudonym.pseudonym).limit(1)) is not None
