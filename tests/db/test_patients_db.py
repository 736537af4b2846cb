"""Patients are stored with an encrypted register ID and found by the blind index."""

from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Patient
from webapp.services.patients import find_patient, get_or_create_patient, national_id_of

# Synthetic test numbers published by Skatteetaten (folkeregisteret-api-dokumentasjon,
# foedselsnummer.csv): a synthetic 1964-format number and a synthetic 2032-format number.
SYNTHETIC_1964 = "03851598730"
SYNTHETIC_2032 = "30908299902"


def test_register_id_is_encrypted_and_found_by_index(database_url, app_factory):
    app = app_factory(database_url)
    with app.app_context():
        patient, created = get_or_create_patient(SYNTHETIC_1964, email="p@example.org")
        db.session.commit()
        assert created
        raw = db.session.execute(sa.select(Patient.__table__)).mappings().one()
        stored = b"".join(v for v in raw.values() if isinstance(v, bytes))
        assert SYNTHETIC_1964.encode() not in stored
        assert SYNTHETIC_1964 not in raw["national_id_index"]
        assert find_patient(SYNTHETIC_1964).id == patient.id
        assert find_patient(SYNTHETIC_2032) is None
        again, created_again = get_or_create_patient(SYNTHETIC_1964)
        assert (again.id, created_again) == (patient.id, False)
        assert national_id_of(again) == SYNTHETIC_1964
        assert patient.birth_year == 2015
