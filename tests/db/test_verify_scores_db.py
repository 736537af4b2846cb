"""``flask verify-scores``: stored scores recomputed from stored answers (SQLite, PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import national_ids_in
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, PageSubmission, Response, Score


def _submitted(database_url, app_factory):  # type: ignore[no-untyped-def]
    """An app with two patients who answered and submitted EQ-5D-5L and ODI."""
    app = app_factory(database_url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        support.make_protocol()
        patients = [support.enrol_patient(n) for n in (support.PATIENT_ID, support.SECOND_ID)]
    for patient in patients:
        client = app.test_client()
        support.answer_everything(client, patient.token)
        assert client.post(f"/s/{patient.token}/submit").headers["Location"].endswith("/thanks")
    return app


def _odi_id(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalars(
            sa.select(Response.id).filter_by(instrument_id="odi").order_by(Response.id)
        ).first()


def test_clean_data_has_no_mismatch(database_url, app_factory):
    app = _submitted(database_url, app_factory)
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("4 responses checked, 0 mismatches")
    scoped = app.test_cli_runner().invoke(args=["verify-scores", "--register", "reg"])
    assert scoped.exit_code == 0 and "4 responses checked, 0 mismatches" in scoped.output
    unknown = app.test_cli_runner().invoke(args=["verify-scores", "--register", "nope"])
    assert unknown.exit_code != 0 and "no register named 'nope'" in unknown.output


def test_a_tampered_answer_is_a_mismatch_listed_by_response_id(database_url, app_factory):
    app = _submitted(database_url, app_factory)
    odi_id = _odi_id(app)
    with app.app_context():  # an answer changed behind the app's back, in SQL
        tampered = {**support.ODI_ANSWERS, "q01": 5}
        db.session.execute(
            sa.update(Response.__table__)
            .where(Response.__table__.c.id == odi_id)
            .values(answers=tampered)
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 1, result.output
    assert f"mismatch: response {odi_id}: odi odi-2.1a-1.0 total: stored 20.0" in result.output
    assert result.output.strip().endswith("4 responses checked, 1 mismatches")
    assert national_ids_in(result.output) == []


def test_missing_scores_are_flagged_and_old_versions_are_not_checkable(database_url, app_factory):
    app = _submitted(database_url, app_factory)
    odi_id = _odi_id(app)
    with app.app_context():
        eq5d_id = db.session.scalars(
            sa.select(Response.id).filter_by(instrument_id="eq5d5l").order_by(Response.id)
        ).first()
        db.session.execute(sa.delete(Score).where(Score.response_id == odi_id))
        db.session.execute(
            sa.update(Score).where(Score.response_id == eq5d_id).values(algorithm_version="old-0")
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 1, result.output
    assert f"mismatch: response {odi_id}: odi: completed without scores" in result.output
    assert f"not checkable: response {eq5d_id}: eq5d5l old-0" in result.output
    assert "4 responses checked, 1 mismatches" in result.output


def test_a_score_with_keys_other_than_its_response_is_a_mismatch(database_url, app_factory):
    """The keys each score carries for the dashboards (migration 0005) are checked too."""
    app = _submitted(database_url, app_factory)
    odi_id = _odi_id(app)
    with app.app_context():
        db.session.execute(
            sa.update(Score.__table__)
            .where(Score.__table__.c.response_id == odi_id)
            .values(index_year=Score.__table__.c.index_year - 1)
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 1, result.output
    assert f"mismatch: response {odi_id}: total: dashboard keys differ" in result.output
    assert result.output.strip().endswith("4 responses checked, 1 mismatches")


def test_an_invitation_with_keys_other_than_its_enrolment_is_a_mismatch(database_url, app_factory):
    """The unit and index year each invitation carries for the response rates (migration
    0006) are checked too."""
    app = _submitted(database_url, app_factory)
    with app.app_context():
        table = Invitation.__table__
        invitation_id = db.session.scalar(sa.select(sa.func.min(table.c.id)))
        db.session.execute(
            sa.update(table)
            .where(table.c.id == invitation_id)
            .values(index_year=table.c.index_year + 1)
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 1, result.output
    assert f"mismatch: invitation {invitation_id}: dashboard keys differ" in result.output
    assert result.output.strip().endswith("4 responses checked, 1 mismatches")


def test_an_invitation_completed_otherwise_than_its_responses_is_a_mismatch(
    database_url, app_factory
):
    """The dashboards count answered responses from the invitation rows alone (an
    invitation is completed exactly when all of its responses are, one per instrument of
    its time point): an invitation that breaks this is listed by id."""
    app = _submitted(database_url, app_factory)
    with app.app_context():
        first, second = db.session.scalars(
            sa.select(Response.invitation_id).distinct().order_by(Response.invitation_id)
        ).all()
        # completed, but a response of it gone (its scores with it), in SQL
        gone = db.session.scalar(
            sa.select(Response.id).filter_by(invitation_id=first, instrument_id="eq5d5l")
        )
        for child in (Score.__table__, PageSubmission.__table__):
            db.session.execute(sa.delete(child).where(child.c.response_id == gone))
        db.session.execute(sa.delete(Response.__table__).where(Response.__table__.c.id == gone))
        # a complete response, but its invitation not completed
        table = Invitation.__table__
        db.session.execute(
            sa.update(table).where(table.c.id == second).values(completed_at=None, state="sent")
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 1, result.output
    assert (
        f"mismatch: invitation {first}: completed, but a response of it is missing or not "
        "complete" in result.output
    )
    assert f"mismatch: invitation {second}: not completed, but a response of it is" in result.output
    assert result.output.strip().endswith("3 responses checked, 2 mismatches")
    scoped = app.test_cli_runner().invoke(args=["verify-scores", "--register", "reg"])
    assert scoped.exit_code == 1 and "3 responses checked, 2 mismatches" in scoped.output


def test_a_draft_response_of_a_completed_invitation_is_a_mismatch(database_url, app_factory):
    app = _submitted(database_url, app_factory)
    odi_id = _odi_id(app)
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Response.invitation_id).filter_by(id=odi_id))
        table = Response.__table__
        db.session.execute(
            sa.update(table).where(table.c.id == odi_id).values(status="draft", completed_at=None)
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["verify-scores"])
    assert result.exit_code == 1, result.output
    assert f"mismatch: invitation {invitation_id}: completed, but a response" in result.output
