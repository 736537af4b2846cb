"""/fhir/Observation: the scores of completed responses through the API (issue #11
follow-up). Read and search (code, derived-from, subject pseudonym) with the
QuestionnaireResponse rules: every route x token (none, revoked, wrong register, read,
write), a staff cookie alone, withdrawn patients, the audit of every read, and the
CapabilityStatement."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from sqlalchemy import select

from tests.webapp.fhir_support import DNR, DNR_SYSTEM, FNR, qr
from tests.webapp.test_fhir_api import FHIR_JSON, KINDS, _build, _headers, _is_outcome
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.models import AuditEvent, Patient, Register, Response, User
from webapp.services.auth import start_session
from webapp.services.passwords import hash_password

SCORE = "urn:openprom:score:eq5d5l"
EQ5D_SCORES = ("index", "vas", "profile")  # scoring/eq5d.py: the EQ-5D-5L's scores


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    return _build(app)


def _hip_key(app) -> bytes:  # type: ignore[no-untyped-def]
    return register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip")


EXPECTED = {
    "observation_read": {"none": 401, "revoked": 401, "wrong_register": 404, "read": 200,
                         "write": 403},
    "observation_search": {"none": 401, "revoked": 401, "wrong_register": 200, "read": 200,
                           "write": 403},
}  # fmt: skip


def _call(client, api: dict, route: str, headers: dict):  # type: ignore[no-untyped-def]
    if route == "observation_read":
        return client.get(f"/fhir/Observation/{api['hip_response']}-vas", headers=headers)
    return client.get("/fhir/Observation", headers=headers)


@pytest.mark.parametrize("route", sorted(EXPECTED))
@pytest.mark.parametrize("kind", KINDS)
def test_route_by_token(app, client, api, route, kind):  # type: ignore[no-untyped-def]
    response = _call(client, api, route, _headers(api, kind))
    expected = EXPECTED[route][kind]
    assert response.status_code == expected, response.json
    assert response.content_type.startswith(FHIR_JSON)
    assert response.headers["Cache-Control"] == "no-store"
    if expected >= 400:
        assert _is_outcome(response, expected)
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if route == "observation_search" and expected == 200:
        bundle = response.json
        Bundle.model_validate(bundle)
        own = api["hip_response"] if kind == "read" else api["knee_response"]
        derived = {e["resource"]["derivedFrom"][0]["reference"] for e in bundle["entry"]}
        assert derived == {f"QuestionnaireResponse/{own}"}  # never the other register's
        assert bundle["total"] == len(EQ5D_SCORES)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_type == "api"))
        reads = [e for e in events if e.action in ("fhir.read", "fhir.search")]
        assert len(reads) == (1 if expected == 200 else 0)


def test_a_staff_session_cookie_alone_gets_no_access(app, client, api):  # type: ignore[no-untyped-def]
    with app.app_context():
        user = User(email="admin@x.test", display_name="a", password_hash=hash_password("x" * 20))
        db.session.add(user)
        db.session.commit()
        cookie = start_session(user, None)
    client.set_cookie("openprom_session", cookie)
    for route in EXPECTED:
        assert _is_outcome(_call(client, api, route, {}), 401), route


def test_read_gives_the_score_with_pseudonym_and_is_audited(app, client, api):  # type: ignore[no-untyped-def]
    rid = api["hip_response"]
    headers = _headers(api, "read")
    vas = client.get(f"/fhir/Observation/{rid}-vas", headers=headers).json
    Observation.model_validate(vas)
    # EQ-5D-5L user guide (EuroQol 2019): the EQ VAS is reported as given (70 in the file)
    assert vas["valueQuantity"] == {"value": 70.0}
    assert vas["code"]["coding"] == [{"system": SCORE, "code": "vas"}]
    assert vas["subject"]["identifier"]["value"] == pseudonym(FNR, _hip_key(app))
    assert vas["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{rid}"}]
    assert vas["effectiveDateTime"] == "2025-03-05T09:15:00Z"  # exact, as the response's
    profile = client.get(f"/fhir/Observation/{rid}-profile", headers=headers).json
    # the profile is the five level digits MO SC UA PD AD (user guide): answers 1 2 3 4 5
    assert profile["valueString"] == "12345"
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "fhir.read").order_by(AuditEvent.id)
        ).all()
        assert [e.details for e in events] == [
            {"responses": [rid], "observations": [f"{rid}-vas"]},
            {"responses": [rid], "observations": [f"{rid}-profile"]},
        ]
        assert all(e.actor_type == "api" and e.patient_id is not None for e in events)


def test_unknown_observations_are_404(client, api):  # type: ignore[no-untyped-def]
    headers = _headers(api, "read")
    rid, knee = api["hip_response"], api["knee_response"]
    for oid in ("abc", f"{rid}-nope", f"{rid}", f"{knee}-vas", "9999999-vas", "x" * 300):
        assert _is_outcome(client.get(f"/fhir/Observation/{oid}", headers=headers), 404), oid


def test_search_parameters(app, client, api):  # type: ignore[no-untyped-def]
    headers = _headers(api, "read")
    more = qr(national_id=DNR, system=DNR_SYSTEM, identifier="more",
              authored="2025-06-10T08:00:00Z")  # fmt: skip
    created = client.post("/fhir/QuestionnaireResponse", json=more, headers=_headers(api, "write"))
    first, second = api["hip_response"], int(created.json["id"])

    def ids(query: str) -> list[str]:
        response = client.get(f"/fhir/Observation?{query}", headers=headers)
        assert response.status_code == 200, response.json
        Bundle.model_validate(response.json)
        return sorted(e["resource"]["id"] for e in response.json["entry"])

    every = sorted(f"{r}-{s}" for r in (first, second) for s in EQ5D_SCORES)
    assert ids("") == every
    assert ids("code=vas") == sorted([f"{first}-vas", f"{second}-vas"])
    assert ids(f"code={SCORE}|vas") == sorted([f"{first}-vas", f"{second}-vas"])
    assert ids(f"code={SCORE}|vas,{SCORE}|index") == sorted(
        f"{r}-{s}" for r in (first, second) for s in ("vas", "index")
    )
    assert ids("code=urn:openprom:score:odi|vas") == []
    assert ids("code=http://loinc.org|vas") == []
    assert ids(f"derived-from=QuestionnaireResponse/{second}") == [
        f"{second}-{s}" for s in sorted(EQ5D_SCORES)
    ]
    assert ids(f"derived-from={first}&code=vas") == [f"{first}-vas"]
    assert ids(f"derived-from={api['knee_response']}") == []
    alias = pseudonym(DNR, _hip_key(app))
    assert ids(f"subject:identifier=urn:openprom:pseudonym|{alias}") == [
        f"{second}-{s}" for s in sorted(EQ5D_SCORES)
    ]
    assert ids("subject:identifier=urn:openprom:pseudonym|nobody") == []
    page = client.get("/fhir/Observation?_count=2", headers=headers).json
    assert page["total"] == 6 and len(page["entry"]) == 2
    (next_link,) = [link["url"] for link in page["link"] if link["relation"] == "next"]
    assert "_offset=2" in next_link
    for bad in ("colour=red", "derived-from=Patient/1", "code=", "_count=-1",
                "subject:identifier=urn:oid:2.16.578.1.12.4.1.4.1|123"):  # fmt: skip
        assert _is_outcome(client.get(f"/fhir/Observation?{bad}", headers=headers), 400), bad
    with app.app_context():
        searches = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "fhir.search").order_by(AuditEvent.id)
        ).all()
        # the first search (every score): one event per patient, naming what was read
        first_two = {e.patient_id: e.details for e in searches[:2]}
        assert sorted(len(d["observations"]) for d in first_two.values()) == [3, 3]


@pytest.mark.parametrize("erase", [False, True])
def test_a_withdrawn_patient_is_not_served(app, client, api, erase):  # type: ignore[no-untyped-def]
    from webapp.services.withdrawal import withdraw

    with app.app_context():
        response = db.session.get(Response, api["hip_response"])
        patient = db.session.get(Patient, response.invitation.enrolment.patient_id)
        register = db.session.scalar(select(Register).where(Register.name == "hip"))
        withdraw(patient, register, erase=erase)
        db.session.commit()
    headers = _headers(api, "read")
    assert client.get("/fhir/Observation", headers=headers).json["total"] == 0
    read = client.get(f"/fhir/Observation/{api['hip_response']}-vas", headers=headers)
    assert _is_outcome(read, 404)


def test_the_capability_statement_offers_observation(client):  # type: ignore[no-untyped-def]
    statement = client.get("/fhir/metadata").json
    types = {r["type"]: r for r in statement["rest"][0]["resource"]}
    observation = types["Observation"]
    assert {i["code"] for i in observation["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in observation["searchParam"]} == {"code", "derived-from", "subject"}
