"""Database models (SQLAlchemy 2.0 typed mappings). Schema changes go through Alembic.

Register IDs are never stored in clear text: :class:`Patient` keeps the ciphertext and a
keyed blind index. Raw answers in :class:`Response` are never changed after completion;
each :class:`Score` records the algorithm version and value set it was computed with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Delete,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    UniqueConstraint,
    Update,
    event,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from webapp.extensions import db
from webapp.sealed_json import SealedAnswers

ROLES = ("clinician", "unit_lead", "register_admin", "methodologist", "sysadmin")
# ``helsenorge``, ``paper`` and ``external``: answers imported from FHIR (issue 11)
RESPONSE_MODES = ("self", "proxy", "paper", "helsenorge", "external")
INVITATION_STATES = ("scheduled", "sent", "opened", "completed", "expired", "revoked")
LEGAL_BASES = ("consent", "reservation")  # consent / right to object (reservasjonsrett)
CONSENT_METHODS = ("digital", "paper", "verbal")


def utcnow() -> dt.datetime:
    """Timezone-aware current UTC time."""
    return dt.datetime.now(dt.UTC)


class Timestamped:
    """Adds ``created_at``."""

    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Register(Timestamped, db.Model):
    """A national medical quality register (or a research project)."""

    __tablename__ = "register"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # Legal basis of the register (see LEGAL_BASES): consent-based registers record each
    # patient's consent and erase the answers of a patient who withdraws it.
    legal_basis: Mapped[str] = mapped_column(
        String(16), default="reservation", server_default="reservation"
    )
    # Whether exports may carry free-text answers (register file ``export: {free_text:}``).
    export_free_text: Mapped[bool] = mapped_column(default=False, server_default=false())
    units: Mapped[list[Unit]] = relationship(back_populates="register")
    protocols: Mapped[list[Protocol]] = relationship(back_populates="register")


class Unit(Timestamped, db.Model):
    """A hospital department or municipal service that reports to a register."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"), index=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # Who invitations say they come from: a name that reveals no diagnosis or specialty
    # (e.g. "Sykehuset Innlandet", not "... ryggkirurgisk poliklinikk"). None = the title.
    invitation_sender: Mapped[str | None] = mapped_column(String(200))
    # How patients reach the unit (insight and thank-you pages); None = not given.
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_hours: Mapped[str | None] = mapped_column(String(200))  # e.g. "Hverdager 8–15"
    contact_address: Mapped[str | None] = mapped_column(String(300))
    register: Mapped[Register] = relationship(back_populates="units")


class User(Timestamped, db.Model):
    """A clinician, unit lead, register administrator, methodologist or sysadmin."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # The staff language last chosen while signed in (nb, nn, en): monthly e-mails to the
    # user are written in it (None: bokmål).
    language: Mapped[str | None] = mapped_column(String(2))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Legacy clear-text TOTP secret (before migration 0003); moved into
    # ``totp_secret_encrypted`` (AES-GCM with the ID key machinery) at the next use.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The last TOTP time step accepted: a code of that step or earlier is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Set on accounts whose password someone else chose (created by an admin): the owner
    # must choose a new one before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    # A privileged account created on the web waits for a second person's approval.
    pending_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by_id: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class RoleAssignment(db.Model):
    """A role of a user, scoped to a unit (clinician, unit_lead) or register."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "role", "unit_id", "register_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    register_id: Mapped[int | None] = mapped_column(ForeignKey("register.id"))
    user: Mapped[User] = relationship(back_populates="roles")
    unit: Mapped[Unit | None] = relationship()
    register: Mapped[Register | None] = relationship()


class UserSession(db.Model):
    """A server-side clinician session (revocable: logout, disabled user, new password)."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    second_factor_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    user: Mapped[User] = relationship()


class AttemptCounter(db.Model):
    """Database-backed counter of attempts per key and time window (logins, tokens)."""

    __tablename__ = "attempt_counter"
    __table_args__ = (UniqueConstraint("key", "window_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Patient(Timestamped, db.Model):
    """A person with a register ID (encrypted, with a keyed blind index for lookup)."""

    __tablename__ = "patient"
    id: Mapped[int] = mapped_column(primary_key=True)
    national_id_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    national_id_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_kind: Mapped[str] = mapped_column(String(8))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    email_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(2), default="nb")
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="patient")


class Protocol(Timestamped, db.Model):
    """A register's measurement plan: time points relative to an index date."""

    __tablename__ = "protocol"
    __table_args__ = (UniqueConstraint("register_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    reminder_days: Mapped[int | None] = mapped_column(Integer, default=7)
    # The ``adaptive:`` block (scoring.irt.cat.CatSettings fields) for the item banks its
    # time points ask; None = the engine's defaults.
    adaptive: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    register: Mapped[Register] = relationship(back_populates="protocols")
    time_points: Mapped[list[TimePoint]] = relationship(
        back_populates="protocol", order_by="TimePoint.position", cascade="all, delete-orphan"
    )


class TimePoint(db.Model):
    """A measurement time point, e.g. baseline (0 days), 3 months (91 days)."""

    __tablename__ = "time_point"
    __table_args__ = (UniqueConstraint("protocol_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocol.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    offset_days: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    instruments: Mapped[list[str]] = mapped_column(JSON, default=list)
    protocol: Mapped[Protocol] = relationship(back_populates="time_points")


class Enrolment(Timestamped, db.Model):
    """A patient followed by a protocol at a unit from an index date."""

    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("patient_id", "protocol_id", "unit_id", "index_date"),
        # dashboards: enrolments of a unit and protocol by index year (covering)
        Index("ix_enrolment_dashboard", "unit_id", "protocol_id", "index_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocol.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    index_date: Mapped[dt.date] = mapped_column(Date)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    patient: Mapped[Patient] = relationship(back_populates="enrolments")
    protocol: Mapped[Protocol] = relationship()
    unit: Mapped[Unit] = relationship()
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="enrolment", order_by="(Invitation.opens_at, Invitation.id)"
    )


class Invitation(Timestamped, db.Model):
    """An invitation to answer one time point's questionnaires (only the token hash is kept)."""

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "time_point_id"),
        # dashboards: due / closed invitations per time point, unit and index year, read
        # in GROUP BY order from this index alone (no join, no sort); ``id`` for the join
        # to the completed responses
        Index(
            "ix_invitation_rates",
            "time_point_id",
            "unit_id",
            "index_year",
            "opens_at",
            "expires_at",
            "completed_at",
            "id",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    time_point_id: Mapped[int] = mapped_column(ForeignKey("time_point.id"))
    # Copies of the enrolment's unit and index year (neither ever changes), so that the
    # response rates are counted from this table without joining the enrolment. Written
    # with the invitation (:func:`webapp.services.protocols.enrol`, the demo's bulk
    # insert; :func:`_invitation_keys` fills them for any other ORM insert); ``flask
    # verify-scores`` checks that they match.
    unit_id: Mapped[int] = mapped_column(Integer)
    index_year: Mapped[int] = mapped_column(Integer)  # year of the enrolment's index date
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    opens_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    language: Mapped[str | None] = mapped_column(String(2))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    innsyn_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    enrolment: Mapped[Enrolment] = relationship(back_populates="invitations")
    time_point: Mapped[TimePoint] = relationship()
    responses: Mapped[list[Response]] = relationship(back_populates="invitation")


class Response(db.Model):
    """The answers to one instrument within an invitation (draft until completed)."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("invitation_id", "instrument_id"),
        # dashboards: completed responses of an invitation (covering)
        Index("ix_response_dashboard", "invitation_id", "status", "instrument_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(80))
    instrument_hash: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(2))
    mode: Mapped[str] = mapped_column(String(16), default="self")
    proxy_relation: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8), default="draft")
    # texts inside (free-text answers, string codes) are stored encrypted
    answers: Mapped[dict[str, Any]] = mapped_column(SealedAnswers, default=dict)
    current_page: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every page save: a save applies only to the revision it read (no lost
    # update between pages saved at once).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    invitation: Mapped[Invitation] = relationship(back_populates="responses")
    scores: Mapped[list[Score]] = relationship(back_populates="response")


class PageSubmission(db.Model):
    """Idempotency keys of submitted pages: a replayed page submit is recognised."""

    __tablename__ = "page_submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    page: Mapped[int] = mapped_column(Integer)
    # Keyed digest (HMAC-SHA256) of the page's answers: a replay of the key with other answers
    # is a conflict (responses.content_hash).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AdaptiveStep(db.Model):
    """One step of an adaptive (item-bank) response: the item chosen for a page, then the
    answer and the EAP theta and SE after it. A step without an answer is the open page."""

    __tablename__ = "adaptive_step"
    __table_args__ = (UniqueConstraint("response_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"))
    position: Mapped[int] = mapped_column(Integer)  # 0-based order asked
    item_id: Mapped[str] = mapped_column(String(40))
    answer: Mapped[int | None] = mapped_column(Integer)
    theta: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    chosen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Score(db.Model):
    """One score of a completed response, with the algorithm version and value set used."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("response_id", "scale", "value_set"),
        # dashboards: frequency tables per time point, score and unit, and the threshold
        # indicators, read in GROUP BY order from this index alone (no join, no sort)
        Index(
            "ix_score_distribution",
            "protocol_id",
            "time_point_id",
            "instrument_id",
            "scale",
            "value",
            "unit_id",
            "index_year",
            "id",
        ),
        # dashboards: baseline / follow-up pairs per enrolment (change beyond the MID)
        Index(
            "ix_score_change",
            "protocol_id",
            "instrument_id",
            "scale",
            "unit_id",
            "index_year",
            "enrolment_id",
            "time_point_id",
            "value",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    # Copies of the response's instrument and of its invitation's and enrolment's keys
    # (none of them ever changes), so that the dashboards count scores from this table
    # alone. Written with the score (:func:`webapp.services.responses.score_rows`, the
    # demo's bulk insert; :func:`_score_keys` fills them for any other ORM insert);
    # ``flask verify-scores`` checks that they match.
    enrolment_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    protocol_id: Mapped[int] = mapped_column(Integer)
    time_point_id: Mapped[int] = mapped_column(Integer)
    instrument_id: Mapped[str] = mapped_column(String(40))
    index_year: Mapped[int] = mapped_column(Integer)  # year of the enrolment's index date
    scale: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str | None] = mapped_column(String(80))
    algorithm_version: Mapped[str] = mapped_column(String(40))
    value_set: Mapped[str] = mapped_column(String(40), default="")
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    response: Mapped[Response] = relationship(back_populates="scores")


SCORE_KEYS = ("enrolment_id", "unit_id", "protocol_id", "time_point_id", "instrument_id")


def score_keys(response_id: int) -> Select[Any]:
    """The denormalised keys of the scores of a response (and the enrolment's index date)."""
    return (
        select(
            Invitation.enrolment_id,
            Enrolment.unit_id,
            Enrolment.protocol_id,
            Invitation.time_point_id,
            Response.instrument_id,
            Enrolment.index_date,
        )
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .where(Response.id == response_id)
    )


@event.listens_for(Invitation, "before_insert")
def _invitation_keys(_mapper: Any, connection: Any, invitation: Invitation) -> None:
    """Fill the enrolment's unit and index year of an invitation added without them."""
    if invitation.unit_id is not None and invitation.index_year is not None:
        return
    enrolment = invitation.__dict__.get("enrolment")
    if enrolment is None or enrolment.unit_id is None or enrolment.index_date is None:
        enrolment = connection.execute(
            select(Enrolment.unit_id, Enrolment.index_date).where(
                Enrolment.id == invitation.enrolment_id
            )
        ).one()
    invitation.unit_id = enrolment.unit_id
    invitation.index_year = enrolment.index_date.year


@event.listens_for(Score, "before_insert")
def _score_keys(_mapper: Any, connection: Any, score: Score) -> None:
    """Fill the denormalised keys of a score added without them (one query)."""
    if score.index_year is not None and all(getattr(score, k) is not None for k in SCORE_KEYS):
        return
    row = connection.execute(score_keys(score.response_id)).one()
    for name, value in zip(SCORE_KEYS, row, strict=False):
        setattr(score, name, value)
    score.index_year = row.index_date.year


class AuditEvent(db.Model):
    """Who did what to which patient (internal id), when and from where. Append-only."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(Timestamped, db.Model):
    """An e-mail or SMS queued for sending; (invitation, kind) is unique: never sent twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (UniqueConstraint("invitation_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8), default="email")
    recipient_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(String(200))
    body_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    send_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # While ``sending``: the claim expires then (a worker that died); retried after it.
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Consent(db.Model):
    """A patient's consent to a consent-based register: when, how, which information text."""

    __tablename__ = "register_consent"
    __table_args__ = (Index("ix_register_consent_patient", "patient_id", "register_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    given_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(16))  # CONSENT_METHODS
    information_version: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Withdrawal(db.Model):
    """A patient who withdrew from (or objected to) a register: excluded from then on,
    until a register admin reinstates the patient (the row stays as history, with
    ``reinstated_at`` and the reason; only rows without it exclude; migration 0014)."""

    __tablename__ = "register_withdrawal"
    __table_args__ = (
        Index(
            "uq_register_withdrawal_in_force",
            "register_id",
            "patient_id",
            unique=True,
            sqlite_where=text("reinstated_at IS NULL"),
            postgresql_where=text("reinstated_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    reinstated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reinstatement_reason: Mapped[str | None] = mapped_column(String(500))


class ReportNotice(db.Model):
    """The monthly e-mail to a unit lead that a unit's report is ready (one per month)."""

    __tablename__ = "report_notice"
    __table_args__ = (UniqueConstraint("unit_id", "user_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CoverageCount(db.Model):
    """Patients treated at a unit in a year, per the national patient register (NPR)."""

    __tablename__ = "coverage_count"
    __table_args__ = (UniqueConstraint("register_id", "unit_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    year: Mapped[int] = mapped_column(Integer)
    treated: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Timestamped, db.Model):
    """A bearer token of the FHIR API, issued for one register with one scope (read|write).

    Only the SHA-256 of the token is kept; a revoked token is refused from then on.
    """

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    register: Mapped[Register] = relationship()


class ResponseImport(db.Model):
    """A QuestionnaireResponse imported into a register (FHIR file or API): its import key
    (the QR's identifier, else a hash of the resource) makes a second import a no-op."""

    __tablename__ = "response_import"
    __table_args__ = (UniqueConstraint("register_id", "import_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    import_key: Mapped[str] = mapped_column(String(128))
    # Keyed digest (HMAC-SHA256) of the resource as received (plain SHA-256 in rows imported
    # before): the same identifier with other content is refused
    content_hash: Mapped[str] = mapped_column(String(64))
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # file | api
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegisterPseudonym(db.Model):
    """A patient's export pseudonym in one register, kept so that the FHIR API finds a
    pseudonym by index instead of hashing every patient (``key_check``: fingerprint of the
    register's pseudonym key; a row under another key is stale)."""

    __tablename__ = "register_pseudonym"
    __table_args__ = (Index("ix_register_pseudonym_lookup", "register_id", "pseudonym"),)
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32))
    key_check: Mapped[str] = mapped_column(String(16))


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _audit_events_are_never_changed(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit events cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_changes_of_audit_events(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, Update | Delete) and statement.table.name == AuditEvent.__tablename__:
        raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")
