"""Which direction is better, shown next to a score: none for an adaptive test's
precision (SE) and length (number of items asked), which are not health scores."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import User
from webapp.services.auth import start_session
from webapp.services.demo import create_demo
from webapp.services.score_info import score_info

BANK = "demo-physical-function-bank"


def test_adaptive_precision_and_length_have_no_direction(app):  # type: ignore[no-untyped-def]
    with app.test_request_context("/clinician/"):
        for scale in ("theta_se", "t_score_se", "n_items"):
            info = score_info(BANK, scale)
            assert info.better == "none" and info.direction_text == "", scale
        theta = score_info(BANK, "theta")  # the bank file: direction higher_better
        assert theta.better == "higher" and theta.direction_text
        odi = score_info("odi", "total")  # ODI: higher is worse (Fairbank 2000)
        assert odi.better == "lower" and odi.direction_text


def test_unit_dashboard_writes_no_direction_for_them(app):  # type: ignore[no-untyped-def]
    """The demo's adaptive protocol on the unit dashboard: the SE and items-asked blocks
    carry no "(høyere er bedre)"; the T-score block does."""
    with app.app_context():
        create_demo(patients=20)
        lead = db.session.scalar(select(User).where(User.email == "lead@demo.openprom.no"))
        token = start_session(lead, None)
        db.session.commit()
    client = app.test_client()
    client.set_cookie("openprom_session", token)
    page = client.get("/clinician/units/demo-unit/dashboard")  # staff language: bokmål
    assert page.status_code == 200
    titles = [h.split("</h4>")[0] for h in page.text.split("<h4>")[1:]]
    asked = [t for t in titles if "Antall spørsmål stilt" in t]
    precision = [t for t in titles if "SE (T-skår)" in t]
    assert asked and precision, titles
    for title in asked + precision:
        assert "høyere er" not in title, title
    assert any("T-skår (høyere er bedre)" in t for t in titles), titles
