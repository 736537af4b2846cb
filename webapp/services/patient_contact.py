"""A patient's SMS phone number, set or removed by staff after enrolment.

Stored exactly as ``flask enrol --phone`` stores it: normalised to E.164 by
:func:`webapp.services.sms.normalise_phone` and encrypted with the register-ID cipher in
its own context. The number is never logged or audited; the page shows its last two
digits only.
"""

from __future__ import annotations

from webapp.models import Patient
from webapp.services.patients import cipher
from webapp.services.sms import PHONE_CONTEXT, normalise_phone


def set_phone(patient: Patient, raw: str) -> None:
    """Store ``raw`` as the patient's SMS number (not committed).

    Raises :class:`webapp.services.sms.InvalidPhone` before anything changes when ``raw``
    is not a number an SMS can be sent to.
    """
    number = normalise_phone(raw)
    patient.phone_encrypted = cipher().encrypt(number, PHONE_CONTEXT)


def remove_phone(patient: Patient) -> bool:
    """Forget the patient's SMS number (not committed); whether one was stored."""
    had = patient.phone_encrypted is not None
    patient.phone_encrypted = None
    return had


def phone_ending(patient: Patient) -> str | None:
    """The last two digits of the stored number (enough to check it), or None."""
    if patient.phone_encrypted is None:
        return None
    return cipher().decrypt(patient.phone_encrypted, PHONE_CONTEXT)[-2:]
