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
from webapp.models import Protocol, Register, RoleAssignment, TimePoint, Unit, User
from webapp.national_id import synthetic_number
from webapp.services.passwords import hash_password
from webapp.services.patients import get_or_create_patient

DEMO_REGISTER = "demo-register"
DEMO_UNITS = (
    ("demo-unit", "Demo sykehus, ortopedisk avdeling"),
    ("demo-unit-b", "Demo sykehus B, nevrokirurgi"),
    ("demo-unit-c", "Demo kommune, lungerehabilitering"),
)
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
    ("lead@demo.openprom.no", "unit_lead", "demo-unit"),
    ("registeradmin@demo.openprom.no", "register_admin", DEMO_REGISTER),
    ("methodologist@demo.openprom.no", "methodologist", DEMO_REGISTER),
    ("sysadmin@demo.openprom.no", "sysadmin", "-"),
)

LUMBAR_TIME_POINTS = (
    ("baseline", "Før operasjon", 0),
    ("3m", "3 måneder etter operasjon", 91),
    ("12m", "12 måneder etter operasjon", 365),
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


def create_demo(patients: int = 20) -> list[DemoLogin]:
    """Create (idempotently) the demo register and return the demo logins."""
    register = _get_or_add(Register, {"name": DEMO_REGISTER}, title="Demoregister for PROM")
    units = {
        name: _get_or_add(Unit, {"name": name}, title=title, register_id=register.id)
        for name, title in DEMO_UNITS
    }
    protocol = _get_or_add(
        Protocol,
        {"register_id": register.id, "name": "lumbar-surgery"},
        title="Lumbal kirurgi: EQ-5D-5L og ODI før, 3 og 12 måneder etter",
        window_days=30,
        reminder_days=7,
    )
    for position, (name, title, offset) in enumerate(LUMBAR_TIME_POINTS):
        _get_or_add(
            TimePoint,
            {"protocol_id": protocol.id, "name": name},
            title=title,
            offset_days=offset,
            position=position,
            instruments=["eq5d5l", "odi"],
        )
    logins = []
    for email, role, scope in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, display_name=email.split("@")[0],
                        password_hash=hash_password(DEMO_PASSWORD))
            unit = units.get(scope)
            user.roles.append(
                RoleAssignment(
                    role=role,
                    unit_id=unit.id if unit else None,
                    register_id=register.id if scope == DEMO_REGISTER else None,
                )
            )
            db.session.add(user)
        logins.append(DemoLogin(email, DEMO_PASSWORD, role, scope))
    for number in demo_national_ids(patients):
        get_or_create_patient(number)
    db.session.commit()
    return logins
