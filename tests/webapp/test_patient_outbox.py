"""E-mail invitations through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import datetime as dt
import re
import socket
from email import message_from_bytes, policy

import pytest

from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, OutboxMessage, Unit, utcnow
from webapp.services import outbox
from webapp.services.invitations import aware
from webapp.services.mailer import MailConfigError, parse_smtp_url

EMAIL = "pasient@example.org"


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}?from=noreply@sykehus.test"
    controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _enrolled_with_email(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        support.make_protocol()
        enrolled = support.enrol_patient(email=EMAIL)
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        invitation.token_hash = None  # send-due issues the token itself
        db.session.commit()
        return enrolled


def _run(app, now: dt.datetime | None = None) -> outbox.DeliveryReport:  # type: ignore[no-untyped-def]
    with app.app_context():
        outbox.queue_due(now)
        return outbox.deliver_due(now)


def _link(message) -> str:  # type: ignore[no-untyped-def]
    body = message.get_content()
    match = re.search(r"http://127\.0\.0\.1:5000(/s/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_invitation_and_reminder_arrive_once_with_a_working_link(app, smtp_server):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    _enrolled_with_email(app)
    result = app.test_cli_runner().invoke(args=["send-due"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == [EMAIL] and message["Subject"] == "Spørsmål om helsen din"
    path = _link(message)
    client = app.test_client()
    assert client.get(path).headers["Location"].endswith(f"{path}/start")
    # nothing is sent twice, however often send-due runs
    app.test_cli_runner().invoke(args=["send-due"])
    assert len(inbox.messages) == 1
    # after the reminder delay (protocol: 7 days) exactly one reminder, with the same link
    later = utcnow() + dt.timedelta(days=8)
    assert _run(app, later).sent == 1
    assert _run(app, later + dt.timedelta(days=1)).sent == 0
    assert len(inbox.messages) == 2
    reminder = inbox.messages[1][1]
    assert reminder["Subject"].startswith("Påminnelse") and _link(reminder) == path
    with app.app_context():
        expires = db.session.query(Invitation).order_by(Invitation.opens_at).first().expires_at
    last_day = expires.date() - dt.timedelta(days=1)
    months = "januar februar mars april mai juni juli august september oktober november desember"
    written = f"til og med {last_day.day}. {months.split()[last_day.month - 1]} {last_day.year}."
    assert written in message.get_content()  # the last day, written as people write it
    with app.app_context():
        invitation = db.session.query(Invitation).order_by(Invitation.opens_at).first()
        assert invitation.sent_at is not None and invitation.reminded_at is not None
        assert invitation.state == "sent"


def test_messages_never_name_register_instrument_or_diagnosis(app, smtp_server):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    _enrolled_with_email(app)
    _run(app)
    _run(app, utcnow() + dt.timedelta(days=8))
    for _, message in inbox.messages:
        text = (message["Subject"] + message.get_content()).lower()
        for word in ["register", "eq-5d", "oswestry", "odi", "rygg", "lumbar", "kirurgi"]:
            assert word not in text, word
        assert support.UNIT_TITLE.lower() in text  # says who asks


def test_failed_send_stays_queued_and_is_retried(app, smtp_server):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = f"smtp://127.0.0.1:{_free_port()}"
    _enrolled_with_email(app)
    report = _run(app)
    assert (report.sent, report.failed) == (0, 1)
    with app.app_context():
        message = db.session.query(OutboxMessage).filter_by(kind="invitation").one()
        assert message.state == "queued" and message.attempts == 1
        assert "ConnectionRefusedError" in message.last_error
        assert aware(message.send_after) > utcnow()  # backoff: not retried at once
    assert _run(app).failed == 0
    failing = _run(app, utcnow() + dt.timedelta(minutes=2))
    assert failing.failed == 1
    app.config["OPENPROM_SMTP_URL"] = url
    assert _run(app, utcnow() + dt.timedelta(minutes=10)).sent == 1
    assert len(inbox.messages) == 1
    with app.app_context():
        message = db.session.query(OutboxMessage).filter_by(kind="invitation").one()
        assert message.state == "sent" and message.attempts == 3 and message.last_error is None


def test_reminder_is_dropped_when_the_patient_has_answered(app, smtp_server):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    enrolled = _enrolled_with_email(app)
    _run(app)
    with app.app_context():
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        invitation.completed_at = utcnow()
        db.session.commit()
    report = _run(app, utcnow() + dt.timedelta(days=8))
    assert (report.sent, report.dropped) == (0, 1)
    assert len(inbox.messages) == 1


def test_patients_without_address_or_not_yet_due_get_nothing(app, smtp_server):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    with app.app_context():
        support.make_protocol()
        support.enrol_patient()  # no e-mail address
        support.enrol_patient(
            support.SECOND_ID, email=EMAIL, index_date=dt.date.today() + dt.timedelta(days=10)
        )
    assert _run(app).sent == 0
    assert _run(app, utcnow() + dt.timedelta(days=10, hours=1)).sent == 1
    assert inbox.messages[0][0] == [EMAIL]


def test_smtp_url_errors_are_clear(app):
    with pytest.raises(MailConfigError, match="not set"):
        parse_smtp_url(None)
    with pytest.raises(MailConfigError, match="smtp://host:port"):
        parse_smtp_url("http://mail")
    settings = parse_smtp_url("smtps://user:p%40ss@mail.example:2465?from=a@b.no")
    assert (settings.tls, settings.port, settings.password, settings.sender) == (
        True,
        2465,
        "p@ss",
        "a@b.no",
    )
    app.config["OPENPROM_SMTP_URL"] = None
    result = app.test_cli_runner().invoke(args=["send-due"])
    assert result.exit_code != 0 and "OPENPROM_SMTP_URL is not set" in result.output


def test_send_due_marks_unanswered_invitations_past_their_window_expired(app, smtp_server):
    _, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    with app.app_context():
        support.make_protocol()
        old = support.enrol_patient(index_date=dt.date.today() - dt.timedelta(days=40))
    result = app.test_cli_runner().invoke(args=["send-due"])
    assert result.exit_code == 0 and "1 invitation(s) expired" in result.output
    with app.app_context():
        states = [i.state for i in db.session.query(Invitation).order_by(Invitation.opens_at)]
        assert states == ["expired", "scheduled", "scheduled"]
    assert app.test_client().get(f"/s/{old.token}").status_code == 404


def test_reminder_delay_comes_from_the_protocol_and_can_be_switched_off(app, smtp_server):
    from webapp.models import Protocol

    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    with app.app_context():
        support.make_protocol()
        db.session.query(Protocol).one().reminder_days = 3
        db.session.commit()
        support.enrol_patient(email=EMAIL)
        db.session.query(Invitation).update({"token_hash": None})
        db.session.commit()
    now = utcnow()
    assert _run(app, now).sent == 1
    assert _run(app, now + dt.timedelta(days=2, hours=23)).sent == 0
    assert _run(app, now + dt.timedelta(days=3, minutes=1)).sent == 1
    assert [m["Subject"].startswith("Påminnelse") for _, m in inbox.messages] == [False, True]
    with app.app_context():
        db.session.query(Protocol).one().reminder_days = None
        db.session.commit()
        support.enrol_patient(support.SECOND_ID, email="to@example.org")
    assert _run(app, now + dt.timedelta(hours=1)).sent == 1
    assert _run(app, now + dt.timedelta(days=29)).sent == 0
    assert [rcpt for rcpt, _ in inbox.messages][-1] == ["to@example.org"]
    with app.app_context():
        reminders = db.session.query(OutboxMessage).filter(OutboxMessage.kind == "reminder")
        assert reminders.count() == 1  # only the first patient's: no reminder without a delay


def test_invitations_name_the_units_neutral_sender_not_its_specialty(app, smtp_server):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    _enrolled_with_email(app)
    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        unit.title = "Testsykehuset, ryggkirurgisk poliklinikk"
        unit.invitation_sender = "Testsykehuset"
        db.session.commit()
    _run(app)
    (_, message), *_ = inbox.messages
    text = message.get_content()
    assert "Testsykehuset" in text and "ryggkirurgisk" not in text.lower()
