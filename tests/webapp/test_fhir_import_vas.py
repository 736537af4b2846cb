"""A VAS answered on Helsenorge arrives as a slider code (valueCoding "57", the Helsenorge
profile writes the EQ VAS as a refero slider): the import stores the integer 57."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import select

import instruments
from tests.webapp.fhir_support import qr, seed
from webapp.extensions import db
from webapp.models import Response, ResponseImport
from webapp.services import fhir_resources as fr

VAS_SYSTEM = "urn:openprom:eq5d5l:VAS"


@pytest.fixture
def seeded(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return seed()


def _import(app, tmp_path: Path, answer: list) -> object:  # type: ignore[type-arg]
    path = tmp_path / "vas.ndjson"
    path.write_text(json.dumps(qr(answers={"VAS": answer})) + "\n", "utf-8")
    args = ["import-responses", str(path), "--register", "hip", "--mode", "helsenorge"]
    return app.test_cli_runner().invoke(args=args)


def test_a_slider_code_is_stored_as_the_integer(app, seeded, tmp_path):  # type: ignore[no-untyped-def]
    answer = [{"valueCoding": {"system": VAS_SYSTEM, "code": "57", "display": "57"}}]
    result = _import(app, tmp_path, answer)
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.answers["VAS"] == 57 and isinstance(stored.answers["VAS"], int)
        vas = {s.scale: s.value for s in stored.scores}["vas"]
        assert vas == 57  # EQ-5D-5L user guide (EuroQol 2019): the VAS is reported as given


def test_a_slider_code_without_system_is_taken_too(app, seeded, tmp_path):  # type: ignore[no-untyped-def]
    result = _import(app, tmp_path, [{"valueCoding": {"code": "0"}}])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Response)).one().answers["VAS"] == 0


@pytest.mark.parametrize(
    ("coding", "reason"),
    [
        ({"system": VAS_SYSTEM, "code": "101"}, "VAS"),  # above the scale's maximum
        ({"system": VAS_SYSTEM, "code": "ja"}, "is not a whole number on this scale"),
        ({"system": VAS_SYSTEM, "code": "5.5"}, "is not a whole number on this scale"),
        ({"system": "urn:openprom:eq5d3l:VAS", "code": "57"}, "is not this scale's"),
    ],
)
def test_a_bad_slider_code_is_refused_and_nothing_stored(  # type: ignore[no-untyped-def]
    app, seeded, tmp_path, coding, reason
):
    result = _import(app, tmp_path, [{"valueCoding": coding}])
    assert result.exit_code != 0
    assert reason in result.output + (result.stderr if result.stderr_bytes else "")
    with app.app_context():
        assert db.session.scalars(select(Response)).all() == []
        assert db.session.scalars(select(ResponseImport)).all() == []


def test_a_coding_on_an_integer_item_that_is_no_vas_is_still_refused():
    vas = next(i for i in instruments.load("eq5d5l").questions if i.id == "VAS")
    plain = dataclasses.replace(vas, anchors={})  # an integer item without anchors
    q_item = {"linkId": "VAS", "type": "integer"}
    with pytest.raises(fr.AnswerProblem, match="valueCoding does not answer a integer item"):
        fr.answer_from_fhir(q_item, plain, {"valueCoding": {"code": "57"}})
