"""The "Samtykke og kontakt" section of the patient page: the register admin records a
consent given or withdrawn and sets or removes the SMS number; other roles get 403; CSRF
is checked; bad input stores nothing; every change is in the audit log, in words. On
SQLite and PostgreSQL (the module's ``app`` runs on ``database_url``)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.webapp.conftest import OWN_PATIENT_ID
from tests.webapp.patient_support import csrf_from
from webapp.extensions import db
from webapp.models import AuditEvent, Consent, Patient, Register, Withdrawal
from webapp.services.patients import cipher
from webapp.services.sms import PHONE_CONTEXT

OTHER_ROLES = ("clinician", "unit_lead", "methodologist", "sysadmin", "clinician_b", "no_role")


@pytest.fixture
def csrf_on() -> bool:
    return False


@pytest.fixture
def app(database_url, app_factory, csrf_on):  # type: ignore[no-untyped-def]
    return app_factory(database_url, WTF_CSRF_ENABLED=csrf_on)


def _consent_based(app, world) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.get(Register, world.registers["a"]).legal_basis = "consent"
        db.session.commit()


def _urls(world, patient: str = "own", register: str = "a") -> dict[str, str]:
    base = f"/clinician/patients/{world.patients[patient]}"
    reg = world.registers[register]
    return {
        "page": base,
        "consent": f"{base}/registers/{reg}/consent",
        "withdrawn": f"{base}/registers/{reg}/consent-withdrawn",
        "phone": f"{base}/phone",
    }


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def _phone(app, patient_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        blob = db.session.get(Patient, patient_id).phone_encrypted
        return None if blob is None else cipher().decrypt(blob, PHONE_CONTEXT)


def test_register_admin_records_consent_given_and_withdrawn(app, world, login_as):
    _consent_based(app, world)
    urls = _urls(world)
    client = login_as("register_admin")
    page = client.get(urls["page"]).get_data(as_text=True)
    assert "Samtykke og kontakt" in page and "Ingen samtykke er registrert" in page
    assert urls["consent"] in page and OWN_PATIENT_ID not in page
    done = client.post(
        urls["consent"],
        data={"date": "2025-01-08", "method": "paper", "information_version": "info-2025-1"},
    )
    assert done.status_code == 303 and done.location.endswith("saved=consent#cc-h")
    page = client.get(done.location).get_data(as_text=True)
    assert "Samtykket er registrert." in page
    assert "Samtykke gitt 2025-01-08 (på papir, informasjonsskriv info-2025-1)" in page
    with app.app_context():
        consent = db.session.scalar(select(Consent))
        assert consent.given_at.date() == dt.date(2025, 1, 8)
        assert (consent.method, consent.information_version) == ("paper", "info-2025-1")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "consent.record"))
        assert event.actor_type == "user" and event.actor_id == world.users["register_admin"]
        assert event.patient_id == world.patients["own"]
        assert event.details == {
            "method": "paper",
            "version": "info-2025-1",
            "given_on": "2025-01-08",
        }
    # withdrawn on a date: the CLI's withdrawal (consent-based: answers erased)
    refused = client.post(urls["withdrawn"], data={"date": "2026-11-20"})
    assert refused.status_code == 400
    assert "Kryss av for at pasienten har trukket seg" in refused.get_data(as_text=True)
    gone = client.post(urls["withdrawn"], data={"date": "2026-11-20", "confirm": "yes"})
    assert gone.status_code == 200
    assert "Svar slettet: 3" in gone.get_data(as_text=True)
    with app.app_context():
        withdrawal = db.session.scalar(select(Withdrawal))
        assert withdrawal.at.date() == dt.date(2026, 11, 20) and withdrawal.erased
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "register.withdraw")
        )
        assert event.actor_id == world.users["register_admin"] and event.details["erased"]
    # erased: no enrolment left, so the patient page is closed; a consent is refused
    assert client.get(urls["page"]).status_code == 403
    again = client.post(
        urls["consent"], data={"date": "2026-11-21", "method": "paper", "information_version": "x"}
    )
    assert again.status_code in (400, 403)
    with app.app_context():
        assert _count(Consent) == 1
    # the audit log in words (bokmål, the default staff language); the patient has no
    # enrolment left at the admin's units, so the system administrator reads it here
    log = login_as("sysadmin").get("/admin/audit").get_data(as_text=True)
    assert "registrerte samtykke" in log and "trakk pasienten ut av registeret" in log


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"method": "paper", "information_version": "v1"}, "Oppgi datoen"),
        ({"date": "8.1.2025", "method": "paper", "information_version": "v1"}, "er ikke en dato"),
        ({"date": "2999-01-01", "method": "paper", "information_version": "v1"}, "fram i tid"),
        ({"date": "2025-01-08", "method": "e-mail", "information_version": "v1"}, "Velg hvordan"),
        ({"date": "2025-01-08", "method": "paper", "information_version": " "}, "(1–40 tegn)"),
        ({"date": "2025-01-08", "method": "paper", "information_version": "v" * 41}, "(1–40 tegn)"),
    ],
)
def test_bad_consent_input_stores_nothing(app, world, login_as, data, message):
    _consent_based(app, world)
    response = login_as("register_admin").post(_urls(world)["consent"], data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Consent) == 0
        assert _count(AuditEvent) == 0 or not db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "consent.record")
        )


def test_consent_forms_only_in_a_consent_based_register(app, world, login_as):
    urls = _urls(world)
    client = login_as("register_admin")
    page = client.get(urls["page"]).get_data(as_text=True)
    assert "reservasjonsrett" in page and urls["consent"] not in page
    refused = client.post(
        urls["consent"], data={"date": "2025-01-08", "method": "paper", "information_version": "v"}
    )
    assert refused.status_code == 400
    assert "Registeret bygger ikke på samtykke." in refused.get_data(as_text=True)
    with app.app_context():
        assert _count(Consent) == 0


def test_register_admin_sets_and_removes_the_phone_number(app, world, login_as, caplog):
    urls = _urls(world)
    client = login_as("register_admin")
    saved = client.post(urls["phone"], data={"action": "save", "phone": "912 34 567"})
    assert saved.status_code == 303
    assert _phone(app, world.patients["own"]) == "+4791234567"  # as flask enrol --phone
    page = client.get(saved.location).get_data(as_text=True)
    assert "Telefonnummeret er lagret." in page
    assert "Et nummer som slutter på 67, er lagret." in page and "91234567" not in page
    # a bad number: a clear message, the stored number unchanged
    bad = client.post(urls["phone"], data={"action": "save", "phone": "12345"})
    assert bad.status_code == 400
    assert "Ikke et mobilnummer" in bad.get_data(as_text=True)
    assert "Ingenting ble lagret." in bad.get_data(as_text=True)
    assert _phone(app, world.patients["own"]) == "+4791234567"
    empty = client.post(urls["phone"], data={"action": "save", "phone": " "})
    assert empty.status_code == 400 and "Skriv mobilnummeret." in empty.get_data(as_text=True)
    removed = client.post(urls["phone"], data={"action": "remove"})
    assert removed.status_code == 303 and _phone(app, world.patients["own"]) is None
    again = client.post(urls["phone"], data={"action": "remove"})
    assert again.status_code == 400
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("patient.phone.%"))
            .order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events] == ["patient.phone.set", "patient.phone.remove"]
        for event in events:
            assert event.patient_id == world.patients["own"]
            assert "912" not in f"{event.subject}{event.details}"
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "lagret SMS-nummeret" in log and "fjernet SMS-nummeret" in log
    assert "91234567" not in caplog.text and OWN_PATIENT_ID not in caplog.text


def test_other_roles_may_not_change_consent_or_phone(app, world, login_as):
    _consent_based(app, world)
    urls = _urls(world)
    posts = {
        "consent": {"date": "2025-01-08", "method": "paper", "information_version": "v1"},
        "withdrawn": {"date": "2025-01-08", "confirm": "yes"},
        "phone": {"action": "save", "phone": "91234567"},
    }
    for role in OTHER_ROLES:
        client = login_as(role)
        for name, data in posts.items():
            assert client.post(urls[name], data=data).status_code == 403, (role, name)
        page = client.get(urls["page"]).get_data(as_text=True)
        assert "Samtykke og kontakt" not in page, role
    # the register admin of register A and a patient of register B
    other = _urls(world, "other_register", "b")
    admin = login_as("register_admin")
    for name, data in posts.items():
        assert admin.post(other[name], data=data).status_code == 403, name
    with app.app_context():
        assert _count(Consent) == 0 and _count(Withdrawal) == 0
        assert db.session.get(Patient, world.patients["own"]).phone_encrypted is None


@pytest.mark.parametrize("csrf_on", [True])
def test_forms_need_their_csrf_token(app, world, login_as, csrf_on):
    urls = _urls(world)
    client = login_as("register_admin")
    page = client.get(urls["page"]).get_data(as_text=True)
    assert 'name="csrf_token"' in page
    forged = client.post(urls["phone"], data={"action": "save", "phone": "91234567"})
    assert forged.status_code == 400
    assert _phone(app, world.patients["own"]) is None
    token = csrf_from(page)
    ok = client.post(
        urls["phone"], data={"action": "save", "phone": "91234567", "csrf_token": token}
    )
    assert ok.status_code == 303 and _phone(app, world.patients["own"]) == "+4791234567"


@pytest.mark.parametrize(
    ("lang", "heading", "message"),
    [
        ("nn", "Samtykke og kontakt", "Ikkje eit mobilnummer"),
        ("en", "Consent and contact", "Not a mobile number"),
        ("nb", "Samtykke og kontakt", "Ikke et mobilnummer"),
    ],
)
def test_section_and_messages_in_the_staff_language(app, world, login_as, lang, heading, message):
    urls = _urls(world)
    client = login_as("register_admin")
    client.get(f"/clinician/language?lang={lang}")
    assert heading in client.get(urls["page"]).get_data(as_text=True)
    bad = client.post(urls["phone"], data={"action": "save", "phone": "0"})
    assert bad.status_code == 400 and message in bad.get_data(as_text=True)
    assert _phone(app, world.patients["own"]) is None
