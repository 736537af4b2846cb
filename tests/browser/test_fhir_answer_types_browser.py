"""Every answer type of a FHIR Questionnaire answered in Debian's headless Chromium at a
phone viewport, the way a patient does: tap labels, tick boxes, type with a decimal
comma, use the browser's date and date-time inputs; then review and send."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser import patient_walk as walk
from tests.webapp.test_fhir_answer_types import IID, STORED
from tests.webapp.test_fhir_answer_types import token as token  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.models import Invitation, Response

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=walk.CHROMIUM_ARGS)
        yield b
        b.close()


def test_every_answer_type_in_chromium(app, token, browser):  # noqa: F811 (fixture)
    from playwright.sync_api import expect

    with walk.serve(app) as base:
        context = browser.new_context(viewport=walk.PHONE, locale="nb-NO")
        page = context.new_page()
        page.goto(f"{base}/s/{token}")
        walk.start_as_self(page)
        expect(page.get_by_text("Lite interesse")).to_be_visible()
        page.get_by_label("Flere dager").check()
        page.get_by_label("Hoste").check()
        page.get_by_label("Hodepine").check()
        page.get_by_label("Annet").fill("Svimmelhet om morgenen")
        page.get_by_label("Ja", exact=True).check()
        page.locator("input[name='packs']").fill("2")
        page.get_by_role("button", name="Neste").click()
        expect(page.get_by_label("Vekt")).to_be_visible()
        page.get_by_label("Vekt").fill("72,5")
        page.get_by_label("Temperatur").fill("37,2")
        page.get_by_label("Kallenavn").fill("Kari")
        page.get_by_label("Kommentar").fill("Vondt i ryggen\netter operasjonen")
        page.get_by_label("Operasjonsdato").fill("2025-02-01")
        page.get_by_label("Sist sett av lege").fill("2025-03-01T14:30")
        page.get_by_role("button", name="Neste").click()
        expect(page.get_by_role("heading", name="Se over svarene dine")).to_be_visible()
        expect(page.get_by_text("Hoste; Hodepine")).to_have_count(1)  # in a folded <details>
        expect(page.get_by_text("72.5 kg")).to_have_count(1)
        page.get_by_role("button", name="Send inn svarene").click()
        expect(page.get_by_role("heading", name="Takk for svarene dine")).to_be_visible()
        context.close()
    with app.app_context():
        response = db.session.scalars(select(Response).where(Response.instrument_id == IID)).one()
        assert response.answers == STORED
        assert db.session.scalars(select(Invitation.state)).one() == "completed"
