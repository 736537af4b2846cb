"""User accounts: create with a role in the right scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ROLES, Enrolment, Register, RoleAssignment, Unit, User, utcnow
from webapp.services import password_policy
from webapp.services.access import has_role, registers
from webapp.services.passwords import generate_password, hash_password

UNIT_ROLES = ("clinician", "unit_lead")
REGISTER_ROLES = ("register_admin", "methodologist")
# Roles that reach patient-level or export data across a register (or all accounts): a
# new account with one of them, created on the web, waits for a second person's approval.
PRIVILEGED_ROLES = ("register_admin", "methodologist", "sysadmin")


class UserError(ValueError):
    """The account cannot be created as asked (the message says why)."""


def create_user(
    email: str,
    role: str,
    *,
    unit: str | None = None,
    register: str | None = None,
    password: str | None = None,
    created_by: User | None = None,
    must_change_password: bool = False,
    pending_approval: bool = False,
) -> tuple[User, str]:
    """Create an account; returns (user, password). A password is generated when not given.

    ``must_change_password`` makes the owner choose a new password at first login;
    ``pending_approval`` keeps the account from signing in until :func:`approve`.
    """
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
    if password is not None:  # a chosen one; generated passwords are random
        reason = password_policy.problem(password, email=email)
        if reason is not None:
            raise UserError(reason)
    password = password or generate_password()
    user = User(
        email=email,
        display_name=email.split("@")[0],
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        pending_approval=pending_approval,
        created_by_id=created_by.id if created_by else None,
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


def scope_of(user: User) -> dict[str, Any]:
    """Roles with their unit and register names, for the audit log."""
    roles = []
    for r in user.roles:
        register = r.register or (r.unit.register if r.unit else None)
        roles.append(
            {
                "role": r.role,
                "unit": r.unit.name if r.unit else None,
                "register": register.name if register else None,
            }
        )
    return {"roles": roles}


def register_names(user: User) -> list[str]:
    """Names of the registers ``user``'s roles are scoped to (directly or by unit)."""
    names = {row["register"] for row in scope_of(user)["roles"] if row["register"]}
    return sorted(names)


def audit_subject(user: User) -> str:
    """Subject of an account event: ``register:<name>`` when scoped to one register (so
    the register's admins see it in their audit log), else the e-mail."""
    names = register_names(user)
    return f"register:{names[0]}" if len(names) == 1 else user.email


def may_approve(approver: User, target: User) -> bool:
    """A second person approves: another sysadmin, or a register admin of every register
    the account is scoped to (never the creator, never the account itself)."""
    if approver.id in (target.id, target.created_by_id):
        return False
    if has_role(approver, "sysadmin"):
        return True
    if has_role(target, "sysadmin"):
        return False
    names = set(register_names(target))
    admin_of = {r.name for r in registers(approver, ("register_admin",))}
    return bool(names) and names <= admin_of


def approve(approver: User, target: User) -> None:
    """Let a pending account sign in (the caller checked :func:`may_approve`)."""
    target.pending_approval = False
    target.approved_by_id = approver.id
    target.approved_at = utcnow()


def patients_at_units(unit_ids: set[int]):  # type: ignore[no-untyped-def]
    """A subquery of patient ids enrolled at ``unit_ids``."""
    return select(Enrolment.patient_id).where(Enrolment.unit_id.in_(unit_ids)).scalar_subquery()
