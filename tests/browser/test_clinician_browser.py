"""Clinician, unit and register views in Debian's headless Chromium at desktop (1280 px)
and tablet (768 px) widths, on the demo register: login, patient lookup, the patient page,
the unit dashboard and the indicators, each scanned by axe-core (zero violations)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import clinician_walk as walk
from tests.browser import patient_walk
from tests.conftest import missing_part

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The demo register served on loopback: (base URL, national ID of a demo patient)."""
    app = walk.demo_app(Path(tmp_path_factory.mktemp("clinician")), patients=120)
    _, national_id = walk.first_patient_number(app)
    _, copd_id = walk.copd_patient_number(app)
    with walk.serve(app) as base:
        yield base, national_id, copd_id


@pytest.fixture(scope="module")
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=walk.CHROMIUM_ARGS)
        yield b
        b.close()


def _axe_clean(page, label: str) -> None:  # type: ignore[no-untyped-def]
    if not patient_walk.AXE.exists():
        missing_part("node_modules/axe-core is missing (run: npm ci)")
    violations = patient_walk.axe_violations(page)
    assert violations == [], f"{label}: {violations}"


def _no_horizontal_scroll(page) -> None:  # type: ignore[no-untyped-def]
    wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not wide, "the page scrolls sideways"


@pytest.mark.parametrize(
    "viewport", [walk.DESKTOP, walk.TABLET, walk.PHONE], ids=["desktop", "tablet", "phone"]
)
def test_login_lookup_and_patient_page(browser, demo_site, viewport):
    base, national_id, _ = demo_site
    page = browser.new_context(viewport=viewport, locale="nb-NO").new_page()
    page.goto(f"{base}/clinician/login")
    _axe_clean(page, "login")
    page.get_by_label("E-post").fill("clinician@demo.openprom.no")
    page.get_by_label("Passord").fill("wrong password, wrong")
    page.get_by_role("button", name="Logg inn").click()
    page.get_by_role("alert").wait_for()
    assert "Feil e-post eller passord" in page.get_by_role("alert").inner_text()
    _axe_clean(page, "login with error")
    walk.sign_in(page, base, "clinician@demo.openprom.no")
    _axe_clean(page, "start page")
    page.get_by_label("Fødselsnummer eller D-nummer").fill("12345")
    page.get_by_role("button", name="Søk").click()
    page.locator("#nid-error").wait_for()
    assert "11 siffer" in page.locator("#nid-error").inner_text()
    _axe_clean(page, "start page with search error")
    walk.look_up(page, national_id)
    assert national_id not in page.url
    # the summary panel opens the page, within the first screen at 1280 x 800
    panel = page.locator("section.summary-panel")
    if viewport == walk.DESKTOP:
        box = panel.bounding_box()
        assert box is not None and box["y"] < viewport["height"] / 2
    assert panel.get_by_text("Oswestry").count() + panel.get_by_text("ODI").count() >= 1
    # one chart per instrument (EQ-5D-5L with index and VAS panels, ODI)
    assert page.locator("svg.panel-chart").count() == 2
    assert (
        page.get_by_text("BEDRING").count()
        + page.get_by_text("FORVERRING").count()
        + (page.get_by_text("ingen sikker endring").count())
        >= 3
    )  # the change from baseline is said in words
    _axe_clean(page, "patient page")
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="Utskriftsvennlig sammendrag").click()
    page.get_by_role("heading", name="Skårer over tid").wait_for()
    assert re.search(
        r"skrevet ut \d{1,2}\. [a-zæøå]+ \d{4}\.", page.locator(".print-note").inner_text()
    )
    _axe_clean(page, "printable summary")
    page.context.close()


def test_copd_patient_at_a_glance(browser, demo_site):
    """The COPD unit's clinician: CAT band in words, one chart each for CAT, EQ-5D-5L and
    RAND-36 (its eight scales in one panel), in bokmål and after switching to English."""
    base, _, copd_id = demo_site
    page = browser.new_context(viewport=walk.DESKTOP, locale="nb-NO").new_page()
    walk.sign_in(page, base, "clinician-c@demo.openprom.no")
    walk.look_up(page, copd_id)
    panel = page.locator("section.summary-panel")
    text = panel.inner_text()
    assert re.search(r"(liten|middels|stor|svært stor) påvirkning", text)  # CAT band
    assert re.search(r"\d,\d{3}", text)  # EQ-5D index with a decimal comma
    assert page.locator("svg.panel-chart").count() == 3  # CAT, EQ-5D-5L, RAND-36
    rand = page.locator("figure.score").nth(2)
    assert rand.locator(".series-line").count() >= 8  # the RAND-36 scales share a chart
    _axe_clean(page, "COPD patient page")
    _no_horizontal_scroll(page)
    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Summary").wait_for()
    assert re.search(r"(low|medium|high|very high) impact", panel.inner_text())
    assert re.search(r"\d\.\d{3}", panel.inner_text())  # decimal point in English
    page.get_by_role("link", name="Bokmål").click()
    page.get_by_role("heading", name="Sammendrag").wait_for()
    page.context.close()


def test_staff_error_page(browser, demo_site):
    base, _, _ = demo_site
    page = browser.new_context(viewport=walk.DESKTOP, locale="nb-NO").new_page()
    walk.sign_in(page, base, "clinician@demo.openprom.no")
    response = page.goto(base + "/clinician/no-such-page")
    assert response is not None and response.status == 404
    page.get_by_role("heading", name="Fant ikke siden").wait_for()
    _axe_clean(page, "404 page")
    page.get_by_role("link", name="Til startsiden").click()
    page.get_by_role("heading", name="Velkommen").wait_for()
    page.context.close()


@pytest.mark.parametrize("viewport", [walk.DESKTOP, walk.TABLET], ids=["desktop", "tablet"])
def test_dashboard_and_indicators(browser, demo_site, viewport):
    base, _, _ = demo_site
    page = browser.new_context(viewport=viewport, locale="nb-NO").new_page()
    walk.sign_in(page, base, "lead@demo.openprom.no")
    page.get_by_role(
        "link", name="Demo sykehus A, ortopedisk avdeling: resultater og svarandel"
    ).click()
    page.get_by_role("heading", name="Svarandel").first.wait_for()
    assert (
        page.get_by_text("Høy måloppnåelse").count()
        + page.get_by_text("Moderat måloppnåelse").count()
        + page.get_by_text("Lav måloppnåelse").count()
        > 0
    )
    _axe_clean(page, "unit dashboard")
    _no_horizontal_scroll(page)
    page.get_by_label("Indeksår", exact=True).select_option(index=1)
    page.get_by_role("button", name="Vis").click()
    page.get_by_role("heading", name="Svarandel").first.wait_for()
    assert "year=" in page.url
    _axe_clean(page, "unit dashboard for one year")
    page.get_by_role("link", name="Kvalitetsindikatorer for alle enheter").click()
    page.get_by_role("heading", name="Kvalitetsindikatorer").wait_for()
    assert page.get_by_text("Hele registeret").count() >= 1
    assert page.locator("svg.funnel").count() >= 1  # funnel plot per indicator with cases
    _axe_clean(page, "register indicators")
    _no_horizontal_scroll(page)
    page.context.close()


def test_admin_pages(browser, demo_site):
    base, _, _ = demo_site
    page = browser.new_context(viewport=walk.DESKTOP, locale="nb-NO").new_page()
    walk.sign_in(page, base, "registeradmin@demo.openprom.no")
    for path, heading in [
        ("/admin/audit", "Revisjonslogg"),
        ("/clinician/export", None),
        ("/admin/instruments", "Skjema og lisenser"),  # the bokmål staff page
    ]:
        page.goto(base + path)
        if heading:
            page.get_by_role("heading", name=heading).wait_for()
        _axe_clean(page, path)
    walk.sign_in(page, base, "sysadmin@demo.openprom.no")
    page.goto(base + "/admin/users")
    _axe_clean(page, "/admin/users")
    page.goto(base + "/clinician/account")
    page.get_by_role("heading", name="Totrinnsinnlogging").wait_for()
    _axe_clean(page, "/clinician/account")
    page.context.close()
