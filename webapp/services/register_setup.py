"""Set up a register from a file: the register, its units and its protocols.

``flask --app wsgi load-register FILE.yaml`` reads a file like
``docs/examples/register.yaml``, checks it against :data:`SCHEMA` and the instrument
library, and creates what is missing. Loading the same file again changes nothing.
Titles, invitation senders and contact details may change; a protocol's schedule (time
points, days, instruments, window) may not once it exists, because enrolled patients
follow it: give the new schedule a new protocol name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Protocol, Register, Unit
from webapp.services.protocols import ProtocolError, TimePointSpec, define_protocol

NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 80}
# How patients reach a unit (shown on their insight and thank-you pages).
CONTACT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "phone": {"type": "string", "maxLength": 40},
        "email": {"type": "string", "maxLength": 254},
        "hours": {"type": "string", "minLength": 1, "maxLength": 200},
        "address": {"type": "string", "minLength": 1, "maxLength": 300},
    },
}
PHONE = re.compile(r"\+?[0-9]( ?[0-9]){2,19}")  # "+47 22 11 80 00", "116117"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
CONTACT_FIELDS = ("phone", "email", "hours", "address")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["register"],
    "additionalProperties": False,
    "properties": {
        "register": {
            "type": "object",
            "required": ["name", "title"],
            "additionalProperties": False,
            "properties": {
                "name": NAME,
                "title": {"type": "string", "maxLength": 200},
                # consent-based, or based on a right to object (default)
                "legal_basis": {"enum": ["consent", "reservation"]},
                # free-text answers in exports (default no: they may identify the patient)
                "export": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"free_text": {"type": "boolean"}},
                },
            },
        },
        "units": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "title"],
                "additionalProperties": False,
                "properties": {
                    "name": NAME,
                    "title": {"type": "string", "maxLength": 200},
                    "invitation_sender": {"type": "string", "maxLength": 200},
                    "contact": CONTACT,
                },
            },
        },
        "protocols": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "title", "time_points"],
                "additionalProperties": False,
                "properties": {
                    "name": NAME,
                    "title": {"type": "string", "maxLength": 200},
                    "window_days": {"type": "integer", "minimum": 1},
                    "reminder_days": {"type": ["integer", "null"], "minimum": 1},
                    # CAT settings of the item banks asked (webapp.services.adaptive)
                    "adaptive": {"type": "object"},
                    "time_points": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["name", "title", "offset_days", "instruments"],
                            "additionalProperties": False,
                            "properties": {
                                "name": {**NAME, "maxLength": 40},
                                "title": {"type": "string", "maxLength": 200},
                                "offset_days": {"type": "integer"},
                                "instruments": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


class RegisterFileError(ValueError):
    """The register file is invalid or conflicts with what is stored (message says where)."""


@dataclass
class SetupResult:
    """What loading a register file created or changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def read(path: Path) -> dict[str, Any]:
    """The checked content of a register file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegisterFileError(f"{path}: cannot read ({exc})") from None
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise RegisterFileError(f"{path}:{where}: {errors[0].message}")
    for kind in ("units", "protocols"):
        names = [entry["name"] for entry in data.get(kind, [])]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise RegisterFileError(f"{path}:{kind}: {', '.join(twice)} given twice")
    for entry in data.get("units", []):
        if problem := contact_problem(entry.get("contact", {})):
            raise RegisterFileError(f"{path}:units/{entry['name']}/contact: {problem}")
    return data


def contact_problem(contact: dict[str, str]) -> str | None:
    """What is wrong with a unit's contact details (None: nothing)."""
    phone, email = contact.get("phone"), contact.get("email")
    if phone is not None and not PHONE.fullmatch(phone):
        return (
            f"phone {phone!r} is not a telephone number: digits with single spaces, "
            "optionally starting with + (e.g. '+47 22 11 80 00')"
        )
    if email is not None and not EMAIL.fullmatch(email):
        return f"email {email!r} is not an e-mail address (e.g. 'post@sykehus.no')"
    return None


def _contact_values(entry: dict[str, Any]) -> tuple[str | None, ...]:
    contact = entry.get("contact", {})
    return tuple(contact.get(name) for name in CONTACT_FIELDS)


def _unit_values(unit: Unit) -> tuple[str | None, ...]:
    return tuple(getattr(unit, f"contact_{name}") for name in CONTACT_FIELDS)


def _set_contact(unit: Unit, values: tuple[str | None, ...]) -> None:
    for name, value in zip(CONTACT_FIELDS, values, strict=True):
        setattr(unit, f"contact_{name}", value)


def _schedule(protocol: Protocol) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(tp.name, tp.offset_days, tuple(tp.instruments)) for tp in protocol.time_points]


def load(path: Path) -> SetupResult:
    """Create or update the register, units and protocols of ``path`` (not committed)."""
    data = read(path)
    result = SetupResult()
    spec = data["register"]
    register = db.session.scalar(select(Register).where(Register.name == spec["name"]))
    basis = spec.get("legal_basis", "reservation")
    free_text = bool(spec.get("export", {}).get("free_text", False))
    if register is None:
        register = Register(
            name=spec["name"], title=spec["title"], legal_basis=basis, export_free_text=free_text
        )
        db.session.add(register)
        db.session.flush()
        result.created.append(f"register {register.name}")
    elif (register.title, register.legal_basis, register.export_free_text) != (
        spec["title"],
        basis,
        free_text,
    ):
        register.title, register.legal_basis = spec["title"], basis
        register.export_free_text = free_text
        result.updated.append(f"register {register.name}")
    for entry in data.get("units", []):
        unit = db.session.scalar(select(Unit).where(Unit.name == entry["name"]))
        sender = entry.get("invitation_sender")
        contact = _contact_values(entry)
        if unit is None:
            unit = Unit(
                name=entry["name"],
                title=entry["title"],
                invitation_sender=sender,
                register_id=register.id,
            )
            _set_contact(unit, contact)
            db.session.add(unit)
            result.created.append(f"unit {entry['name']}")
        elif unit.register_id != register.id:
            raise RegisterFileError(f"{path}:units: unit {unit.name} belongs to another register")
        elif (unit.title, unit.invitation_sender, _unit_values(unit)) != (
            entry["title"],
            sender,
            contact,
        ):
            unit.title, unit.invitation_sender = entry["title"], sender
            _set_contact(unit, contact)
            result.updated.append(f"unit {unit.name}")
    for entry in data.get("protocols", []):
        points = [
            TimePointSpec(tp["name"], tp["title"], tp["offset_days"], tuple(tp["instruments"]))
            for tp in entry["time_points"]
        ]
        window = entry.get("window_days", 30)
        reminder = entry.get("reminder_days", 7)
        protocol = db.session.scalar(
            select(Protocol).where(
                Protocol.register_id == register.id, Protocol.name == entry["name"]
            )
        )
        if protocol is None:
            try:
                define_protocol(
                    register,
                    entry["name"],
                    entry["title"],
                    points,
                    window_days=window,
                    reminder_days=reminder,
                    adaptive=entry.get("adaptive"),
                )
            except ProtocolError as exc:
                raise RegisterFileError(f"{path}:protocols/{entry['name']}: {exc}") from None
            result.created.append(f"protocol {entry['name']}")
            continue
        wanted = sorted((p.name, p.offset_days, p.instruments) for p in points)
        changed = (protocol.window_days, protocol.adaptive) != (window, entry.get("adaptive"))
        if sorted(_schedule(protocol)) != wanted or changed:
            raise RegisterFileError(
                f"{path}:protocols/{entry['name']}: the stored protocol has another schedule "
                "(time points, days, instruments, window or adaptive settings); patients "
                "already follow it, so give the new schedule a new protocol name"
            )
        if (protocol.title, protocol.reminder_days) != (entry["title"], reminder):
            protocol.title, protocol.reminder_days = entry["title"], reminder
            result.updated.append(f"protocol {protocol.name}")
    db.session.flush()
    return result
