"""FHIR QuestionnaireResponse import on SQLite and PostgreSQL: good, duplicate, bad and
wrong-patient batches (nothing stored on refusal, nothing stored twice)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.webapp.fhir_support import DNR, DNR_SYSTEM, HELSENORGE_QR, NOT_REGISTERED, qr, seed
from webapp.extensions import db
from webapp.models import Register, Response, ResponseImport, Score
from webapp.services.fhir_import import Actor, ImportRefused, import_responses

ACTOR = Actor("cli", label="test")


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def _run(resources: list, **kwargs):  # type: ignore[no-untyped-def]
    register = db.session.scalar(select(Register).where(Register.name == "hip"))
    numbered = list(enumerate(resources, start=1))
    return import_responses(numbered, register, mode="paper", actor=ACTOR, **kwargs)


def test_import_good_duplicate_bad_and_wrong_patient(app_factory, database_url):
    app = app_factory(database_url)
    with app.app_context():
        seed()
        good = [
            HELSENORGE_QR,
            qr(national_id=DNR, system=DNR_SYSTEM, identifier="qr-2",
               authored="2025-06-10T08:00:00Z"),
        ]  # fmt: skip
        report = _run(good)
        assert (report.stored, report.duplicates) == (2, 0)
        assert _count(Response) == 2 and _count(Score) == 6
        assert {r.mode for r in db.session.scalars(select(Response))} == {"paper"}

        again = _run(good)
        assert (again.stored, again.duplicates) == (0, 2)
        assert sorted(again.response_ids) == sorted(report.response_ids)
        assert _count(Response) == 2 and _count(ResponseImport) == 2

        bad = [
            qr(identifier="new-1", authored="2025-06-11T08:00:00Z"),  # fine on its own
            qr(identifier="new-2", answers={"AD": [{"valueCoding": {"code": "6"}}]}),
        ]
        with pytest.raises(ImportRefused) as refused:
            _run(bad)
        assert [(p.index, p.link_id) for p in refused.value.problems] == [(2, "AD")]
        assert _count(Response) == 2

        with pytest.raises(ImportRefused) as refused:
            _run([qr(identifier="new-3", national_id=NOT_REGISTERED)])
        assert "not enrolled in register 'hip'" in refused.value.problems[0].reason
        assert _count(Response) == 2 and _count(ResponseImport) == 2
