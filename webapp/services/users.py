"""User accounts: create with a role in the right scope."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ROLES, Enrolment, Register, RoleAssignment, Unit, User
from webapp.services.passwords import generate_password, hash_password

UNIT_ROLES = ("clinician", "unit_lead")
REGISTER_ROLES = ("register_admin", "methodologist")


class UserError(ValueError):
    """The account cannot be created as asked (the message says why)."""


def create_user(
    email: str,
    role: str,
    *,
    unit: str | None = None,
    register: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create an account; returns (user, password). A password is generated when not given."""
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise UserError(f"not an e-mail address: {email!r}")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user with e-mail {email} exists already")
    unit_obj = register_obj = None
    if role in UNIT_ROLES:
        if not unit:
            raise UserError(f"role {role} needs --unit")
        unit_obj = db.session.scalar(select(Unit).where(Unit.name == unit))
        if unit_obj is None:
            raise UserError(f"unknown unit {unit!r}")
    elif role in REGISTER_ROLES:
        if not register:
            raise UserError(f"role {role} needs --register")
        register_obj = db.session.scalar(select(Register).where(Register.name == register))
        if register_obj is None:
            raise UserError(f"unknown register {register!r}")
    if password is not None and len(password) < 12:
        raise UserError("a password needs at least 12 characters")
    password = password or generate_password()
    user = User(
        email=email, display_name=email.split("@")[0], password_hash=hash_password(password)
    )
    user.roles.append(
        RoleAssignment(
            role=role,
            unit_id=unit_obj.id if unit_obj else None,
            register_id=register_obj.id if register_obj else None,
        )
    )
    db.session.add(user)
    db.session.flush()
    return user, password


def patients_at_units(unit_ids: set[int]):  # type: ignore[no-untyped-def]
    """A subquery of patient ids enrolled at ``unit_ids``."""
    return select(Enrolment.patient_id).where(Enrolment.unit_id.in_(unit_ids)).scalar_subquery()
