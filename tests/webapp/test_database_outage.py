"""A database that goes away mid-request (restart, failover) gets a calm 503 with
Retry-After, in the patient's language on patient pages, never a bare 500."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.webapp import patient_support as support
from webapp.services import invitations


def _outage(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))


def test_patient_page_during_an_outage_is_503_in_the_patients_language(app, monkeypatch):
    enrolled = support.setup_world(app)
    client = app.test_client()
    monkeypatch.setattr(invitations, "resolve", _outage)
    response = client.get(f"/s/{enrolled.token}?lang=en")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "This page was not saved" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert client.get(f"/s/{enrolled.token}").status_code in (200, 302)


@pytest.mark.parametrize("path", ["/clinician/login", "/admin/users"])
def test_staff_page_during_an_outage_is_503_and_no_store(app, monkeypatch, path):
    from webapp import auth

    monkeypatch.setattr(auth, "load_session", _outage)
    response = app.test_client().get(path, headers={"Cookie": "openprom_session=x"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert "prøv igjen" in response.get_data(as_text=True)


def _outage_with_parameters(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise OperationalError(
        "SELECT * FROM patient WHERE blind_index = %(b)s",
        {"b": "personal-parameter"},
        ConnectionError("server closed the connection unexpectedly"),
    )


def test_an_outage_is_logged_with_class_names_only(app, monkeypatch, caplog):
    import logging

    from webapp import auth

    caplog.set_level(logging.INFO)
    enrolled = support.setup_world(app)
    monkeypatch.setattr(invitations, "resolve", _outage_with_parameters)
    assert app.test_client().get(f"/s/{enrolled.token}").status_code == 503
    monkeypatch.setattr(auth, "load_session", _outage_with_parameters)
    assert app.test_client().get("/clinician/login").status_code == 503
    lines = [r for r in caplog.records if r.name == "openprom.errors"]
    assert [r.levelno for r in lines] == [logging.ERROR, logging.ERROR]
    for record in lines:
        text = record.getMessage()
        assert "OperationalError (ConnectionError)" in text
        for secret in ("personal-parameter", "SELECT", "blind_index", enrolled.token):
            assert secret not in text
    assert "endpoint patient." in lines[0].getMessage()
