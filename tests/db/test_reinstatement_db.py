"""A reinstated patient is back in every output exactly as before the withdrawal, and the
withdrawal stays as history (SQLite and PostgreSQL).

Data: the synthetic demo register (reservation-based). The busiest patient withdraws
without erasure (answers kept, scores deleted, excluded everywhere) and is reinstated: the
export files, every unit dashboard and the register's indicators must equal those before
the withdrawal (the truth is the state before, computed by the ordinary submit path, not
by the reinstatement code), and the stored scores must match their answers
(``verify_scores``).
"""

from __future__ import annotations

from sqlalchemy import select

from tests.db.test_withdrawal_db import _busiest_patient, _dashboards, _export
from webapp.extensions import db
from webapp.models import AuditEvent, Patient, Register, Score, Withdrawal
from webapp.services.demo import create_demo
from webapp.services.integrity import verify_scores
from webapp.services.withdrawal import reinstate, withdraw

PATIENTS = 60


def _scores() -> list[tuple]:
    return sorted(
        db.session.execute(
            select(Score.response_id, Score.scale, Score.value, Score.text_value)
        ).all()
    )


def test_reinstated_patient_is_back_everywhere(database_url, app_factory, tmp_path):
    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=PATIENTS)
        db.session.commit()
        register = db.session.scalar(select(Register).where(Register.name == "demo-register"))
        patient = _busiest_patient()
        patient_id, register_id = patient.id, register.id
        before_export = _export(tmp_path / "before")
        before = _dashboards(register)
        before_scores = _scores()

        result = withdraw(patient, register, erase=False)
        db.session.commit()
        assert result.scores_deleted > 0
        register = db.session.get(Register, register_id)
        withdrawn_export = _export(tmp_path / "withdrawn")
        assert _dashboards(register) != before and withdrawn_export != before_export

        patient = db.session.get(Patient, patient_id)
        back = reinstate(patient, register, reason="recorded for the wrong patient")
        db.session.commit()
        assert back.scores_restored == result.scores_deleted
        register = db.session.get(Register, register_id)
        after_export = _export(tmp_path / "after")
        after = _dashboards(register)
        assert verify_scores("demo-register").failed == 0
        history = db.session.scalars(select(Withdrawal)).all()
        assert len(history) == 1 and history[0].reinstated_at is not None
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.patient_id == patient_id)
            .order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["register.withdraw", "register.reinstate"]
        # the same score values as the submit made (new row ids)
        assert [s[1:] for s in _scores()] == [s[1:] for s in before_scores]
    assert after_export == before_export
    assert after == before


def test_0014_downgrades_and_upgrades_with_withdrawals(database_url, app_factory):
    import flask_migrate
    import sqlalchemy as sa

    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=10)
        db.session.commit()
        register = db.session.scalar(select(Register).where(Register.name == "demo-register"))
        first, second = db.session.scalars(select(Patient).order_by(Patient.id).limit(2))
        withdraw(first, register)
        withdraw(second, register)
        reinstate(second, register, reason="wrong patient")
        db.session.commit()
        first_id, second_id, register_id = first.id, second.id, register.id
        db.session.remove()
        flask_migrate.downgrade(revision="0013")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT patient_id FROM register_withdrawal")).all()
        assert rows == [(first_id,)]  # the one in force stays; the undone one goes
        flask_migrate.upgrade()
        # two rows in force for one patient are refused by the partial unique index
        register = db.session.get(Register, register_id)
        withdraw(db.session.get(Patient, second_id), register)
        db.session.commit()
        db.session.add(Withdrawal(register_id=register_id, patient_id=second_id, erased=False))
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
        else:
            raise AssertionError("a second withdrawal in force was stored")
