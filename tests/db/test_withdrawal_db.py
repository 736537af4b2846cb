"""A patient withdrawn from a register is absent from every output, and nothing else
changes (SQLite and PostgreSQL).

Data: the synthetic demo register (reservation-based). One patient with answered time
points withdraws, first without erasure (answers kept, excluded everywhere), then with
erasure (rows deleted). The truth for "absent" is independent of the exclusion code: the
dashboard reference implementation (``tests/webapp/dashboard_reference.py``, which loads
rows and knows nothing of withdrawals) run on the erased database, i.e. on data in which
the patient's rows no longer exist. Every dashboard number, indicator and the register
export of the other patients is compared before and after.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.webapp import dashboard_reference as ref
from tests.webapp.test_dashboard_sql import _tables, numbers
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Enrolment,
    Invitation,
    Patient,
    Register,
    Response,
    Score,
    Unit,
    Withdrawal,
)
from webapp.services import unit_report
from webapp.services.demo import create_demo
from webapp.services.export import export_register
from webapp.services.integrity import verify_scores
from webapp.services.patient_record import build
from webapp.services.patients import national_id_of
from webapp.services.withdrawal import WithdrawalError, withdraw

PATIENTS = 120


def _export(tmp: Path) -> dict[str, list[dict[str, str]]]:
    result = export_register("demo-register", tmp, formats=("csv",))
    out = {}
    for iid in result.rows:
        with open(tmp / f"{iid}.csv", encoding="utf-8") as f:
            out[iid] = list(csv.DictReader(f))
    return out


def _dashboards(register: Register) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for unit in db.session.scalars(select(Unit).order_by(Unit.name)):
        for year in [None, *ref.load_facts(register).years]:
            out[f"{unit.name}/{year}"] = numbers(unit_report.unit_report(unit, year))
    tables, years = unit_report.register_indicators(register)
    out["register"] = {"years": years, **_tables(tables)}
    return out


def _reference(register: Register) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for unit in db.session.scalars(select(Unit).order_by(Unit.name)):
        for year in [None, *ref.load_facts(register).years]:
            out[f"{unit.name}/{year}"] = numbers(ref.unit_report(unit, year))
    tables, years = ref.register_indicators(register)
    out["register"] = {"years": years, **_tables(tables)}
    return out


def _busiest_patient() -> Patient:
    """The patient with the most completed responses (so the numbers do move)."""
    patient_id = db.session.scalar(
        select(Enrolment.patient_id)
        .join(Invitation, Invitation.enrolment_id == Enrolment.id)
        .join(Response, Response.invitation_id == Invitation.id)
        .where(Response.status == "complete")
        .group_by(Enrolment.patient_id)
        .order_by(func.count().desc(), Enrolment.patient_id)
        .limit(1)
    )
    return db.session.get(Patient, patient_id)


def test_withdrawn_patient_is_absent_everywhere_and_nothing_else_changes(
    database_url, app_factory, tmp_path
):
    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=PATIENTS)
        db.session.commit()
        register = db.session.scalar(select(Register).where(Register.name == "demo-register"))
        assert register.legal_basis == "reservation"
        patient = _busiest_patient()
        patient_id, register_id = patient.id, register.id
        alias = pseudonym(
            national_id_of(patient),
            register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "demo-register"),
        )
        before_export = _export(tmp_path / "before")
        before = _dashboards(register)
        assert any(r["pseudonym"] == alias for rows in before_export.values() for r in rows)
        own_responses = db.session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Invitation, Invitation.id == Response.invitation_id)
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .where(Enrolment.patient_id == patient.id, Response.status == "complete")
        )
        assert own_responses >= 2

        # 1) withdrawal without erasure: answers kept, excluded everywhere
        result = withdraw(patient, register, erase=False)
        db.session.commit()
        assert not result.erased and result.scores_deleted > 0
        kept = _dashboards(register)
        kept_export = _export(tmp_path / "kept")
        patient, register = (
            db.session.get(Patient, patient_id),
            db.session.get(Register, register_id),
        )
        assert verify_scores("demo-register").failed == 0
        # the answers are still stored
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Response)
                .join(Invitation, Invitation.id == Response.invitation_id)
                .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
                .where(Enrolment.patient_id == patient.id, Response.status == "complete")
            )
            == own_responses
        )
        record = build(patient, set(db.session.scalars(select(Unit.id))))
        assert record.responses == [] and record.enrolments == [] and record.withdrawn
        with_links = db.session.scalar(
            select(func.count())
            .select_from(Invitation)
            .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
            .where(Enrolment.patient_id == patient.id, Invitation.token_hash.is_not(None))
        )
        assert with_links == 0

        # 2) erasure: the rows go; the reference on this data is the truth for "absent"
        result = withdraw(patient, register, erase=True)
        db.session.commit()
        assert result.erased and result.responses_deleted == own_responses
        erased = _dashboards(register)
        truth = _reference(register)
        erased_export = _export(tmp_path / "erased")
        patient, register = (
            db.session.get(Patient, patient_id),
            db.session.get(Register, register_id),
        )
        assert not db.session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.patient_id == patient.id)
        )
        assert db.session.scalars(select(Withdrawal.erased)).all() == [True]

        # the audit log records both steps, with counts and no data
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "register.withdraw")
        ).all()
        assert [e.patient_id for e in events] == [patient_id, patient_id]
        assert [e.details["erased"] for e in events] == [False, True]
        assert all(set(e.details) <= {*result.as_details()} for e in events)

        # a second withdrawal is refused (nothing left to do)
        with pytest.raises(WithdrawalError, match="already withdrawn"):
            withdraw(patient, register, erase=True)
        scores_left = db.session.scalar(select(func.count()).select_from(Score))

    # absent: kept-but-withdrawn gives the same numbers as the erased data, which the
    # reference computes from the remaining rows
    assert kept == erased == truth
    assert kept != before  # the patient did count before
    # export: exactly the patient's rows are gone, every other row unchanged
    for iid, rows in before_export.items():
        others = [r for r in rows if r["pseudonym"] != alias]
        assert kept_export.get(iid, []) == others
        assert erased_export.get(iid, []) == others
    assert scores_left > 0
