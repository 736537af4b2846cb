"""Export files re-read with pandas/pyreadstat and compared to the database."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pyreadstat
import pytest
from flask import current_app

from tests.webapp.export_support import ANSWERS, TEST_IDS, seed_register
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.services.export import ExportError, export_register
from webapp.services.patients import national_id_of


@pytest.fixture
def seeded(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        yield seed_register()


def test_csv_and_parquet_match_database(app, seeded, tmp_path):
    # the register's own key: HKDF of the master key with the register name
    key = register_pseudonym_key(current_app.config["OPENPROM_PSEUDONYM_KEY"], "hip-register")
    result = export_register("hip-register", tmp_path, formats=("csv", "parquet"))
    assert result.rows == {"eq5d5l": 3}  # the draft is left out
    frames = pd.read_csv(tmp_path / "eq5d5l.csv"), pd.read_parquet(tmp_path / "eq5d5l.parquet")
    for frame in frames:
        assert list(frame["pseudonym"]) == [pseudonym(n, key) for n in TEST_IDS]
        assert list(frame["eq5d5l_MO"]) == [a["MO"] for a in ANSWERS]
        assert list(frame["eq5d5l_VAS"]) == [a["VAS"] for a in ANSWERS]
        assert list(frame["eq5d5l_index"]) == pytest.approx([0.5, 0.6, 0.7])
        assert list(frame["eq5d5l_profile"].astype(str)) == ["12345", "21121", "55555"]
        assert list(frame["completed_month"]) == ["2025-02"] * 3
        # completed 2025-02-03+n, index 2025-01-10+n: 24 days
        assert list(frame["days_from_index"]) == [24, 24, 24]
        assert list(frame["index_year"]) == [2025] * 3
        assert set(frame["unit"]) == {"unit-a"}


def test_sav_and_dta_have_value_labels(app, seeded, tmp_path):
    export_register("hip-register", tmp_path, formats=("sav", "dta"), lang="en")
    for name in ("eq5d5l.sav", "eq5d5l.dta"):
        frame, meta = pyreadstat.read_file_multiprocessing(
            pyreadstat.read_sav if name.endswith("sav") else pyreadstat.read_dta,
            str(tmp_path / name), num_processes=1)
        assert list(frame["eq5d5l_MO"]) == [1, 2, 5]
        labels = meta.variable_value_labels["eq5d5l_MO"]
        assert labels[1].startswith("I have no problems")
        assert len(labels) == 5
    assert not (tmp_path / "eq5d5l.parquet").exists()


def test_codebook_lists_versions_and_method_but_no_key(app, seeded, tmp_path):
    export_register("hip-register", tmp_path, formats=("csv",))
    book = json.loads((tmp_path / "codebook.json").read_text("utf-8"))
    info = book["instruments"]["eq5d5l"]
    assert info["versions_in_data"] == [{"version": "1", "content_hash": "hash-1"}]
    assert info["algorithm_versions"] == ["eq5d-1"]
    assert info["value_sets"] == ["NO"]
    assert "HMAC-SHA256" in book["pseudonymisation"]
    key = current_app.config["OPENPROM_PSEUDONYM_KEY"]
    for path in tmp_path.iterdir():
        assert key not in path.read_bytes()
    assert "| `eq5d5l_MO` |" in (tmp_path / "codebook.md").read_text("utf-8")


def test_same_pseudonym_across_exports_and_other_key_differs(app, seeded, tmp_path):
    export_register("hip-register", tmp_path / "a", formats=("csv",))
    export_register("hip-register", tmp_path / "b", formats=("csv",))
    first = pd.read_csv(tmp_path / "a" / "eq5d5l.csv")["pseudonym"]
    assert list(first) == list(pd.read_csv(tmp_path / "b" / "eq5d5l.csv")["pseudonym"])
    app.config["OPENPROM_PSEUDONYM_KEY"] = b"\x01" * 32
    export_register("hip-register", tmp_path / "c", formats=("csv",))
    other = pd.read_csv(tmp_path / "c" / "eq5d5l.csv")["pseudonym"]
    assert set(other).isdisjoint(set(first))


def test_no_national_id_in_files_cli_output_or_logs(app, seeded, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    ids = [national_id_of(r.invitation.enrolment.patient) for r in seeded["responses"]]
    assert sorted(ids) == sorted(TEST_IDS)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["export", "--register", "hip-register", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "eq5d5l: 3 responses" in out.output
    files = list(tmp_path.iterdir())
    assert {p.name for p in files} >= {"eq5d5l.csv", "eq5d5l.parquet", "eq5d5l.sav",
                                       "eq5d5l.dta", "codebook.md", "codebook.json"}
    for nid in ids:
        for path in files:
            assert nid.encode() not in path.read_bytes(), path
        assert nid not in out.output
        assert all(nid not in r.getMessage() for r in caplog.records)


def test_cli_writes_audit_event_and_reports_errors(app, seeded, tmp_path):
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import AuditEvent

    runner = app.test_cli_runner()
    out = runner.invoke(args=["export", "--register", "hip-register", "--out", str(tmp_path),
                              "--format", "csv"])
    assert out.exit_code == 0, out.output
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.create")).one()
    assert event.actor_type == "cli"
    bad = runner.invoke(args=["export", "--register", "nope", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "unknown register 'nope'" in bad.output
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = runner.invoke(args=["export", "--register", "hip-register", "--out", str(blocker / "d")])
    assert bad.exit_code != 0 and "cannot create output directory" in bad.output
    with pytest.raises(ExportError, match="unknown format"):
        from webapp.services.export import parse_formats
        parse_formats("csv,xlsx")
