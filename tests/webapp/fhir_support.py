"""Test data for the FHIR import and API tests: a register whose protocol asks for
EQ-5D-5L at baseline (day 0) and 3 months (day 91), windows of 30 days, two enrolled
patients (a fødselsnummer and a D-number), and QuestionnaireResponses to import."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from webapp.extensions import db
from webapp.models import Register, Unit
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import TimePointSpec, define_protocol, enrol

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
# Skatteetaten synthetic test numbers: a fødselsnummer and a D-number (first digit +4)
FNR = "03851598730"
DNR = "41819077906"
NOT_REGISTERED = "30908299902"  # valid, but no such patient in openprom
INDEX_DATE = dt.date(2025, 3, 3)
CANONICAL = "urn:openprom:questionnaire:eq5d5l|EQ-5D-5L%20Norwegian%201.0"


def seed(name: str = "hip", other: str = "knee") -> dict[str, Any]:
    """Two registers; FNR and DNR enrolled in ``name`` (FNR also in ``other``)."""
    made: dict[str, Any] = {}
    for reg_name in (name, other):
        register = Register(name=reg_name, title=reg_name)
        db.session.add(register)
        db.session.flush()
        unit = Unit(register_id=register.id, name=f"{reg_name}-unit", title=reg_name)
        db.session.add(unit)
        db.session.flush()
        protocol = define_protocol(
            register,
            "follow-up",
            "Follow-up",
            [
                TimePointSpec("baseline", "Baseline", 0, ("eq5d5l",)),
                TimePointSpec("3m", "3 months", 91, ("eq5d5l",)),
            ],
            window_days=30,
        )
        made[reg_name] = (register, unit, protocol)
    fnr, _ = get_or_create_patient(FNR)
    dnr, _ = get_or_create_patient(DNR)
    _, unit, protocol = made[name]
    enrol(fnr, protocol, unit, INDEX_DATE)
    enrol(dnr, protocol, unit, INDEX_DATE)
    other_register, other_unit, other_protocol = made[other]
    other_only, _ = get_or_create_patient(NOT_REGISTERED)
    enrol(other_only, other_protocol, other_unit, INDEX_DATE)
    db.session.commit()
    return {"patients": {"fnr": fnr.id, "dnr": dnr.id, "other": other_only.id}}


# A QuestionnaireResponse as another system sends it (written out by hand from the
# Questionnaire that ``python -m instruments fhir eq5d5l`` writes: page groups p_MO ...)
HELSENORGE_QR: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "identifier": {"system": "urn:uuid:helsenorge-test", "value": "qr-0001"},
    "questionnaire": CANONICAL,
    "status": "completed",
    "language": "nb-NO",
    "subject": {"identifier": {"system": FNR_SYSTEM, "value": FNR}},
    "authored": "2025-03-05T10:15:00+01:00",
    "item": [
        {"linkId": "p_MO", "item": [{"linkId": "MO", "answer": [
            {"valueCoding": {"system": "urn:openprom:eq5d5l:MO", "code": "1"}}]}]},
        {"linkId": "p_SC", "item": [{"linkId": "SC", "answer": [
            {"valueCoding": {"system": "urn:openprom:eq5d5l:SC", "code": "2"}}]}]},
        {"linkId": "p_UA", "item": [{"linkId": "UA", "answer": [
            {"valueCoding": {"system": "urn:openprom:eq5d5l:UA", "code": "3"}}]}]},
        {"linkId": "p_PD", "item": [{"linkId": "PD", "answer": [
            {"valueCoding": {"system": "urn:openprom:eq5d5l:PD", "code": "4"}}]}]},
        {"linkId": "p_AD", "item": [{"linkId": "AD", "answer": [
            {"valueCoding": {"system": "urn:openprom:eq5d5l:AD", "code": "5"}}]}]},
        {"linkId": "p_VAS", "item": [{"linkId": "VAS", "answer": [{"valueInteger": 70}]}]},
    ],
}  # fmt: skip


def qr(
    *,
    national_id: str = FNR,
    system: str = FNR_SYSTEM,
    authored: str = "2025-03-05T10:15:00+01:00",
    identifier: str | None = "qr-0001",
    answers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A copy of :data:`HELSENORGE_QR` with another subject, date, identifier or answers
    (``answers``: linkId -> answer list, None removes the item)."""
    resource = copy.deepcopy(HELSENORGE_QR)
    resource["subject"]["identifier"] = {"system": system, "value": national_id}
    resource["authored"] = authored
    if identifier is None:
        del resource["identifier"]
    else:
        resource["identifier"]["value"] = identifier
    for link, answer in (answers or {}).items():
        for group in resource["item"]:
            for item in list(group["item"]):
                if item["linkId"] == link:
                    if answer is None:
                        group["item"].remove(item)
                    else:
                        item["answer"] = answer
    resource["item"] = [g for g in resource["item"] if g["item"]]
    return resource
