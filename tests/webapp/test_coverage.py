"""Coverage (dekningsgrad) against the national patient register and PROM completeness,
with hand-worked values; the CSV import (per-line errors, nothing stored on error,
re-import replaces).

Target levels: stage system of the national medical quality registers (Nasjonalt
servicemiljø for medisinske kvalitetsregistre/SKDE, kvalitetsregistre.no/stadieinndeling):
high >= 80 %, moderate 60-80 %, low < 60 %.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.webapp.dashboard_support import follow_with_odi_totals, new_patient
from webapp.extensions import db
from webapp.models import AuditEvent, CoverageCount, Protocol, Register, Unit
from webapp.services import coverage
from webapp.services.withdrawal import withdraw

JAN_2025 = dt.date(2025, 1, 10)


def _more_patients(app, world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """unit-a1 in 2025: own [52, 30, 18] + [10, -, -] + [20, 25, -] = 3 enrolments;
    unit-a1 in 2024: one [15, -, -]; unit-a2 in 2025: other_unit [40, -, -] + 3 more."""
    with app.app_context():
        a1 = db.session.get(Unit, world.units["a1"])
        a2 = db.session.get(Unit, world.units["a2"])
        protocol = db.session.scalar(
            select(Protocol).where(Protocol.register_id == world.registers["a"])
        )
        made = {}
        for key, unit, index, values in [
            ("p2", a1, JAN_2025, [10.0, None, None]),
            ("p3", a1, JAN_2025, [20.0, 25.0, None]),
            ("p4", a1, dt.date(2024, 3, 1), [15.0, None, None]),
            ("q2", a2, JAN_2025, [11.0, None, None]),
            ("q3", a2, JAN_2025, [12.0, None, None]),
            ("q4", a2, JAN_2025, [13.0, None, None]),
        ]:
            patient = new_patient()
            follow_with_odi_totals(patient.id, unit, protocol, index, values)
            made[key] = patient.id
        db.session.commit()
        return made


def _csv(tmp_path, text: str, name: str = "npr.csv"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _import(app, path, register: str = "reg-a"):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["import-coverage", str(path), "--register", register])


def _stored(app) -> list[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return sorted(
            db.session.execute(
                select(CoverageCount.unit_id, CoverageCount.year, CoverageCount.treated)
            ).all()
        )


def test_coverage_and_levels_hand_worked(app, world, tmp_path):
    made = _more_patients(app, world)
    # semicolon, byte-order mark and a "period" column, as spreadsheets write them
    path = _csv(
        tmp_path, "\ufeffunit;period;treated\nunit-a1;2025;4\nunit-a2;2025;5\nunit-a1;2024;2\n"
    )
    result = _import(app, path)
    assert result.exit_code == 0, result.output
    assert "imported 3 count(s) for 2024, 2025 into reg-a" in result.output
    with app.app_context():
        register = db.session.get(Register, world.registers["a"])
        rows = {
            (r.unit, r.year): (r.enrolled, r.treated, r.coverage, r.level)
            for r in coverage.coverage(register)
        }
        # unit-a1 2025: 3 enrolled / 4 treated = 0.75 -> moderate (60-80 %)
        # unit-a2 2025: 4 / 5 = 0.80 -> high (>= 80 %, the boundary)
        # unit-a1 2024: 1 / 2 = 0.50 -> low (< 60 %)
        assert rows == {
            ("unit-a1", 2025): (3, 4, 0.75, "moderate"),
            ("unit-a2", 2025): (4, 5, 0.8, "high"),
            ("unit-a1", 2024): (1, 2, 0.5, "low"),
        }
        # completeness at unit-a1 in 2025 (all windows closed by now):
        # baseline 3 of 3 answered; 3 months: own and p3 = 2 of 3; 12 months: own = 1 of 3
        found = {
            (c.unit, c.year, c.time_point): (c.answered, c.due)
            for c in coverage.completeness(register)
        }
        assert found[("unit-a1", 2025, "baseline")] == (3, 3)
        assert found[("unit-a1", 2025, "3m")] == (2, 3)
        assert found[("unit-a1", 2025, "12m")] == (1, 3)
        assert found[("unit-a2", 2025, "3m")] == (0, 4)
        assert not any(key[0] == "unit-b1" for key in found)  # other register
        # a withdrawn patient is neither enrolled nor due: unit-a2 2025 3 / 5 = 60 % moderate
        from webapp.models import Patient

        withdraw(db.session.get(Patient, made["q2"]), register)
        db.session.commit()
        register = db.session.get(Register, world.registers["a"])
        after = {(r.unit, r.year): (r.enrolled, r.level) for r in coverage.coverage(register)}
        assert after[("unit-a2", 2025)] == (3, "moderate")
        found = {
            (c.unit, c.year, c.time_point): (c.answered, c.due)
            for c in coverage.completeness(register)
        }
        assert found[("unit-a2", 2025, "baseline")] == (3, 3)


def test_level_boundaries():
    assert [coverage.level(x) for x in (0.8, 0.7999, 0.6, 0.5999, None)] == [
        "high", "moderate", "moderate", "low", "",
    ]  # fmt: skip


def test_bad_lines_are_all_reported_and_nothing_is_stored(app, world, tmp_path):
    good = _csv(tmp_path, "unit,year,treated\nunit-a1,2025,4\nunit-a2,2025,5\n", "good.csv")
    assert _import(app, good).exit_code == 0
    before = _stored(app)
    bad = _csv(
        tmp_path,
        "unit,year,treated\n"
        "unit-a1,2024,3\n"  # fine, but the file fails: not stored either
        "unit-x,2024,3\n"  # line 3: unknown unit
        "unit-b1,2024,3\n"  # line 4: a unit of another register
        "unit-a2,24,3\n"  # line 5: not a four-digit year
        "unit-a2,2023,-3\n"  # line 6: negative
        "unit-a2,2022,1e3\n"  # line 7: not a whole number
        "unit-a1,2024,5\n",  # line 8: duplicate of line 2
        "bad.csv",
    )
    result = _import(app, bad)
    assert result.exit_code != 0
    out = result.output
    assert "nothing imported: 6 problem(s)" in out
    for expected in [
        "line 3: unknown unit 'unit-x' in register reg-a",
        "line 4: unknown unit 'unit-b1' in register reg-a",
        "line 5: year '24' is not a four-digit year",
        "line 6: treated '-3' is not a whole number >= 0",
        "line 7: treated '1e3' is not a whole number >= 0",
        "line 8: unit unit-a1 and year 2024 already on line 2",
    ]:
        assert expected in out, expected
    assert _stored(app) == before  # nothing stored, nothing lost
    missing = _import(app, _csv(tmp_path, "unit,count\nunit-a1,3\n", "cols.csv"))
    assert missing.exit_code != 0 and "missing column(s) year, treated" in missing.output
    assert _import(app, tmp_path / "none.csv").exit_code != 0
    assert _stored(app) == before


def test_reimport_replaces_the_years_of_the_file(app, world, tmp_path):
    first = _csv(
        tmp_path, "unit,year,treated\nunit-a1,2025,4\nunit-a2,2025,5\nunit-a1,2024,2\n", "1.csv"
    )
    assert _import(app, first).exit_code == 0
    second = _csv(tmp_path, "unit,year,treated\nunit-a1,2025,6\n", "2.csv")
    result = _import(app, second)
    assert result.exit_code == 0 and "(replaced 2)" in result.output
    a1, a2 = world.units["a1"], world.units["a2"]
    # 2025 replaced as a whole (unit-a2's 2025 count is gone), 2024 kept
    assert _stored(app) == sorted([(a1, 2025, 6), (a1, 2024, 2)])
    assert a2 not in {u for u, _, _ in _stored(app)}
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "coverage.import")
        ).all()
        assert [e.details["rows"] for e in events] == [3, 1]


def test_coverage_page(app, world, tmp_path, login_as):
    _more_patients(app, world)
    assert (
        _import(
            app, _csv(tmp_path, "unit,year,treated\nunit-a1,2025,4\nunit-a2,2025,5\n")
        ).exit_code
        == 0
    )
    client = login_as("register_admin")
    index = client.get("/clinician/").get_data(as_text=True)
    assert "/clinician/registers/reg-a/coverage" in index
    page = client.get("/clinician/registers/reg-a/coverage")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "75 %" in text and "80 %" in text and "moderat" in text and "høy" in text
    assert "n&lt;5" in text  # completeness cells with fewer than 5 due invitations
    assert login_as("clinician").get("/clinician/registers/reg-a/coverage").status_code == 403
    assert login_as("register_admin").get("/clinician/registers/reg-b/coverage").status_code == 403
