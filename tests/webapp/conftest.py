"""A small world for access-control tests: two registers, units, a user per role and
scope, and patients with completed responses at different units."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from tests.webapp.dashboard_support import follow_with_odi_totals
from webapp.extensions import db
from webapp.models import (
    Protocol,
    Register,
    RoleAssignment,
    TimePoint,
    Unit,
    User,
)
from webapp.services.auth import start_session
from webapp.services.passwords import hash_password
from webapp.services.patients import get_or_create_patient

PASSWORD = "correct horse battery staple"
# Synthetic test numbers published by Skatteetaten (folkeregisteret-api-dokumentasjon).
OWN_PATIENT_ID = "03851598730"
OTHER_UNIT_PATIENT_ID = "30908299902"
OTHER_REGISTER_PATIENT_ID = "41819077906"


@dataclass
class World:
    """Ids of what the world fixture created."""

    users: dict[str, int] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    registers: dict[str, int] = field(default_factory=dict)


def _user(email: str, role: str | None, *, unit=None, register=None) -> User:  # type: ignore[no-untyped-def]
    user = User(email=email, display_name=email, password_hash=hash_password(PASSWORD))
    if role:
        user.roles.append(
            RoleAssignment(
                role=role,
                unit_id=unit.id if unit else None,
                register_id=register.id if register else None,
            )
        )
    db.session.add(user)
    return user


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    w = World()
    with app.app_context():
        reg_a = Register(name="reg-a", title="Register A")
        reg_b = Register(name="reg-b", title="Register B")
        db.session.add_all([reg_a, reg_b])
        db.session.flush()
        unit_a1 = Unit(name="unit-a1", title="Unit A1", register_id=reg_a.id)
        unit_a2 = Unit(name="unit-a2", title="Unit A2", register_id=reg_a.id)
        unit_b1 = Unit(name="unit-b1", title="Unit B1", register_id=reg_b.id)
        db.session.add_all([unit_a1, unit_a2, unit_b1])
        db.session.flush()
        protocols = {}
        for reg in (reg_a, reg_b):
            proto = Protocol(register_id=reg.id, name="lumbar", title="Lumbar", window_days=30)
            proto.time_points = [
                TimePoint(
                    name="baseline",
                    title="Baseline",
                    offset_days=0,
                    position=0,
                    instruments=["odi"],
                ),
                TimePoint(
                    name="3m", title="3 months", offset_days=91, position=1, instruments=["odi"]
                ),
                TimePoint(
                    name="12m", title="12 months", offset_days=365, position=2, instruments=["odi"]
                ),
            ]
            db.session.add(proto)
            protocols[reg.name] = proto
        db.session.flush()
        users = {
            "clinician": _user("clin@a1.test", "clinician", unit=unit_a1),
            "unit_lead": _user("lead@a1.test", "unit_lead", unit=unit_a1),
            "register_admin": _user("admin@a.test", "register_admin", register=reg_a),
            "methodologist": _user("method@a.test", "methodologist", register=reg_a),
            "sysadmin": _user("sys@x.test", "sysadmin"),
            "no_role": _user("nobody@x.test", None),
            "clinician_b": _user("clin@b1.test", "clinician", unit=unit_b1),
        }
        db.session.flush()
        own, _ = get_or_create_patient(OWN_PATIENT_ID)
        other_unit, _ = get_or_create_patient(OTHER_UNIT_PATIENT_ID)
        other_reg, _ = get_or_create_patient(OTHER_REGISTER_PATIENT_ID)
        start = dt.date(2025, 1, 10)
        follow_with_odi_totals(own.id, unit_a1, protocols["reg-a"], start, [52.0, 30.0, 18.0])
        follow_with_odi_totals(
            other_unit.id, unit_a2, protocols["reg-a"], start, [40.0, None, None]
        )
        follow_with_odi_totals(other_reg.id, unit_b1, protocols["reg-b"], start, [60.0, 58.0, None])
        db.session.commit()
        w.users = {k: u.id for k, u in users.items()}
        w.patients = {"own": own.id, "other_unit": other_unit.id, "other_register": other_reg.id}
        w.units = {"a1": unit_a1.id, "a2": unit_a2.id, "b1": unit_b1.id}
        w.registers = {"a": reg_a.id, "b": reg_b.id}
    return w


@pytest.fixture
def login_as(app, client, world):  # type: ignore[no-untyped-def]
    """Sign ``client`` in as a world user (by key) through a real server-side session."""

    def sign_in(key: str):  # type: ignore[no-untyped-def]
        with app.app_context():
            token = start_session(db.session.get(User, world.users[key]), None)
        client.set_cookie("openprom_session", token)
        return client

    return sign_in
