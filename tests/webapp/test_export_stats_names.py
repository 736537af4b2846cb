"""SPSS/Stata variable names for any export column (issue #11 follow-up): an imported
Questionnaire's id may hold ``-`` and its linkIds may be long; pyreadstat refuses such
names. Rules: IBM SPSS Statistics Command Syntax Reference, "Variable names" (letter
first, letters/digits/_, at most 64 bytes, reserved words ALL AND BY EQ GE GT LE LT NE
NOT OR TO WITH, unique ignoring case); Stata [U] 11.3 "Naming conventions" (at most 32
characters, letters/digits/_, reserved words such as if, in, int)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pyreadstat
import pytest

import instruments
import instruments.loader
from instruments.fhir_import import dump_definition, from_questionnaire
from tests.webapp.patient_support import PATIENT_ID
from webapp.extensions import db
from webapp.models import Protocol, Register, Response, TimePoint, Unit
from webapp.services.export import export_register, stats_names
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import enrol

IID = "phq-9-no"
LONG = "http://example.org/long-linkid/" + "a" * 60  # two linkIds differing at the end only
QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "id": IID,
    "url": "http://example.org/Questionnaire/phq-9-no",
    "version": "2.0",
    "title": "PHQ-9 test",
    "status": "active",
    "language": "en",
    "item": [
        {
            "linkId": LONG + "/1",
            "text": "Little interest",
            "type": "choice",
            "required": True,
            "answerOption": [
                {"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5"}},
                {"valueCoding": {"system": "http://loinc.org", "code": "LA6569-3"}},
            ],
        },
        {"linkId": LONG + "/2", "text": "Hours of sleep", "type": "integer"},
        {"linkId": "to", "text": "A reserved word in SPSS", "type": "integer"},
        {"linkId": "in", "text": "A reserved word in Stata", "type": "integer"},
    ],
}
SPSS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
STATA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


def test_valid_names_stay_and_others_are_mangled_uniquely():
    columns = ["pseudonym", "a-b_c", "a_b_c", "1st", "TO", "x" * 70, "x" * 70 + "y"]
    sav = stats_names(columns, "sav")
    assert sav["pseudonym"] == "pseudonym" and sav["a_b_c"] == "a_b_c"
    assert sav["a-b_c"] == "a_b_c_2"  # "a_b_c" is taken by a column already valid
    assert sav["1st"] == "v1st" and sav["TO"] == "TO_"
    assert sav["x" * 70] == "x" * 64 and sav["x" * 70 + "y"] == "x" * 62 + "_2"
    dta = stats_names(columns, "dta")
    assert dta["x" * 70] == "x" * 32 and dta["x" * 70 + "y"] == "x" * 30 + "_2"
    assert dta["TO"] == "TO"  # not reserved in Stata
    for names, pattern in ((sav, SPSS_NAME), (dta, STATA_NAME)):
        assert all(pattern.fullmatch(n) for n in names.values())
        assert len({n.lower() for n in names.values()}) == len(columns)


def test_names_differing_only_by_case_are_made_unique():
    names = stats_names(["Score", "score"], "sav")
    assert names == {"Score": "Score", "score": "score_2"}


@pytest.fixture
def imported(app, monkeypatch):  # type: ignore[no-untyped-def]
    """The imported Questionnaire in a register, with one completed response."""
    definition = instruments.parse(dump_definition(from_questionnaire(QUESTIONNAIRE)))
    assert definition.id == IID
    bundled = instruments.loader.load_all()
    monkeypatch.setattr(instruments.loader, "load_all", lambda: {**bundled, IID: definition})
    long_1, long_2 = (i.id for i in definition.questions[:2])
    with app.app_context():
        register = Register(name="imported", title="Imported")
        db.session.add(register)
        db.session.flush()
        unit = Unit(name="imported-unit", title="Unit", register_id=register.id)
        protocol = Protocol(register_id=register.id, name="p", title="P", window_days=30)
        protocol.time_points = [
            TimePoint(name="baseline", title="0", offset_days=0, position=0, instruments=[IID])
        ]
        db.session.add_all([unit, protocol])
        db.session.flush()
        patient, _ = get_or_create_patient(PATIENT_ID)
        enrolment = enrol(patient, protocol, unit, dt.date(2025, 3, 3))
        db.session.add(
            Response(
                invitation_id=enrolment.invitations[0].id,
                instrument_id=IID,
                instrument_version=definition.version,
                instrument_hash=definition.content_hash,
                language="en",
                status="complete",
                answers={long_1: "LA6569-3", long_2: 7, "to": 1, "in": 2},
                completed_at=dt.datetime(2025, 3, 5, 9, 0, tzinfo=dt.UTC),
            )
        )
        db.session.commit()
    return long_1, long_2


def test_spss_and_stata_files_of_a_hyphenated_id_with_long_linkids(app, imported, tmp_path):
    long_1, long_2 = imported
    with app.app_context():
        export_register("imported", tmp_path, formats=("parquet", "sav", "dta"), lang="en")
    parquet = pd.read_parquet(tmp_path / f"{IID}.parquet")
    col_1, col_2 = f"{IID}_{long_1}", f"{IID}_{long_2}"
    assert {col_1, col_2, f"{IID}_to", f"{IID}_in"} <= set(parquet.columns)  # unchanged there
    sav, sav_meta = pyreadstat.read_sav(str(tmp_path / f"{IID}.sav"))
    dta, dta_meta = pyreadstat.read_dta(str(tmp_path / f"{IID}.dta"))
    assert len(sav.columns) == len(dta.columns) == len(parquet.columns)
    for frame, pattern in ((sav, SPSS_NAME), (dta, STATA_NAME)):
        assert all(pattern.fullmatch(c) for c in frame.columns), list(frame.columns)
        assert len({c.lower() for c in frame.columns}) == len(frame.columns)
    sav_1, sav_2 = f"phq_9_no_{long_1}"[:64], f"phq_9_no_{long_1}"[:62] + "_2"
    assert sav[sav_1].tolist() == ["LA6569-3"] and sav[sav_2].tolist() == [7.0]
    assert sav["phq_9_no_to"].tolist() == [1.0] and sav["pseudonym"].str.len().tolist() == [20]
    dta_1, dta_2 = "phq_9_no_" + long_1[:23], "phq_9_no_" + long_1[:21] + "_2"
    assert dta[dta_1].tolist() == ["LA6569-3"] and dta[dta_2].tolist() == [7.0]
    # the export column name starts the variable label of a renamed variable
    sav_labels = dict(zip(sav_meta.column_names, sav_meta.column_labels, strict=True))
    assert sav_labels[sav_2] == f"{col_2}: Hours of sleep"
    assert sav_labels["pseudonym"].startswith("Patient pseudonym")
    dta_labels = dict(zip(dta_meta.column_names, dta_meta.column_labels, strict=True))
    assert dta_labels[dta_2] == f"{col_2}: Hours of sleep"[:80]
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    variables = {v["name"]: v for v in book["instruments"][IID]["variables"]}
    assert variables[col_2]["spss_name"] == sav_2 and variables[col_2]["stata_name"] == dta_2
    assert variables[f"{IID}_to"]["spss_name"] == "phq_9_no_to"
    assert "spss_name" not in variables["pseudonym"]
    markdown = (tmp_path / "codebook.md").read_text("utf-8")
    assert f"`{col_2}` (SPSS: `{sav_2}`) (Stata: `{dta_2}`)" in markdown
