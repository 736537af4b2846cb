"""The staff texts that stayed bokmål after the staff pages were translated (issue #12,
points 8 and 10): chart titles and legends, score labels, CSV labels, password-policy
refusals and the monthly unit report, each rendered in English and nynorsk."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import g

from tests.webapp.conftest import PASSWORD
from tests.webapp.test_dashboard import qi  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.models import User
from webapp.services.auth import start_session
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
