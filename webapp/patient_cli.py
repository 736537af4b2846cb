"""Patient-flow commands: ``enrol``, ``invite``, ``scores``, ``send-due`` and ``worker``.

Register IDs given on the command line are validated, never echoed and never logged:
output names the patient by internal number only.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import signal
import threading

import click
from flask import Flask
from sqlalchemy import select

from webapp.national_id import InvalidNationalId

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _national_id(raw: str):  # type: ignore[no-untyped-def]
    from webapp.national_id import validate

    try:
        return validate(raw)
    except InvalidNationalId as exc:
        raise click.ClickException(
            f"REGISTER_ID is not a valid Norwegian national ID ({exc.reason}); "
            "give the 11 digits of a fødselsnummer, D-number, H-number or FH-number"
        ) from None


def _known_patient(raw: str):  # type: ignore[no-untyped-def]
    from webapp.services.patients import find_patient

    patient = find_patient(_national_id(raw))
    if patient is None:
        raise click.ClickException("no patient with that register ID (enrol the patient first)")
    return patient


def _qr_text(data: str) -> str:
    import qrcode

    qr = qrcode.QRCode(border=2)
    qr.add_data(data)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def register_patient_commands(app: Flask) -> None:
    """Attach the patient-flow commands to ``app.cli``."""

    @app.cli.command("enrol")
    @click.argument("register_id")
    @click.option("--protocol", "protocol_name", required=True, help="protocol name")
    @click.option("--unit", "unit_name", required=True, help="unit name")
    @click.option(
        "--index-date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        help="index date (YYYY-MM-DD, default today in UTC: time points open at midnight UTC)",
    )
    @click.option("--email", help="patient's e-mail address for invitations")
    @click.option("--phone", help="patient's mobile number for SMS invitations (stored encrypted)")
    @click.option("--language", type=click.Choice(["nb", "nn", "en"]), help="patient's language")
    @click.option(
        "--consent-method",
        type=click.Choice(["digital", "paper", "verbal"]),
        help="consent-based registers: how the patient consented",
    )
    @click.option(
        "--consent-date",
        type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
        help="consent-based registers: when (YYYY-MM-DD[THH:MM], UTC; default now)",
    )
    @click.option(
        "--information-version",
        help="consent-based registers: version of the information text the patient read",
    )
    def enrol(
        register_id: str,
        protocol_name: str,
        unit_name: str,
        index_date: dt.datetime | None,
        email: str | None,
        language: str | None,
        phone: str | None = None,
        consent_method: str | None = None,
        consent_date: dt.datetime | None = None,
        information_version: str | None = None,
    ) -> None:
        """Enrol a patient in a protocol at a unit: creates the invitation schedule.

        In a consent-based register the consent is recorded with the enrolment
        (--consent-method and --information-version); without it the enrolment is refused.
        """
        from webapp.extensions import db
        from webapp.models import utcnow
        from webapp.services import audit
        from webapp.services.patients import get_or_create_patient
        from webapp.services.protocols import ProtocolError, enrol, find_protocol, find_unit

        nid = _national_id(register_id)
        try:
            unit = find_unit(unit_name)
            protocol = find_protocol(protocol_name, unit)
            patient, created = get_or_create_patient(nid, email=email)
            if language:
                patient.language = language
            if phone:
                from webapp.services.patient_contact import set_phone
                from webapp.services.sms import InvalidPhone

                try:
                    set_phone(patient, phone)  # as the register admin's page stores it
                except InvalidPhone as exc:
                    raise ProtocolError(f"--phone: {exc}") from None
            consent = None
            if consent_method or information_version:
                from webapp.services.withdrawal import WithdrawalError, record_consent

                if not (consent_method and information_version):
                    raise ProtocolError("give both --consent-method and --information-version")
                try:
                    consent = record_consent(
                        patient,
                        unit.register,
                        given_at=consent_date or utcnow(),
                        method=consent_method,
                        information_version=information_version,
                    )
                except WithdrawalError as exc:
                    raise ProtocolError(str(exc)) from None
            # today in UTC, like the due dates: the baseline link then works at once,
            # also in the hour(s) after local midnight in Norway
            day = index_date.date() if index_date else utcnow().date()
            enrolment = enrol(patient, protocol, unit, day)
        except ProtocolError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        audit.record(
            "enrolment.create",
            actor_type="cli",
            patient_id=patient.id,
            subject=f"enrolment {enrolment.id}",
            details={"protocol": protocol.name, "unit": unit.name},
        )
        if consent is not None:
            audit.record(
                "consent.record",
                actor_type="cli",
                patient_id=patient.id,
                subject=f"register {unit.register.name}",
                details={"method": consent.method, "version": consent.information_version},
            )
        db.session.commit()
        click.echo(
            f"{'new' if created else 'existing'} patient #{patient.id} enrolled in "
            f"{protocol.name} at {unit.name}, index date {day.isoformat()}"
        )
        for invitation in enrolment.invitations:
            click.echo(
                f"  {invitation.time_point.name:10} opens {invitation.opens_at.date()}"
                f"  expires {invitation.expires_at.date()}"
            )

    @app.cli.command("invite")
    @click.argument("register_id")
    @click.option("--time-point", help="time point name (default: the one open now)")
    @click.option("--qr", is_flag=True, help="also print the link as a QR code")
    def invite(register_id: str, time_point: str | None, qr: bool) -> None:
        """Print a new link to a patient's questionnaires (earlier links stop working)."""
        from webapp.extensions import db
        from webapp.models import utcnow
        from webapp.services import audit
        from webapp.services.invitations import (
            InvitationError,
            aware,
            choose_invitation,
            issue_token,
            link_for,
        )
        from webapp.services.outbox import queue_invitation

        patient = _known_patient(register_id)
        try:
            invitation = choose_invitation(patient, time_point)
        except InvitationError as exc:
            raise click.ClickException(str(exc)) from None
        from webapp.services.withdrawal import may_invite

        if not may_invite(invitation):
            raise click.ClickException(
                "no invitation: the patient has withdrawn from the register, or the register"
                " is consent-based and no consent is recorded"
            )
        token = issue_token(invitation)
        queued = queue_invitation(invitation, token)
        audit.record(
            "invitation.issue",
            actor_type="cli",
            patient_id=patient.id,
            subject=f"invitation {invitation.id}",
            details={"time_point": invitation.time_point.name, "emailed": queued},
        )
        db.session.commit()
        link = link_for(token)
        click.echo(link)
        click.echo(
            "note: this link replaces any earlier link to this time point; an earlier link"
            " no longer opens (run invite again only when the patient needs a new link)",
            err=True,
        )
        if aware(invitation.opens_at) > utcnow():
            click.echo(f"note: this link opens on {invitation.opens_at.date()}", err=True)
        if queued:
            click.echo("an e-mail with this link is queued (flask --app wsgi send-due)", err=True)
        if qr:
            click.echo(_qr_text(link))

    @app.cli.command("scores")
    @click.argument("register_id")
    def scores(register_id: str) -> None:
        """Print a patient's responses and scores as JSON (writes an audit event)."""
        from webapp.extensions import db
        from webapp.models import Enrolment, Invitation, Response, Score
        from webapp.services import audit
        from webapp.services.invitations import aware

        patient = _known_patient(register_id)
        rows = db.session.execute(
            select(Response, Invitation, Score)
            .join(Invitation, Response.invitation_id == Invitation.id)
            .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
            .outerjoin(Score, Score.response_id == Response.id)
            .where(Enrolment.patient_id == patient.id, Response.completed_at.is_not(None))
            .order_by(Invitation.opens_at, Response.instrument_id, Score.scale)
        ).all()
        out = []
        for response, invitation, score in rows:
            if score is None:
                continue
            out.append(
                {
                    "instrument": response.instrument_id,
                    "instrument_version": response.instrument_version,
                    "time_point": invitation.time_point.name,
                    "completed_at": aware(response.completed_at).isoformat(),
                    "mode": response.mode,
                    "scale": score.scale,
                    "value": score.text_value if score.value is None else score.value,
                    "value_set": score.value_set or None,
                    "algorithm_version": score.algorithm_version,
                }
            )
        audit.record(
            "scores.cli",
            actor_type="cli",
            patient_id=patient.id,
            subject=f"patient {patient.id}",
            details={"rows": len(out)},
        )
        db.session.commit()
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))

    @app.cli.command("send-due")
    def send_due() -> None:
        """Queue e-mails for invitations that are due and send due messages via SMTP.

        Also marks unanswered invitations whose window has passed as expired. One pass of
        what ``worker`` does forever.
        """
        from webapp.services.jobs import run_due_jobs
        from webapp.services.mailer import MailConfigError

        try:
            report = run_due_jobs()
        except MailConfigError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(_summary(report))
        if report.delivery.failed:
            raise SystemExit(1)

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="one pass, then exit (tests, cron)")
    @click.option(
        "--interval",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        help="seconds between passes",
    )
    def worker(once: bool, interval: float) -> None:
        """Run the scheduled work forever: expire, queue, send, retry, prune.

        Any number of workers may run on any number of hosts: messages are claimed with
        leases, so none is sent twice. SIGTERM (systemd stop) or Ctrl-C ends the worker
        after the message in hand.
        """
        from sqlalchemy.exc import SQLAlchemyError

        from webapp.extensions import db
        from webapp.services.jobs import run_due_jobs
        from webapp.services.mailer import MailConfigError

        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
        click.echo(f"worker {os.getpid()} started (every {interval:g} s)", err=True)
        try:
            while not stop.is_set():
                try:
                    report = run_due_jobs(should_stop=stop.is_set)
                except MailConfigError as exc:
                    raise click.ClickException(str(exc)) from None
                except SQLAlchemyError as exc:  # database away (restart, failover): next pass
                    db.session.rollback()
                    log.warning("worker pass failed: %s", type(exc).__name__)
                else:
                    if report.busy:
                        click.echo(_summary(report))
                finally:
                    db.session.remove()
                if once:
                    break
                stop.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        click.echo(f"worker {os.getpid()} stopped", err=True)


def _summary(report) -> str:  # type: ignore[no-untyped-def]
    d = report.delivery
    return (
        f"queued {report.queued} invitation(s); sent {d.sent}, failed {d.failed}"
        f" (kept for retry), dropped {d.dropped} reminder(s);"
        f" {report.expired} invitation(s) expired"
    )
