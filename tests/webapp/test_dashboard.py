"""Unit dashboard and quality indicators: numbers worked out by hand from the scripted
ODI totals in ``dashboard_support.py``, n<5 suppression on pages and in downloads.

Sources of the expected values:
- medians and quartiles: Hyndman & Fan (1996) definition 7 (R's default ``quantile``),
  worked by hand on the listed values;
- minimal important difference of the ODI total: 10 points (Ostelo et al. 2008, Spine
  33:90-94; ``instruments/data/mid.csv``);
- Wilson score interval for 3/5: Wilson (1927), JASA 22:209-212, by hand:
  centre (0.6 + z²/10) / (1 + z²/5), half-width z·sqrt(0.048 + z²/100) / (1 + z²/5) with
  z = 1.96 gives 0.2307 to 0.8824.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import textwrap
from pathlib import Path

import pytest

from tests.webapp import dashboard_support
from webapp.extensions import db
from webapp.models import Register, Unit, User
from webapp.services import dashboard as d
from webapp.services import indicators as ind
from webapp.services.auth import start_session

INDICATORS = """\
register: qi-reg
indicators:
  - id: odi-improved
    title: ODI improved at 12 months
    kind: improved
    protocol: lumbar
    instrument: odi
    scale: total
    from: baseline
    to: 12m
    target: {high: 0.70, moderate: 0.55}
  - id: odi-22
    title: ODI 22 or less at 12 months
    kind: threshold
    protocol: lumbar
    instrument: odi
    scale: total
    time_point: 12m
    at_most: 22
    target: {high: 0.50, moderate: 0.30}
  - id: response-12m
    title: Response at 12 months
    kind: response_rate
    protocol: lumbar
    instrument: odi
    time_point: 12m
    target: {high: 0.90, moderate: 0.80}
  - id: copd-response
    title: COPD response, a protocol no unit runs yet
    kind: response_rate
    protocol: copd
    instrument: cat
    time_point: 3m
    target: {high: 0.90, moderate: 0.80}
"""


@pytest.fixture
def qi(app, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "registers"
    folder.mkdir()
    (folder / "qi-reg.yaml").write_text(INDICATORS, encoding="utf-8")
    app.config["OPENPROM_REGISTER_CONFIG_DIR"] = str(folder)
    with app.app_context():
        return dashboard_support.build()


def _client(app, qi, key: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    with app.app_context():
        client.set_cookie("openprom_session", start_session(db.session.get(User, qi[key]), None))
    return client


def _stats():  # type: ignore[no-untyped-def]
    register = db.session.query(Register).filter_by(name="qi-reg").one()
    return d.RegisterStats(register), {u.name: frozenset({u.id}) for u in db.session.query(Unit)}


def test_medians_quartiles_and_suppression(app, qi):
    with app.app_context():
        stats, units = _stats()
        base = stats.summary("lumbar", "baseline", "odi", "total", units["qi-1"])
        # 30 40 44 50 52 60: median 47, Q1 = 40 + 0.25*4 = 41, Q3 = 50 + 0.75*2 = 51.5
        assert (base.n, base.median, base.q1, base.q3) == (6, 47.0, 41.0, 51.5)
        assert base.text() == "47 (41–51.5), n=6"
        whole = stats.summary("lumbar", "12m", "odi", "total")
        # 10 20 20 30 35 40 60: median 30, Q1 = 20, Q3 = 35 + 0.5*5 = 37.5
        assert (whole.n, whole.median, whole.q1, whole.q3) == (7, 30.0, 20.0, 37.5)
        small = stats.summary("lumbar", "baseline", "odi", "total", units["qi-2"])
        assert small.suppressed and small.text() == "n<5" and small.median is None
        # 2024 only: 40 50 60 64 70 (median 60); 2025 in unit 1: 30 44 52, suppressed
        year = stats.summary("lumbar", "baseline", "odi", "total", year=2024)
        assert (year.n, year.median, year.q1, year.q3) == (5, 60.0, 50.0, 64.0)
        assert stats.summary("lumbar", "baseline", "odi", "total", units["qi-1"], 2025).n == 3


def test_histogram_counts_each_value_once(app, qi):
    with app.app_context():
        stats, units = _stats()
        # unit 1 at baseline over 0..100 in ten bins: 30 | 40 44 | 50 52 | 60
        base = stats.summary("lumbar", "baseline", "odi", "total", units["qi-1"], None, (0, 100))
        assert base.counts == (0, 0, 0, 1, 2, 2, 1, 0, 0, 0)
        assert base.edges[:3] == (0.0, 10.0, 20.0) and base.edges[-1] == 100.0


def test_summary_text_uses_the_score_decimals():
    # EQ-5D index: three decimals (score_info). Type 7 by hand on 0.1 0.2 0.3 0.4 0.5:
    # h = (n - 1) p = 1, 2, 3 for p = 0.25, 0.5, 0.75, so 0.2, 0.3 and 0.4 exactly
    summary = d.summarise([0.5, 0.1, 0.4, 0.2, 0.3], decimals=3)
    assert summary.text() == "0.300 (0.200–0.400), n=5"
    assert d.summarise([30, 40, 44, 50, 52, 60]).text() == "47 (41–51.5), n=6"


@pytest.mark.parametrize(("lang", "median"), [("nb", "51,5"), ("nn", "51,5"), ("en", "51.5")])
def test_dashboard_medians_in_the_staff_language(app, qi, lang, median):
    # Q3 of 30 40 44 50 52 60 is 51.5 (hand-worked above); the page writes it in the
    # staff language's number format (CLDR: decimal comma in nb/nn, point in en_GB)
    client = _client(app, qi, "lead_1")
    client.set_cookie("openprom_staff_lang", lang)
    html = client.get("/clinician/units/qi-1/dashboard").get_data(as_text=True)
    assert f"47 (41–{median}), n=6" in html


def test_response_rates_count_closed_invitations(app, qi):
    with app.app_context():
        stats, units = _stats()
        rate = stats.response_rate("lumbar", "12m", "odi", units["qi-1"])
        assert (rate.k, rate.n) == (5, 6)  # 5 answered, 1 expired unanswered
        assert rate.text() == "83 % (n=6)"
        whole = stats.response_rate("lumbar", "12m", "odi")
        assert (whole.k, whole.n) == (7, 9)
        small = stats.response_rate("lumbar", "12m", "odi", units["qi-2"])
        assert small.suppressed and small.value is None and small.ci is None
        assert stats.response_rate("lumbar", "12m", "cat").n == 0  # not asked at 12m


def test_change_beyond_mid_and_wilson_interval(app, qi):
    with app.app_context():
        stats, units = _stats()
        # -20, -5, -40, -4, -20: three improve by at least 10, none worsen
        improved, worsened = stats.change(
            "lumbar", "odi", "total", "baseline", "12m", units["qi-1"]
        )
        assert (improved.k, improved.n, worsened.k) == (3, 5, 0)
        low, high = improved.ci
        assert low == pytest.approx(0.2307, abs=1e-4) and high == pytest.approx(0.8824, abs=1e-4)
        share, _ = stats.change("lumbar", "odi", "total", "baseline", "12m", year=2024)
        assert (share.k, share.n) == (3, 5)  # 2024: (50,30) (60,20) (70,20) of five pairs
        # unit 2: 70 -> 20 improves; 64 -> 60 changes by 4 only
        improved, worsened = stats.change(
            "lumbar", "odi", "total", "baseline", "12m", units["qi-2"]
        )
        assert (improved.k, improved.n, worsened.k) == (1, 2, 0)
        assert stats.change("lumbar", "odi", "band", "baseline", "12m") is None  # no MID


def test_change_shares_of_listed_pairs():
    # ODI total, MID 10 (lower is better): 50->30 and 40->30 improve, 30->40 worsens,
    # 30->35 is within the MID
    improved, worsened = d.change_shares(
        [(50, 30), (40, 30), (30, 40), (30, 35), (44, 40)], "odi", "total"
    )
    assert (improved.k, worsened.k, improved.n) == (2, 1, 5)
    assert d.change_shares([(1, 2)], "gspeq", "q01") is None


def test_indicators_and_levels(app, qi):
    with app.app_context():
        stats, units = _stats()
        improved, threshold, response, _ = ind.for_register("qi-reg")
        share = stats.indicator_share(improved, units["qi-1"])
        assert (share.k, share.n) == (3, 5) and improved.level(share.value) == "moderate"
        share = stats.indicator_share(threshold, units["qi-1"])
        assert (share.k, share.n) == (2, 5)  # 12-month totals 20 and 10 are <= 22
        assert threshold.level(share.value) == "moderate"
        share = stats.indicator_share(response)
        assert (share.k, share.n) == (7, 9) and response.level(share.value) == "low"
        assert stats.years == [2025, 2024]


def _aggregate_queries(run):  # type: ignore[no-untyped-def]
    """The GROUP BY statements ``run()`` sends (the counting; the stamp has none)."""
    from sqlalchemy import event

    seen: list[str] = []

    def listen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "GROUP BY" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        result = run()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return result, seen


def test_counts_are_reused_until_the_data_changes(app, qi):
    with app.app_context():
        stats, units = _stats()
        assert (stats.response_rate("lumbar", "12m", "odi").k, stats.years) == (7, [2025, 2024])
        again, queries = _aggregate_queries(
            lambda: d.RegisterStats(stats.register).response_rate("lumbar", "12m", "odi")
        )
        assert (again.k, again.n) == (7, 9) and queries == []  # nothing counted again
        assert stats.summary("lumbar", "12m", "odi", "total").n == 7  # counted before the change
        unit = db.session.get(Unit, next(iter(units["qi-2"])))
        protocol = stats.protocols["lumbar"]
        patient = dashboard_support.new_patient()
        dashboard_support.follow_with_odi_totals(
            patient.id, unit, protocol, dt.date(2024, 7, 1), (40.0, 20.0)
        )
        db.session.commit()
        fresh, queries = _aggregate_queries(
            lambda: d.RegisterStats(stats.register).response_rate("lumbar", "12m", "odi")
        )
        assert (fresh.k, fresh.n) == (8, 10) and queries  # the new answers are counted
        whole = d.RegisterStats(stats.register).summary("lumbar", "12m", "odi", "total")
        assert (whole.n, whole.median) == (8, 25.0)  # 10 20 20 20 30 35 40 60


def test_counts_follow_invitations_that_close(app, qi, monkeypatch):
    monkeypatch.setattr(d, "CACHE_SECONDS", 60 * 86400)  # only the invitation closes
    with app.app_context():
        stats, units = _stats()
        now = d.utcnow()
        unit = db.session.get(Unit, next(iter(units["qi-1"])))
        # the 12-month invitation opened yesterday and is open for 30 days: not counted
        index = now.date() - dt.timedelta(days=366)
        patient = dashboard_support.new_patient()
        dashboard_support.follow_with_odi_totals(
            patient.id, unit, stats.protocols["lumbar"], index, (45.0, None)
        )
        db.session.commit()
        counted = d.RegisterStats(stats.register, now)
        today = counted.response_rate("lumbar", "12m", "odi")
        assert (today.k, today.n) == (7, 9)
        assert counted.summary("lumbar", "baseline", "odi", "total").n == 10
        later = now + dt.timedelta(days=31)  # closed unanswered: counted in n

        def view():  # type: ignore[no-untyped-def]
            again = d.RegisterStats(stats.register, later)
            rate = again.response_rate("lumbar", "12m", "odi")
            return rate, again.summary("lumbar", "baseline", "odi", "total").n

        (closed, n), queries = _aggregate_queries(view)
        assert (closed.k, closed.n, n) == (7, 10, 10)
        assert queries and not [q for q in queries if "FROM score" in q]  # scores kept
        uncached = d.RegisterStats(stats.register, later, cached=False)
        assert uncached.response_rate("lumbar", "12m", "odi") == closed


def test_unit_dashboard_page(app, qi):
    page = _client(app, qi, "lead_1").get("/clinician/units/qi-1/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "47 (41–51,5), n=6" in html  # baseline median of the unit, decimal comma in nb
    assert "50 (44–60), n=9" in html  # baseline median of the whole register
    assert "60 %" in html and "Moderat måloppnåelse" in html
    assert "<svg" in html  # histograms
    assert "COPD response" not in html  # the unit does not run that protocol
    year = _client(app, qi, "lead_1").get("/clinician/units/qi-1/dashboard?year=2025")
    assert year.status_code == 200 and "n&lt;5" in year.get_data(as_text=True)
    assert (
        _client(app, qi, "lead_1").get("/clinician/units/qi-1/dashboard?year=x").status_code == 400
    )


def test_indicator_page_suppresses_small_units(app, qi):
    page = _client(app, qi, "admin").get("/clinician/registers/qi-reg/indicators")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    unit_two = html.split('<th scope="row">Unit Two</th>')[1].split("</tr>")[0]
    assert "n&lt;5" in unit_two and "%" not in unit_two  # 3 patients: nothing but n<5
    assert "Hele registeret" in html and "høy ≥ 70 %, moderat ≥ 55 %" in html
    copd = html.partition('id="i-copd-response"')[2]
    assert "Unit One" not in copd and "Hele registeret" in copd


def test_downloads_suppress_small_cells(app, qi):
    body = _client(app, qi, "admin").get("/clinician/registers/qi-reg/indicators.csv")
    assert body.status_code == 200 and body.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True))))
    unit_two = [r for r in rows if r["unit"] == "Unit Two"]
    assert unit_two and all(r["n"] == "n<5" and r["value"] == "n<5" for r in unit_two)
    one = next(
        r
        for r in rows
        if r["unit"] == "Unit One" and r["indicator"] == "odi-improved" and r["year"] == "Alle år"
    )
    assert (one["n"], one["value"], one["level"]) == ("5", "0.6000", "moderate")
    unit_csv = _client(app, qi, "lead_1").get("/clinician/units/qi-1/dashboard.csv")
    rows = list(csv.DictReader(io.StringIO(unit_csv.get_data(as_text=True))))
    for row in rows:
        assert row["n"] == "n<5" or int(row["n"]) >= 5, row


@pytest.mark.parametrize(
    ("key", "url", "status"),
    [
        ("clinician_1", "/clinician/units/qi-1/dashboard", 403),  # clinicians see patients only
        ("method", "/clinician/units/qi-1/dashboard", 403),  # methodologists: exports only
        ("lead_1", "/clinician/units/qi-2/dashboard", 403),  # another unit's dashboard
        ("admin", "/clinician/units/qi-2/dashboard", 200),
        ("lead_1", "/clinician/registers/qi-reg/indicators", 200),  # aggregated, suppressed
        ("clinician_1", "/clinician/registers/qi-reg/indicators", 403),
        ("admin", "/clinician/units/no-such-unit/dashboard", 403),
    ],
)
def test_dashboard_access(app, qi, key, url, status):
    assert _client(app, qi, key).get(url).status_code == status


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reg.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


ONE = """\
register: r
indicators:
  - id: a
    title: A
    kind: {kind}
    protocol: p
    instrument: {instrument}
{extra}    target: {{high: {high}, moderate: {moderate}}}
"""


@pytest.mark.parametrize(
    ("kind", "instrument", "extra", "high", "moderate", "message"),
    [
        ("response_rate", "odi", "", 0.8, 0.6, "needs 'time_point'"),
        ("improved", "odi", "    scale: total\n    from: baseline\n", 0.8, 0.6, "needs 'to'"),
        (
            "improved",
            "gspeq",
            "    scale: q01\n    from: b\n    to: c\n",
            0.8,
            0.6,
            "no minimal important difference",
        ),
        (
            "threshold",
            "odi",
            "    scale: total\n    time_point: 12m\n",
            0.8,
            0.6,
            "exactly one of at_most, at_least",
        ),
        ("response_rate", "odi", "    time_point: 12m\n", 0.5, 0.6, "high must be above"),
        ("share", "odi", "", 0.8, 0.6, "is not one of"),
        ("response_rate", "odi", "    time_point: 12m\n", 1.5, 0.6, "greater than the maximum"),
    ],
)
def test_bad_indicator_files_say_what_and_where(
    app, tmp_path, kind, instrument, extra, high, moderate, message
):
    path = _write(
        tmp_path,
        ONE.format(kind=kind, instrument=instrument, extra=extra, high=high, moderate=moderate),
    )
    with pytest.raises(ind.IndicatorConfigError, match=message) as info:
        ind.load_file(path)
    assert str(path) in str(info.value)


def test_bad_yaml_and_duplicate_ids(tmp_path):
    with pytest.raises(ind.IndicatorConfigError, match="not valid YAML"):
        ind.load_file(_write(tmp_path, "register: [unclosed\n"))
    first = INDICATORS.split("  - id: odi-22")[0]
    again = first.split("indicators:\n")[1]
    with pytest.raises(ind.IndicatorConfigError, match="duplicate indicator id odi-improved"):
        ind.load_file(_write(tmp_path, first + again))


def test_lower_is_better_targets():
    indicator = ind.Indicator(
        "x",
        "X",
        "",
        "threshold",
        "p",
        "odi",
        "total",
        "12m",
        None,
        None,
        None,
        50.0,
        "lower",
        0.10,
        0.20,
    )
    assert [indicator.level(v) for v in (0.05, 0.10, 0.15, 0.25)] == [
        "high",
        "high",
        "moderate",
        "low",
    ]
    assert indicator.target_text == "høy ≤ 10 %, moderat ≤ 20 %"
