"""SMS invitations through an HTTP gateway on loopback (a tiny http.server thread that
records what it was sent), through the same outbox and worker as e-mail."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, OutboxMessage, Patient, utcnow
from webapp.services import outbox
from webapp.services.sms import (
    InvalidPhone,
    SmsConfigError,
    normalise_phone,
    parse_sms_url,
)

PHONE = "912 34 567"
E164 = "+4791234567"


class Gateway:
    """What the loopback gateway received; ``fail`` answers that many posts with 503."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.fail = 0


@pytest.fixture
def gateway():  # type: ignore[no-untyped-def]
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail:
                state.fail -= 1
                self.send_response(503)
                self.end_headers()
                return
            state.received.append(json.loads(body))
            state.headers.append(dict(self.headers))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://sms:secret@127.0.0.1:{server.server_address[1]}/send?from=Sykehuset"
    server.shutdown()
    server.server_close()


def _enrol_by_cli(app, phone: str = PHONE):  # type: ignore[no-untyped-def]
    with app.app_context():
        support.make_protocol()
    return app.test_cli_runner().invoke(
        args=["enrol", support.PATIENT_ID, "--protocol", "lumbar", "--unit", "unit-1",
              "--phone", phone]
    )  # fmt: skip


def _run(app, now: dt.datetime | None = None) -> outbox.DeliveryReport:  # type: ignore[no-untyped-def]
    with app.app_context():
        outbox.queue_due(now)
        return outbox.deliver_due(now)


def test_sms_invitation_and_reminder_reach_the_gateway_with_a_working_link(app, gateway):
    state, url = gateway
    app.config["OPENPROM_SMS_URL"] = url
    app.config["OPENPROM_SMTP_URL"] = "smtp://127.0.0.1:9"  # no e-mail address: never used
    result = _enrol_by_cli(app)
    assert result.exit_code == 0, result.output
    assert PHONE not in result.output and E164 not in result.output
    sent = app.test_cli_runner().invoke(args=["send-due"])
    assert sent.exit_code == 0 and "sent 1" in sent.output, sent.output
    assert len(state.received) == 1
    message = state.received[0]
    assert message["to"] == E164 and message["from"] == "Sykehuset"
    assert state.headers[0]["Authorization"] == "Basic c21zOnNlY3JldA=="  # base64("sms:secret")
    text = message["text"]
    assert len(text) <= 306  # at most two SMS segments
    assert support.UNIT_TITLE in text  # says who asks
    for word in ["register", "eq-5d", "oswestry", "odi", "rygg", "lumbar", "kirurgi"]:
        assert word not in text.lower(), word
    with app.app_context():
        expires = db.session.scalars(select(Invitation).order_by(Invitation.opens_at)).first()
        last_day = expires.expires_at.date() - dt.timedelta(days=1)
    assert f"til og med {last_day.day}." in text and str(last_day.year) in text  # expiry
    link = re.search(r"http://127\.0\.0\.1:5000(/s/[A-Za-z0-9_-]+)", text)
    assert link, text
    assert app.test_client().get(link.group(1)).headers["Location"].endswith("/start")
    # one reminder after 7 days, same link; nothing twice
    assert _run(app, utcnow() + dt.timedelta(days=8)).sent == 1
    assert _run(app, utcnow() + dt.timedelta(days=9)).sent == 0
    assert len(state.received) == 2
    assert state.received[1]["text"].startswith("Påminnelse: ")
    assert link.group(1) in state.received[1]["text"]
    with app.app_context():
        kinds = {(m.channel, m.kind, m.state) for m in db.session.scalars(select(OutboxMessage))}
        assert kinds == {("sms", "sms-invitation", "sent"), ("sms", "sms-reminder", "sent")}
        # the phone number is stored encrypted, like every other identifier
        patient = db.session.scalar(select(Patient))
        for blob in [patient.phone_encrypted]:
            assert b"91234567" not in blob and E164.encode() not in blob
        for m in db.session.scalars(select(OutboxMessage)):
            assert b"91234567" not in m.recipient_encrypted
            assert outbox.phone_of(patient) == E164


def test_gateway_failure_is_retried_with_backoff_like_email(app, gateway):
    state, url = gateway
    app.config["OPENPROM_SMS_URL"] = url
    app.config["OPENPROM_SMTP_URL"] = "smtp://127.0.0.1:9"
    assert _enrol_by_cli(app).exit_code == 0
    state.fail = 1
    now = utcnow()
    report = _run(app, now)
    assert (report.sent, report.failed) == (0, 1)
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "sms-invitation")
        )
        assert message.state == "queued" and message.attempts == 1
        assert message.last_error == "SmsSendError: SMS gateway answered 503"
        send_after = message.send_after
    assert not state.received
    # not before the backoff (1 minute), then sent
    assert _run(app, now + dt.timedelta(seconds=30)).sent == 0
    assert _run(app, now + dt.timedelta(minutes=2)).sent == 1
    assert len(state.received) == 1
    assert send_after.replace(tzinfo=dt.UTC) - now == dt.timedelta(minutes=1)


def test_no_sms_without_a_gateway_and_no_message_to_an_unreachable_one(app, gateway):
    state, url = gateway
    app.config["OPENPROM_SMTP_URL"] = "smtp://127.0.0.1:9"
    app.config["OPENPROM_SMS_URL"] = None
    assert _enrol_by_cli(app).exit_code == 0
    with app.app_context():
        assert outbox.queue_due() == 0  # a phone number but no gateway: nothing queued
    app.config["OPENPROM_SMS_URL"] = "http://127.0.0.1:9/send"  # nothing listens there
    report = _run(app)
    assert (report.sent, report.failed) == (0, 1)
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
        assert message.last_error.startswith("SmsSendError: SMS gateway unreachable")


def test_bad_phone_number_is_refused_and_nothing_is_stored(app):
    result = _enrol_by_cli(app, "12345")
    assert result.exit_code != 0 and "--phone: not a phone number" in result.output
    with app.app_context():
        assert db.session.scalar(select(Patient)) is None


def test_phone_numbers_and_gateway_urls():
    assert normalise_phone("912 34 567") == E164
    assert normalise_phone("0047 912 34 567") == E164
    assert normalise_phone("+46 70 123 45 67") == "+46701234567"
    for bad in ["", "12345", "+47 abc", "０９１２３４５６７", "+0 12345678"]:
        with pytest.raises(InvalidPhone):
            normalise_phone(bad)
    settings = parse_sms_url("https://u:p%40ss@gw.example:8443/api/sms?from=Ahus&x=1")
    assert settings.url == "https://gw.example:8443/api/sms?x=1"
    assert (settings.username, settings.password, settings.sender) == ("u", "p@ss", "Ahus")
    for bad in [None, "", "ftp://gw/x", "file:///etc/passwd", "http:///nohost"]:
        with pytest.raises(SmsConfigError):
            parse_sms_url(bad)
