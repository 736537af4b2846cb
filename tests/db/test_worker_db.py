"""The scheduled-work worker: several at once never send a message twice, a message left
``sending`` by a dead worker is retried after its lease, failures back off. Real SMTP
(aiosmtpd on loopback), SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.webapp import patient_support as support
from tests.webapp.test_patient_outbox import Inbox, _free_port
from webapp.extensions import db
from webapp.models import Invitation, OutboxMessage, utcnow
from webapp.services import outbox
from webapp.services.demo import demo_national_ids
from webapp.services.invitations import aware
from webapp.services.jobs import run_due_jobs

ROOT = Path(__file__).resolve().parents[2]


class SlowInbox(Inbox):
    """An inbox that takes a moment per message (so workers overlap)."""

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        import asyncio

        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def inbox():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    box = SlowInbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}?from=noreply@sykehus.test"
    yield box
    controller.stop()


def _patients_with_email(app, count: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        support.make_protocol()
        for n, nid in enumerate(demo_national_ids(count, seed=3)):
            support.enrol_patient(nid, email=f"p{n}@example.org")
        db.session.query(Invitation).update({"token_hash": None})  # the worker issues links
        db.session.commit()


def test_two_workers_at_once_send_every_message_exactly_once(database_url, app_factory, inbox):
    app = app_factory(database_url, OPENPROM_SMTP_URL=inbox.url)
    _patients_with_email(app, 30)
    start = threading.Barrier(2)
    reports, errors = [], []

    def work() -> None:
        with app.app_context():
            start.wait()
            try:
                reports.append(run_due_jobs())
            except Exception as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    recipients = [rcpt for rcpt, _ in inbox.messages]
    assert len(recipients) == 30 and len({r[0] for r in recipients}) == 30
    assert sum(r.delivery.sent for r in reports) == 30
    assert sum(r.queued for r in reports) == 30  # each invitation queued by one worker
    with app.app_context():
        messages = db.session.query(OutboxMessage).filter_by(kind="invitation").all()
        assert {(m.state, m.attempts) for m in messages} == {("sent", 1)}
        assert all(m.lease_until is None for m in messages)
        # every sent link is the invitation's current one (the loser's token was undone)
        assert db.session.query(Invitation).filter(Invitation.state == "sent").count() == 30


def test_a_message_left_sending_is_retried_after_its_lease(database_url, app_factory, inbox):
    app = app_factory(database_url, OPENPROM_SMTP_URL=inbox.url, OPENPROM_OUTBOX_LEASE=60)
    _patients_with_email(app, 2)
    now = utcnow()
    with app.app_context():
        outbox.queue_due(now)
        a, b = db.session.query(OutboxMessage).filter_by(kind="invitation").order_by("id")
        # a worker claimed both and died: one lease has ended, the other has not
        for message, lease_end in (
            (a, now - dt.timedelta(seconds=1)),
            (b, now + dt.timedelta(seconds=30)),
        ):
            message.state, message.lease_until, message.attempts = "sending", lease_end, 1
        db.session.commit()
        report = outbox.deliver_due(now)
        assert (report.sent, report.failed) == (1, 0)
        db.session.expire_all()
        assert (a.state, a.attempts, b.state) == ("sent", 2, "sending")
        assert outbox.deliver_due(now + dt.timedelta(seconds=31)).sent == 1
        db.session.expire_all()
        assert b.state == "sent"
    assert len(inbox.messages) == 2


def test_a_late_worker_cannot_overwrite_a_claim_it_lost(database_url, app_factory, inbox):
    app = app_factory(database_url, OPENPROM_SMTP_URL=inbox.url)
    _patients_with_email(app, 1)
    now = utcnow()
    with app.app_context():
        outbox.queue_due(now)
        [(message_id, first_lease)] = outbox.claim(now)
        later = now + outbox.lease_time() + dt.timedelta(seconds=1)
        [(same_id, second_lease)] = outbox.claim(later)  # the first worker looked dead
        assert same_id == message_id and second_lease != first_lease
        assert not outbox._finish(message_id, first_lease, state="queued")
        assert outbox._finish(message_id, second_lease, state="sent")
        db.session.commit()


def test_smtp_failures_back_off_exponentially_then_give_up(database_url, app_factory):
    app = app_factory(database_url, OPENPROM_SMTP_URL=f"smtp://127.0.0.1:{_free_port()}")
    _patients_with_email(app, 1)
    now = utcnow()
    with app.app_context():
        outbox.queue_due(now)
        message = db.session.query(OutboxMessage).filter_by(kind="invitation").one()
        moment, delays = now, []
        for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
            assert outbox.deliver_due(moment).failed == 1
            db.session.refresh(message)
            assert message.attempts == attempt and "ConnectionRefusedError" in message.last_error
            delays.append(aware(message.send_after) - moment)
            assert outbox.deliver_due(moment + delays[-1] - dt.timedelta(seconds=1)).failed == 0
            moment += delays[-1]
        assert [d.total_seconds() / 60 for d in delays[:5]] == [1, 2, 4, 8, 16]
        assert max(delays) == outbox.BACKOFF_MAX
        assert message.state == "failed"
        assert outbox.deliver_due(moment + dt.timedelta(days=1)).failed == 0  # given up


def _worker_env(database_url: str, smtp_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OPENPROM_DATABASE_URL": database_url,
        "OPENPROM_SMTP_URL": smtp_url,
        "OPENPROM_INSTANCE_PATH": str(tmp_path / "worker-instance"),
    }


def test_worker_command_runs_until_sigterm_and_stops_gracefully(
    database_url, app_factory, inbox, tmp_path
):
    app = app_factory(database_url, OPENPROM_SMTP_URL=inbox.url)
    _patients_with_email(app, 3)
    flask = str(Path(sys.executable).with_name("flask"))
    proc = subprocess.Popen(
        [flask, "--app", "wsgi", "worker", "--interval", "0.2"],
        cwd=ROOT,
        env=_worker_env(database_url, inbox.url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(inbox.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(inbox.messages) == 3
        time.sleep(0.5)  # a few idle passes
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "sent 3" in out and "stopped" in err
    assert len(inbox.messages) == 3


def test_worker_once_is_the_same_pass_as_send_due(database_url, app_factory, inbox):
    app = app_factory(database_url, OPENPROM_SMTP_URL=inbox.url)
    _patients_with_email(app, 2)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "queued 2 invitation(s); sent 2" in result.output
    again = app.test_cli_runner().invoke(args=["send-due"])
    assert again.exit_code == 0 and "sent 0" in again.output
    assert len(inbox.messages) == 2
