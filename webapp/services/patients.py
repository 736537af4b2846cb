"""Patients: register by national ID (encrypted + blind index) and look up."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from webapp.crypto import IdCipher
from webapp.extensions import db
from webapp.models import Patient
from webapp.national_id import NationalId, validate


def cipher() -> IdCipher:
    """The register-ID cipher of the current app."""
    return IdCipher(current_app.config["OPENPROM_ID_KEY"])


def find_patient(national_id: str | NationalId) -> Patient | None:
    """The patient with this national ID, or None (validates the number first)."""
    nid = national_id if isinstance(national_id, NationalId) else validate(national_id)
    index = cipher().blind_index(nid.value)
    return db.session.scalar(select(Patient).where(Patient.national_id_index == index))


def get_or_create_patient(
    national_id: str | NationalId, *, email: str | None = None, language: str = "nb"
) -> tuple[Patient, bool]:
    """The patient with this national ID, created when new; returns (patient, created)."""
    nid = national_id if isinstance(national_id, NationalId) else validate(national_id)
    existing = find_patient(nid)
    c = cipher()
    if existing is not None:
        if email:
            existing.email_encrypted = c.encrypt(email, b"email")
        return existing, False
    patient = Patient(
        national_id_encrypted=c.encrypt(nid.value),
        national_id_index=c.blind_index(nid.value),
        id_kind=nid.kind,
        birth_year=nid.birth_date.year if nid.birth_date else None,
        email_encrypted=c.encrypt(email, b"email") if email else None,
        language=language,
    )
    db.session.add(patient)
    db.session.flush()
    return patient, True


def national_id_of(patient: Patient) -> str:
    """Decrypt a patient's national ID (callers must write an audit event)."""
    return cipher().decrypt(patient.national_id_encrypted)


SELF_REPORT_AGE = 16  # younger patients answer through a parent or guardian


def is_child(patient: Patient, day: dt.date) -> bool:
    """Whether the patient is under 16 on ``day`` (a parent or guardian answers then).

    The stored birth year decides every year but the one in which the patient turns 16;
    only then is the birth date read from the encrypted national ID (it stays inside this
    function: nothing is shown or logged, so no audit event is written).
    """
    if patient.birth_year is None:
        return False
    years = day.year - patient.birth_year
    if years != SELF_REPORT_AGE:
        return years < SELF_REPORT_AGE
    birth = validate(national_id_of(patient)).birth_date
    return birth is not None and (day.month, day.day) < (birth.month, birth.day)
