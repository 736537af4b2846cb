"""Withdrawal and consent: the ``withdraw`` command, the register admin's page, no more
invitations after a withdrawal, consent recorded at enrolment in consent-based registers.

(That a withdrawn patient is absent from every export, dashboard, indicator and report,
and that nothing else changes, is tested on the demo register on SQLite and PostgreSQL in
``tests/db/test_withdrawal_db.py``.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from tests.webapp.conftest import OTHER_UNIT_PATIENT_ID, OWN_PATIENT_ID
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consent,
    Enrolment,
    Invitation,
    OutboxMessage,
    Patient,
    Protocol,
    Register,
    Response,
    Score,
    Unit,
    Withdrawal,
    utcnow,
)
from webapp.services.outbox import queue_due
from webapp.services.patients import find_patient
from webapp.services.protocols import enrol
from webapp.services.withdrawal import may_invite


def _cli(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def _counts(patient_id: int) -> dict[str, int]:
    def count(model, *joins) -> int:  # type: ignore[no-untyped-def]
        query = select(func.count()).select_from(model)
        for j in joins:
            query = query.join(j)
        return db.session.scalar(query.where(Enrolment.patient_id == patient_id))

    return {
        "enrolments": count(Enrolment),
        "invitations": count(Invitation, Enrolment),
        "responses": count(Response, Invitation, Enrolment),
        "scores": count(Score, Response, Invitation, Enrolment),
    }


def _open_invitation_with_message(app, patient_id: int) -> int:  # type: ignore[no-untyped-def]
    """Enrol the patient again today with an e-mail address and queue the invitation."""
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        from webapp.services.patients import cipher

        patient.email_encrypted = cipher().encrypt("pasient@example.test", b"email")
        unit = db.session.scalar(select(Unit).where(Unit.name == "unit-a1"))
        protocol = db.session.scalar(
            select(Protocol).where(Protocol.register_id == unit.register_id)
        )
        enrolment = enrol(patient, protocol, unit, utcnow().date())
        db.session.commit()
        assert queue_due() == 1
        return enrolment.id


def test_withdraw_command_keeps_answers_by_default_and_stops_invitations(app, world):
    enrolment_id = _open_invitation_with_message(app, world.patients["own"])
    with app.app_context():
        before_other = _counts(world.patients["other_unit"])
        before_own = _counts(world.patients["own"])
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    result = _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a")
    assert result.exit_code == 0, result.output
    assert OWN_PATIENT_ID not in result.output
    assert "withdrawn from reg-a" in result.output
    with app.app_context():
        own = _counts(world.patients["own"])
        assert own == {**before_own, "scores": 0}  # answers kept, scores gone
        assert _counts(world.patients["other_unit"]) == before_other
        states = set(db.session.scalars(select(OutboxMessage.state)))
        assert states == {"dropped"}
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.enrolment_id == enrolment_id).limit(1)
        )
        assert invitation.state == "revoked" and invitation.token_hash is None
        # the worker queues nothing for a withdrawn patient, enrolment is refused
        assert queue_due() == 0
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "register.withdraw")
        )
        assert event.patient_id == world.patients["own"] and event.actor_type == "cli"
        assert event.details["erased"] is False and OWN_PATIENT_ID not in str(event.details)
    again = _cli(
        app, "enrol", OWN_PATIENT_ID, "--protocol", "lumbar", "--unit", "unit-a1",
        "--index-date", "2026-01-05",
    )  # fmt: skip
    assert again.exit_code != 0 and "withdrawn" in again.output
    invite = _cli(app, "invite", OWN_PATIENT_ID)
    assert invite.exit_code != 0
    second = _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a")
    assert second.exit_code != 0 and "already withdrawn" in second.output


def test_withdraw_with_erase_deletes_the_answers_only_in_that_register(app, world):
    with app.app_context():
        other_register = _counts(world.patients["other_register"])
    result = _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a", "--erase")
    assert result.exit_code == 0, result.output
    assert "3 response(s) erased" in result.output  # world: ODI at 3 time points
    with app.app_context():
        assert _counts(world.patients["own"]) == dict.fromkeys(
            ("enrolments", "invitations", "responses", "scores"), 0
        )
        assert _counts(world.patients["other_register"]) == other_register
        assert db.session.scalars(select(Withdrawal.erased)).all() == [True]
        assert db.session.get(Patient, world.patients["own"]) is not None


def test_withdraw_command_errors(app, world):
    unknown = _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "nope")
    assert unknown.exit_code != 0 and "unknown register 'nope'" in unknown.output
    not_there = _cli(app, "withdraw", OTHER_UNIT_PATIENT_ID, "--register", "reg-b")
    assert not_there.exit_code != 0 and "not enrolled" in not_there.output
    bad = _cli(app, "withdraw", "12345678901", "--register", "reg-a")
    assert bad.exit_code != 0 and "12345678901" not in bad.output


def test_consent_register_requires_consent_and_always_erases(app, world):
    with app.app_context():
        register = db.session.get(Register, world.registers["a"])
        register.legal_basis = "consent"
        db.session.commit()
    refused = _cli(
        app, "enrol", "03851598730", "--protocol", "lumbar", "--unit", "unit-a1",
        "--index-date", "2026-01-05",
    )  # fmt: skip
    assert refused.exit_code != 0 and "consent-based" in refused.output
    ok = _cli(
        app, "enrol", "03851598730", "--protocol", "lumbar", "--unit", "unit-a1",
        "--index-date", "2026-01-05", "--consent-method", "digital",
        "--consent-date", "2026-01-04", "--information-version", "info-2025-3",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        consent = db.session.scalar(select(Consent))
        assert (consent.method, consent.information_version) == ("digital", "info-2025-3")
        assert consent.given_at.date() == dt.date(2026, 1, 4)
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "consent.record")
        ).details == {"method": "digital", "version": "info-2025-3"}
        # a patient enrolled before the register became consent-based: no invitation
        # until a consent is recorded
        other = find_patient(OTHER_UNIT_PATIENT_ID)
        invitation = db.session.scalar(
            select(Invitation).join(Enrolment).where(Enrolment.patient_id == other.id).limit(1)
        )
        assert may_invite(invitation) is False
        db.session.add(
            Consent(
                patient_id=other.id,
                register_id=world.registers["a"],
                given_at=utcnow(),
                method="paper",
                information_version="v1",
            )
        )
        db.session.commit()
        assert may_invite(invitation) is True
    # withdrawal of consent erases even without --erase
    result = _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a")
    assert result.exit_code == 0 and "erased" in result.output
    with app.app_context():
        assert _counts(world.patients["own"])["responses"] == 0


def test_register_admin_withdraws_from_the_patient_page(app, world, login_as):
    client = login_as("register_admin")
    page = client.get(f"/clinician/patients/{world.patients['own']}")
    assert page.status_code == 200
    url = f"/clinician/patients/{world.patients['own']}/withdraw/{world.registers['a']}"
    assert url in page.get_data(as_text=True)
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Bekreft uttrekk" in confirm.get_data(as_text=True)
    unconfirmed = client.post(url, data={})
    assert unconfirmed.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 0
    done = client.post(url, data={"confirm": "yes", "erase": "yes"})
    assert done.status_code == 200 and "Svar slettet: 3" in done.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "register.withdraw")
        )
        assert event.actor_type == "user" and event.actor_id == world.users["register_admin"]
    # done once: the link is gone, the page refuses a second time
    assert client.post(url, data={"confirm": "yes"}).status_code == 403


def test_only_the_register_admin_may_withdraw(app, world, login_as):
    url = f"/clinician/patients/{world.patients['own']}/withdraw/{world.registers['a']}"
    for role in ("clinician", "unit_lead", "methodologist", "sysadmin", "clinician_b"):
        client = login_as(role)
        assert client.post(url, data={"confirm": "yes"}).status_code == 403, role
        page = client.get(f"/clinician/patients/{world.patients['own']}")
        assert "/withdraw/" not in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 0


def test_patient_page_hides_a_withdrawn_register(app, world, login_as):
    assert _cli(app, "withdraw", OWN_PATIENT_ID, "--register", "reg-a").exit_code == 0
    page = login_as("clinician").get(f"/clinician/patients/{world.patients['own']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "har trukket seg fra Register A" in text
    assert "Ingen registreringer i dine enheter" in text


def test_register_file_declares_the_legal_basis(app, tmp_path):
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "register.yaml"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-register", str(example)]).exit_code == 0
    with app.app_context():
        register = db.session.scalar(select(Register).where(Register.name == "ryggregister"))
        assert register.legal_basis == "reservation"
    changed = tmp_path / "register.yaml"
    changed.write_text(
        example.read_text("utf-8").replace("legal_basis: reservation", "legal_basis: consent"),
        "utf-8",
    )
    result = runner.invoke(args=["load-register", str(changed)])
    assert result.exit_code == 0 and "updated register ryggregister" in result.output
    with app.app_context():
        register = db.session.scalar(select(Register).where(Register.name == "ryggregister"))
        assert register.legal_basis == "consent"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        example.read_text("utf-8").replace("legal_basis: reservation", "legal_basis: opt-out"),
        "utf-8",
    )
    refused = runner.invoke(args=["load-register", str(bad)])
    assert refused.exit_code != 0 and "legal_basis" in refused.output
