"""``flask --app wsgi load-register FILE``: register, units and protocols from a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from webapp.extensions import db
from webapp.models import AuditEvent, Protocol, Register, Unit

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "register.yaml"


def _load(app, path: Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["load-register", str(path)])


def _edit(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_example_file_loads_once_and_then_changes_nothing(app, tmp_path):
    first = _load(app, EXAMPLE)
    assert first.exit_code == 0, first.output
    assert "created register ryggregister" in first.output
    assert "created protocol lumbar-surgery" in first.output
    again = _load(app, EXAMPLE)
    assert again.exit_code == 0 and again.output.strip() == "nothing to change"
    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="sykehus-a-ortopedi").one()
        assert unit.invitation_sender == "Sykehus A"
        protocol = db.session.query(Protocol).filter_by(name="lumbar-surgery").one()
        assert [(tp.name, tp.offset_days) for tp in protocol.time_points] == [
            ("baseline", 0),
            ("3m", 91),
            ("12m", 365),
        ]
        assert db.session.query(AuditEvent).filter_by(action="register.load").count() == 2
    enrol = app.test_cli_runner().invoke(
        args=[
            "enrol",
            "17845810001",
            "--protocol",
            "lumbar-surgery",
            "--unit",
            "sykehus-a-ortopedi",
        ]
    )
    assert enrol.exit_code == 0, enrol.output


def test_titles_change_but_a_schedule_does_not(app, tmp_path):
    assert _load(app, EXAMPLE).exit_code == 0
    renamed = _edit(tmp_path, lambda d: d["units"][0].update(title="Sykehus A, ortopedi"))
    out = _load(app, renamed)
    assert out.exit_code == 0 and "updated unit sykehus-a-ortopedi" in out.output
    moved = _edit(tmp_path, lambda d: d["protocols"][0]["time_points"][1].update(offset_days=90))
    out = _load(app, moved)
    assert (
        out.exit_code == 1
        and "another schedule" in out.output
        and "new protocol name" in (out.output)
    )


def test_bad_files_say_what_and_where(app, tmp_path):
    cases = [
        (
            lambda d: d["protocols"][0]["time_points"][0].update(instruments=["nope"]),
            "protocols/lumbar-surgery: time point 'baseline'",
        ),
        (lambda d: d["units"][0].update(name="Has Spaces"), "units/0/name"),
        (lambda d: d["units"].append(dict(d["units"][0])), "sykehus-a-ortopedi given twice"),
        (lambda d: d["protocols"][0].update(window_days=0), "window_days"),
        (lambda d: d.update(extra=1), "Additional properties are not allowed"),
    ]
    for change, message in cases:
        out = _load(app, _edit(tmp_path, change))
        assert out.exit_code == 1, out.output
        assert message in out.output, (message, out.output)
    with app.app_context():
        assert db.session.query(Register).count() == 0  # nothing half-made
    broken = tmp_path / "broken.yaml"
    broken.write_text("register: [unclosed\n", encoding="utf-8")
    out = _load(app, broken)
    assert out.exit_code == 1 and "cannot read" in out.output


def test_a_unit_of_another_register_is_refused(app, tmp_path):
    assert _load(app, EXAMPLE).exit_code == 0
    other = _edit(tmp_path, lambda d: d["register"].update(name="other-register"))
    shutil.copy(other, tmp_path / "other.yaml")
    out = _load(app, tmp_path / "other.yaml")
    assert out.exit_code == 1 and "belongs to another register" in out.output
