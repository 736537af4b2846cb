"""The funnel plots' overdispersion option on the indicators page and the unit dashboard
(issue #12, point 11): off by default and said so; ``?overdispersion=1`` widens the
limits (Spiegelhalter 2005, multiplicative phi; values tested in
tests/scoring/test_funnel_overdispersion.py) and states phi on the page."""

from __future__ import annotations

import pytest

from tests.webapp.test_dashboard import _client, qi  # noqa: F401 (fixture)

PAGES = [
    ("admin", "/clinician/registers/qi-reg/indicators"),
    ("lead_1", "/clinician/units/qi-1/dashboard"),
]


@pytest.mark.parametrize(("user", "path"), PAGES)
def test_off_by_default_and_stated(app, qi, user, path):  # noqa: F811
    html = _client(app, qi, user).get(path).get_data(as_text=True)
    assert "Ingen justering for overspredning." in html
    assert "φ =" not in html
    assert "Utvid grensene for overspredning" in html  # the way to turn it on


@pytest.mark.parametrize(("user", "path"), PAGES)
def test_on_request_the_limits_are_widened_and_phi_stated(app, qi, user, path):  # noqa: F811
    client = _client(app, qi, user)
    client.set_cookie("openprom_staff_lang", "en")
    html = client.get(path + "?overdispersion=1").get_data(as_text=True)
    assert "widened for overdispersion" in html and "φ = " in html
    assert "No overdispersion adjustment." not in html
    assert "Limits for chance alone" in html
