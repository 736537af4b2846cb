"""Legal basis, consent and withdrawal: who may be invited, and leaving a register.

A register is either consent-based (``consent``: each patient's consent is recorded at
enrolment, with when, how and the version of the information text; invitations need it)
or based on a right to object (``reservation``). A patient who withdraws the consent or
objects (:func:`withdraw`) is, from then on and for that register only:

- never invited again: open invitations are revoked (their links stop working), queued
  messages are dropped, a new enrolment is refused;
- left out of every export, dashboard, indicator and report: their scores are deleted
  (they are derived data) and the rate counts leave out their invitations
  (:func:`withdrawn_invitations`);
- erased when asked for (``erase``) or when the basis requires it (a consent-based
  register: without consent there is no basis to keep the answers): responses, scores,
  invitations, messages and enrolments of that register are deleted.

The audit log keeps that it happened (patient by internal number, register, counts), not
the data.

A withdrawal can be undone by a register admin (:func:`reinstate`, with a reason): the
withdrawal row stays as history with ``reinstated_at``; only rows without it exclude
(:data:`IN_FORCE`). The patient is back in every export and report (the kept answers are
scored again); revoked invitations and dropped messages are not revived. In a
consent-based register a consent recorded before the withdrawal no longer counts: a new
one is recorded after the reinstatement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, delete, exists, func, or_, select, update

from webapp.extensions import db
from webapp.models import (
    CONSENT_METHODS,
    Consent,
    Enrolment,
    Invitation,
    OutboxMessage,
    PageSubmission,
    Patient,
    Register,
    RegisterPseudonym,
    Response,
    Score,
    Unit,
    Withdrawal,
    utcnow,
)
from webapp.services import audit

PENDING_MESSAGE_STATES = ("queued", "sending")
IN_FORCE = Withdrawal.reinstated_at.is_(None)  # a withdrawal not undone
MAX_REASON = 500
OPEN_INVITATION_STATES = ("scheduled", "sent", "opened")


class WithdrawalError(ValueError):
    """A withdrawal or consent that cannot be recorded (the message says why)."""


@dataclass(frozen=True)
class WithdrawalResult:
    """What a withdrawal changed (counts only)."""

    erased: bool
    enrolments: int
    invitations_revoked: int
    messages_dropped: int
    scores_deleted: int
    responses_deleted: int

    def as_details(self) -> dict[str, int | bool]:
        """The counts for the audit log (no data)."""
        return {
            "erased": self.erased,
            "enrolments": self.enrolments,
            "invitations_revoked": self.invitations_revoked,
            "messages_dropped": self.messages_dropped,
            "scores_deleted": self.scores_deleted,
            "responses_deleted": self.responses_deleted,
        }


def withdrawn_patients(register_id: int) -> Select[tuple[int]]:
    """Ids of the patients withdrawn from the register (a subquery for ``not_in``)."""
    return select(Withdrawal.patient_id).where(Withdrawal.register_id == register_id, IN_FORCE)


def withdrawn_invitations(register_id: int) -> Select[tuple[int]]:
    """Ids of the invitations of withdrawn patients at the register's units."""
    return (
        select(Invitation.id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .join(Withdrawal, Withdrawal.patient_id == Enrolment.patient_id)
        .join(Unit, Unit.id == Enrolment.unit_id)
        .where(Withdrawal.register_id == register_id, Unit.register_id == register_id, IN_FORCE)
    )


def is_withdrawn(patient_id: int, register_id: int) -> bool:
    """Whether the patient has withdrawn from (objected to) the register."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Withdrawal.patient_id == patient_id,
                    Withdrawal.register_id == register_id,
                    IN_FORCE,
                )
            )
        )
    )


def withdrawn_register_ids(patient_id: int) -> set[int]:
    """The registers the patient has withdrawn from."""
    return set(
        db.session.scalars(
            select(Withdrawal.register_id).where(Withdrawal.patient_id == patient_id, IN_FORCE)
        )
    )


def _in_force(patient_id: int, register_id: int) -> Withdrawal | None:
    """The patient's withdrawal from the register that is not undone, if any."""
    return db.session.scalar(
        select(Withdrawal).where(
            Withdrawal.patient_id == patient_id, Withdrawal.register_id == register_id, IN_FORCE
        )
    )


def erasure_required(register: Register) -> bool:
    """Whether the register's legal basis requires erasing the answers on withdrawal.

    A consent-based register has no basis left for the answers once consent is
    withdrawn; a register with a right to object erases only when asked to.
    """
    return register.legal_basis == "consent"


# -- consent ------------------------------------------------------------------------------


def record_consent(
    patient: Patient,
    register: Register,
    *,
    given_at: dt.datetime,
    method: str,
    information_version: str,
) -> Consent:
    """Record a patient's consent to a consent-based register (not committed)."""
    if register.legal_basis != "consent":
        raise WithdrawalError(f"register {register.name!r} is not consent-based")
    if method not in CONSENT_METHODS:
        raise WithdrawalError(
            f"consent method must be one of {', '.join(CONSENT_METHODS)} (got {method!r})"
        )
    version = information_version.strip()
    if not version or len(version) > 40:
        raise WithdrawalError("give the version of the information text (1-40 characters)")
    if given_at.tzinfo is None:
        given_at = given_at.replace(tzinfo=dt.UTC)
    if given_at > utcnow() + dt.timedelta(minutes=5):
        raise WithdrawalError("the consent date lies in the future")
    if is_withdrawn(patient.id, register.id):
        raise WithdrawalError("the patient has withdrawn from this register")
    consent = Consent(
        patient_id=patient.id,
        register_id=register.id,
        given_at=given_at,
        method=method,
        information_version=version,
    )
    db.session.add(consent)
    db.session.flush()
    return consent


def has_consent(patient_id: int, register_id: int) -> bool:
    """Whether a consent of the patient to the register is recorded (after the latest
    reinstatement, if the patient once withdrew: that withdrawal ended earlier consents)."""
    reinstated = (
        select(func.max(Withdrawal.reinstated_at))
        .where(Withdrawal.patient_id == patient_id, Withdrawal.register_id == register_id)
        .scalar_subquery()
    )
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Consent.patient_id == patient_id,
                    Consent.register_id == register_id,
                    or_(reinstated.is_(None), Consent.recorded_at > reinstated),
                )
            )
        )
    )


def may_invite(invitation: Invitation) -> bool:
    """Whether the invitation may be sent: not withdrawn, and consent where required."""
    enrolment = invitation.enrolment
    register = enrolment.unit.register
    if is_withdrawn(enrolment.patient_id, register.id):
        return False
    return register.legal_basis != "consent" or has_consent(enrolment.patient_id, register.id)


def check_enrolment(patient: Patient, register: Register) -> None:
    """Refuse enrolling a withdrawn patient, or one without consent in a consent register."""
    if is_withdrawn(patient.id, register.id):
        raise WithdrawalError(
            f"the patient has withdrawn from register {register.name!r} and cannot be enrolled"
        )
    if register.legal_basis == "consent" and not has_consent(patient.id, register.id):
        raise WithdrawalError(
            f"register {register.name!r} is consent-based: record the consent first "
            "(--consent-method, --consent-date, --information-version)"
        )


# -- withdrawal ---------------------------------------------------------------------------


def withdraw(
    patient: Patient,
    register: Register,
    *,
    erase: bool = False,
    actor_type: str = "cli",
    actor_id: int | None = None,
    actor_label: str = "",
    now: dt.datetime | None = None,
) -> WithdrawalResult:
    """Withdraw ``patient`` from ``register`` (see the module docs); audited, not committed.

    Withdrawing again is allowed: it erases what a first withdrawal without erasure kept.
    """
    now = now or utcnow()
    erase = erase or erasure_required(register)
    enrolment_ids = list(
        db.session.scalars(
            select(Enrolment.id)
            .join(Unit, Unit.id == Enrolment.unit_id)
            .where(Enrolment.patient_id == patient.id, Unit.register_id == register.id)
        )
    )
    existing = _in_force(patient.id, register.id)
    if existing is not None and (existing.erased or not erase):
        raise WithdrawalError("the patient has already withdrawn from this register")
    if not enrolment_ids and existing is None:
        raise WithdrawalError(f"the patient is not enrolled in register {register.name!r}")
    invitation_ids = select(Invitation.id).where(Invitation.enrolment_id.in_(enrolment_ids))
    response_ids = select(Response.id).where(Response.invitation_id.in_(invitation_ids))
    messages = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.invitation_id.in_(invitation_ids),
            OutboxMessage.state.in_(PENDING_MESSAGE_STATES),
        )
        .values(state="dropped", lease_until=None, last_error="withdrawn")
        .execution_options(synchronize_session=False)
    ).rowcount
    revoked = db.session.execute(
        update(Invitation)
        .where(Invitation.id.in_(invitation_ids), Invitation.state.in_(OPEN_INVITATION_STATES))
        .values(state="revoked")
        .execution_options(synchronize_session=False)
    ).rowcount
    # no link of the register works any more (also not the patient's own results view)
    db.session.execute(
        update(Invitation)
        .where(Invitation.id.in_(invitation_ids))
        .values(token_hash=None, innsyn_until=None)
        .execution_options(synchronize_session=False)
    )
    scores = db.session.execute(
        delete(Score)
        .where(Score.response_id.in_(response_ids))
        .execution_options(synchronize_session=False)
    ).rowcount
    responses = 0
    if erase:
        responses = _erase(enrolment_ids, invitation_ids, response_ids)
        # the register's export pseudonym of the patient goes with the data (written again
        # by the lookup's fill if the patient is ever enrolled in the register again)
        db.session.execute(
            delete(RegisterPseudonym).where(
                RegisterPseudonym.register_id == register.id,
                RegisterPseudonym.patient_id == patient.id,
            )
        )
    if existing is None:
        db.session.add(
            Withdrawal(patient_id=patient.id, register_id=register.id, at=now, erased=erase)
        )
    else:
        existing.erased = True
    result = WithdrawalResult(erase, len(enrolment_ids), revoked, messages, scores, responses)
    audit.record(
        "register.withdraw",
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        patient_id=patient.id,
        subject=f"register {register.name}",
        details=result.as_details(),
    )
    db.session.flush()
    db.session.expire_all()
    return result


@dataclass(frozen=True)
class ReinstatementResult:
    """What a reinstatement changed (counts only)."""

    withdrawn_at: dt.datetime
    erased: bool
    responses_rescored: int
    scores_restored: int

    def as_details(self) -> dict[str, int | bool | str]:
        """For the audit log (no data, no reason text)."""
        return {
            "withdrawn_on": self.withdrawn_at.date().isoformat(),
            "erased": self.erased,
            "responses_rescored": self.responses_rescored,
            "scores_restored": self.scores_restored,
        }


def reinstate(
    patient: Patient,
    register: Register,
    *,
    reason: str,
    actor_type: str = "cli",
    actor_id: int | None = None,
    actor_label: str = "",
    now: dt.datetime | None = None,
) -> ReinstatementResult:
    """Undo the patient's withdrawal from the register; audited, not committed.

    The withdrawal row is kept (``reinstated_at``, ``reinstatement_reason``). Kept answers
    (a withdrawal without erasure) are scored again, so the patient is back in exports,
    dashboards and reports. Revoked invitations, their links and dropped messages stay as
    they are; erased answers are gone. A consent-based register needs a new consent.
    """
    text = " ".join((reason or "").split())
    if not text:
        raise WithdrawalError("give the reason for the reinstatement")
    if len(text) > MAX_REASON:
        raise WithdrawalError(f"the reason is too long (at most {MAX_REASON} characters)")
    withdrawal = _in_force(patient.id, register.id)
    if withdrawal is None:
        raise WithdrawalError(f"the patient has not withdrawn from register {register.name!r}")
    withdrawal.reinstated_at = now or utcnow()
    withdrawal.reinstatement_reason = text
    db.session.flush()
    responses, scores = _rescore(patient.id, register.id)
    result = ReinstatementResult(withdrawal.at, withdrawal.erased, responses, scores)
    audit.record(
        "register.reinstate",
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        patient_id=patient.id,
        subject=f"register {register.name}",
        details=result.as_details(),
    )
    db.session.flush()
    return result


def _rescore(patient_id: int, register_id: int) -> tuple[int, int]:
    """Score the patient's complete responses in the register that have no scores (the
    withdrawal deleted them); (responses, score rows)."""
    from webapp.services.responses import score_rows  # responses -> adaptive -> here

    responses = db.session.scalars(
        select(Response)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(Enrolment, Enrolment.id == Invitation.enrolment_id)
        .join(Unit, Unit.id == Enrolment.unit_id)
        .where(
            Enrolment.patient_id == patient_id,
            Unit.register_id == register_id,
            Response.status == "complete",
            ~exists().where(Score.response_id == Response.id),
        )
        .order_by(Response.id)
    ).all()
    rows = [row for response in responses for row in score_rows(response)]
    db.session.add_all(rows)
    return len(responses), len(rows)


def _erase(
    enrolment_ids: list[int], invitation_ids: Select[tuple[int]], response_ids: Select[tuple[int]]
) -> int:
    """Delete the responses, messages, invitations and enrolments (children first)."""
    for table in _referencing("response"):
        db.session.execute(delete(table).where(_column_to(table, "response").in_(response_ids)))
    db.session.execute(
        delete(PageSubmission)
        .where(PageSubmission.response_id.in_(response_ids))
        .execution_options(synchronize_session=False)
    )
    responses = db.session.execute(
        delete(Response)
        .where(Response.invitation_id.in_(invitation_ids))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.invitation_id.in_(invitation_ids))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(Invitation)
        .where(Invitation.enrolment_id.in_(enrolment_ids))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(Enrolment)
        .where(Enrolment.id.in_(enrolment_ids))
        .execution_options(synchronize_session=False)
    )
    return responses


KNOWN_RESPONSE_CHILDREN = frozenset({"score", "page_submission"})


def _referencing(table_name: str) -> list:  # type: ignore[type-arg]
    """Other tables with a foreign key to ``table_name`` (e.g. imported-response records),
    so that erasure also removes rows added by later features."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name in KNOWN_RESPONSE_CHILDREN:
            continue
        if any(fk.column.table.name == table_name for fk in table.foreign_keys):
            found.append(table)
    return found


def _column_to(table, target: str):  # type: ignore[no-untyped-def]
    return next(fk.parent for fk in table.foreign_keys if fk.column.table.name == target)
