"""The /fhir API: every route × token (none, revoked, wrong register, read, write), a staff
session cookie alone, CSRF off for the API, OperationOutcome and JSON 404s, searches,
create with the import's rules, and the audit of every read."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import select

from tests.conftest import make_app
from tests.webapp.fhir_support import (
    CANONICAL,
    DNR,
    DNR_SYSTEM,
    HELSENORGE_QR,
    NOT_REGISTERED,
    qr,
    seed,
)
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.models import AuditEvent, Register, Response, User
from webapp.services import api_tokens
from webapp.services.auth import start_session
from webapp.services.fhir_import import Actor, import_responses
from webapp.services.passwords import hash_password

FHIR_JSON = "application/fhir+json"
KINDS = ("none", "revoked", "wrong_register", "read", "write")


def _register(name: str) -> Register:
    return db.session.scalar(select(Register).where(Register.name == name))


def _build(app) -> dict:  # type: ignore[no-untyped-def]
    """Seed, one imported response per register, and a token of every kind."""
    with app.app_context():
        seed()
        actor = Actor("cli", label="test")
        hip = import_responses([(1, HELSENORGE_QR)], _register("hip"), mode="paper", actor=actor)
        knee_qr = qr(national_id=NOT_REGISTERED, identifier="knee-1")
        knee = import_responses([(1, knee_qr)], _register("knee"), mode="paper", actor=actor)
        secrets = {
            "read": api_tokens.create(_register("hip"), "read").secret,
            "write": api_tokens.create(_register("hip"), "write").secret,
            "wrong_register": api_tokens.create(_register("knee"), "read").secret,
            "wrong_register_write": api_tokens.create(_register("knee"), "write").secret,
        }
        revoked = api_tokens.create(_register("hip"), "read")
        api_tokens.revoke(revoked.token.id)
        secrets["revoked"] = revoked.secret
        db.session.commit()
        return {
            "secrets": secrets,
            "hip_response": hip.response_ids[0],
            "knee_response": knee.response_ids[0],
        }


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    return _build(app)


def _headers(api: dict, kind: str) -> dict[str, str]:
    if kind == "none":
        return {}
    return {"Authorization": f"Bearer {api['secrets'][kind]}"}


def _is_outcome(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    if response.status_code != status or not response.content_type.startswith(FHIR_JSON):
        return False
    OperationOutcome.model_validate(response.json)
    return True


def _new_qr() -> dict:
    return qr(national_id=DNR, system=DNR_SYSTEM, identifier="new-1",
              authored="2025-03-20T12:00:00Z")  # fmt: skip


def test_metadata_is_a_public_capability_statement(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200 and response.content_type.startswith(FHIR_JSON)
    statement = response.json
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {i["code"] for i in types["QuestionnaireResponse"]["interaction"]} == {
        "read", "search-type", "create"
    }  # fmt: skip


EXPECTED = {
    # route: expected status per token kind
    "questionnaire_search": {"none": 401, "revoked": 401, "wrong_register": 200, "read": 200,
                             "write": 200},
    "questionnaire_read": {"none": 401, "revoked": 401, "wrong_register": 200, "read": 200,
                           "write": 200},
    "response_read": {"none": 401, "revoked": 401, "wrong_register": 404, "read": 200,
                      "write": 403},
    "response_search": {"none": 401, "revoked": 401, "wrong_register": 200, "read": 200,
                        "write": 403},
    "response_create": {"none": 401, "revoked": 401, "wrong_register": 403, "read": 403,
                        "write": 201},
}  # fmt: skip


def _call(client, api: dict, route: str, headers: dict):  # type: ignore[no-untyped-def]
    if route == "questionnaire_search":
        return client.get("/fhir/Questionnaire", headers=headers)
    if route == "questionnaire_read":
        return client.get("/fhir/Questionnaire/eq5d5l", headers=headers)
    if route == "response_read":
        return client.get(f"/fhir/QuestionnaireResponse/{api['hip_response']}", headers=headers)
    if route == "response_search":
        return client.get("/fhir/QuestionnaireResponse", headers=headers)
    return client.post(
        "/fhir/QuestionnaireResponse",
        json=_new_qr(),
        headers={**headers, "Content-Type": FHIR_JSON},
    )


@pytest.mark.parametrize("route", sorted(EXPECTED))
@pytest.mark.parametrize("kind", KINDS)
def test_route_by_token(app, client, api, route, kind):
    response = _call(client, api, route, _headers(api, kind))
    expected = EXPECTED[route][kind]
    assert response.status_code == expected, response.json
    assert response.content_type.startswith(FHIR_JSON)
    assert response.headers["Cache-Control"] == "no-store"
    if expected >= 400:
        assert _is_outcome(response, expected)
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if route == "response_search" and expected == 200:
        bundle = response.json
        Bundle.model_validate(bundle)
        ids = [int(e["resource"]["id"]) for e in bundle["entry"]]
        own = api["hip_response"] if kind == "read" else api["knee_response"]
        assert ids == [own]  # never the other register's response
    with app.app_context():
        stored = db.session.scalars(select(Response.id)).all()
        assert len(stored) == (3 if expected == 201 else 2)


def test_wrong_register_write_token_cannot_store_into_its_register(client, api):
    headers = {"Authorization": f"Bearer {api['secrets']['wrong_register_write']}"}
    response = client.post("/fhir/QuestionnaireResponse", json=_new_qr(), headers=headers)
    assert _is_outcome(response, 422)
    assert "not enrolled in register 'knee'" in response.json["issue"][0]["diagnostics"]


def test_a_staff_session_cookie_alone_gets_no_access(app, client, api):
    with app.app_context():
        user = User(email="admin@x.test", display_name="a", password_hash=hash_password("x" * 20))
        db.session.add(user)
        db.session.commit()
        cookie = start_session(user, None)
    client.set_cookie("openprom_session", cookie)
    for route in EXPECTED:
        assert _is_outcome(_call(client, api, route, {}), 401), route


def test_read_gives_the_response_with_pseudonym_and_exact_authored_and_is_audited(app, client, api):
    rid = api["hip_response"]
    response = client.get(f"/fhir/QuestionnaireResponse/{rid}", headers=_headers(api, "read"))
    resource = response.json
    QuestionnaireResponse.model_validate(resource)
    key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip")
    assert resource["subject"]["identifier"]["value"] == pseudonym("03851598730", key)
    assert resource["authored"] == "2025-03-05T09:15:00Z"
    assert resource["questionnaire"] == CANONICAL
    with app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "fhir.read")
        ).all()
        assert event.actor_type == "api" and event.patient_id is not None
        assert event.details == {"responses": [rid]}


def test_search_parameters(app, client, api):
    headers = _headers(api, "read")
    key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip")
    more = qr(
        national_id=DNR, system=DNR_SYSTEM, identifier="more", authored="2025-06-10T08:00:00Z"
    )
    client.post("/fhir/QuestionnaireResponse", json=more, headers=_headers(api, "write"))

    def ids(query: str) -> list[int]:
        response = client.get(f"/fhir/QuestionnaireResponse?{query}", headers=headers)
        assert response.status_code == 200, response.json
        return [int(e["resource"]["id"]) for e in response.json["entry"]]

    first = api["hip_response"]
    every = ids("")
    assert len(every) == 2 and every[0] == first
    assert ids("authored=2025-03-05") == [first]
    assert ids("authored=ge2025-06-01&authored=lt2025-07") == every[1:]
    assert ids("authored=gt2025-06-10T08:00:00Z") == []
    assert ids(f"questionnaire={CANONICAL}") == every
    assert ids("questionnaire=urn:openprom:questionnaire:eq5d5l") == every
    assert ids("questionnaire=http://example.org/Questionnaire/x") == []
    alias = pseudonym(DNR, key)
    assert ids(f"subject:identifier=urn:openprom:pseudonym|{alias}") == every[1:]
    assert ids("subject:identifier=urn:openprom:pseudonym|nobody") == []
    page = client.get("/fhir/QuestionnaireResponse?_count=1", headers=headers).json
    assert page["total"] == 2 and len(page["entry"]) == 1
    (next_link,) = [link["url"] for link in page["link"] if link["relation"] == "next"]
    assert "_offset=1" in next_link
    for bad in ("colour=red", "authored=xx2025", "_count=-1",
                "subject:identifier=urn:oid:2.16.578.1.12.4.1.4.1|123"):  # fmt: skip
        response = client.get(f"/fhir/QuestionnaireResponse?{bad}", headers=headers)
        assert _is_outcome(response, 400), bad


def test_questionnaire_search_and_read(client, api):
    headers = _headers(api, "read")
    bundle = client.get("/fhir/Questionnaire", headers=headers).json
    Bundle.model_validate(bundle)
    assert bundle["total"] >= 6
    url = "urn:openprom:questionnaire:eq5d5l"
    found = client.get(f"/fhir/Questionnaire?url={url}", headers=headers).json
    assert [e["resource"]["url"] for e in found["entry"]] == [url]
    none = client.get(f"/fhir/Questionnaire?url={url}&version=0.1", headers=headers).json
    assert none["total"] == 0
    one = client.get("/fhir/Questionnaire/eq5d5l", headers=headers).json
    Questionnaire.model_validate(one)
    assert one["url"] == url
    assert _is_outcome(client.get("/fhir/Questionnaire/nope", headers=headers), 404)
    assert _is_outcome(client.get("/fhir/Questionnaire?name=x", headers=headers), 400)


def test_create_follows_the_import_rules(app, client, api):
    headers = _headers(api, "write")
    created = client.post("/fhir/QuestionnaireResponse", json=_new_qr(), headers=headers)
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"/fhir/QuestionnaireResponse/{created.json['id']}")
    assert created.json["subject"]["identifier"]["system"] == "urn:openprom:pseudonym"
    again = client.post("/fhir/QuestionnaireResponse", json=_new_qr(), headers=headers)
    assert again.status_code == 200 and again.json["id"] == created.json["id"]
    bad = copy.deepcopy(_new_qr())
    bad["identifier"]["value"] = "bad-1"
    bad["item"][0]["item"][0]["answer"] = [{"valueCoding": {"code": "7"}}]
    refused = client.post("/fhir/QuestionnaireResponse", json=bad, headers=headers)
    assert _is_outcome(refused, 422)
    (issue,) = refused.json["issue"]
    assert issue["expression"] == ["QuestionnaireResponse.item.where(linkId='MO')"]
    assert "not an answer option" in issue["diagnostics"]
    assert _is_outcome(
        client.post("/fhir/QuestionnaireResponse", data="{nope", headers=headers), 400
    )
    with app.app_context():
        created_row = db.session.get(Response, int(created.json["id"]))
        assert created_row.mode == "external"
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "response.import")
        ).all()
        assert events[-1].actor_type == "api"


def test_unknown_paths_are_json_404s(client, api):
    for path in ("/fhir/Patient", "/fhir/Patient/1", "/fhir/QuestionnaireResponse/abc"):
        assert _is_outcome(client.get(path, headers=_headers(api, "read")), 404), path
    assert _is_outcome(client.delete("/fhir/QuestionnaireResponse/1"), 404)


def test_csrf_does_not_apply_to_the_bearer_api(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'csrf.sqlite'}", tmp_path / "instance",
                   WTF_CSRF_ENABLED=True)  # fmt: skip
    built = _build(app)
    client = app.test_client()
    response = client.post(
        "/fhir/QuestionnaireResponse", json=_new_qr(), headers=_headers(built, "write")
    )
    assert response.status_code == 201
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("erase", [False, True])
def test_a_withdrawn_patient_is_not_served_and_not_imported(app, client, api, erase):
    from webapp.models import Patient
    from webapp.services.withdrawal import withdraw

    with app.app_context():
        response = db.session.get(Response, api["hip_response"])
        patient = db.session.get(Patient, response.invitation.enrolment.patient_id)
        withdraw(patient, _register("hip"), erase=erase)
        db.session.commit()
    headers = _headers(api, "read")
    found = client.get("/fhir/QuestionnaireResponse", headers=headers).json
    assert found["total"] == 0
    read = client.get(f"/fhir/QuestionnaireResponse/{api['hip_response']}", headers=headers)
    assert _is_outcome(read, 404)
    again = qr(identifier="after-withdrawal", authored="2025-06-10T08:00:00Z")
    refused = client.post("/fhir/QuestionnaireResponse", json=again, headers=_headers(api, "write"))
    assert _is_outcome(refused, 422)
    assert "withdrawn from register 'hip'" in refused.json["issue"][0]["diagnostics"]
