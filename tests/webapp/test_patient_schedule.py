"""Protocols and enrolment: the schedule of invitations and the ``enrol`` command."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import AuditEvent, Enrolment, Invitation, utcnow
from webapp.services import responses
from webapp.services.invitations import issue_token, resolve

PATIENT_ID, INVALID_ID = support.PATIENT_ID, support.INVALID_ID


def _enrol(app, *args):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(
        args=["enrol", *args, "--protocol", "lumbar", "--unit", "unit-1"]
    )


def test_enrolment_creates_one_invitation_per_time_point_with_window(app):
    with app.app_context():
        support.make_protocol()
    result = _enrol(app, PATIENT_ID, "--index-date", "2026-03-02")
    assert result.exit_code == 0, result.output
    with app.app_context():
        invitations = db.session.query(Invitation).order_by(Invitation.opens_at).all()
        opens = [i.opens_at.date() for i in invitations]
        # index date + 0, 91 and 365 days (the protocol's offsets)
        assert opens == [dt.date(2026, 3, 2), dt.date(2026, 6, 1), dt.date(2027, 3, 2)]
        assert all(i.expires_at - i.opens_at == dt.timedelta(days=30) for i in invitations)
        assert {i.state for i in invitations} == {"scheduled"}
        assert all(i.token_hash is None for i in invitations)
        event = db.session.query(AuditEvent).filter_by(action="enrolment.create").one()
        assert event.actor_type == "cli" and PATIENT_ID not in str(event.details)


def test_enrol_never_echoes_the_register_id(app):
    with app.app_context():
        support.make_protocol()
    result = _enrol(app, PATIENT_ID)
    assert result.exit_code == 0
    assert PATIENT_ID not in result.output and PATIENT_ID[-5:] not in result.output
    assert "patient #" in result.output


def test_enrol_rejects_an_invalid_register_id_with_a_clear_error(app):
    with app.app_context():
        support.make_protocol()
    result = _enrol(app, INVALID_ID)
    assert result.exit_code != 0
    assert "not a valid Norwegian national ID" in result.output
    assert INVALID_ID not in result.output
    result = _enrol(app, "12345")
    assert "length" in result.output
    with app.app_context():
        assert db.session.query(Enrolment).count() == 0


def test_enrol_names_unknown_unit_and_protocol(app):
    with app.app_context():
        support.make_protocol()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["enrol", PATIENT_ID, "--protocol", "lumbar", "--unit", "nope"])
    assert result.exit_code != 0 and "no unit named 'nope'" in result.output
    result = runner.invoke(args=["enrol", PATIENT_ID, "--protocol", "hip", "--unit", "unit-1"])
    assert "no protocol named 'hip'" in result.output and "known: lumbar" in result.output


def test_enrolling_twice_with_the_same_index_date_is_refused(app):
    with app.app_context():
        support.make_protocol()
    assert _enrol(app, PATIENT_ID, "--index-date", "2026-01-05").exit_code == 0
    again = _enrol(app, PATIENT_ID, "--index-date", "2026-01-05")
    assert again.exit_code != 0 and "already enrolled" in again.output


def test_demo_has_the_lumbar_surgery_protocol_and_enrol_works_on_it(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "--patients", "1"]).exit_code == 0
    result = runner.invoke(
        args=["enrol", PATIENT_ID, "--protocol", "lumbar-surgery", "--unit", "demo-unit"]
    )
    assert result.exit_code == 0, result.output
    link = runner.invoke(args=["invite", PATIENT_ID])
    assert link.exit_code == 0, link.output
    path = link.output.strip().splitlines()[0].split("127.0.0.1:5000")[1]
    assert app.test_client().get(path).status_code == 302


def test_define_protocol_checks_instruments_names_and_days(app):
    from webapp.models import Register
    from webapp.services.protocols import ProtocolError, TimePointSpec, define_protocol

    with app.app_context():
        register = Register(name="r", title="R")
        db.session.add(register)
        db.session.flush()
        later = TimePointSpec("12m", "12 months", 365, ("eq5d5l", "odi"))
        first = TimePointSpec("baseline", "Baseline", 0, ("eq5d5l",))
        protocol = define_protocol(register, "p", "P", [later, first], window_days=21)
        assert [tp.name for tp in protocol.time_points] == ["baseline", "12m"]
        bad = [
            ([TimePointSpec("a", "A", 0, ("sf99",))], {}, "unknown instrument 'sf99'"),
            ([first, first], {}, "must be unique"),
            ([TimePointSpec("a", "A", 0, ())], {}, "has no instruments"),
            ([], {}, "at least one time point"),
            ([first], {"window_days": 0}, "at least 1"),
            ([first], {"window_days": 7, "reminder_days": 7}, "between 1 and"),
        ]
        for points, options, message in bad:
            with pytest.raises(ProtocolError, match=message):
                define_protocol(register, "q", "Q", points, **options)


def test_default_index_date_is_today_in_utc_so_the_baseline_link_opens_at_once(app, monkeypatch):
    import webapp.models

    with app.app_context():
        support.make_protocol()
    # 00:30 in Oslo on 2 March is 23:30 UTC on 1 March: baseline opens at 00:00 UTC, 1 March
    late_evening_utc = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(webapp.models, "utcnow", lambda: late_evening_utc)
    result = _enrol(app, PATIENT_ID)
    assert result.exit_code == 0, result.output
    assert "index date 2026-03-01" in result.output
    with app.app_context():
        first = db.session.query(Invitation).order_by(Invitation.opens_at).first()
        assert first.opens_at.replace(tzinfo=dt.UTC) <= late_evening_utc


def test_a_link_opens_at_midnight_utc_of_its_due_date_and_closes_after_the_window(app):
    with app.app_context():
        support.make_protocol()
        enrolled = support.enrol_patient(index_date=dt.date(2026, 3, 2))
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        three_months = invitation.enrolment.invitations[1]
        later = issue_token(three_months)
        db.session.commit()
        opens = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # 2 March + 91 days
        closes = opens + dt.timedelta(days=30)
        second = dt.timedelta(seconds=1)
        assert resolve(later, opens - second) is None
        assert resolve(later, opens).mode == "answer"
        assert resolve(later, closes - second).mode == "answer"
        assert resolve(later, closes) is None


def test_the_insight_period_after_submitting_comes_from_the_configuration(app, client):
    app.config["OPENPROM_INNSYN_DAYS"] = 5
    enrolled = support.setup_world(app)
    support.answer_everything(client, enrolled.token)
    with app.app_context():
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        done_at = utcnow()
        assert responses.submit(invitation, now=done_at)
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        until = invitation.innsyn_until.replace(tzinfo=dt.UTC)
        assert until - done_at == dt.timedelta(days=5)
        assert resolve(enrolled.token, until - dt.timedelta(seconds=1)).mode == "insight"
        assert resolve(enrolled.token, until) is None


def test_back_goes_to_the_previous_page_across_instruments(app, client):
    enrolled = support.setup_world(app)
    support.answer_everything(client, enrolled.token)
    token = enrolled.token
    first = client.get(f"/s/{token}/q/eq5d5l/0").text
    assert f'href="/s/{token}/start">Tilbake</a>' in first
    second = client.get(f"/s/{token}/q/eq5d5l/1").text
    assert f'href="/s/{token}/q/eq5d5l/0">Tilbake</a>' in second
    odi = client.get(f"/s/{token}/q/odi/0").text  # back to the EQ VAS, the page before
    assert f'href="/s/{token}/q/eq5d5l/5">Tilbake</a>' in odi
    assert "Side 7 av 16" in odi and '<progress max="16" value="7"' in odi
