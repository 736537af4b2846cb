"""The patient flow in Debian's headless Chromium at a 390x844 phone viewport.

Covers: completing EQ-5D-5L + ODI in bokmål, stopping halfway and finishing in a new
browser context, a run with JavaScript off, the EQ VAS scale, touch-target sizes, page
weight, no third-party requests, and an axe-core scan of every patient page type.
"""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest

import instruments
from tests.browser import patient_walk as walk
from tests.conftest import missing_part
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, Response, Score

pytestmark = pytest.mark.browser

MAX_PAGE_BYTES = 30 * 1024


@pytest.fixture
def scoring_modules() -> None:
    for name in ("scoring.eq5d", "scoring.odi"):
        if importlib.util.find_spec(name) is None:
            missing_part(f"{name} is not there yet (final submit scores every response)")


@pytest.fixture
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=walk.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def site(app):  # type: ignore[no-untyped-def]
    """The app served on loopback with one enrolled patient: (base URL, enrolment)."""
    enrolled = support.setup_world(app)
    with walk.serve(app) as base:
        yield base, enrolled


def _shown(locator) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``locator`` is visible (after a navigation); fails after the timeout."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible()


def _phone(browser, **options):  # type: ignore[no-untyped-def]
    return browser.new_context(viewport=walk.PHONE, locale="nb-NO", **options)


def _completed(app, invitation_id: int) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.query(Response).filter_by(invitation_id=invitation_id).all()
        return sorted(r.status for r in rows), db.session.query(Score).count()


def test_patient_completes_eq5d_and_odi_in_bokmal(browser, site, app, scoring_modules):
    base, enrolled = site
    page = _phone(browser).new_page()
    page.goto(f"{base}/s/{enrolled.token}")
    assert page.locator("html").get_attribute("lang") == "nb"
    walk.start_as_self(page)
    walk.answer_eq5d(page)
    walk.answer_odi(page)
    _shown(page.get_by_role("heading", name="Se over svarene dine"))
    page.get_by_role("button", name="Send inn svarene").click()
    _shown(page.get_by_role("heading", name="Takk for svarene dine"))
    statuses, n_scores = _completed(app, enrolled.invitation_id)
    assert statuses == ["complete", "complete"] and n_scores > 0
    with app.app_context():
        eq5d = db.session.query(Response).filter_by(instrument_id="eq5d5l").one()
        assert eq5d.answers == {**walk.EQ5D, "VAS": walk.VAS}
    page.get_by_role("link", name="Se svarene dine").click()
    _shown(page.get_by_role("heading", name="Svarene dine", exact=True))
    page.go_back()
    page.go_back()  # the review page again: already sent, it shows the thank-you page
    page.reload()
    assert "Takk" in page.content()


def test_patient_stops_halfway_and_finishes_in_a_new_browser_context(
    browser, site, app, scoring_modules
):
    base, enrolled = site
    first = _phone(browser)
    page = first.new_page()
    page.goto(f"{base}/s/{enrolled.token}")
    walk.start_as_self(page)
    walk.answer_eq5d(page)
    walk.answer_odi(page, ["q01", "q02", "q03"])
    first.close()
    second = _phone(browser)  # another device: no cookies, same link
    page = second.new_page()
    page.goto(f"{base}/s/{enrolled.token}")
    assert page.url.endswith("/q/odi/3")
    assert "Side 10 av 16" in page.content()
    walk.answer_odi(page, [f"q{i:02d}" for i in range(4, 11)])
    page.get_by_role("button", name="Send inn svarene").click()
    _shown(page.get_by_role("heading", name="Takk for svarene dine"))
    statuses, _ = _completed(app, enrolled.invitation_id)
    assert statuses == ["complete", "complete"]
    second.close()


def test_patient_completes_with_javascript_disabled(browser, site, app, scoring_modules):
    base, enrolled = site
    context = _phone(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/s/{enrolled.token}")
    walk.start_as_self(page)
    for item_id, code in walk.EQ5D.items():
        walk.choose(page, item_id, code)
    assert page.locator("input[type=range]").count() == 0  # the plain number field
    walk.answer_vas(page)
    walk.answer_odi(page)
    page.get_by_role("button", name="Send inn svarene").click()
    _shown(page.get_by_role("heading", name="Takk for svarene dine"))
    statuses, _ = _completed(app, enrolled.invitation_id)
    assert statuses == ["complete", "complete"]
    context.close()


def _to_vas(page, base: str, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    for item_id, code in walk.EQ5D.items():
        walk.choose(page, item_id, code)


def test_vas_is_a_vertical_scale_that_fills_the_number_field(browser, site):
    base, enrolled = site
    page = _phone(browser).new_page()
    _to_vas(page, base, enrolled.token)
    scale = page.locator("input[type=range]")
    scale.wait_for(state="visible")  # vas.js builds the scale after the page has loaded
    assert scale.count() == 1
    box = scale.bounding_box()
    assert box["height"] > 3 * box["width"] and box["width"] >= 44  # vertical, touchable
    top = page.locator(".vas-end").first.bounding_box()["y"]
    bottom = page.locator(".vas-end").last.bounding_box()["y"]
    assert top < box["y"] < bottom
    assert page.locator(".vas-end").first.inner_text() == "Den beste helsen du kan tenke deg"
    assert (
        page.get_by_role("spinbutton", name="HELSEN DIN I DAG").input_value() == ""
    )  # no default answer
    assert scale.get_attribute("aria-valuetext") == "Ikke besvart ennå"  # not "50"
    scale.focus()
    page.keyboard.press("ArrowUp")
    assert page.get_by_role("spinbutton", name="HELSEN DIN I DAG").input_value() == "51"
    assert scale.get_attribute("aria-valuetext") is None  # now the number is read
    page.get_by_role("spinbutton", name="HELSEN DIN I DAG").fill("80")
    page.get_by_role("spinbutton", name="HELSEN DIN I DAG").dispatch_event("input")
    assert scale.input_value() == "80"
    # a quarter down the track is about 75 when tapped (measured where the page scrolled to)
    scale.scroll_into_view_if_needed()
    box = scale.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.25)
    assert 65 <= int(page.get_by_role("spinbutton", name="HELSEN DIN I DAG").input_value()) <= 85


def test_touch_targets_are_at_least_44px_and_nothing_scrolls_sideways(browser, site):
    base, enrolled = site
    for width in (320, 390):
        page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
        page.goto(f"{base}/s/{enrolled.token}")
        if width == 390:
            walk.start_as_self(page)
        else:
            page.goto(f"{base}/s/{enrolled.token}/start")
        for selector in [".option", "button", ".langs a"]:
            for box in [el.bounding_box() for el in page.locator(selector).all()]:
                assert box["height"] >= 44 and box["width"] >= 44, (selector, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def _bytes_of(page, base: str, url: str) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    sizes: dict[str, int] = {}
    foreign: list[str] = []

    def record(response) -> None:  # type: ignore[no-untyped-def]
        if not response.url.startswith(base):
            foreign.append(response.url)
        elif response.status == 200:
            sizes[response.url] = len(response.body())

    page.on("response", record)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", record)
    return sum(sizes.values()), foreign


def test_question_pages_weigh_under_30_kb_and_load_nothing_from_elsewhere(browser, site):
    base, enrolled = site
    context = _phone(browser)
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_())  # routing turns the cache off
    _to_vas(page, base, enrolled.token)
    weights = {}
    for name, path in [("choice page", "q/eq5d5l/0"), ("VAS page", "q/eq5d5l/5")]:
        weights[name], foreign = _bytes_of(page, base, f"{base}/s/{enrolled.token}/{path}")
        assert foreign == []
    print("page weights (bytes, HTML+CSS+JS):", weights)
    assert weights["VAS page"] > weights["choice page"]  # the script was counted
    assert max(weights.values()) < MAX_PAGE_BYTES, weights
    context.close()


def _axe_clean(page, label: str) -> None:  # type: ignore[no-untyped-def]
    violations = walk.axe_violations(page)
    assert violations == [], f"{label}: {violations}"


def test_every_patient_page_type_has_no_axe_violations(browser, site, app, scoring_modules):
    if not walk.AXE.exists():
        missing_part("node_modules/axe-core is missing (run: npm ci)")
    base, enrolled = site
    page = _phone(browser).new_page()
    page.goto(f"{base}/")
    _axe_clean(page, "home")
    page.goto(f"{base}/s/not-a-real-token-at-all-xx")
    _axe_clean(page, "unavailable")
    page.goto(f"{base}/s/{enrolled.token}")
    _axe_clean(page, "start")
    page.get_by_role("button", name="Begynn").click()
    _axe_clean(page, "start with error")
    walk.start_as_self(page)
    _axe_clean(page, "choice page")
    page.get_by_role("button", name="Neste").click()
    _axe_clean(page, "choice page with error")
    page.goto(f"{base}/s/{enrolled.token}/q/eq5d5l/0?lang=nn")
    _axe_clean(page, "choice page, nynorsk UI with bokmål questionnaire")
    page.goto(f"{base}/s/{enrolled.token}/q/eq5d5l/0?lang=nb")
    for item_id, code in walk.EQ5D.items():
        walk.choose(page, item_id, code)
    _axe_clean(page, "VAS page")
    walk.answer_vas(page)
    walk.answer_odi(page)
    _axe_clean(page, "review")
    page.get_by_role("button", name="Send inn svarene").click()
    _axe_clean(page, "thanks")
    page.get_by_role("link", name="Se svarene dine").click()
    _axe_clean(page, "insight")
    with app.app_context():
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        assert invitation.completed_at is not None
        assert invitation.innsyn_until > invitation.completed_at + dt.timedelta(days=1)


# Layout problems on the page: sideways scrolling, boxes that stick out of the viewport,
# and controls smaller than 44 x 44 px (the skip link and visually hidden text excepted).
LAYOUT_PROBLEMS = """(width) => {
  const skip = (el) => el.closest('.skip, .visually-hidden');
  const out = {scroll: document.documentElement.scrollWidth, outside: [], small: []};
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && !skip(el) && (r.right > width + 0.5 || r.left < -0.5)) {
      out.outside.push(el.tagName + '.' + el.className + ' '
        + Math.round(r.left) + '-' + Math.round(r.right));
    }
  }
  const targets = 'a, button, .option, input[type=number], input[type=range], progress';
  for (const el of document.querySelectorAll(targets)) {
    const r = el.getBoundingClientRect();
    if (el.matches('progress')) { continue; }
    if (r.width && !skip(el) && (r.width < 44 || r.height < 44)) {
      out.small.push(el.tagName + ' "' + el.textContent.trim().slice(0, 20) + '" '
        + Math.round(r.width) + 'x' + Math.round(r.height));
    }
  }
  return out;
}"""


@pytest.fixture
def grouped_site(app):  # type: ignore[no-untyped-def]
    """EQ-5D-5L + RAND-36 (a grouped questionnaire), served on loopback."""
    app.config["OPENPROM_TOKEN_RATE_LIMIT"] = "1000 per minute"  # one client walks a lot
    with app.app_context():
        support.make_protocol(("eq5d5l", "rand36"))
        enrolled = support.enrol_patient()
    with walk.serve(app) as base:
        yield base, enrolled


@pytest.mark.parametrize(
    ("width", "text_size"),
    [(320, 100), (390, 200)],
    ids=["320px", "390px-200%-text"],
)
def test_every_page_type_reflows_keeps_44px_targets_and_passes_axe(
    browser, grouped_site, app, scoring_modules, width, text_size
):
    """WCAG 1.4.10 at 320 px and 1.4.4 at 200 % text size (a phone's text-size setting),
    2.5.5-style 44 px targets, axe-core, and no CSP violation on every patient page type."""
    if not walk.AXE.exists():
        missing_part("node_modules/axe-core is missing (run: npm ci)")
    base, enrolled = grouped_site
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="nb-NO")
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    problems: dict[str, object] = {}
    seen: list[str] = []

    def check(label: str) -> None:
        page.wait_for_load_state("load")
        if text_size != 100:  # CSSOM, not a style attribute: allowed by the CSP
            page.evaluate(f"document.documentElement.style.fontSize = '{text_size}%'")
        layout = page.evaluate(LAYOUT_PROBLEMS, width)
        if layout["scroll"] > width or layout["outside"] or layout["small"]:
            problems[label] = layout
        violations = walk.axe_violations(page)
        if violations:
            problems[f"{label} (axe)"] = violations
        seen.append(label)

    link = f"{base}/s/{enrolled.token}"
    page.goto(f"{base}/s/not-a-real-token-at-all-xx")
    check("unavailable")
    page.goto(link)
    _shown(page.get_by_role("heading", name="Før du begynner"))
    check("start")
    page.get_by_role("button", name="Begynn").click()
    _shown(page.get_by_text("Velg hvem som svarer."))
    check("start with error")
    page.get_by_label("Jeg svarer på vegne av pasienten").check()
    page.get_by_role("button", name="Begynn").click()
    _shown(page.get_by_text("Velg hva du er for pasienten."))
    check("proxy without relation")
    walk.start_as_self(page)
    page.wait_for_url("**/q/eq5d5l/0")
    check("choice page")
    page.get_by_role("button", name="Neste").click()
    _shown(page.get_by_text("Velg ett svar."))
    check("choice page with error")
    page.evaluate(  # a tampered form (a field that is not on the page) is refused
        """() => { const f = document.createElement('input');
        f.type = 'hidden'; f.name = 'XX'; f.value = '1'; document.forms[0].append(f); }"""
    )
    page.get_by_role("button", name="Neste").click()
    _shown(page.get_by_role("heading", name="Denne siden ble ikke lagret"))
    check("page not saved")
    page.get_by_role("link", name="Fortsett").click()
    page.wait_for_url("**/q/eq5d5l/0")
    for item_id, code in walk.EQ5D.items():
        walk.choose(page, item_id, code)
    page.locator("input[type=range]").wait_for(state="visible")
    check("VAS scale")
    page.get_by_role("button", name="Neste").click()
    _shown(page.get_by_text("Skriv et helt tall fra 0 til 100."))
    check("VAS with error")
    plain = context.new_page()  # the VAS page as it is without JavaScript (vas.js blocked)
    plain.route("**/vas.js", lambda route: route.abort())
    plain.goto(f"{link}/q/eq5d5l/5")
    assert plain.locator("input[type=range]").count() == 0
    page, plain = plain, page
    check("VAS without JavaScript")
    page.close()
    page = plain
    walk.answer_vas(page)
    page.wait_for_url("**/q/rand36/0")
    check("RAND-36 first page")
    page.get_by_role("button", name="Neste").click()
    page.wait_for_url("**/q/rand36/1")
    _shown(page.get_by_text("De følgende spørsmålene handler om aktiviteter"))
    check("RAND-36 grouped page")
    n_pages = len(instruments.load("rand36").screen_pages())
    for index in range(2, n_pages + 1):
        page.get_by_role("button", name="Neste").click()
        page.wait_for_url(f"**/q/rand36/{index}" if index < n_pages else "**/review")
    check("review")
    page.get_by_role("button", name="Send inn svarene").click()
    _shown(page.get_by_role("heading", name="Takk for svarene dine"))
    check("thanks")
    page.get_by_role("link", name="Se svarene dine").click()
    _shown(page.get_by_role("heading", name="Svarene dine", exact=True))
    check("insight")
    page.goto(f"{base}/?lang=en")
    check("home in English")
    context.close()
    assert len(seen) == 16
    assert problems == {}, problems
    assert blocked == [], blocked


def test_grouped_question_pages_weigh_under_30_kb_too(browser, grouped_site):
    base, enrolled = grouped_site
    context = _phone(browser)
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_())  # routing turns the cache off
    page.goto(f"{base}/s/{enrolled.token}")
    walk.start_as_self(page)
    for item_id, code in walk.EQ5D.items():
        walk.choose(page, item_id, code)
    walk.answer_vas(page)
    rand36 = instruments.load("rand36")
    n_pages = len(rand36.screen_pages())
    for index in range(1, n_pages + 1):  # skip through: all saved
        page.get_by_role("button", name="Neste").click()
        page.wait_for_url(f"**/q/rand36/{index}" if index < n_pages else "**/review")
    weights = {}
    for index, screen in enumerate(rand36.screen_pages()):
        url = f"{base}/s/{enrolled.token}/q/rand36/{index}"
        weights[f"{screen.id} ({len(screen.items)} items)"], foreign = _bytes_of(page, base, url)
        assert foreign == []
    print("RAND-36 page weights (bytes, HTML+CSS):", weights)
    assert max(weights.values()) < MAX_PAGE_BYTES, weights
    context.close()


def test_keyboard_only_answering_with_a_visible_focus(browser, site, app):
    base, enrolled = site
    page = _phone(browser).new_page()
    page.goto(f"{base}/s/{enrolled.token}")
    walk.start_as_self(page)
    page.wait_for_url("**/q/eq5d5l/0")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # first stop
    page.keyboard.press("Enter")  # skip the header and the language switch
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "MO"
    page.keyboard.press("ArrowDown")  # second option, as in every radio group
    focused = page.locator("label.option:has(input:focus-visible)")
    assert focused.count() == 1
    assert focused.evaluate("el => getComputedStyle(el).boxShadow") != "none"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Tab")  # Back
    page.keyboard.press("Tab")  # Next
    assert page.evaluate("document.activeElement.textContent") == "Neste"
    page.keyboard.press("Enter")
    page.wait_for_url("**/q/eq5d5l/1*")  # the skip link's #main survives the redirect
    with app.app_context():
        answers = db.session.query(Response).filter_by(instrument_id="eq5d5l").one().answers
        assert answers == {"MO": 2}
