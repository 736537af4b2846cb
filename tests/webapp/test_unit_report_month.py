"""The monthly unit report: ``flask unit-report --unit NAME --month YYYY-MM -o FILE.pdf``
(and ``.html``), read back from the PDF with pypdf; its numbers are the dashboard's."""

from __future__ import annotations

import datetime as dt

import pypdf
import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Unit, utcnow
from webapp.services import monthly_report, unit_report
from webapp.services.demo import create_demo


def _last_month() -> tuple[str, dt.datetime]:
    first_of_this = utcnow().date().replace(day=1)
    last = first_of_this - dt.timedelta(days=1)
    return f"{last.year}-{last.month:02d}", dt.datetime.combine(first_of_this, dt.time(), dt.UTC)


def _words(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(path) -> str:  # type: ignore[no-untyped-def]
    return _words("\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages))


def _pct(share) -> str:  # type: ignore[no-untyped-def]
    return "n<5" if share.suppressed else f"{100 * share.value:.0f} % (n={share.n})"


@pytest.fixture
def demo(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        create_demo(patients=60)
        db.session.commit()
    return app


def test_pdf_report_reads_back_with_the_dashboards_numbers(demo, tmp_path):
    month, end = _last_month()
    out = tmp_path / "report.pdf"
    result = demo.test_cli_runner().invoke(
        args=["unit-report", "--unit", "demo-unit", "--month", month, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")
    text = _pdf_text(out)
    with demo.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "demo-unit"))
        first = dt.date(int(month[:4]), int(month[5:]), 1)
        assert f"Månedsrapport: {unit.title}" in text
        assert monthly_report.month_title(first) in text
        # the same numbers as the unit dashboard as at the end of the month
        dashboard = unit_report.unit_report(unit, None, now=end)
        rates = [r for block in dashboard.protocols for r in block.rates]
        assert rates
        for r in rates:
            assert (
                _words(f"{r.time_point} {r.instrument} {_pct(r.unit)} {_pct(r.register)}") in text
            )
        scores = [row for block in dashboard.protocols for s in block.scores for row in s.rows]
        for row in scores:
            # bokmål: decimal comma, as on the dashboard; the sign of a negative median (the
            # demo's item-bank theta) is the hyphen-minus Babel's nb number pattern writes
            plain = row.unit.text().replace(".", ",")
            shown = "n<5" if row.unit.suppressed else plain
            assert _words(shown) in text
        for table in dashboard.indicators:
            assert _words(table.indicator.title) in text and table.indicator.target_text in text
        report = monthly_report.build(unit, month)
        assert report.funnels  # every indicator of the demo unit has enough patients
        for f in report.funnels:
            assert _words(f.text) in text
        # one funnel plot per indicator (its legend is drawn as text)
        assert text.count("99,8 % kontrollgrense") == len(report.funnels)
        # suppression: completeness cells with fewer than 5 due invitations
        small = [c for c in report.completeness if c.due < 5]
        big = [c for c in report.completeness if c.due >= 5]
        assert big
        for c in big:
            assert f"{100 * c.share:.0f} % ({c.answered} av {c.due})" in text
        for c in small:
            assert f"({c.answered} av {c.due})" not in text
    assert "n<5" in text


def test_html_report_and_bad_requests(demo, tmp_path):
    month, _ = _last_month()
    html = tmp_path / "report.html"
    runner = demo.test_cli_runner()
    ok = runner.invoke(
        args=["unit-report", "--unit", "demo-unit", "--month", month, "-o", str(html)]
    )
    assert ok.exit_code == 0, ok.output
    page = html.read_text("utf-8")
    assert page.startswith("<!doctype html>") and "Svarandel per tidspunkt" in page
    assert "http" not in page.split("<body>")[1].split("</body>")[0].replace(
        "http://www.w3.org", ""
    )
    for args, message in [
        (["--month", "2026-13"], "--month must look like 2026-11"),
        (["--month", "november"], "--month must look like 2026-11"),
        (["--month", "2999-01"], "has not begun yet"),
    ]:
        bad = runner.invoke(
            args=["unit-report", "--unit", "demo-unit", *args, "-o", str(tmp_path / "x.pdf")]
        )
        assert bad.exit_code != 0 and message in bad.output, bad.output
    unknown = runner.invoke(
        args=["unit-report", "--unit", "nope", "--month", month, "-o", str(tmp_path / "x.pdf")]
    )
    assert unknown.exit_code != 0 and "unknown unit 'nope'" in unknown.output
    wrong = runner.invoke(
        args=["unit-report", "--unit", "demo-unit", "--month", month, "-o", str(tmp_path / "x.txt")]
    )
    assert wrong.exit_code != 0 and ".pdf or .html" in wrong.output
    assert not (tmp_path / "x.pdf").exists()


NYNORSK_ONLY = "Månadsrapport"  # nn; bokmål writes "Månedsrapport"


def test_cli_report_in_the_language_asked_for(demo, tmp_path):
    """``--language nn|en`` writes the report's texts in that language (bokmål default)."""
    month, _ = _last_month()
    runner = demo.test_cli_runner()
    pages = {}
    for language in ("nn", "en"):
        out = tmp_path / f"report-{language}.html"
        done = runner.invoke(
            args=[
                "unit-report",
                "--unit",
                "demo-unit",
                "--month",
                month,
                "--language",
                language,
                "-o",
                str(out),
            ]
        )
        assert done.exit_code == 0, done.output
        pages[language] = out.read_text("utf-8")
    assert "Response rate per time point" in pages["en"]
    assert "Svarandel per tidspunkt" not in pages["en"]
    assert "Svarandel per tidspunkt" in pages["nn"]
    assert NYNORSK_ONLY in pages["nn"] and NYNORSK_ONLY not in pages["en"]
    bad = runner.invoke(
        args=[
            "unit-report",
            "--unit",
            "demo-unit",
            "--month",
            month,
            "--language",
            "de",
            "-o",
            str(tmp_path / "x.html"),
        ]
    )
    assert bad.exit_code != 0 and "'de' is not one of" in bad.output


def test_report_behind_login(app, world, login_as):
    month, _ = _last_month()
    url = f"/clinician/units/unit-a1/report/{month}.pdf"
    lead = login_as("unit_lead").get(url)
    assert lead.status_code == 200 and lead.mimetype == "application/pdf"
    assert lead.data.startswith(b"%PDF-")
    assert login_as("clinician").get(url).status_code == 403
    assert (
        login_as("unit_lead").get("/clinician/units/unit-a1/report/2026-13.pdf").status_code == 404
    )
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302  # to the login page
