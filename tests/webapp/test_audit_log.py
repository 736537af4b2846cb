"""The audit log: append-only, filterable by admins, and shown to the patient (innsyn)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import AuditEvent, AuditLogIsAppendOnly
from webapp.services import audit


def _event(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        event = audit.record("patient.view", actor_type="cli", subject="test")
        db.session.commit()
        return event.id


def test_events_cannot_be_changed_or_deleted(app):
    event_id = _event(app)
    with app.app_context():
        event = db.session.get(AuditEvent, event_id)
        event.subject = "rewritten"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event_id))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.execute(sa.update(AuditEvent).values(subject="x"))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.execute(sa.delete(AuditEvent))
        db.session.rollback()
        assert db.session.get(AuditEvent, event_id).subject == "test"


def test_no_route_changes_the_audit_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule.rule


def test_admin_filters_and_scope(app, world, login_as):
    sys_client = login_as("sysadmin")
    with app.app_context():
        for key in ("own", "other_register"):
            audit.record(
                "patient.view",
                actor_type="user",
                actor_id=world.users["clinician"],
                actor_label="clin@a1.test",
                patient_id=world.patients[key],
            )
        audit.record("export.create", actor_type="cli", subject="register:reg-a")
        audit.record("export.create", actor_type="cli", subject="register:reg-b")
        db.session.commit()
    page = sys_client.get(f"/admin/audit?action=patient.&patient_id={world.patients['own']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("patient.view") == 1 and "export.create" not in html
    admin = login_as("register_admin")  # register A: its patients only
    html = admin.get("/admin/audit").get_data(as_text=True)
    assert html.count("patient.view") == 1  # not the other register's patient
    assert "register:reg-a" in html and "register:reg-b" not in html
    bad = admin.get("/admin/audit?patient_id=abc")
    assert bad.status_code == 400 and "Ikke en gyldig heltallsverdi" in bad.get_data(as_text=True)
