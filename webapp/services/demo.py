"""Demo data for the embedded default: a register, three units, users, protocol, patients.

Every national ID here is a synthetic test number (month + 80); the passwords are fixed
and printed, so never run this against a production database.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrolment, Protocol, Register, RoleAssignment, Unit, User
from webapp.national_id import synthetic_number
from webapp.services.demo_history import create_history
from webapp.services.passwords import hash_password
from webapp.services.protocols import TimePointSpec, define_protocol
from webapp.services.pseudonyms_index import fill, register_key

DEMO_REGISTER = "demo-register"
DEMO_UNITS = (  # name, title (staff pages), sender named in invitations (no specialty)
    ("demo-unit", "Demo sykehus A, ortopedisk avdeling", "Demo sykehus A"),
    ("demo-unit-b", "Demo sykehus B, nevrokirurgisk avdeling", "Demo sykehus B"),
    ("demo-unit-c", "Demo sykehus C, ryggpoliklinikk og lungerehabilitering", "Demo sykehus C"),
)
# How patients reach each demo unit: made up. No Norwegian 8-digit number starts with 0,
# so these numbers reach nobody.
DEMO_CONTACTS = {
    "demo-unit": ("+47 00 00 01 01", "post@demo-a.openprom.no", "Hverdager kl. 8–15",
                  "Demoveien 1, Demoby"),
    "demo-unit-b": ("+47 00 00 02 02", "post@demo-b.openprom.no", "Hverdager kl. 8–15",
                    "Demoveien 2, Demoby"),
    "demo-unit-c": ("+47 00 00 03 03", "post@demo-c.openprom.no", "Hverdager kl. 8–14",
                    "Demoveien 3, Demoby"),
}  # fmt: skip
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (demo only; printed and documented)


@dataclass(frozen=True)
class DemoLogin:
    """A demo account: e-mail, password and what it may do."""

    email: str
    password: str
    role: str
    scope: str


DEMO_USERS = (
    ("clinician@demo.openprom.no", "clinician", "demo-unit"),
    ("clinician-b@demo.openprom.no", "clinician", "demo-unit-b"),
    ("clinician-c@demo.openprom.no", "clinician", "demo-unit-c"),  # the COPD unit
    ("lead@demo.openprom.no", "unit_lead", "demo-unit"),
    ("registeradmin@demo.openprom.no", "register_admin", DEMO_REGISTER),
    ("methodologist@demo.openprom.no", "methodologist", DEMO_REGISTER),
    ("sysadmin@demo.openprom.no", "sysadmin", "-"),
)
# Display names (made up; the patient's innsyn page names the person who looked).
DEMO_NAMES = {
    "clinician@demo.openprom.no": "Kari Nordmann, lege (demo)",
    "clinician-b@demo.openprom.no": "Ola Hansen, fysioterapeut (demo)",
    "clinician-c@demo.openprom.no": "Ingrid Berg, sykepleier lungerehabilitering (demo)",
    "lead@demo.openprom.no": "Per Olsen, avdelingsleder (demo)",
    "registeradmin@demo.openprom.no": "Anne Lie, registerkoordinator (demo)",
    "methodologist@demo.openprom.no": "Jonas Bakke, metodestøtte (demo)",
    "sysadmin@demo.openprom.no": "Driftsansvarlig (demo)",
}

DEMO_PROTOCOLS = (
    (
        "lumbar-surgery",
        "Lumbal kirurgi: EQ-5D-5L og ODI før, 3 og 12 måneder etter",
        (
            TimePointSpec("baseline", "Før operasjon", 0, ("eq5d5l", "odi")),
            TimePointSpec("3m", "3 måneder etter operasjon", 91, ("eq5d5l", "odi")),
            TimePointSpec("12m", "12 måneder etter operasjon", 365, ("eq5d5l", "odi")),
        ),
    ),
    (
        "copd-rehab",
        "Lungerehabilitering (KOLS): CAT, EQ-5D-5L og RAND-36 ved start, 3 og 12 måneder",
        (
            TimePointSpec("baseline", "Ved oppstart", 0, ("cat", "eq5d5l", "rand36")),
            TimePointSpec("3m", "3 måneder etter oppstart", 91, ("cat", "eq5d5l", "rand36")),
            TimePointSpec("12m", "12 måneder etter oppstart", 365, ("cat", "eq5d5l", "rand36")),
        ),
    ),
)


def demo_national_ids(count: int, seed: int = 1) -> list[str]:
    """``count`` distinct synthetic national IDs with plausible adult birth dates."""
    rng = random.Random(seed)
    ids: list[str] = []
    while len(ids) < count:
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
        number = synthetic_number(birth, rng.randrange(0, 500))
        if number and number not in ids:
            ids.append(number)
    return ids


def _get_or_add(model, lookup: dict, **values):  # type: ignore[no-untyped-def]
    obj = db.session.scalar(select(model).filter_by(**lookup))
    if obj is None:
        obj = model(**lookup, **values)
        db.session.add(obj)
        db.session.flush()
    return obj


def create_demo(patients: int = 300, today: dt.date | None = None) -> list[DemoLogin]:
    """Create (idempotently) the demo register and return the demo logins.

    The first run also enrols ``patients`` synthetic patients with two years of answered,
    due and expired time points (:mod:`webapp.services.demo_history`).
    """
    register = _get_or_add(Register, {"name": DEMO_REGISTER}, title="Demoregister for PROM")
    units = {
        name: _get_or_add(
            Unit, {"name": name}, title=title, register_id=register.id, invitation_sender=sender
        )
        for name, title, sender in DEMO_UNITS
    }
    for name, unit in units.items():
        phone, email, hours, address = DEMO_CONTACTS[name]
        unit.contact_phone, unit.contact_email = phone, email
        unit.contact_hours, unit.contact_address = hours, address
    protocols = {}
    for name, title, time_points in DEMO_PROTOCOLS:
        protocol = db.session.scalar(
            select(Protocol).where(Protocol.register_id == register.id, Protocol.name == name)
        )
        protocols[name] = protocol or define_protocol(
            register, name, title, time_points, window_days=30, reminder_days=7
        )
    logins = []
    for email, role, scope in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email,
                display_name=DEMO_NAMES[email],
                password_hash=hash_password(DEMO_PASSWORD),
            )
            unit = units.get(scope)
            user.roles.append(
                RoleAssignment(
                    role=role,
                    unit_id=unit.id if unit else None,
                    register_id=register.id if scope == DEMO_REGISTER else None,
                )
            )
            db.session.add(user)
        elif user.display_name == email.split("@")[0]:  # created before display names
            user.display_name = DEMO_NAMES[email]
        logins.append(DemoLogin(email, DEMO_PASSWORD, role, scope))
    has_history = db.session.scalar(
        select(Enrolment.id).join(Unit).where(Unit.register_id == register.id).limit(1)
    )
    if has_history is None and patients > 0:
        create_history(
            demo_national_ids(patients), units, protocols, today=today or dt.date.today()
        )
        fill(register.id, register_key(register))  # pseudonyms the FHIR API searches
    if patients > 0:  # a few patients answer the synthetic item bank adaptively
        from webapp.services.demo_adaptive import create_adaptive_demo

        create_adaptive_demo(
            register,
            units[DEMO_UNITS[0][0]],
            demo_national_ids(6, seed=14),
            today=today or dt.date.today(),
        )
    db.session.commit()
    return logins


def sample_patients(count: int = 3) -> list[str]:
    """National IDs (synthetic) of demo-unit patients with answered time points."""
    from webapp.models import Invitation
    from webapp.services.patients import national_id_of

    enrolments = db.session.scalars(
        select(Enrolment)
        .join(Unit)
        .join(Invitation, Invitation.enrolment_id == Enrolment.id)
        .where(Unit.name == DEMO_UNITS[0][0], Invitation.state == "completed")
        .order_by(Enrolment.index_date, Enrolment.id)
        .distinct()
        .limit(count)
    )
    return [national_id_of(e.patient) for e in enrolments]
