"""Stored pseudonyms (``register_pseudonym``) on SQLite and PostgreSQL: written at
enrolment, filled lazily and idempotently (also by two sessions at once), refreshed after a
key rotation, and the FHIR API's pseudonym lookup through them (withdrawn patients never
found). Expected pseudonyms come from ``webapp.crypto.pseudonym``, the export's definition
(HMAC-SHA256 under the register key), not from the code under test."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from sqlalchemy import delete, event, func, select

from tests.webapp.fhir_support import DNR, FNR, INDEX_DATE, NOT_REGISTERED, seed
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.models import Enrolment, Patient, Protocol, Register, RegisterPseudonym, Unit
from webapp.services import pseudonyms_index
from webapp.services.demo import demo_national_ids
from webapp.services.fhir_responses import patients_with_pseudonym
from webapp.services.patients import get_or_create_patient
from webapp.services.withdrawal import reinstate, withdraw


def _register(name: str) -> Register:
    return db.session.scalar(select(Register).where(Register.name == name))


def _key(app, name: str) -> bytes:  # type: ignore[no-untyped-def]
    return register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], name)


def _rows(register_id: int) -> dict[int, tuple[str, str]]:
    query = select(
        RegisterPseudonym.patient_id, RegisterPseudonym.pseudonym, RegisterPseudonym.key_check
    ).where(RegisterPseudonym.register_id == register_id)
    return {pid: (alias, check) for pid, alias, check in db.session.execute(query)}


def test_rows_are_written_at_enrolment(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        ids = seed()["patients"]
        hip, knee = _register("hip"), _register("knee")
        hip_key, knee_key = _key(app, "hip"), _key(app, "knee")
        check = pseudonyms_index.key_check(hip_key)
        assert _rows(hip.id) == {
            ids["fnr"]: (pseudonym(FNR, hip_key), check),
            ids["dnr"]: (pseudonym(DNR, hip_key), check),
        }
        assert _rows(knee.id) == {
            ids["other"]: (
                pseudonym(NOT_REGISTERED, knee_key),
                pseudonyms_index.key_check(knee_key),
            )
        }
        assert not pseudonyms_index.has_missing(hip.id, hip_key)
        assert pseudonyms_index.ensure_pseudonyms(hip.id, hip_key) == 0


def test_lookup_finds_the_patient_and_nobody_for_other_aliases(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        ids = seed()["patients"]
        hip, key = _register("hip").id, _key(app, "hip")
        assert patients_with_pseudonym(hip, pseudonym(FNR, key), key) == (ids["fnr"],)
        assert patients_with_pseudonym(hip, pseudonym(DNR, key), key) == (ids["dnr"],)
        assert patients_with_pseudonym(hip, "nobody", key) == ()
        # enrolled in the other register only; FNR's pseudonym in the other register
        assert patients_with_pseudonym(hip, pseudonym(NOT_REGISTERED, key), key) == ()
        assert patients_with_pseudonym(hip, pseudonym(FNR, _key(app, "knee")), key) == ()


@pytest.mark.parametrize("erase", [False, True])
def test_a_withdrawn_patient_is_not_found(app_factory, database_url, erase):
    app = app_factory(database_url)
    with app.app_context():
        ids = seed()["patients"]
        hip, key = _register("hip"), _key(app, "hip")
        withdraw(db.session.get(Patient, ids["fnr"]), hip, erase=erase)
        db.session.commit()
        # an erasure takes the patient's stored pseudonym with it; without one it stays
        assert (ids["fnr"] in _rows(hip.id)) is (not erase)
        assert patients_with_pseudonym(hip.id, pseudonym(FNR, key), key) == ()
        assert patients_with_pseudonym(hip.id, pseudonym(DNR, key), key) == (ids["dnr"],)
        db.session.execute(delete(RegisterPseudonym))  # the lazy pass skips withdrawn ones
        db.session.commit()
        assert pseudonyms_index.ensure_pseudonyms(hip.id, key) == 1
        assert set(_rows(hip.id)) == {ids["dnr"]}
        # reinstated: found again if the enrolment was kept; erased, no longer enrolled
        reinstate(db.session.get(Patient, ids["fnr"]), hip, reason="withdrawn by mistake")
        db.session.commit()
        expected = () if erase else (ids["fnr"],)
        assert patients_with_pseudonym(hip.id, pseudonym(FNR, key), key) == expected


def test_a_rotated_key_refreshes_the_rows(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        ids = seed()["patients"]
        hip = _register("hip").id
        old_key = _key(app, "hip")
        app.config["OPENPROM_PSEUDONYM_KEY"] = os.urandom(32)
        new_key = _key(app, "hip")
        assert pseudonyms_index.key_check(new_key) != pseudonyms_index.key_check(old_key)
        assert pseudonyms_index.has_missing(hip, new_key)
        assert patients_with_pseudonym(hip, pseudonym(DNR, new_key), new_key) == (ids["dnr"],)
        assert patients_with_pseudonym(hip, pseudonym(DNR, old_key), new_key) == ()
        check = pseudonyms_index.key_check(new_key)
        assert _rows(hip) == {
            ids["fnr"]: (pseudonym(FNR, new_key), check),
            ids["dnr"]: (pseudonym(DNR, new_key), check),
        }
        assert pseudonyms_index.ensure_pseudonyms(hip, new_key) == 0


def _statements(call):  # type: ignore[no-untyped-def]
    """(result of ``call()``, the SQL statements it ran)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        return call(), statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_lazy_fill_writes_what_is_missing_and_then_costs_one_query(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        ids = seed()["patients"]
        hip, key = _register("hip").id, _key(app, "hip")
        db.session.execute(
            delete(RegisterPseudonym).where(RegisterPseudonym.patient_id == ids["dnr"])
        )
        db.session.commit()
        # not found in the index: the missing row is filled, then found
        assert patients_with_pseudonym(hip, pseudonym(DNR, key), key) == (ids["dnr"],)
        assert _rows(hip)[ids["dnr"]][0] == pseudonym(DNR, key)
        written, statements = _statements(lambda: pseudonyms_index.ensure_pseudonyms(hip, key))
        assert written == 0 and len(statements) == 1, statements
        found, statements = _statements(
            lambda: patients_with_pseudonym(hip, pseudonym(FNR, key), key)
        )
        assert found == (ids["fnr"],) and len(statements) == 1, statements  # index only
        found, statements = _statements(lambda: patients_with_pseudonym(hip, "nobody", key))
        assert found == () and len(statements) == 2, statements  # index, then the check


def _enrol_without_rows(count: int) -> tuple[int, list[int]]:
    """A register with ``count`` synthetic patients enrolled and no stored pseudonyms."""
    register = Register(name="wide", title="wide")
    db.session.add(register)
    db.session.flush()
    unit = Unit(register_id=register.id, name="wide-unit", title="wide")
    protocol = Protocol(register_id=register.id, name="p", title="p")
    db.session.add_all([unit, protocol])
    db.session.flush()
    patients = [get_or_create_patient(n)[0] for n in demo_national_ids(count, seed=7)]
    db.session.flush()
    db.session.add_all(
        Enrolment(patient_id=p.id, protocol_id=protocol.id, unit_id=unit.id, index_date=INDEX_DATE)
        for p in patients
    )
    db.session.commit()
    return register.id, [p.id for p in patients]


def test_two_sessions_filling_at_once_do_not_fail(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        register_id, patient_ids = _enrol_without_rows(400)
        key = _key(app, "wide")
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                pseudonyms_index.ensure_pseudonyms(register_id, key, batch=25)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with app.app_context():
        rows = _rows(register_id)
        assert set(rows) == set(patient_ids)
        total = db.session.scalar(select(func.count()).select_from(RegisterPseudonym))
        assert total == len(patient_ids)
        nid = demo_national_ids(400, seed=7)[123]
        assert patients_with_pseudonym(register_id, pseudonym(nid, key), key) == (patient_ids[123],)
        assert not pseudonyms_index.has_missing(register_id, key)


def test_demo_patients_get_their_rows(app_factory, database_url):
    from webapp.services.demo import DEMO_REGISTER, create_demo

    app = app_factory(database_url)
    with app.app_context():
        create_demo(patients=30, today=dt.date(2026, 6, 1))
        register = _register(DEMO_REGISTER)
        key = _key(app, DEMO_REGISTER)
        assert not pseudonyms_index.has_missing(register.id, key)
        enrolled = db.session.scalars(
            select(Enrolment.patient_id).join(Unit).where(Unit.register_id == register.id)
        )
        assert set(_rows(register.id)) == set(enrolled)
        for nid in demo_national_ids(30):
            assert len(patients_with_pseudonym(register.id, pseudonym(nid, key), key)) == 1
