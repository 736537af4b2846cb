"""Who may see what. One place for every access rule of the clinician and admin pages.

Roles: ``clinician`` and ``unit_lead`` are scoped to a unit, ``register_admin`` and
``methodologist`` to a register, ``sysadmin`` is global but sees no patient data.
``methodologist`` sees pseudonymised data only (exports), never a patient page.
"""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Enrolment, Register, Unit, User

PATIENT_ROLES = ("clinician", "unit_lead", "register_admin")
DASHBOARD_ROLES = ("unit_lead", "register_admin")
EXPORT_ROLES = ("register_admin", "methodologist")


def has_role(user: User, *roles: str) -> bool:
    """Whether ``user`` holds any of ``roles`` (in any scope)."""
    return any(r.role in roles for r in user.roles)


def unit_ids(user: User, roles: tuple[str, ...]) -> set[int]:
    """Units whose data ``user`` may see through ``roles`` (register roles cover all units)."""
    units: set[int] = set()
    registers: set[int] = set()
    for r in user.roles:
        if r.role not in roles:
            continue
        if r.unit_id is not None:
            units.add(r.unit_id)
        if r.register_id is not None:
            registers.add(r.register_id)
    if registers:
        units |= set(db.session.scalars(select(Unit.id).where(Unit.register_id.in_(registers))))
    return units


def register_ids(user: User, roles: tuple[str, ...]) -> set[int]:
    """Registers ``user`` has a register-scoped role in (or, for unit roles, the unit's)."""
    result: set[int] = set()
    for r in user.roles:
        if r.role not in roles:
            continue
        if r.register_id is not None:
            result.add(r.register_id)
        elif r.unit is not None:
            result.add(r.unit.register_id)
    return result


def registers(user: User, roles: tuple[str, ...]) -> list[Register]:
    """The registers of :func:`register_ids`, by name."""
    ids = register_ids(user, roles)
    if not ids:
        return []
    return list(
        db.session.scalars(select(Register).where(Register.id.in_(ids)).order_by(Register.name))
    )


def can_view_patient(user: User, patient_id: int) -> bool:
    """A clinician/unit lead of a unit that follows the patient, or its register admin."""
    allowed = unit_ids(user, PATIENT_ROLES)
    if not allowed:
        return False
    found = db.session.scalar(
        select(Enrolment.id).where(
            Enrolment.patient_id == patient_id, Enrolment.unit_id.in_(allowed)
        )
    )
    return found is not None


def can_view_unit_dashboard(user: User, unit: Unit) -> bool:
    """Unit leads of the unit and register admins of its register."""
    return unit.id in unit_ids(user, DASHBOARD_ROLES)


def can_view_register_indicators(user: User, register: Register) -> bool:
    """Register admins of the register and unit leads of any of its units."""
    return register.id in register_ids(user, DASHBOARD_ROLES)


def can_export(user: User, register_id: int) -> bool:
    """Register admins and methodologists of the register."""
    return register_id in register_ids(user, EXPORT_ROLES)


def can_manage_users(user: User) -> bool:
    """Only system administrators manage accounts."""
    return has_role(user, "sysadmin")


def can_read_audit(user: User) -> bool:
    """System administrators and register administrators read the audit log."""
    return has_role(user, "sysadmin", "register_admin")
