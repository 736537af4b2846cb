"""Undoing a withdrawal: ``flask reinstate`` and the register admin's page. The withdrawal
row stays as history, a ``register.reinstate`` event is recorded, the kept answers are
scored again (the patient is back in the outputs), revoked invitations stay revoked, and a
consent-based register needs a new consent. On SQLite and PostgreSQL.

(That the reinstated patient's export rows and dashboard numbers equal those before the
withdrawal is tested on the demo register in ``tests/db/test_reinstatement_db.py``.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.webapp.conftest import OWN_PATIENT_ID
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Enrolment,
    Invitation,
    Register,
    Response,
    Score,
    Withdrawal,
)
from webapp.services.withdrawal import has_consent, is_withdrawn, may_invite

REASON = "registrert på feil pasient"


@pytest.fixture
def app(database_url, app_factory):  # type: ignore[no-untyped-def]
    return app_factory(database_url, WTF_CSRF_ENABLED=False)


def _cli(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def _scores(patient_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Score)
        .join(Response, Response.id == Score.response_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .where(Enrolment.patient_id == patient_id)
    )


def _totals(patient_id: int) -> int:
    """Responses of the patient with an ODI ``total`` score."""
    return db.session.scalar(
        select(func.count(func.distinct(Score.response_id)))
        .join(Response, Response.id == Score.response_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .where(Enrolment.patient_id == patient_id, Score.scale == "total")
    )


def _reinstate_url(world) -> str:  # type: ignore[no-untyped-def]
    return f"/clinician/patients/{world.patients['own']}/registers/{world.registers['a']}/reinstate"


def test_reinstate_command_restores_the_scores_and_keeps_the_history(app, world):
    own = world.patients["own"]
    with app.app_context():
        scores_before = _scores(own)
        assert scores_before > 0
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    with app.app_context():
        assert _scores(own) == 0
    result = _cli(app, "reinstate", OWN_PATIENT_ID, "--register", "reg-a", "--reason", REASON)
    assert result.exit_code == 0, result.output
    assert OWN_PATIENT_ID not in result.output
    assert f"patient #{own} reinstated in reg-a" in result.output
    assert "3 kept response(s) restored" in result.output  # world: ODI at 3 time points
    assert "revoked invitations are not revived" in result.output
    with app.app_context():
        # the world's scores are hand-made (total only); the answers are scored again
        # (total and band), one set per kept response. The demo-register test compares
        # the restored scores with the ones the submit made.
        restored = _scores(own)
        assert restored > 0
        assert _totals(own) == 3
        assert not is_withdrawn(own, world.registers["a"])
        row = db.session.scalar(select(Withdrawal))
        assert row.reinstated_at is not None and row.reinstatement_reason == REASON
        assert row.erased is False
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "register.reinstate")
        )
        assert event.patient_id == own and event.actor_type == "cli"
        assert event.subject == "register reg-a"
        assert event.details["scores_restored"] == restored
        assert event.details["responses_rescored"] == 3
        assert REASON not in str(event.details) and OWN_PATIENT_ID not in str(event.details)
        # the invitations the withdrawal revoked stay revoked, their links closed
        assert not db.session.scalar(
            select(func.count())
            .select_from(Invitation)
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .where(Enrolment.patient_id == own, Invitation.token_hash.is_not(None))
        )
    # nothing to undo now; withdrawing again adds a second row (the first stays)
    again = _cli(app, "reinstate", OWN_PATIENT_ID, "--register", "reg-a", "--reason", REASON)
    assert again.exit_code != 0 and "has not withdrawn" in again.output
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    with app.app_context():
        rows = db.session.scalars(select(Withdrawal).order_by(Withdrawal.id)).all()
        assert [r.reinstated_at is None for r in rows] == [False, True]
        assert is_withdrawn(own, world.registers["a"]) and _scores(own) == 0


def test_reinstate_command_errors(app, world):
    no_reason = _cli(app, "reinstate", OWN_PATIENT_ID, "--register", "reg-a")
    assert no_reason.exit_code != 0 and "--reason" in no_reason.output
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    blank = _cli(app, "reinstate", OWN_PATIENT_ID, "--register", "reg-a", "--reason", "  ")
    assert blank.exit_code != 0 and "give the reason" in blank.output
    long = _cli(app, "reinstate", OWN_PATIENT_ID, "--register", "reg-a", "--reason", "x" * 501)
    assert long.exit_code != 0 and "too long" in long.output
    unknown = _cli(app, "reinstate", OWN_PATIENT_ID, "--register", "nope", "--reason", REASON)
    assert unknown.exit_code != 0 and "unknown register 'nope'" in unknown.output
    bad = _cli(app, "reinstate", "12345678901", "--register", "reg-a", "--reason", REASON)
    assert bad.exit_code != 0 and "12345678901" not in bad.output
    with app.app_context():
        assert is_withdrawn(world.patients["own"], world.registers["a"])
        assert not db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "register.reinstate")
        )


def test_register_admin_reinstates_from_the_patient_page(app, world, login_as):
    own = world.patients["own"]
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    client = login_as("register_admin")
    page = client.get(f"/clinician/patients/{own}").get_data(as_text=True)
    url = _reinstate_url(world)
    assert url in page and "Trukket ut av registeret" in page
    confirm = client.get(url).get_data(as_text=True)
    assert "Invitasjoner som ble kansellert ved uttrekkingen, sendes ikke på nytt" in confirm
    missing = client.post(url, data={"reason": "   "})
    assert missing.status_code == 400
    assert "Oppgi begrunnelsen for gjeninntaket." in missing.get_data(as_text=True)
    with app.app_context():
        assert is_withdrawn(own, world.registers["a"])
    done = client.post(url, data={"reason": REASON})
    assert done.status_code == 303
    page = client.get(done.location).get_data(as_text=True)
    assert "Pasienten er tatt inn i registeret igjen." in page
    assert "tatt inn igjen" in page and REASON in page  # the history on the page
    assert "har trukket seg fra Register A" not in page and OWN_PATIENT_ID not in page
    with app.app_context():
        assert not is_withdrawn(own, world.registers["a"]) and _scores(own) > 0
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "register.reinstate")
        )
        assert event.actor_type == "user" and event.actor_id == world.users["register_admin"]
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "tok pasienten inn i registeret igjen" in log
    # nothing left to undo: the page says so, a POST changes nothing
    assert "det er ingenting å angre" in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"reason": REASON}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "register.reinstate")) == 1  # fmt: skip


def test_only_the_register_admin_may_reinstate(app, world, login_as):
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    url = _reinstate_url(world)
    for role in ("clinician", "unit_lead", "methodologist", "sysadmin", "clinician_b"):
        client = login_as(role)
        assert client.get(url).status_code == 403, role
        assert client.post(url, data={"reason": REASON}).status_code == 403, role
    with app.app_context():
        assert is_withdrawn(world.patients["own"], world.registers["a"])


def test_consent_register_needs_a_new_consent_after_reinstatement(app, world, login_as):
    own = world.patients["own"]
    with app.app_context():
        db.session.get(Register, world.registers["a"]).legal_basis = "consent"
        db.session.commit()
    client = login_as("register_admin")
    consent_url = f"/clinician/patients/{own}/registers/{world.registers['a']}/consent"
    form = {"date": "2025-01-08", "method": "paper", "information_version": "info-1"}
    assert client.post(consent_url, data=form).status_code == 303
    # consent withdrawn: a consent-based register erases; the page is closed to the admin,
    # the reinstatement goes through the CLI (or the reinstate page's own address)
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    result = _cli(
        app, "reinstate", OWN_PATIENT_ID, "--register", "reg-a", "--reason", "samtykket igjen"
    )
    assert result.exit_code == 0 and "record a new consent" in result.output
    with app.app_context():
        assert not is_withdrawn(own, world.registers["a"])
        assert not has_consent(own, world.registers["a"])  # the old one ended
    refused = _cli(
        app, "enrol", OWN_PATIENT_ID, "--protocol", "lumbar", "--unit", "unit-a1",
        "--index-date", "2026-11-02",
    )  # fmt: skip
    assert refused.exit_code != 0 and "consent-based" in refused.output
    enrolled = _cli(
        app, "enrol", OWN_PATIENT_ID, "--protocol", "lumbar", "--unit", "unit-a1",
        "--index-date", "2026-11-02", "--consent-method", "digital",
        "--consent-date", "2026-11-01", "--information-version", "info-2",
    )  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output
    with app.app_context():
        assert has_consent(own, world.registers["a"])
        invitation = db.session.scalar(
            select(Invitation).join(Enrolment).where(Enrolment.patient_id == own).limit(1)
        )
        assert may_invite(invitation)
    page = client.get(f"/clinician/patients/{own}").get_data(as_text=True)
    assert "avsluttet ved en uttrekking" in page  # the first consent, in the history
    assert "Trukket ut" in page and "samtykket igjen" in page


def test_withdrawals_page_leads_back_to_an_erased_patient(app, world, login_as, caplog):
    own = world.patients["own"]
    result = _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a", "--erase")
    assert result.exit_code == 0
    client = login_as("register_admin")
    assert client.get(f"/clinician/patients/{own}").status_code == 403  # nothing enrolled
    start = client.get("/clinician/").get_data(as_text=True)
    url = "/clinician/registers/reg-a/withdrawals"
    assert url in start
    page = client.get(url).get_data(as_text=True)
    assert f"#{own}" in page and _reinstate_url(world) in page
    other = client.post(url, data={"national_id": "30908299902"})  # enrolled, not withdrawn
    assert other.status_code == 404
    assert "Ingen pasient med dette nummeret har trukket seg" in other.get_data(as_text=True)
    found = client.post(url, data={"national_id": OWN_PATIENT_ID})
    assert found.status_code == 303 and found.location.endswith(_reinstate_url(world))
    assert OWN_PATIENT_ID not in found.location
    confirm = client.get(found.location).get_data(as_text=True)
    assert "Svarene ble slettet da og kan ikke hentes tilbake." in confirm
    done = client.post(found.location, data={"reason": "feil pasient"})
    assert done.status_code == 200  # the patient page stays closed: a result page
    assert f"Pasient #{own} er tatt inn igjen i Register A" in done.get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "Ingen pasienter er trukket ut av dette registeret." in page and "feil pasient" in page
    with app.app_context():
        assert not is_withdrawn(own, world.registers["a"])
        searches = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.search")
        ).all()
        assert [e.subject for e in searches] == [
            "withdrawn from reg-a: not found",
            "withdrawn from reg-a: found",
        ]
        assert all(OWN_PATIENT_ID not in f"{e.subject}{e.details}" for e in searches)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "register.withdrawals.view")
            )
            == 3
        )
    assert OWN_PATIENT_ID not in caplog.text
    for role in ("clinician", "unit_lead", "methodologist", "sysadmin"):
        assert login_as(role).get(url).status_code == 403, role
