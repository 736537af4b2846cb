"""The adaptive steps table in every export format (CSV, Parquet, SPSS, Stata) and the
codebook: files re-read with pandas, pyarrow and pyreadstat and compared with the stored
steps; no national ID and no calendar date in them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
import yaml
from sqlalchemy import select

import instruments
from scoring.irt.bank import BANKS_DIR
from tests.webapp.adaptive_support import BANK, PATIENT_ID, make_adaptive_world
from tests.webapp.test_adaptive_flow import answer_bank, answer_eq5d, start, steps
from webapp.extensions import db
from webapp.models import Patient, Register

COLUMNS = ["response_id", "instrument_id", "position", "item_id", "answer", "theta", "se"]


def bank_option_labels(lang: str) -> dict[int, str]:
    """Option labels of the bank's first item, read from the bank file itself."""
    data = yaml.safe_load((Path(BANKS_DIR) / "demo-physical-function.yaml").read_text("utf-8"))
    return {o["code"]: o["label"][lang] for o in data["items"][0]["options"]}


@pytest.fixture
def answered(app, client):  # type: ignore[no-untyped-def]
    """One completed adaptive time point: (world, items asked, stored steps as tuples)."""
    with app.app_context():
        world = make_adaptive_world()
    _, asked = answer_bank(client, start(client, world.token))
    answer_eq5d(client, world.token)
    assert client.post(f"/s/{world.token}/submit").status_code == 302
    with app.app_context():
        stored = [
            (s.response_id, s.position, s.item_id, s.answer, s.theta, s.se, s.answered_at)
            for s in steps(world.invitation_id)
        ]
    return world, asked, stored


def read_steps(path: Path) -> tuple[pd.DataFrame, dict[int, str] | None]:
    """A steps file as a DataFrame, with the value labels of ``answer`` (SPSS/Stata)."""
    if path.suffix == ".csv":
        return pd.read_csv(path), None
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas(), None
    reader = pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta
    frame, meta = reader(str(path))
    return frame, meta.variable_value_labels.get("answer")


def test_every_format_holds_the_stored_steps(app, answered, tmp_path):
    from webapp.services.export import export_register

    world, asked, stored = answered
    with app.app_context():
        result = export_register("reg", tmp_path, lang="en")
    names = {Path(p).name for p in result.files}
    for fmt in ("csv", "parquet", "sav", "dta"):
        assert f"adaptive_steps.{fmt}" in names
        frame, labels = read_steps(tmp_path / f"adaptive_steps.{fmt}")
        assert list(frame.columns) == COLUMNS, fmt
        assert list(frame["item_id"]) == asked
        assert list(frame["instrument_id"]) == [BANK] * len(asked)
        assert [int(v) for v in frame["position"]] == list(range(len(asked)))
        assert {int(v) for v in frame["response_id"]} == {stored[0][0]}
        assert [int(v) for v in frame["answer"]] == [s[3] for s in stored]
        # the stored doubles, unchanged (CSV writes Python's repr: round-trips exactly)
        assert list(frame["theta"]) == [s[4] for s in stored], fmt
        assert list(frame["se"]) == [s[5] for s in stored], fmt
        if fmt in ("sav", "dta"):
            assert labels is not None, fmt
            assert {int(k): v for k, v in labels.items()} == bank_option_labels("en")
    # the bank's own file holds the same response_id, so a step finds its pseudonym there
    bank_rows = pd.read_csv(tmp_path / f"{BANK}.csv")
    assert list(bank_rows["response_id"]) == [stored[0][0]]


def test_no_national_id_and_no_calendar_date_in_the_steps_files(app, answered, tmp_path):
    from webapp.services.export import export_register

    _, _, stored = answered
    with app.app_context():
        export_register("reg", tmp_path)
    dates = {s[6].strftime("%Y-%m-%d") for s in stored} | {
        s[6].strftime("%d.%m.%Y") for s in stored
    }
    for path in tmp_path.glob("adaptive_steps.*"):
        raw = path.read_bytes()
        assert PATIENT_ID.encode() not in raw, path.name
        frame, _ = read_steps(path)
        text = frame.to_csv(index=False)
        assert PATIENT_ID not in text
        assert not any(d in text for d in dates), path.name
        assert not any(str(t).startswith("datetime") for t in frame.dtypes), path.name


def test_only_the_chosen_formats_are_written(app, answered, tmp_path):
    from webapp.services.export import export_register

    with app.app_context():
        export_register("reg", tmp_path, formats=("parquet",))
    assert sorted(p.name for p in tmp_path.glob("adaptive_steps.*")) == ["adaptive_steps.parquet"]
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    assert book["adaptive_steps"]["files"] == ["adaptive_steps.parquet"]


def test_codebook_documents_the_steps_columns_and_the_bank(app, answered, tmp_path):
    from webapp.services.export import export_register

    _, asked, _ = answered
    bank = instruments.load(BANK)
    with app.app_context():
        export_register("reg", tmp_path, lang="en")
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    section = book["adaptive_steps"]
    assert section["rows"] == len(asked)
    assert section["files"] == [f"adaptive_steps.{f}" for f in ("csv", "parquet", "sav", "dta")]
    variables = {v["name"]: v for v in section["variables"]}
    assert list(variables) == COLUMNS
    assert all(v["type"] and v["label"] for v in variables.values())
    assert variables["theta"]["type"] == "number" and variables["answer"]["type"] == "int"
    assert variables["answer"]["codes"] == {str(k): v for k, v in bank_option_labels("en").items()}
    info = section["banks"][BANK]
    assert info["versions_in_data"] == [
        {"version": bank.version, "content_hash": bank.content_hash}
    ]
    assert info["synthetic"] is True and info["algorithm_version"] == "irt-eap-1"
    markdown = (tmp_path / "codebook.md").read_text("utf-8")
    assert "## Adaptive steps: adaptive_steps.csv, adaptive_steps.parquet" in markdown
    for column in COLUMNS:
        assert f"| `{column}` |" in markdown
    assert f"`{BANK}`" in markdown and bank.version in markdown and "SYNTHETIC" in markdown


def test_withdrawn_patient_leaves_no_steps_file_in_any_format(app, answered, tmp_path):
    from webapp.services.export import export_register
    from webapp.services.withdrawal import withdraw

    world, _, _ = answered
    with app.app_context():
        register = db.session.scalars(select(Register)).one()
        withdraw(db.session.get(Patient, world.patient_id), register, erase=False)
        db.session.commit()
        export_register("reg", tmp_path)
    assert list(tmp_path.glob("adaptive_steps.*")) == []
    assert "adaptive_steps" not in json.loads((tmp_path / "codebook.json").read_text("utf-8"))


def test_bank_file_in_stata_keeps_value_labels_with_its_long_item_names(app, answered, tmp_path):
    """``demo-physical-function-bank_pf01`` is 32 characters: valid for Stata, but
    pyreadstat names the value-label set after the variable plus a number, and label names
    have the same limit (the export failed before), so the name is shortened."""
    from webapp.services.export import export_register

    _, asked, _ = answered
    with app.app_context():
        export_register("reg", tmp_path, formats=("sav", "dta"), lang="en")
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    variables = {v["name"]: v for v in book["instruments"][BANK]["variables"]}
    column = f"{BANK}_{asked[0]}"
    stata = variables[column]["stata_name"]
    assert len(stata) < 32
    frame, meta = pyreadstat.read_dta(str(tmp_path / f"{BANK}.dta"))
    assert stata in frame.columns
    labels = meta.variable_value_labels[stata]
    assert {int(k): v for k, v in labels.items()} == bank_option_labels("en")
    spss = variables[column].get("spss_name", column)
    sav, sav_meta = pyreadstat.read_sav(str(tmp_path / f"{BANK}.sav"))
    assert spss in sav.columns and sav_meta.variable_value_labels[spss][5.0] == "Easily"
