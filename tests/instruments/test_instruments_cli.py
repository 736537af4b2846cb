"""``python -m instruments list|validate``: output lines and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from instruments.__main__ import main
from instruments.loader import definition_files, load_file

FIXTURES = Path(__file__).parent / "fixtures"
BROKEN = FIXTURES / "broken"
REPO = Path(__file__).resolve().parents[2]

# One fixture per kind of problem, with the exact line `validate` must print for it.
BROKEN_CASES = {
    "enable_when_unknown_code.yaml": "q02: enable_when uses unknown option code 7 of item 'q01'",
    "duplicate_item_id.yaml": "q01: duplicate item id",
    "missing_translation.yaml": "q01: missing translation 'en' in text",
    "scale_unknown_item.yaml": "scale total: unknown item 'q09'",
    "bad_yaml.yaml": (
        "line 6: bad YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts on line 5)"
    ),
    "page_unknown_item.yaml": "page p1: unknown item 'q09'",
    "schema_violation.yaml": (
        "q01.type: 'slider' is not one of ['choice', 'open-choice', 'integer', 'decimal', "
        "'quantity', 'boolean', 'string', 'text', 'date', 'dateTime', 'display']"
    ),
}


def test_every_broken_fixture_has_a_case():
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_validate_prints_file_item_message_and_fails(name, capsys):
    path = BROKEN / name
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{path}:{BROKEN_CASES[name]}"]
    assert err.strip() == "0 of 1 files valid"


def test_validate_reports_every_file_and_counts_the_valid_ones(capsys):
    files = [FIXTURES / "minimal.yaml", BROKEN / "duplicate_item_id.yaml", FIXTURES / "full.yaml"]
    assert main(["validate", *map(str, files)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{files[1]}:q01: duplicate item id"]
    assert err.strip() == "2 of 3 files valid"


def test_validate_accepts_valid_files(capsys):
    assert main(["validate", str(FIXTURES / "minimal.yaml"), str(FIXTURES / "full.yaml")]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "2 of 2 files valid"


def test_validate_rejects_two_files_with_the_same_instrument_id(tmp_path, capsys):
    copy = tmp_path / "copy.yaml"
    copy.write_text((FIXTURES / "minimal.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["validate", str(FIXTURES / "minimal.yaml"), str(copy)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        f"{copy}:-: instrument id 'minimal' is also used by {FIXTURES / 'minimal.yaml'}"
    ]


def test_validate_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "absent.yaml")]) == 1
    out, _ = capsys.readouterr()
    assert out.startswith(f"{tmp_path / 'absent.yaml'}:-: cannot read: ")


def _bundled_or_skip() -> list[Path]:
    files = definition_files()
    if not files:
        pytest.skip("no bundled instrument definitions (instruments/*.yaml) yet")
    return files


def test_validate_without_arguments_checks_every_bundled_file():
    files = _bundled_or_skip()
    result = subprocess.run(
        [sys.executable, "-m", "instruments", "validate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.stderr.strip() == f"{len(files)} of {len(files)} files valid", result.stdout
    assert result.stdout == ""
    assert result.returncode == 0


def test_validate_without_arguments_prints_relative_paths(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text((BROKEN / "duplicate_item_id.yaml").read_text(encoding="utf-8"))
    monkeypatch.setattr("instruments.__main__.definition_files", lambda: [broken])
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == ["broken.yaml:q01: duplicate item id"]


def test_list_shows_every_bundled_instrument(capsys):
    files = _bundled_or_skip()
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "version", "kind", "languages", "items", "file"]
    rows = {line.split()[0]: line for line in lines[1:]}
    for path in files:
        inst = load_file(path)
        row = rows[inst.id]
        assert inst.version in row and path.name in row
        assert f" {','.join(inst.languages)} " in row
        assert f" {len(inst.questions)} " in row
    assert len(rows) == len(files)


def test_list_reports_an_invalid_file_and_fails(monkeypatch, capsys):
    monkeypatch.setattr(
        "instruments.__main__.definition_files",
        lambda: [FIXTURES / "minimal.yaml", BROKEN / "scale_unknown_item.yaml"],
    )
    assert main(["list"]) == 1
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == ["id", "minimal"]
    assert "scale total: unknown item 'q09'" in err
