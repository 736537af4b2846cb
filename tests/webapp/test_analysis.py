"""Aggregate questions with disclosure control: hand-worked statistics, primary and
complementary suppression, and an attacker who tries to recover suppressed counts from the
published cells and margins (by enumerating every integer table that fits) and fails.

Quantiles: Hyndman & Fan (1996) type 7 (R's default, numpy's ``linear``), as the dashboards.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import yaml
from sqlalchemy import select

from tests.webapp.dashboard_support import follow_with_odi_totals, new_patient
from webapp.extensions import db
from webapp.models import AuditEvent, Patient, Protocol, Register, Unit
from webapp.services import analysis
from webapp.services.withdrawal import withdraw

Y2024, Y2025 = dt.date(2024, 2, 1), dt.date(2025, 1, 10)


def _seed(app, world) -> None:  # type: ignore[no-untyped-def]
    """Baseline ODI totals (world: own 52 at a1/2025, other_unit 40 at a2/2025):

    a1 2024: 12, 14 (n=2)            a1 2025: 52, 10, 20, 30, 40 (n=5)
    a2 2024: 5 patients (n=5)        a2 2025: 40 + 6 patients (n=7)
    """
    with app.app_context():
        a1 = db.session.get(Unit, world.units["a1"])
        a2 = db.session.get(Unit, world.units["a2"])
        protocol = db.session.scalar(
            select(Protocol).where(Protocol.register_id == world.registers["a"])
        )
        plan = [(a1, Y2024, v) for v in (12.0, 14.0)]
        plan += [(a1, Y2025, v) for v in (10.0, 20.0, 30.0, 40.0)]
        plan += [(a2, Y2024, v) for v in (50.0, 52.0, 54.0, 56.0, 58.0)]
        plan += [(a2, Y2025, v) for v in (20.0, 22.0, 24.0, 26.0, 28.0, 30.0)]
        for unit, index, value in plan:
            follow_with_odi_totals(new_patient().id, unit, protocol, index, [value, None, None])
        db.session.commit()


QUERY = {"instrument": "odi", "scale": "total", "time_point": "baseline", "by": ["unit", "year"]}


def _attack(table: analysis.AnalysisTable) -> dict[tuple[str, str], set[int]]:
    """Every value of each suppressed count that fits the published counts and margins,
    found by enumerating the unknown interior cells (independent of the LP in the code)."""
    published = table.published_counts()
    rows, cols = table.rows, table.cols
    interior = [(r, c) for r in rows for c in cols]
    unknown = [k for k in interior if published[k] is None]
    cap = published[("Alle", "Alle")] if published[("Alle", "Alle")] is not None else 60
    possible: dict[tuple[str, str], set[int]] = {
        k: set() for k, v in published.items() if v is None
    }
    for guess in itertools.product(range(cap + 1), repeat=len(unknown)):
        counts = {k: published[k] for k in interior}
        counts.update(zip(unknown, guess, strict=True))
        for r in rows:
            counts[(r, "Alle")] = sum(counts[(r, c)] for c in cols)
        for c in cols:
            counts[("Alle", c)] = sum(counts[(r, c)] for r in rows)
        counts[("Alle", "Alle")] = sum(counts[(r, "Alle")] for r in rows)
        if all(published[k] is None or published[k] == v for k, v in counts.items()):
            for k in possible:
                possible[k].add(counts[k])
    return possible


def test_hand_worked_cells_and_suppression_that_margins_cannot_undo(app, world):
    _seed(app, world)
    with app.app_context():
        register = db.session.get(Register, world.registers["a"])
        table = analysis.analyse(register, QUERY)
    cells = table.cells
    assert table.rows == ["unit-a1", "unit-a2"] and table.cols == ["2024", "2025"]
    # unit a1, all years: 10 12 14 20 30 40 52 -> mean 178/7 = 25.43; type 7 positions
    # (n-1)p = 1.5, 3, 4.5: q1 = 12 + 0.5*2 = 13, median 20, q3 = 30 + 0.5*10 = 35
    a1 = cells[("unit-a1", "Alle")]
    assert (a1.n, a1.mean, a1.median, a1.q1, a1.q3) == (7, 25.4, 20.0, 13.0, 35.0)
    # 2025, all units: 10 20 20 22 24 26 28 30 30 40 40 52 -> mean 342/12 = 28.5;
    # positions 2.75, 5.5, 8.25: q1 = 20 + 0.75*2 = 21.5, median 27, q3 = 30 + 0.25*10 = 32.5
    y = cells[("Alle", "2025")]
    assert (y.n, y.mean, y.median, y.q1, y.q3) == (12, 28.5, 27.0, 21.5, 32.5)
    # the whole register, 19 baseline scores: 26 + 152 + 270 + 190 = 638; 638 / 19 = 33.58
    total = cells[("Alle", "Alle")]
    assert (total.n, total.mean) == (19, 33.6)
    # a1/2024 has n=2: suppressed for its size
    assert cells[("unit-a1", "2024")].reason == "primary"
    # ... and the other three cells of its 2x2 block, so that the margins do not give it
    # away (the margins stay published)
    assert {k for k, c in cells.items() if c.reason == "complementary"} == {
        ("unit-a1", "2025"),
        ("unit-a2", "2024"),
        ("unit-a2", "2025"),
    }
    found = _attack(table)
    assert 2 in found[("unit-a1", "2024")]  # the truth is among the possibilities
    for key, values in found.items():
        if cells[key].reason == "primary":
            assert len(values) >= analysis.PROTECTION, (key, sorted(values))
    # the attacker does work: with primary suppression alone the cell is recovered
    naive = analysis.AnalysisTable(table.query, "unit", "year", table.rows, table.cols)
    for key, cell in table.cells.items():
        plain = analysis.Cell(cell.n, 1.0, 1.0, 1.0, 1.0)
        naive.cells[key] = analysis.Cell(cell.n, reason="primary") if cell.n < 5 else plain
    assert _attack(naive)[("unit-a1", "2024")] == {2}


def test_one_dimension_and_the_query_rules(app, world):
    _seed(app, world)
    with app.app_context():
        register = db.session.get(Register, world.registers["a"])
        one = analysis.analyse(register, {**QUERY, "by": ["year"]})
        assert {k: c.n for k, c in one.cells.items()} == {
            ("2024", "Alle"): 7,
            ("2025", "Alle"): 12,
            ("Alle", "Alle"): 19,
        }
        assert not any(c.suppressed for c in one.cells.values())
        for bad, message in [
            ({**QUERY, "by": ["unit", "year", "sex"]}, "is too long"),
            ({**QUERY, "by": ["postcode"]}, "is not one of"),
            ({"instrument": "odi"}, "'scale' is a required property"),
            ({**QUERY, "sql": "drop"}, "Additional properties"),
        ]:
            with pytest.raises(analysis.AnalysisError, match=message):
                analysis.analyse(register, bad)


def test_sex_and_age_band_rules():
    # the ninth digit of a fødselsnummer (third of the individual number): even = woman
    assert analysis.sex_of("01017012345") == "mann"  # ninth digit 3
    assert analysis.sex_of("01017012245") == "kvinne"  # ninth digit 2
    assert analysis.sex_of("81017012345") == "ukjent"  # FH number
    assert [analysis.age_band(a) for a in (0, 17, 18, 39, 40, 79, 80, None)] == [
        "0–17", "0–17", "18–39", "18–39", "40–59", "60–79", "80+", "ukjent",
    ]  # fmt: skip


def test_cli_prints_csv_and_audits(app, world, tmp_path):
    _seed(app, world)
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(QUERY), "utf-8")
    result = app.test_cli_runner().invoke(
        args=["analyse", "--register", "reg-a", "--query", str(path)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "unit,year,n,mean,median,q1,q3"
    assert "unit-a1,2024,n<5,n<5,n<5,n<5,n<5" in lines
    assert "Alle,Alle,19,33.6" in result.output
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "analysis.query"))
        assert event.actor_type == "cli" and event.details["query"] == QUERY
    bad = tmp_path / "bad.yaml"
    bad.write_text("instrument: odi\nscale: total\nby: [unit, year, sex]\n", "utf-8")
    refused = app.test_cli_runner().invoke(
        args=["analyse", "--register", "reg-a", "--query", str(bad)]
    )
    assert refused.exit_code != 0 and "query by" in refused.output


def test_web_page_for_methodologists_only_and_audited(app, world, login_as):
    _seed(app, world)
    form = {
        "register_id": str(world.registers["a"]),
        "instrument": "odi",
        "scale": "total",
        "time_point": "baseline",
        "by": ["unit", "year"],
    }
    client = login_as("methodologist")
    page = client.post("/clinician/analysis", data=form)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "n&lt;5" in text and "skjult" in text
    assert "33.6" in text  # the register mean
    for role in ("clinician", "unit_lead", "sysadmin"):
        assert login_as(role).post("/clinician/analysis", data=form).status_code == 403
    other = login_as("methodologist").post(
        "/clinician/analysis", data={**form, "register_id": str(world.registers["b"])}
    )
    assert other.status_code == 400  # not one of the methodologist's registers
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "analysis.query")
        ).all()
        assert [e.actor_id for e in events] == [world.users["methodologist"]]


def test_withdrawn_patients_are_left_out(app, world):
    _seed(app, world)
    with app.app_context():
        register = db.session.get(Register, world.registers["a"])
        before = analysis.analyse(register, {**QUERY, "by": ["unit"]})
        withdraw(db.session.get(Patient, world.patients["own"]), register)  # a1, 2025, ODI 52
        db.session.commit()
        register = db.session.get(Register, world.registers["a"])
        after = analysis.analyse(register, {**QUERY, "by": ["unit"]})
    assert before.cells[("unit-a1", "Alle")].n == 7 and after.cells[("unit-a1", "Alle")].n == 6
    # 10 12 14 20 30 40 without 52: mean 126 / 6 = 21.0
    assert after.cells[("unit-a1", "Alle")].mean == 21.0
    assert after.cells[("unit-a2", "Alle")] == before.cells[("unit-a2", "Alle")]
