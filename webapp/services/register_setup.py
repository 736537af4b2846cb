"""Set up a register from a file: the register, its units and its protocols.

``flask --app wsgi load-register FILE.yaml`` reads a file like
``docs/examples/register.yaml``, checks it against :data:`SCHEMA` and the instrument
library, and creates what is missing. Loading the same file again changes nothing.
Titles and invitation senders may change; a protocol's schedule (time points, days,
instruments, window) may not once it exists, because enrolled patients follow it: give
the new schedule a new protocol name.
"""

from __future__ import annotations

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
    return data


def _schedule(protocol: Protocol) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(tp.name, tp.offset_days, tuple(tp.instruments)) for tp in protocol.time_points]


def load(path: Path) -> SetupResult:
    """Create or update the register, units and protocols of ``path`` (not committed)."""
    data = read(path)
    result = SetupResult()
    spec = data["register"]
    register = db.session.scalar(select(Register).where(Register.name == spec["name"]))
    basis = spec.get("legal_basis", "reservation")
    if register is None:
        register = Register(name=spec["name"], title=spec["title"], legal_basis=basis)
        db.session.add(register)
        db.session.flush()
        result.created.append(f"register {register.name}")
    elif (register.title, register.legal_basis) != (spec["title"], basis):
        register.title, register.legal_basis = spec["title"], basis
        result.updated.append(f"register {register.name}")
    for entry in data.get("units", []):
        unit = db.session.scalar(select(Unit).where(Unit.name == entry["name"]))
        sender = entry.get("invitation_sender")
        if unit is None:
            db.session.add(
                Unit(
                    name=entry["name"],
                    title=entry["title"],
                    invitation_sender=sender,
                    register_id=register.id,
                )
            )
            result.created.append(f"unit {entry['name']}")
        elif unit.register_id != register.id:
            raise RegisterFileError(f"{path}:units: unit {unit.name} belongs to another register")
        elif (unit.title, unit.invitation_sender) != (entry["title"], sender):
            unit.title, unit.invitation_sender = entry["title"], sender
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
                )
            except ProtocolError as exc:
                raise RegisterFileError(f"{path}:protocols/{entry['name']}: {exc}") from None
            result.created.append(f"protocol {entry['name']}")
            continue
        wanted = sorted((p.name, p.offset_days, p.instruments) for p in points)
        if sorted(_schedule(protocol)) != wanted or protocol.window_days != window:
            raise RegisterFileError(
                f"{path}:protocols/{entry['name']}: the stored protocol has another schedule "
                "(time points, days, instruments or window); patients already follow it, so "
                "give the new schedule a new protocol name"
            )
        if (protocol.title, protocol.reminder_days) != (entry["title"], reminder):
            protocol.title, protocol.reminder_days = entry["title"], reminder
            result.updated.append(f"protocol {protocol.name}")
    db.session.flush()
    return result
