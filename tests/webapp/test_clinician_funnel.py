"""Funnel plots on the register's indicator page and the unit dashboard (issue #12 point
11), on the scripted ODI register of ``dashboard_support`` (numbers worked by hand).

Unit One's 12-month ODI totals are 30, 35, 20, 40, 10 (one unanswered): 2 of 5 are at
most 22. Unit Two's are 20 and 60: 1 of 2, fewer than 5 patients, so it is left out of the
funnel but counts in the register mean 3 / 7 = 42.9 % (shown as 43 %). Against 3/7 a unit
of 5 with 2 events is well inside both limits: P(Y <= 2) and P(Y >= 2) under
Binomial(5, 3/7) are both far above 2.5 % (exact binomial tails, Spiegelhalter 2005).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.webapp import dashboard_support
from webapp.extensions import db
from webapp.models import User
from webapp.services.auth import start_session

INDICATORS = """\
register: qi-reg
indicators:
  - id: odi-22
    title: ODI 22 or less at 12 months
    kind: threshold
    protocol: lumbar
    instrument: odi
    scale: total
    time_point: 12m
    at_most: 22
    target: {high: 0.50, moderate: 0.30}
"""


@pytest.fixture
def qi(app, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "registers"
    folder.mkdir()
    (folder / "qi-reg.yaml").write_text(INDICATORS, encoding="utf-8")
    app.config["OPENPROM_REGISTER_CONFIG_DIR"] = str(folder)
    with app.app_context():
        return dashboard_support.build()


def _get(app, user_id: int, path: str) -> str:  # type: ignore[no-untyped-def]
    client = app.test_client()
    with app.app_context():
        client.set_cookie("openprom_session", start_session(db.session.get(User, user_id), None))
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_indicator_page_has_a_funnel_with_the_register_mean(app, qi):
    html = _get(app, qi["admin"], "/clinician/registers/qi-reg/indicators")
    assert 'class="chart funnel"' in html
    assert "registergjennomsnittet (43 %)" in html
    assert "Utelatt (færre enn 5 pasienter): Unit Two." in html
    row = html.split('<th scope="row">Unit One</th>')[-1].split("</tr>")[0]
    assert "40 % (2/5)" in row and "innenfor kontrollgrensene" in row
    assert "per indeksår" in html  # the trend chart


def test_unit_dashboard_has_the_funnel_with_its_unit_marked(app, qi):
    html = _get(app, qi["lead_1"], "/clinician/units/qi-1/dashboard")
    funnel = html.split('class="chart funnel"')[1].split("</svg>")[0]
    assert 'class="funnel-unit strong"' in funnel  # the lead's own unit
    assert ">Unit One<" in funnel  # labelled
