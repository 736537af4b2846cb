"""Forms work over HTTPS (issue #9 item 1): gunicorn with 2 workers serves TLS with a
throwaway self-signed certificate, Chromium completes an invitation and a member of staff
signs in, with Flask-WTF's strict HTTPS referrer check on (WTF_CSRF_SSL_STRICT).

With ``Referrer-Policy: no-referrer`` the browser sends no Referer and every post got
400 "The referrer header is missing"; ``same-origin`` sends it to the site only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import patient_walk as walk
from tests.conftest import make_app
from tests.serving import gunicorn_server
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import RoleAssignment, Unit, User
from webapp.services.passwords import hash_password

pytestmark = pytest.mark.browser

STAFF_EMAIL = "tls-clinician@test.openprom.no"
STAFF_PASSWORD = "a long staff password over tls"


@pytest.fixture
def tls_site(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A migrated SQLite file with an enrolled patient and a clinician, served by gunicorn
    (2 workers, TLS): (server, enrolment, app on the same database)."""
    url = f"sqlite:///{tmp_path / 'tls.sqlite'}"
    app = make_app(url, tmp_path / "instance")
    enrolled = support.setup_world(app)
    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        user = User(
            email=STAFF_EMAIL, display_name="TLS", password_hash=hash_password(STAFF_PASSWORD)
        )
        user.roles.append(RoleAssignment(role="clinician", unit_id=unit.id))
        db.session.add(user)
        db.session.commit()
    with gunicorn_server(url, workers=2, tls=True, tmp_path=tmp_path) as server:
        assert len(server.worker_pids()) == 2
        yield server, enrolled, app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=walk.CHROMIUM_ARGS)
        yield b
        b.close()


def _watched_page(browser):  # type: ignore[no-untyped-def]
    """A phone-sized page that trusts the throwaway certificate; collects 4xx/5xx answers."""
    context = browser.new_context(viewport=walk.PHONE, locale="nb-NO", ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    failures: list[str] = []
    page.on(
        "response",
        lambda r: failures.append(f"{r.status} {r.request.method} {r.url}")
        if r.status >= 400
        else None,
    )
    return page, failures


def test_patient_and_staff_forms_work_over_https(browser, tls_site):
    from playwright.sync_api import expect

    server, enrolled, app = tls_site
    assert server.base_url.startswith("https://127.0.0.1:")

    page, failures = _watched_page(browser)
    first = page.goto(f"{server.base_url}/s/{enrolled.token}")
    assert first is not None and first.headers["referrer-policy"] == "same-origin"
    assert first.headers["strict-transport-security"].startswith("max-age=31536000")
    walk.start_as_self(page)
    walk.answer_eq5d(page)
    walk.answer_odi(page)
    expect(page.get_by_role("heading", name="Se over svarene dine")).to_be_visible()
    page.get_by_role("button", name="Send inn svarene").click()
    expect(page.get_by_role("heading", name="Takk for svarene dine")).to_be_visible()
    assert not failures, failures
    with app.app_context():
        from webapp.models import Response

        rows = db.session.query(Response).filter_by(invitation_id=enrolled.invitation_id).all()
        assert sorted(r.status for r in rows) == ["complete", "complete"]
        eq5d = next(r for r in rows if r.instrument_id == "eq5d5l")
        assert eq5d.answers == {**walk.EQ5D, "VAS": walk.VAS}

    staff, staff_failures = _watched_page(browser)
    staff.goto(f"{server.base_url}/clinician/login")
    staff.get_by_label("E-post").fill(STAFF_EMAIL)
    staff.get_by_label("Passord").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Logg inn").click()
    expect(staff.get_by_role("heading", name="Velkommen")).to_be_visible()
    cookie = next(c for c in staff.context.cookies() if c["name"] == "openprom_session")
    assert cookie["secure"] and cookie["httpOnly"]
    assert not staff_failures, staff_failures
