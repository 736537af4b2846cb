"""Invitation links: token strength, hash-only storage, no oracle, guessing limits, invite."""

from __future__ import annotations

import datetime as dt
import statistics
import time

from tests.conftest import make_app
from tests.webapp import patient_support as support
from webapp.crypto import token_hash
from webapp.extensions import db
from webapp.models import Invitation, OutboxMessage, utcnow


def _invitation(app, invitation_id: int) -> Invitation:  # type: ignore[no-untyped-def]
    return db.session.get(Invitation, invitation_id)


def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(app):
    enrolled = support.setup_world(app)
    # token_urlsafe: 6 random bits per character
    assert len(enrolled.token) * 6 >= 128
    with app.app_context():
        invitation = _invitation(app, enrolled.invitation_id)
        assert invitation.token_hash == token_hash(enrolled.token)
        stored = [str(v) for v in vars(invitation).values()]
        assert not any(enrolled.token in v for v in stored)


def test_valid_link_opens_the_first_screen(client, app):
    enrolled = support.setup_world(app)
    response = client.get(f"/s/{enrolled.token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/s/{enrolled.token}/start")


def _page_for(client, path: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    response = client.get(path)
    return response.status_code, response.text


def test_unknown_expired_used_and_not_yet_open_links_look_the_same(app, client):
    enrolled = support.setup_world(app)
    with app.app_context():
        expired = support.enrol_patient(support.SECOND_ID, index_date=dt.date(2020, 1, 1))
        later = _invitation(app, enrolled.invitation_id).enrolment.invitations[1]
        from webapp.services.invitations import issue_token

        future_token = issue_token(later)
        used = _invitation(app, enrolled.invitation_id)
        used.completed_at = utcnow() - dt.timedelta(days=400)
        used.innsyn_until = utcnow() - dt.timedelta(days=1)
        db.session.commit()
    pages = {
        "unknown": _page_for(client, "/s/AAAAAAAAAAAAAAAAAAAAAAAA"),
        "expired": _page_for(client, f"/s/{expired.token}"),
        "used": _page_for(client, f"/s/{enrolled.token}"),
        "not yet open": _page_for(client, f"/s/{future_token}"),
        "other route": _page_for(client, "/s/AAAAAAAAAAAAAAAAAAAAAAAA/review"),
    }
    assert {status for status, _ in pages.values()} == {404}
    assert len({text for _, text in pages.values()}) == 1
    assert "Denne lenken virker ikke" in pages["unknown"][1]


def test_failed_lookups_take_about_as_long_for_each_kind(app, client):
    """Timing oracle check: unknown, expired, used and not-yet-open links cost the same
    path (one hash, one indexed query, one counter update): medians within 3x."""
    enrolled = support.setup_world(app)
    with app.app_context():
        from webapp.services.invitations import issue_token

        expired = support.enrol_patient(support.SECOND_ID, index_date=dt.date(2020, 1, 1))
        invitation = _invitation(app, enrolled.invitation_id)
        future_token = issue_token(invitation.enrolment.invitations[1])
        invitation.completed_at = utcnow() - dt.timedelta(days=400)
        invitation.innsyn_until = utcnow() - dt.timedelta(days=1)
        db.session.commit()
    app.config["OPENPROM_TOKEN_MAX_FAILURES"] = 10_000

    paths = {
        "unknown": "/s/BBBBBBBBBBBBBBBBBBBBBBBB",
        "expired": f"/s/{expired.token}",
        "used": f"/s/{enrolled.token}",
        "not yet open": f"/s/{future_token}",
    }
    times: dict[str, list[float]] = {kind: [] for kind in paths}
    for _ in range(15):  # round robin: a burst of load on the machine hits every kind
        for kind, path in paths.items():
            start = time.perf_counter()
            assert client.get(path).status_code == 404
            times[kind].append(time.perf_counter() - start)
    medians = {kind: statistics.median(t) * 1000 for kind, t in times.items()}
    assert max(medians.values()) / min(medians.values()) < 3, medians


def test_invite_prints_a_working_link_and_replaces_the_old_one(app):
    enrolled = support.setup_world(app)
    result = app.test_cli_runner().invoke(args=["invite", support.PATIENT_ID])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[0]
    assert link.startswith("http://127.0.0.1:5000/s/")
    assert support.PATIENT_ID not in result.output
    client = app.test_client()
    assert client.get(link.split("5000")[1]).status_code == 302
    assert client.get(f"/s/{enrolled.token}").status_code == 404


def test_invite_qr_prints_a_terminal_qr_code(app):
    support.setup_world(app)
    result = app.test_cli_runner().invoke(args=["invite", support.PATIENT_ID, "--qr"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert sum("█" in line or "▀" in line or "▄" in line for line in lines) > 15


def test_invite_queues_an_email_only_when_the_patient_has_an_address(app):
    support.setup_world(app)
    runner = app.test_cli_runner()
    runner.invoke(args=["invite", support.PATIENT_ID])
    with app.app_context():
        assert db.session.query(OutboxMessage).count() == 0
        support.enrol_patient(support.SECOND_ID, email="pasient@example.org")
    result = runner.invoke(args=["invite", support.SECOND_ID])
    assert result.exit_code == 0
    with app.app_context():
        kinds = sorted(m.kind for m in db.session.query(OutboxMessage))
        assert kinds == ["invitation", "reminder"]


def test_invite_errors_are_clear(app):
    support.setup_world(app)
    runner = app.test_cli_runner()
    assert "not a valid Norwegian national ID" in runner.invoke(args=["invite", "1"]).output
    unknown = runner.invoke(args=["invite", support.SECOND_ID])
    assert "no patient with that register ID" in unknown.output
    bad_tp = runner.invoke(args=["invite", support.PATIENT_ID, "--time-point", "99m"])
    assert "no open invitation for time point '99m'" in bad_tp.output
    later = runner.invoke(args=["invite", support.PATIENT_ID, "--time-point", "3m"])
    assert later.exit_code == 0 and "opens on" in later.output


def test_link_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENPROM_TOKEN_MAX_FAILURES", "2")
    monkeypatch.setenv("OPENPROM_INNSYN_DAYS", "30")
    app = make_app(f"sqlite:///{tmp_path / 'e.sqlite'}", tmp_path / "inst")
    assert app.config["OPENPROM_TOKEN_MAX_FAILURES"] == 2
    assert app.config["OPENPROM_INNSYN_DAYS"] == 30
    with app.app_context():
        db.engine.dispose()


def test_invite_by_time_point_picks_the_usable_one_of_a_patient_enrolled_twice(app):
    enrolled = support.setup_world(app, index_date=dt.date.today() - dt.timedelta(days=60))
    with app.app_context():
        second = support.enrol_patient(index_date=dt.date.today())  # a second operation
    runner = app.test_cli_runner()
    result = runner.invoke(args=["invite", support.PATIENT_ID, "--time-point", "baseline"])
    assert result.exit_code == 0, result.output  # not "that invitation has expired"
    token = result.output.strip().splitlines()[0].rsplit("/", 1)[1]
    with app.app_context():
        assert _invitation(app, second.invitation_id).token_hash == token_hash(token)
        assert _invitation(app, enrolled.invitation_id).token_hash != token_hash(token)
