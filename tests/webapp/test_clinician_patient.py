"""Patient lookup and the patient page: posted search, internal ids, MID in words, audit."""

from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import AuditEvent

OWN = "03851598730"
OTHER_REGISTER = "41819077906"


def test_search_posts_the_number_and_redirects_to_internal_id(app, world, login_as):
    c = login_as("clinician")
    response = c.post("/clinician/patients/search", data={"national_id": OWN})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.endswith(f"/clinician/patients/{world.patients['own']}")
    assert OWN not in location
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "patient.search")
        )
        assert event.patient_id == world.patients["own"] and OWN not in event.subject


def test_search_rejects_invalid_numbers_with_the_reason(world, login_as):
    c = login_as("clinician")
    short = c.post("/clinician/patients/search", data={"national_id": "1234"})
    assert short.status_code == 400
    assert "11 siffer" in short.get_data(as_text=True)
    bad_check = c.post("/clinician/patients/search", data={"national_id": "03851598731"})
    assert "Kontrollsifrene stemmer ikke" in bad_check.get_data(as_text=True)


def test_patient_of_other_register_is_not_found(world, login_as):
    c = login_as("clinician")
    response = c.post("/clinician/patients/search", data={"national_id": OTHER_REGISTER})
    assert response.status_code == 404
    assert c.get(f"/clinician/patients/{world.patients['other_register']}").status_code == 403


def test_patient_page_shows_time_points_chart_mid_and_answers(app, world, login_as):
    c = login_as("clinician")
    page = c.get(f"/clinician/patients/{world.patients['own']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Besvart" in html  # time point status
    assert "<svg" in html and 'role="img"' in html  # server-rendered chart
    assert "høyere er verre" in html  # ODI direction stated
    # ODI total 52 -> 18 is a 34-point improvement: beyond any published ODI MID (10 points)
    assert "BEDRING" in html
    assert OWN not in html
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEvent.action)))
        assert "patient.view" in actions
    summary = c.get(f"/clinician/patients/{world.patients['own']}/summary")
    assert summary.status_code == 200
    printed = summary.get_data(as_text=True)
    assert "Utskriftsvennlig sammendrag" not in printed  # no link to itself on paper
    assert 'class="no-print"' in printed  # raw answers are left off the printout
    assert "<svg" in printed and "BEDRING" in printed
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEvent.action)))
        assert "patient.print" in actions
