"""An adaptive time point in Debian's headless Chromium at a 390x844 phone viewport
(issue 14, point 5): the item bank one item a page, then EQ-5D-5L, review and submit;
stopping halfway and going on in a new browser context; JavaScript off; axe-core on an
item page; the stored theta equals the theta recomputed from the stored answers."""

from __future__ import annotations

import re

import pytest

import instruments
from tests.browser import patient_walk as walk
from tests.conftest import make_app
from tests.webapp.adaptive_support import BANK, answer_for, make_adaptive_world
from webapp.extensions import db
from webapp.models import Invitation, Response, Score
from webapp.services import adaptive

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=walk.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def app(tmp_path):  # type: ignore[no-untyped-def]
    """The app with CSRF protection on, as in production (every form posts its token)."""
    application = make_app(
        f"sqlite:///{tmp_path / 'app.sqlite'}", tmp_path / "instance", WTF_CSRF_ENABLED=True
    )
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def site(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = make_adaptive_world()
    with walk.serve(app) as base:
        yield base, world


def _phone(browser, **options):  # type: ignore[no-untyped-def]
    return browser.new_context(viewport=walk.PHONE, locale="nb-NO", **options)


def _answer_items(page, limit: int | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    """Answer adaptive items as a patient (tap the label, press Neste) until the flow
    leaves the bank (or ``limit`` items); the item ids in the order shown."""
    asked: list[str] = []
    while f"/a/{BANK}" in page.url and (limit is None or len(asked) < limit):
        radio = page.locator("input[type=radio]").first
        item_id = radio.get_attribute("name")
        assert item_id and re.fullmatch(r"pf\d\d", item_id)
        assert page.locator("input[type=radio]").count() == 5  # one item a page
        walk.choose(page, item_id, answer_for(item_id))
        page.wait_for_load_state()
        asked.append(item_id)
    return asked


def test_adaptive_time_point_on_a_phone(browser, site, app):
    base, world = site
    page = _phone(browser).new_page()
    page.goto(f"{base}/s/{world.token}")
    walk.start_as_self(page)
    assert page.url.endswith(f"/a/{BANK}")
    assert page.evaluate("document.documentElement.scrollWidth") <= walk.PHONE["width"]
    assert walk.axe_violations(page) == []
    first = _answer_items(page, limit=2)
    # stop halfway; the link opened later in a new context continues at the third item
    later = _phone(browser).new_page()
    later.goto(f"{base}/s/{world.token}")
    assert later.url.endswith(f"/a/{BANK}")
    assert "Spørsmål 3" in later.content()
    rest = _answer_items(later)
    asked = first + rest
    assert 4 <= len(asked) <= 12
    walk.answer_eq5d(later)
    from playwright.sync_api import expect

    expect(later.get_by_role("heading", name="Se over svarene dine")).to_be_visible()
    bank = instruments.load(BANK)
    assert bank.item(asked[0]).text.get_text("nb") in later.content()
    later.get_by_role("button", name="Send inn svarene").click()
    expect(later.get_by_role("heading", name="Takk for svarene dine")).to_be_visible()
    with app.app_context():
        assert db.session.get(Invitation, world.invitation_id).completed_at is not None
        response = db.session.query(Response).filter_by(instrument_id=BANK).one()
        assert list(response.answers) == asked
        settings = adaptive.settings_for_protocol_id(world.protocol_id)
        checks = adaptive.recompute_steps(response.id, bank, settings)
        assert [c.item_id for c in checks] == asked
        for check in checks:  # the stored theta equals the theta recomputed from the answers
            assert check.stored_theta == pytest.approx(check.theta, abs=1e-12)
            assert check.stored_se == pytest.approx(check.se, abs=1e-12)
        theta = db.session.query(Score).filter_by(response_id=response.id, scale="theta").one()
        assert theta.value == pytest.approx(checks[-1].theta, abs=1e-12)


def test_adaptive_items_without_javascript(browser, site, app):
    base, world = site
    page = _phone(browser, java_script_enabled=False).new_page()
    page.goto(f"{base}/s/{world.token}")
    walk.start_as_self(page)
    asked = _answer_items(page)
    assert 4 <= len(asked) <= 12
    assert "/q/eq5d5l/0" in page.url
    with app.app_context():
        response = db.session.query(Response).filter_by(instrument_id=BANK).one()
        assert response.current_page == 1 and list(response.answers) == asked
