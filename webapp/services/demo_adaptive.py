"""An adaptive (item-bank) protocol in the demo register, so a newcomer sees one.

A few synthetic patients at ``demo-unit`` answer the SYNTHETIC demonstration bank
(``instruments/banks/demo-physical-function.yaml``; texts and parameters written for
openprom, not for measurement) at baseline and 3 months. Each due time point goes through
the patient flow's own services: :func:`~webapp.services.responses.start`, then
:func:`~webapp.services.adaptive.open_step` / :func:`~webapp.services.adaptive.answer_step`
(the real CAT engine chooses each item and stores theta and SE) until the engine stops,
then :func:`~webapp.services.responses.submit` (scored like any submit). The simulated
patient answers each item asked by a draw from the bank's own GRM at a latent level
(seeded: the same demo every run). Nothing here is real data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select, update

import instruments
from scoring.irt.simulate import draw_categories
from webapp.extensions import db
from webapp.models import AdaptiveStep, Enrolment, Protocol, Register, Response, Unit
from webapp.services import adaptive, responses
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import TimePointSpec, define_protocol, due_at, enrol

DEMO_BANK = "demo-physical-function-bank"
CAT_PROTOCOL = "physical-function-cat"
CAT_TITLE = "Fysisk funksjon (SYNTETISK demonstrasjonsbank, adaptiv test): før og 3 måneder etter"
CAT_TIME_POINTS = (
    TimePointSpec("baseline", "Før behandling", 0, (DEMO_BANK,)),
    TimePointSpec("3m", "3 måneder etter behandling", 91, (DEMO_BANK,)),
)
CAT_SETTINGS = {
    "start_theta": 0.0,
    "select": "max_info",
    "stop_se": 0.3,
    "max_items": 12,
    "min_items": 4,
    "exposure": "randomesque",
}
# days before today of each patient's index date (the last ones have only a baseline)
INDEX_DAYS_AGO = (420, 300, 210, 150, 60, 25)
LANGUAGES = ("nb", "nb", "nn", "nb", "en", "nb")
BASELINE_THETA = (-1.0, 0.6)  # latent physical function before treatment: mean, SD
GAIN = (0.6, 0.4)  # change to 3 months: mean, SD
SEED = 2026


def demo_protocol(register: Register) -> Protocol:
    """The demo register's adaptive protocol (defined on first use)."""
    protocol = db.session.scalar(
        select(Protocol).where(Protocol.register_id == register.id, Protocol.name == CAT_PROTOCOL)
    )
    return protocol or define_protocol(
        register,
        CAT_PROTOCOL,
        CAT_TITLE,
        CAT_TIME_POINTS,
        window_days=30,
        reminder_days=7,
        adaptive=dict(CAT_SETTINGS),
    )


def _answer_bank(response: Response, protocol: Protocol, theta: float, seed: int) -> None:
    """Answer the open adaptive response until the engine stops (one step a call)."""
    bank = instruments.load(DEMO_BANK)
    settings = adaptive.settings_of(protocol)
    engine_bank = adaptive.bank_of(bank)
    draws = draw_categories(engine_bank.items, np.array([theta]), np.random.default_rng(seed))[0]
    while (step := adaptive.open_step(response, bank, settings)) is not None:
        position = engine_bank.position(step.item_id)
        code = engine_bank.codes[position][int(draws[position])]
        result = adaptive.answer_step(
            response.id, bank, settings, step.position, code, language=response.language
        )
        if result is not adaptive.AnswerResult.SAVED:  # pragma: no cover - one writer here
            raise RuntimeError(f"demo adaptive step not saved: {result}")
        db.session.refresh(response)


def create_adaptive_demo(
    register: Register, unit: Unit, national_ids: list[str], *, today: dt.date
) -> int:
    """Enrol ``national_ids`` in the adaptive protocol at ``unit`` and answer every due
    time point through the patient flow; returns the number of completed responses.
    Does nothing when the protocol already has enrolments (idempotent)."""
    protocol = demo_protocol(register)
    if db.session.scalar(select(Enrolment.id).where(Enrolment.protocol_id == protocol.id)):
        return 0
    rng = np.random.default_rng(SEED)
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    completed = 0
    for number, days_ago, language in zip(national_ids, INDEX_DAYS_AGO, LANGUAGES, strict=False):
        patient, _ = get_or_create_patient(number, language=language)
        index_date = today - dt.timedelta(days=days_ago)
        enrolment = enrol(patient, protocol, unit, index_date)
        theta = float(rng.normal(*BASELINE_THETA))
        for invitation in sorted(enrolment.invitations, key=lambda i: i.opens_at):
            if invitation.time_point.offset_days > 0:
                theta += float(rng.normal(*GAIN))
            opens = due_at(index_date, invitation.time_point.offset_days)
            done_at = opens + dt.timedelta(days=int(rng.integers(0, 14)), hours=10)
            if done_at > now:
                continue  # not due yet (or not answered yet): stays scheduled
            invitation.state, invitation.sent_at = "sent", opens
            started = responses.start(invitation, mode="self", relation=None, language=language)
            response = started[DEMO_BANK]
            _answer_bank(response, protocol, theta, seed=int(rng.integers(0, 2**31)))
            if not responses.submit(invitation, now=done_at):  # pragma: no cover
                raise RuntimeError("demo adaptive time point not submitted")
            # the steps and draft times as if answered on the day of the submit
            db.session.execute(
                update(AdaptiveStep)
                .where(AdaptiveStep.response_id == response.id)
                .values(answered_at=done_at)
            )
            db.session.execute(
                update(Response)
                .where(Response.id == response.id)
                .values(started_at=done_at - dt.timedelta(minutes=4), updated_at=done_at)
            )
            completed += 1
    db.session.commit()
    return completed
