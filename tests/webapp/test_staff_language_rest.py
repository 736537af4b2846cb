"""The staff texts that stayed bokmål after the staff pages were translated (issue #12,
points 8 and 10): chart titles and legends, score labels, CSV labels, password-policy
refusals and the monthly unit report, each rendered in English and nynorsk."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pypdf
import pytest
from flask import g
from sqlalchemy import select

from tests.webapp.conftest import PASSWORD
from tests.webapp.test_dashboard import qi  # noqa: F401 (fixture)
from tests.webapp.test_patient_outbox import smtp_server  # noqa: F401 (fixture)
from webapp.clinician.register_ops_views import render_month_html
from webapp.extensions import db
from webapp.models import Unit, User, utcnow
from webapp.services import monthly_report
from webapp.services.auth import start_session
from webapp.services.jobs import run_due_jobs
from webapp.services.score_info import score_info


def _client(app, user_id: int, lang: str):  # type: ignore[no-untyped-def]
    """A test client signed in as ``user_id`` with the staff language ``lang``."""
    client = app.test_client()
    with app.app_context():
        client.set_cookie("openprom_session", start_session(db.session.get(User, user_id), None))
        db.session.commit()
    client.set_cookie("openprom_staff_lang", lang)
    return client


def _page(app, user_id: int, path: str, lang: str) -> str:  # type: ignore[no-untyped-def]
    page = _client(app, user_id, lang).get(path)
    assert page.status_code == 200, (path, lang, page.status_code)
    return page.get_data(as_text=True)


def _svgs(html: str) -> str:
    return "".join(re.findall(r"<svg.*?</svg>", html, flags=re.S))


# --- point 1: chart titles, legends and band names (webapp/services/unit_report.py, charts.py)


def test_dashboard_histogram_titles_in_the_staff_language(app, qi):  # noqa: F811
    # qi world: ODI at "Before" (6 patients of Unit One) and "12 months"; the ODI total's
    # label is taken from instruments/odi.yaml in each language
    path = "/clinician/units/qi-1/dashboard"
    english = _svgs(_page(app, qi["lead_1"], path, "en"))
    assert "<title>Distribution of ODI total score (0–100 %), Before, n=6</title>" in english
    assert "Fordeling" not in english
    nynorsk = _svgs(_page(app, qi["lead_1"], path, "nn"))
    assert "<title>Fordeling av ODI totalskår (0–100 %), Before, n=6</title>" in nynorsk
    bokmal = _svgs(_page(app, qi["lead_1"], path, "nb"))
    assert "<title>Fordeling av ODI totalskår (0–100 %), Before, n=6</title>" in bokmal


def test_chart_numbers_in_the_staff_language(app, qi):  # noqa: F811
    # ODI histograms span 0..100 in ten bins (the edges 0, 10, …, 100 with one decimal);
    # Unit One's ODI improved share is 3/5 (tests/webapp/test_dashboard.py: 60 %)
    path = "/clinician/units/qi-1/dashboard"
    english = _svgs(_page(app, qi["lead_1"], path, "en"))
    assert ">100.0</text>" in english and "90.0–100.0:" in english
    for lang in ("nn", "nb"):
        svgs = _svgs(_page(app, qi["lead_1"], path, lang))
        assert ">100,0</text>" in svgs and "90,0–100,0:" in svgs, lang
        assert "100.0" not in svgs, lang
    # the ODI MID is 10 (instruments/data/mid.csv), written as the other numbers
    assert "(MID 10)" in _page(app, qi["lead_1"], path, "nn")
    bars = _svgs(_page(app, qi["admin"], "/clinician/registers/qi-reg/indicators", "nn"))
    assert 'class="chart-value">60 %</text>' in bars


def test_indicator_bars_in_the_staff_language(app, qi):  # noqa: F811
    path = "/clinician/registers/qi-reg/indicators"
    english = _svgs(_page(app, qi["admin"], path, "en"))
    assert "<title>ODI improved at 12 months, all years</title>" in english
    for band in ("High", "Moderate", "Low"):
        assert f"<title>{band} target achievement</title>" in english
    for word in ("måloppnåelse", "alle år", "Hele registeret", "Alle år"):
        assert word not in english, word
    assert ">Whole register</text>" in english  # the register's bar is labelled
    nynorsk = _svgs(_page(app, qi["admin"], path, "nn"))
    assert "<title>ODI improved at 12 months, alle år</title>" in nynorsk
    for band in ("Høg", "Moderat", "Låg"):
        assert f"<title>{band} måloppnåing</title>" in nynorsk
    assert "måloppnåelse" not in nynorsk and "Hele registeret" not in nynorsk
    assert ">Heile registeret</text>" in nynorsk
    bokmal = _svgs(_page(app, qi["admin"], path, "nb"))
    assert "<title>Moderat måloppnåelse</title>" in bokmal and ">Hele registeret</text>" in bokmal


# --- point 2: CSV downloads: header and codes fixed, labels in the staff language


def _csv(app, user_id: int, path: str, lang: str) -> tuple[list[str], list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    answer = _client(app, user_id, lang).get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    return text.splitlines()[0].split(","), list(csv.DictReader(io.StringIO(text)))


INDICATOR_HEADER = ["indicator", "unit", "year", "n", "value", "low", "high", "level"]
UNIT_HEADER = [
    "section",
    "protocol",
    "time_point",
    "instrument",
    "scale",
    "population",
    "n",
    "value",
    "low",
    "high",
]


@pytest.mark.parametrize(
    ("lang", "whole", "all_years"),
    [("en", "Whole register", "All years"), ("nn", "Heile registeret", "Alle år")],
)
def test_indicators_csv_labels_in_the_staff_language(app, qi, lang, whole, all_years):  # noqa: F811
    header, rows = _csv(app, qi["admin"], "/clinician/registers/qi-reg/indicators.csv", lang)
    assert header == INDICATOR_HEADER
    register = [r for r in rows if r["unit"] == whole]
    assert register and {r["indicator"] for r in register} >= {"odi-improved", "odi-22"}
    assert any(r["year"] == all_years for r in register)
    assert {r["level"] for r in rows} <= {"high", "moderate", "low", ""}  # codes, any language
    assert not [r for r in rows if "Hele registeret" in r.values()]
    if lang == "en":
        assert not [r for r in rows if r["year"] == "Alle år"]


def test_unit_csv_titles_in_the_staff_language_codes_unchanged(app, qi):  # noqa: F811
    path = "/clinician/units/qi-1/dashboard.csv"
    header, english = _csv(app, qi["lead_1"], path, "en")
    assert header == UNIT_HEADER
    assert {r["instrument"] for r in english if r["protocol"] == "lumbar"} == {
        "Oswestry Disability Index (ODI) 2.1a"  # instruments/odi.yaml, title en
    }
    assert {r["section"] for r in english} >= {"response_rate", "median_iqr", "improved_mid"}
    assert {r["population"] for r in english} == {"unit", "register"}
    # the score's name, not its label, in every section
    assert {r["scale"] for r in english if r["section"] != "response_rate"} == {"total"}
    _, bokmal = _csv(app, qi["lead_1"], path, "nb")
    assert "Oswestry funksjonsindeks (ODI) 2.1a" in {r["instrument"] for r in bokmal}
    assert [r["n"] for r in bokmal] == [r["n"] for r in english]  # same numbers


# --- point 3: score labels and directions (webapp/services/score_info.py)


@pytest.mark.parametrize(
    ("lang", "pcs", "t_score", "better", "vas"),
    [
        ("en", "Physical component summary (PCS)", "T-score", "higher is better", "EQ VAS (0–100)"),
        ("nn", "Fysisk samandragsskår (PCS)", "T-skår", "høgare er betre", "EQ VAS (0–100)"),
        ("nb", "Fysisk sammendragsskår (PCS)", "T-skår", "høyere er bedre", "EQ VAS (0–100)"),
    ],
)
def test_score_labels_in_the_current_language(app, lang, pcs, t_score, better, vas):
    with app.test_request_context():
        g.lang = lang
        assert score_info("rand36", "PCS").label == pcs
        assert score_info("rand36", "PCS").direction_text == better
        assert score_info("an-item-bank", "t_score").label == t_score
        assert score_info("an-item-bank", "t_score_se").label == f"SE ({t_score})"
        assert score_info("eq5d5l", "vas").label == vas
        # labels the instrument file has (instruments/rand36.yaml, scale PF)
        physical = {"en": "Physical functioning", "nn": "Fysisk funksjon", "nb": "Fysisk funksjon"}
        assert score_info("rand36", "PF").label == physical[lang]


def test_score_direction_on_the_dashboard(app, qi):  # noqa: F811
    # ODI: lower is better (instruments/data/mid.csv), so "higher is worse" in words
    path = "/clinician/units/qi-1/dashboard"
    assert "(higher is worse)</h4>" in _page(app, qi["lead_1"], path, "en")
    nynorsk = _page(app, qi["lead_1"], path, "nn")
    assert "(høgare er verre)</h4>" in nynorsk and "høyere er" not in nynorsk
    assert "(høyere er verre)</h4>" in _page(app, qi["lead_1"], path, "nb")


# --- point 4: password-policy refusals (webapp/services/password_policy.py)


@pytest.mark.parametrize(
    ("lang", "common", "context"),
    [
        ("en", "The password is too common", "The password cannot contain “openprom”"),
        ("nn", "Passordet er for vanleg", "Passordet kan ikkje innehalde «openprom»"),
        ("nb", "Passordet er for vanlig", "Passordet kan ikke inneholde «openprom»"),
    ],
)
def test_password_refusals_in_the_staff_language(app, qi, lang, common, context):  # noqa: F811
    client = _client(app, qi["lead_1"], lang)

    def change(new: str) -> str:
        answer = client.post(
            "/clinician/account",
            data={"action": "password", "pw-current": PASSWORD, "pw-new": new, "pw-repeat": new},
        )
        assert answer.status_code == 400
        return answer.get_data(as_text=True)

    # "iloveyou" is on webapp/data/common_passwords.txt; digits at the ends are stripped
    assert common in change("2024iloveyou2024")
    assert context in change("my openprom account!")
    if lang != "nb":
        assert "Passordet er for vanlig" not in change("2024iloveyou2024")


def test_password_refusal_in_the_cli_is_bokmal(app, world):
    made = app.test_cli_runner().invoke(
        args=["create-user", "c2@a1.test", "--role", "clinician", "--unit", "unit-a1"]
        + ["--password-stdin"],
        input="2024iloveyou2024\n",
    )
    assert made.exit_code != 0 and "Passordet er for vanlig" in made.output


# --- point 5: the monthly unit report (webapp/services/monthly_report.py, its template)


def _last_month() -> str:
    first_of_this = utcnow().date().replace(day=1)
    last = first_of_this - dt.timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def _pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split()
    )


def test_monthly_report_html_in_english_and_nynorsk(app, qi):  # noqa: F811
    month = _last_month()
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "qi-1"))
        with monthly_report.in_language("en"):
            report = monthly_report.build(unit, month)
            english = render_month_html(report)
        with monthly_report.in_language("nn"):
            nynorsk = render_month_html(monthly_report.build(unit, month))
        bokmal = render_month_html(monthly_report.build(unit, month))  # no language: bokmål
    assert report.funnels  # qi: Unit One has enough patients for every indicator
    assert '<html lang="en">' in english and "<h1>Monthly report: Unit One</h1>" in english
    for text in (
        "Response rate per time point",
        "Position on the funnel plot (all years)",
        "within the control limits",  # the unit's funnel position (webapp/services/funnel_view)
        "99.8 % control limits",  # the funnel legend
        "(higher is worse)",  # ODI
        "Oswestry Disability Index (ODI) 2.1a",
        "high ≥ 70 %, moderate ≥ 55 %",  # qi targets (tests/webapp/test_dashboard.py)
        'content: "Page " counter(page) " of "',
    ):
        assert text in english, text
    for word in ("Månedsrapport", "Svarandel", "Hele registeret", "kontrollgrense", "Enheten"):
        assert word not in english, word
    assert '<html lang="nn">' in nynorsk and "<h1>Månadsrapport: Unit One</h1>" in nynorsk
    for text in ("Heile registeret", "høgare er verre", "innanfor kontrollgrensene"):
        assert text in nynorsk, text
    for word in ("Månedsrapport", "Hele registeret", "høyere er", "innenfor"):
        assert word not in nynorsk, word
    assert "<h1>Månedsrapport: Unit One</h1>" in bokmal and "Hele registeret" in bokmal


def test_monthly_report_pdf_in_the_viewers_staff_language(app, qi):  # noqa: F811
    path = f"/clinician/units/qi-1/report/{_last_month()}.pdf"
    answer = _client(app, qi["lead_1"], "en").get(path)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = _pdf_text(answer.data)
    assert "Monthly report: Unit One" in text and "Whole register" in text
    assert "Månedsrapport" not in text and "Hele registeret" not in text
    nynorsk = _pdf_text(_client(app, qi["lead_1"], "nn").get(path).data)
    assert "Månadsrapport: Unit One" in nynorsk and "Heile registeret" in nynorsk


def test_staff_language_chosen_while_signed_in_is_stored(app, world, client, login_as):
    client.get("/clinician/language?lang=en&next=/clinician/")  # anonymous: cookie only
    login_as("unit_lead").get("/clinician/language?lang=nn&next=/clinician/")
    with app.app_context():
        assert db.session.get(User, world.users["unit_lead"]).language == "nn"
        assert db.session.get(User, world.users["clinician"]).language is None


@pytest.mark.parametrize(
    ("language", "subject", "said", "not_said"),
    [
        ("en", "Monthly report for Unit A1, November 2026", "Sign in to read it", "Logg inn"),
        ("nn", "Månadsrapport for Unit A1, november 2026", "Logg inn", "Månedsrapporten"),
        (None, "Månedsrapport for Unit A1, november 2026", "Logg inn", "Sign in"),
    ],
)
def test_monthly_email_in_the_recipients_language(
    app,
    world,
    smtp_server,  # noqa: F811
    language,
    subject,
    said,
    not_said,
):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    with app.app_context():
        db.session.get(User, world.users["unit_lead"]).language = language
        db.session.commit()
        assert run_due_jobs(dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)).reports == 1
    (recipients, message) = inbox.messages[0]
    assert recipients == ["lead@a1.test"]
    assert message["Subject"] == subject
    body = message.get_content()
    assert said in body and not_said not in body
    assert "/clinician/units/unit-a1/report/2026-11.pdf" in body
