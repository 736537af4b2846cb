"""The demo register's adaptive protocol: a few synthetic patients answer the SYNTHETIC
demonstration bank through the patient-flow services, every step is the CAT engine's,
``verify-scores`` finds nothing to fix and the export carries the steps."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from tests.webapp.adaptive_support import ADAPTIVE, BANK
from tests.webapp.test_adaptive_flow import reference_eap
from webapp.extensions import db
from webapp.models import AdaptiveStep, Enrolment, Invitation, Protocol, Response, Score
from webapp.services.demo import create_demo
from webapp.services.demo_adaptive import CAT_PROTOCOL, INDEX_DAYS_AGO

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def demo(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        create_demo(patients=20, today=TODAY)
    return app


def bank_responses() -> list[Response]:
    return list(
        db.session.scalars(
            select(Response)
            .where(Response.instrument_id == BANK, Response.status == "complete")
            .order_by(Response.id)
        )
    )


def test_demo_has_an_adaptive_protocol_with_completed_item_bank_responses(demo):
    with demo.app_context():
        protocol = db.session.scalars(select(Protocol).where(Protocol.name == CAT_PROTOCOL)).one()
        assert "SYNTETISK" in protocol.title
        assert protocol.adaptive == ADAPTIVE
        assert [(t.name, t.instruments) for t in protocol.time_points] == [
            ("baseline", [BANK]),
            ("3m", [BANK]),
        ]
        enrolled = db.session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.protocol_id == protocol.id)
        )
        assert enrolled == len(INDEX_DAYS_AGO)
        done = bank_responses()
        # baselines of every patient; 3 months for those enrolled >= 91 + 14 days before
        expected = len(INDEX_DAYS_AGO) + sum(d >= 91 + 14 for d in INDEX_DAYS_AGO)
        assert len(done) == expected
        for response in done:
            invitation = db.session.get(Invitation, response.invitation_id)
            assert invitation.state == "completed"
            assert invitation.completed_at == response.completed_at


def test_every_demo_step_is_the_engines_eap_and_the_scores_follow(demo):
    with demo.app_context():
        for response in bank_responses():
            steps = list(
                db.session.scalars(
                    select(AdaptiveStep)
                    .where(AdaptiveStep.response_id == response.id)
                    .order_by(AdaptiveStep.position)
                )
            )
            assert [s.position for s in steps] == list(range(len(steps)))
            assert all(s.answer is not None for s in steps)
            assert len({s.item_id for s in steps}) == len(steps)  # no item asked twice
            assert ADAPTIVE["min_items"] <= len(steps) <= ADAPTIVE["max_items"]
            answers = [(s.item_id, s.answer) for s in steps]
            for k, step in enumerate(steps, start=1):
                theta, se = reference_eap(answers[:k])
                assert step.theta == pytest.approx(theta, abs=1e-9)
                assert step.se == pytest.approx(se, abs=1e-9)
            # the engine stopped by its rule: SE reached, or the item limit
            assert steps[-1].se <= ADAPTIVE["stop_se"] or len(steps) == ADAPTIVE["max_items"]
            assert response.answers == dict(answers)
            scores = {
                s.scale: s.value
                for s in db.session.scalars(select(Score).where(Score.response_id == response.id))
            }
            assert scores["n_items"] == len(steps)
            # T-score = 50 + 10 theta (the bank file's transform)
            assert scores["t_score"] == pytest.approx(50 + 10 * scores["theta"], abs=1e-9)


def test_verify_scores_finds_no_mismatch_on_the_demo(demo):
    result = demo.test_cli_runner().invoke(args=["verify-scores", "--register", "demo-register"])
    assert result.exit_code == 0, result.output
    assert " 0 mismatches" in result.output


def test_demo_is_idempotent_and_its_export_has_the_steps(demo, tmp_path):
    from webapp.services.export import export_register

    with demo.app_context():
        before = db.session.scalar(select(func.count()).select_from(AdaptiveStep))
        create_demo(patients=20, today=TODAY)
        assert db.session.scalar(select(func.count()).select_from(AdaptiveStep)) == before
        export_register("demo-register", tmp_path, formats=("parquet",))
    table = pq.read_table(tmp_path / "adaptive_steps.parquet")
    assert table.num_rows == before
    assert set(table.column("instrument_id").to_pylist()) == {BANK}
