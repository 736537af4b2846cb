"""Outbox of invitation e-mails: queue, deliver due messages, retry failures, never twice.

Queuing an invitation adds two messages at once, both carrying the same link: the
invitation (send now) and one reminder (after the protocol's ``reminder_days``). The
unique (invitation, kind) constraint makes a second queue impossible. Delivery claims a
message (``queued`` -> ``sending`` with a lease) before talking to the server, so several
workers on several hosts never both send it; a failure puts it back to ``queued`` with the
error and an exponential backoff; a message left ``sending`` by a dead worker is retried
when its lease ends. A reminder whose invitation was completed or has expired is dropped.

Message texts say who asks and link to the form; they never name a diagnosis, a register
or an instrument.

SMS (when ``OPENPROM_SMS_URL`` is set and the patient has a phone number) go through the
same outbox, as messages of channel ``sms`` and kinds ``sms-invitation``/``sms-reminder``:
a short text with who asks, the link and its last day (:mod:`webapp.services.sms`).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.i18n import long_date
from webapp.models import Invitation, OutboxMessage, Patient, utcnow
from webapp.services.invitations import aware, issue_token, link_for
from webapp.services.mailer import SmtpSettings, parse_smtp_url, send_email
from webapp.services.patients import cipher
from webapp.services.sms import PHONE_CONTEXT, SmsConfigError, parse_sms_url, send_sms
from webapp.services.withdrawal import may_invite

log = logging.getLogger(__name__)

BODY_CONTEXT = b"outbox-body"
LEASE = 300  # seconds a claim lasts (OPENPROM_OUTBOX_LEASE); longer than any SMTP send
CLAIM_BATCH = 20
MAX_ATTEMPTS = 10
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=6)
RECIPIENT_CONTEXT = b"outbox-recipient"

TEXTS = {
    "nb": {
        "invitation": "Spørsmål om helsen din",
        "reminder": "Påminnelse: spørsmål om helsen din",
        "sms": "{who} ber deg svare på noen spørsmål om hvordan du har det: {link} "
        "Lenken er personlig og virker til og med {until}.",
        "sms-reminder": "Påminnelse: ",
        "body": (
            "Hei!\n\n{who} ber deg svare på noen spørsmål om hvordan du har det.\n"
            "Det tar omtrent 10 minutter. Du trenger ingen brukerkonto.\n\n"
            "Åpne skjemaet her:\n{link}\n\n"
            "Lenken er personlig. Den virker til og med {until}.\n\n"
            "Vennlig hilsen\n{who}\n"
        ),
    },
    "nn": {
        "invitation": "Spørsmål om helsa di",
        "reminder": "Påminning: spørsmål om helsa di",
        "sms": "{who} ber deg svare på nokre spørsmål om korleis du har det: {link} "
        "Lenka er personleg og verkar til og med {until}.",
        "sms-reminder": "Påminning: ",
        "body": (
            "Hei!\n\n{who} ber deg svare på nokre spørsmål om korleis du har det.\n"
            "Det tek om lag 10 minutt. Du treng ingen brukarkonto.\n\n"
            "Opne skjemaet her:\n{link}\n\n"
            "Lenka er personleg. Ho verkar til og med {until}.\n\n"
            "Venleg helsing\n{who}\n"
        ),
    },
    "en": {
        "invitation": "Questions about your health",
        "reminder": "Reminder: questions about your health",
        "sms": "{who} asks you to answer a few questions about how you are: {link} "
        "The link is personal and works until {until}.",
        "sms-reminder": "Reminder: ",
        "body": (
            "Hello,\n\n{who} asks you to answer a few questions about how you are.\n"
            "It takes about 10 minutes. You need no user account.\n\n"
            "Open the form here:\n{link}\n\n"
            "The link is personal. It works until {until}.\n\n"
            "Kind regards\n{who}\n"
        ),
    },
}


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0


def email_of(patient: Patient) -> str | None:
    """The patient's e-mail address, or None."""
    if patient.email_encrypted is None:
        return None
    return cipher().decrypt(patient.email_encrypted, b"email")


def phone_of(patient: Patient) -> str | None:
    """The patient's phone number (E.164), or None; None also when SMS is not configured."""
    if patient.phone_encrypted is None or not current_app.config.get("OPENPROM_SMS_URL"):
        return None
    return cipher().decrypt(patient.phone_encrypted, PHONE_CONTEXT)


def compose_sms(invitation: Invitation, kind: str, link: str) -> str:
    """The SMS text of an invitation or reminder: who asks, the link, its last day."""
    lang = invitation.language if invitation.language in TEXTS else "nb"
    texts = TEXTS[lang]
    until = long_date(aware(invitation.expires_at) - dt.timedelta(days=1), lang)
    unit = invitation.enrolment.unit
    who = unit.invitation_sender or unit.title
    prefix = texts["sms-reminder"] if kind == "reminder" else ""
    return prefix + texts["sms"].format(who=who, link=link, until=until)


def compose(invitation: Invitation, kind: str, link: str) -> tuple[str, str]:
    """Subject and body of an invitation or reminder in the invitation's language."""
    lang = invitation.language if invitation.language in TEXTS else "nb"
    texts = TEXTS[lang]
    until = long_date(aware(invitation.expires_at) - dt.timedelta(days=1), lang)
    unit = invitation.enrolment.unit
    who = unit.invitation_sender or unit.title
    return texts[kind], texts["body"].format(who=who, link=link, until=until)


def queue_invitation(invitation: Invitation, token: str, now: dt.datetime | None = None) -> bool:
    """Queue the invitation e-mail and/or SMS (+ reminders) with ``token``'s link; False
    without an address (no e-mail, and no phone number or no SMS gateway).

    Messages of this invitation that are still queued get the new link instead (an earlier
    link stops working when a new token is issued).
    """
    now = now or utcnow()
    recipient = email_of(invitation.enrolment.patient)
    phone = phone_of(invitation.enrolment.patient)
    if recipient is None and phone is None:
        return False
    link = link_for(token)
    c = cipher()
    existing = {
        m.kind: m
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.invitation_id == invitation.id)
        )
    }
    kinds = [("invitation", max(now, aware(invitation.opens_at)))]
    reminder_days = invitation.enrolment.protocol.reminder_days
    if reminder_days:
        kinds.append(("reminder", kinds[0][1] + dt.timedelta(days=reminder_days)))
    channels = [("email", "", recipient)] if recipient else []
    if phone:
        channels.append(("sms", "sms-", phone))
    for channel, prefix, address in channels:
        for kind, send_after in kinds:
            if channel == "sms":
                subject, body = "", compose_sms(invitation, kind, link)
            else:
                subject, body = compose(invitation, kind, link)
            message = existing.get(prefix + kind)
            if message is None:
                db.session.add(
                    OutboxMessage(
                        invitation_id=invitation.id,
                        kind=prefix + kind,
                        channel=channel,
                        recipient_encrypted=c.encrypt(address, RECIPIENT_CONTEXT),
                        subject=subject,
                        body_encrypted=c.encrypt(body, BODY_CONTEXT),
                        state="queued",
                        send_after=send_after,
                    )
                )
            elif message.state == "queued":
                message.body_encrypted = c.encrypt(body, BODY_CONTEXT)
    db.session.flush()
    return True


def queue_due(now: dt.datetime | None = None) -> int:
    """Queue e-mails for scheduled invitations that are open now; returns how many.

    Safe with several workers at once: each invitation is queued in its own savepoint
    after its row is locked, so only one of two racing workers queues it and the link in
    the e-mail is the one that works (the loser's new token is rolled back).
    """
    now = now or utcnow()
    due = db.session.scalars(
        select(Invitation).where(
            Invitation.state == "scheduled",
            Invitation.completed_at.is_(None),
            Invitation.opens_at <= now,
            Invitation.expires_at > now,
            ~select(OutboxMessage.id).where(OutboxMessage.invitation_id == Invitation.id).exists(),
        )
    ).all()
    count = 0
    for invitation in due:
        patient = invitation.enrolment.patient
        if patient.email_encrypted is None and phone_of(patient) is None:
            continue
        if not may_invite(invitation):  # withdrawn, or no consent in a consent register
            continue
        savepoint = db.session.begin_nested()
        try:
            # the new token's UPDATE locks the invitation (a racing worker waits here);
            # only then look again whether that worker has queued it meanwhile
            token = issue_token(invitation)
            taken = db.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.invitation_id == invitation.id)
            )
            if taken is not None or not queue_invitation(invitation, token, now):
                savepoint.rollback()  # keeps the other worker's link
                continue
            savepoint.commit()
        except IntegrityError:  # another worker queued this invitation first
            savepoint.rollback()
            continue
        count += 1
    db.session.commit()
    return count


def lease_time() -> dt.timedelta:
    """How long a claimed message stays ``sending`` before another worker may retry it."""
    return dt.timedelta(seconds=int(current_app.config.get("OPENPROM_OUTBOX_LEASE", LEASE)))


def backoff(attempts: int) -> dt.timedelta:
    """Delay before retry number ``attempts``: 1, 2, 4, ... minutes, at most 6 hours."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Queued and due, or ``sending`` with an expired lease (its worker died)."""
    return or_(
        and_(OutboxMessage.state == "queued", OutboxMessage.send_after <= now),
        and_(OutboxMessage.state == "sending", OutboxMessage.lease_until < now),
    )


def claim(now: dt.datetime, limit: int = CLAIM_BATCH) -> list[tuple[int, dt.datetime]]:
    """Claim up to ``limit`` due messages for this worker: (id, lease) pairs, committed.

    A claimed message is ``sending`` until its lease ends. On PostgreSQL the candidates
    are locked with ``FOR UPDATE SKIP LOCKED`` (workers take disjoint batches without
    waiting); everywhere the claim is a conditional UPDATE that only succeeds while the
    message is still due, so two workers never both claim one message.
    """
    lease = now + lease_time()
    query = (
        select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.send_after, OutboxMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = db.session.scalars(query).all()
    claimed = []
    for message_id in candidates:
        won = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due(now))
            .values(state="sending", lease_until=lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 1:
            claimed.append((message_id, lease))
    db.session.commit()
    return claimed


def _finish(message_id: int, lease: dt.datetime, **values: object) -> bool:
    """Record the outcome of a claim, unless the lease was lost to another worker."""
    done = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.state == "sending",
            OutboxMessage.lease_until == lease,
        )
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def _deliver_one(
    message_id: int, lease: dt.datetime, settings: SmtpSettings, now: dt.datetime
) -> str:
    """Send one claimed message; returns ``sent``, ``failed``, ``dropped`` or ``lost``."""
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    invitation = (
        db.session.get(Invitation, message.invitation_id) if message.invitation_id else None
    )
    if (
        invitation is not None
        and message.kind.endswith("reminder")
        and (
            invitation.completed_at is not None
            or invitation.state == "revoked"
            or now >= aware(invitation.expires_at)
        )
    ):
        outcome = "dropped" if _finish(message_id, lease, state="dropped") else "lost"
        db.session.commit()
        return outcome
    c = cipher()
    try:
        recipient = c.decrypt(message.recipient_encrypted, RECIPIENT_CONTEXT)
        body = c.decrypt(message.body_encrypted, BODY_CONTEXT)
        if message.channel == "sms":
            send_sms(parse_sms_url(current_app.config.get("OPENPROM_SMS_URL")), recipient, body)
        else:
            send_email(settings, recipient, message.subject, body)
    except (OSError, smtplib.SMTPException, SmsConfigError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        gave_up = message.attempts >= MAX_ATTEMPTS
        _finish(
            message_id,
            lease,
            state="failed" if gave_up else "queued",
            send_after=now + backoff(message.attempts),
            last_error=error,
        )
        db.session.commit()
        log.warning(
            "outbox message %s: attempt %s failed (%s)%s",
            message_id,
            message.attempts,
            type(exc).__name__,
            "; giving up" if gave_up else "",
        )
        return "failed"
    sent_at = utcnow()
    if not _finish(message_id, lease, state="sent", sent_at=sent_at, last_error=None):
        db.session.rollback()
        return "lost"
    if invitation is None:  # not about an invitation (e.g. the monthly report notice)
        pass
    elif message.kind.endswith("invitation"):
        invitation.sent_at = sent_at
        if invitation.state == "scheduled":
            invitation.state = "sent"
    else:
        invitation.reminded_at = sent_at
    db.session.commit()
    return "sent"


def deliver_due(
    now: dt.datetime | None = None, *, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """Claim and send due messages in batches until none is left (or ``should_stop``).

    A failure puts the message back to ``queued`` with ``send_after`` moved by
    :func:`backoff` (after MAX_ATTEMPTS it is ``failed``); a message whose worker died
    while ``sending`` is taken again once its lease has ended. A message is sent twice
    only when a worker dies after the SMTP server accepted it and before it was marked
    ``sent``.
    """
    settings = parse_smtp_url(current_app.config.get("OPENPROM_SMTP_URL"))
    counts = {"sent": 0, "failed": 0, "dropped": 0, "lost": 0}
    while not (should_stop and should_stop()):
        moment = now or utcnow()
        batch = claim(moment)
        if not batch:
            break
        for message_id, lease in batch:
            counts[_deliver_one(message_id, lease, settings, moment)] += 1
        if now is not None and len(batch) < CLAIM_BATCH:
            break
    return DeliveryReport(sent=counts["sent"], failed=counts["failed"], dropped=counts["dropped"])
