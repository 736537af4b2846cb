"""The worker's monthly e-mail to each unit lead: a link to the unit's report behind login,
once per unit, lead and month, no health data in the e-mail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.webapp.test_patient_outbox import smtp_server  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.models import OutboxMessage, ReportNotice, User
from webapp.services import outbox
from webapp.services.jobs import run_due_jobs
from webapp.services.monthly_report import previous_month, queue_monthly_notices

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def test_previous_month():
    assert previous_month(NOW) == "2026-11"
    assert previous_month(dt.datetime(2027, 1, 31, tzinfo=dt.UTC)) == "2026-12"


def test_unit_lead_gets_one_notice_a_month_with_a_link_and_no_health_data(
    app,
    world,
    smtp_server,  # noqa: F811
):
    inbox, url = smtp_server
    app.config["OPENPROM_SMTP_URL"] = url
    with app.app_context():
        report = run_due_jobs(NOW)
        assert report.reports == 1  # world: one unit lead (unit-a1)
        assert queue_monthly_notices(NOW + dt.timedelta(days=3)) == 0  # once a month
        notice = db.session.scalar(select(ReportNotice))
        assert (notice.unit_id, notice.user_id, notice.month) == (
            world.units["a1"],
            world.users["unit_lead"],
            "2026-11",
        )
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["lead@a1.test"]
    assert message["Subject"] == "Månedsrapport for Unit A1, november 2026"
    body = message.get_content()
    assert "http://127.0.0.1:5000/clinician/units/unit-a1/report/2026-11.pdf" in body
    assert "Logg inn" in body
    for health in ("%", "n=", "ODI", "median", "skår"):
        assert health not in body, health
    with app.app_context():
        # next month: a new notice; an inactive lead gets none
        assert queue_monthly_notices(dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == 1
        db.session.get(User, world.users["unit_lead"]).active = False
        db.session.commit()
        assert queue_monthly_notices(dt.datetime(2027, 2, 1, tzinfo=dt.UTC)) == 0
        kinds = set(db.session.scalars(select(OutboxMessage.kind)))
        assert kinds == {"unit-report"}
        assert outbox.deliver_due(dt.datetime(2027, 2, 1, tzinfo=dt.UTC)).sent == 1
    assert len(inbox.messages) == 2
