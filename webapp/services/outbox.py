"""Outbox of invitation e-mails: queue, deliver due messages, retry failures, never twice.

Queuing an invitation adds two messages at once, both carrying the same link: the
invitation (send now) and one reminder (after the protocol's ``reminder_days``). The
unique (invitation, kind) constraint makes a second queue impossible. Delivery claims a
message (``queued`` -> ``sending``) before talking to the server, so two concurrent
runs never both send it; a failure puts it back to ``queued`` with the error. A reminder
whose invitation was completed or has expired is dropped.

Message texts say who asks and link to the form; they never name a diagnosis, a register
or an instrument.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.i18n import long_date
from webapp.models import Invitation, OutboxMessage, Patient, utcnow
from webapp.services.invitations import aware, issue_token, link_for
from webapp.services.mailer import parse_smtp_url, send_email
from webapp.services.patients import cipher

BODY_CONTEXT = b"outbox-body"
RECIPIENT_CONTEXT = b"outbox-recipient"

TEXTS = {
    "nb": {
        "invitation": "Spørsmål om helsen din",
        "reminder": "Påminnelse: spørsmål om helsen din",
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


def compose(invitation: Invitation, kind: str, link: str) -> tuple[str, str]:
    """Subject and body of an invitation or reminder in the invitation's language."""
    lang = invitation.language if invitation.language in TEXTS else "nb"
    texts = TEXTS[lang]
    until = long_date(aware(invitation.expires_at) - dt.timedelta(days=1), lang)
    unit = invitation.enrolment.unit
    who = unit.invitation_sender or unit.title
    return texts[kind], texts["body"].format(who=who, link=link, until=until)


def queue_invitation(invitation: Invitation, token: str, now: dt.datetime | None = None) -> bool:
    """Queue the invitation e-mail (+ reminder) with ``token``'s link; False without address.

    Messages of this invitation that are still queued get the new link instead (an earlier
    link stops working when a new token is issued).
    """
    now = now or utcnow()
    recipient = email_of(invitation.enrolment.patient)
    if recipient is None:
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
    for kind, send_after in kinds:
        subject, body = compose(invitation, kind, link)
        message = existing.get(kind)
        if message is None:
            db.session.add(
                OutboxMessage(
                    invitation_id=invitation.id,
                    kind=kind,
                    channel="email",
                    recipient_encrypted=c.encrypt(recipient, RECIPIENT_CONTEXT),
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
    """Queue e-mails for scheduled invitations that are open now; returns how many."""
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
        if invitation.enrolment.patient.email_encrypted is None:
            continue
        if queue_invitation(invitation, issue_token(invitation), now):
            count += 1
    db.session.commit()
    return count


def _claim(message_id: int) -> bool:
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == "queued")
        .values(state="sending", attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def deliver_due(now: dt.datetime | None = None) -> DeliveryReport:
    """Send every queued message whose time has come; failures stay queued for a retry."""
    now = now or utcnow()
    settings = parse_smtp_url(current_app.config.get("OPENPROM_SMTP_URL"))
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.state == "queued", OutboxMessage.send_after <= now)
        .order_by(OutboxMessage.send_after, OutboxMessage.id)
    ).all()
    sent = failed = dropped = 0
    c = cipher()
    for message_id in ids:
        message = db.session.get(OutboxMessage, message_id)
        invitation = db.session.get(Invitation, message.invitation_id)
        if message.kind == "reminder" and (
            invitation.completed_at is not None
            or invitation.state == "revoked"
            or now >= aware(invitation.expires_at)
        ):
            message.state = "dropped"
            db.session.commit()
            dropped += 1
            continue
        if not _claim(message_id):
            continue
        db.session.refresh(message)
        try:
            send_email(
                settings,
                c.decrypt(message.recipient_encrypted, RECIPIENT_CONTEXT),
                message.subject,
                c.decrypt(message.body_encrypted, BODY_CONTEXT),
            )
        except (OSError, smtplib.SMTPException) as exc:
            message.state = "queued"
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            failed += 1
        else:
            message.state = "sent"
            message.sent_at = utcnow()
            message.last_error = None
            if message.kind == "invitation":
                invitation.sent_at = message.sent_at
                if invitation.state == "scheduled":
                    invitation.state = "sent"
            else:
                invitation.reminded_at = message.sent_at
            sent += 1
        db.session.commit()
    return DeliveryReport(sent=sent, failed=failed, dropped=dropped)
