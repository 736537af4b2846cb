"""Export route access rules and the ZIP it sends."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent


def test_anonymous_is_sent_to_login(client, world):
    assert client.get("/clinician/export").status_code == 302
    reply = client.post(f"/clinician/export/{world.registers['a']}")
    assert reply.status_code == 302 and "/clinician/login" in reply.headers["Location"]


def test_clinician_and_unit_lead_are_denied(world, login_as):
    for role in ("clinician", "unit_lead", "sysadmin", "no_role"):
        client = login_as(role)
        assert client.get("/clinician/export").status_code == 403, role
        assert client.post(f"/clinician/export/{world.registers['a']}").status_code == 403, role


def test_register_roles_export_own_register_only(app, world, login_as):
    for role in ("register_admin", "methodologist"):
        client = login_as(role)
        page = client.get("/clinician/export")
        assert page.status_code == 200 and "reg-a" in page.text and "reg-b" not in page.text
        assert client.post(f"/clinician/export/{world.registers['b']}").status_code == 403
        reply = client.post(f"/clinician/export/{world.registers['a']}",
                            data={"format": ["csv", "sav"], "lang": "en"})
        assert reply.status_code == 200, role
        archive = zipfile.ZipFile(io.BytesIO(reply.data))
        assert set(archive.namelist()) == {"odi.csv", "odi.sav", "codebook.json", "codebook.md"}
        frame = pd.read_csv(archive.open("odi.csv"))
        # world: two reg-a patients with 3 and 1 scored ODI responses (tests/webapp/conftest.py)
        assert frame["pseudonym"].nunique() == 2
        assert "unit-b1" not in set(frame["unit"])
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.create")).all()
        assert [e.actor_type for e in events] == ["user", "user"]
