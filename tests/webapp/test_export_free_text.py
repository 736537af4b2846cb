"""Free-text answers in exports (issue #11 follow-up): never by default; decrypted text
columns in CSV/Parquet/SPSS, valueString in FHIR, said in the codebook and in the export's
audit event when the register allows it. Walks tests/webapp/fixtures/answer_types.yaml
(the every-answer-type fixture of test_fhir_answer_types.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from tests.webapp.test_fhir_answer_types import (  # noqa: F401 (token is a fixture)
    FREE_TEXTS,
    IID,
    PAGE_1,
    PAGE_2,
    _post,
    token,
)
from webapp.extensions import db
from webapp.models import AuditEvent, Register
from webapp.services import export

FORMATS = "csv,parquet,sav,fhir"


@pytest.fixture
def answered(app, client, token):  # type: ignore[no-untyped-def]  # noqa: F811
    """The fixture answered (free text in ``other``, ``name``, ``comment``) and submitted."""
    client.post(f"/s/{token}/start", data={"mode": "self"})
    assert _post(client, token, 0, PAGE_1).status_code == 302
    assert _post(client, token, 1, PAGE_2).status_code == 302
    assert client.post(f"/s/{token}/submit").status_code in (302, 303)
    return token


def _export(app, out: Path):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(
        args=["export", "--register", "types", "--out", str(out), "--format", FORMATS]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.create")
        ).one()
        return event.details


def _qr_answers(out: Path) -> dict:  # type: ignore[type-arg]
    qr = json.loads((out / "QuestionnaireResponse.ndjson").read_text("utf-8"))
    answers, stack = {}, list(qr["item"])
    while stack:
        node = stack.pop()
        stack += node.get("item", [])
        if "answer" in node:
            answers[node["linkId"]] = node["answer"]
    return answers


def test_by_default_no_free_text_anywhere(app, answered, tmp_path):  # type: ignore[no-untyped-def]
    details = _export(app, tmp_path)
    assert details["free_text"] is False
    frame = pd.read_parquet(tmp_path / f"{IID}.parquet")
    assert f"{IID}_name" not in frame.columns and f"{IID}_comment" not in frame.columns
    assert frame[f"{IID}_other"].isna().all()  # the open-choice text is left out
    for path in tmp_path.iterdir():
        if path.suffix in (".csv", ".md", ".json", ".ndjson"):
            text = path.read_text("utf-8")
            assert not any(secret in text for secret in FREE_TEXTS), path.name
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    assert book["free_text"].startswith("not exported")
    assert not {"other", "name", "comment"} & set(_qr_answers(tmp_path))


def test_a_register_that_allows_it_gets_decrypted_free_text(  # type: ignore[no-untyped-def]
    app, answered, tmp_path, monkeypatch
):
    monkeypatch.setattr(export, "register_exports_free_text", lambda register: True)
    details = _export(app, tmp_path)
    assert details["free_text"] is True
    frame = pd.read_parquet(tmp_path / f"{IID}.parquet")
    row = frame.iloc[0]
    assert row[f"{IID}_other"] == "Svimmelhet om morgenen"
    assert row[f"{IID}_name"] == "Kari"
    assert row[f"{IID}_comment"] == "Vondt i ryggen\netter operasjonen"
    assert row[f"{IID}_feeling"] == "LA6569-3" and row[f"{IID}_packs"] == 2.0  # unchanged
    csv = pd.read_csv(tmp_path / f"{IID}.csv")
    assert csv[f"{IID}_comment"].tolist() == ["Vondt i ryggen\netter operasjonen"]
    import pyreadstat

    sav, _ = pyreadstat.read_sav(str(tmp_path / f"{IID}.sav"))
    assert sav[f"{IID}_name"].tolist() == ["Kari"]
    answers = _qr_answers(tmp_path)
    assert answers["name"] == [{"valueString": "Kari"}]
    assert answers["other"] == [{"valueString": "Svimmelhet om morgenen"}]
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    assert book["free_text"].startswith("exported, decrypted")
    variables = {v["name"]: v for v in book["instruments"][IID]["variables"]}
    assert variables[f"{IID}_comment"]["free_text"] is True
    assert variables[f"{IID}_comment"]["type"] == "string"
    assert "free_text" not in variables[f"{IID}_feeling"]
    assert "(free text)" in (tmp_path / "codebook.md").read_text("utf-8")


def test_the_setting_is_read_from_the_register_and_defaults_to_off():
    assert export.register_exports_free_text(Register(name="r", title="R")) is False
    allowing = Register(name="r", title="R")
    allowing.export_free_text = True
    assert export.register_exports_free_text(allowing) is True


def test_the_register_file_switches_free_text_exports_on_and_off(app, tmp_path):  # type: ignore[no-untyped-def]
    """``export: {free_text: true}`` in the register file is stored on the register (0011)."""
    import yaml

    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "register.yaml"
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    runner = app.test_cli_runner()

    def load(setting: object) -> str:
        if setting is None:
            data["register"].pop("export", None)
        else:
            data["register"]["export"] = {"free_text": setting}
        path = tmp_path / "register.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        result = runner.invoke(args=["load-register", str(path)])
        return f"{result.exit_code}: {result.output}"

    def stored() -> bool:
        with app.app_context():
            name = data["register"]["name"]
            register = db.session.query(Register).filter_by(name=name).one()
            return export.register_exports_free_text(register)

    assert load(None).startswith("0") and stored() is False
    assert "updated register" in load(True) and stored() is True
    assert load(True).startswith("0") and stored() is True
    assert "updated register" in load(False) and stored() is False
    refused = load("yes")
    assert refused.startswith("1") and "free_text" in refused and stored() is False
