"""The layout in a real headless Chromium (Debian's), at phone widths.

Issue 12 (patient forms as their owners print them): every page of every bundled
instrument at 360x740 and 320x740 is at most ~2,000 px tall, nothing scrolls sideways,
CAT's end statements sit next to options 0 and 5, the EQ VAS shows no value before the
patient sets one, the focus moves in the visual order, and axe-core finds nothing.
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser import patient_walk as walk
from tests.conftest import missing_part
from tests.webapp import patient_support as support

MAX_PAGE_HEIGHT = 2000  # px at a 360 or 320 px wide phone (issue 12)
ALL_INSTRUMENTS = ("eq5d5l", "cat", "odi", "rand36", "gspeq")


@pytest.fixture
def live_server(app):  # type: ignore[no-untyped-def]
    """The test app served on a free loopback port in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 390])
def test_pages_fit_a_phone_without_horizontal_scrolling(browser, live_server, width):
    page = browser.new_page(viewport={"width": width, "height": 800})
    for path in ["/", "/admin/instruments"]:
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path} scrolls sideways at {width}px ({scroll_width}px)"
        font_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font_px >= 16
    page.close()


@pytest.fixture
def every_instrument(app):  # type: ignore[no-untyped-def]
    """A patient asked all five bundled instruments, served on loopback: (base, token)."""
    app.config["OPENPROM_TOKEN_RATE_LIMIT"] = "1000 per minute"  # one client walks a lot
    with app.app_context():
        support.make_protocol(ALL_INSTRUMENTS)
        enrolled = support.enrol_patient()
    with walk.serve(app) as base:
        yield base, enrolled.token


# Text boxes (not element boxes) of CAT's end statements and the boxes of options 0 and 5.
CAT_GEOMETRY = """() => {
  const text = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    return r.getBoundingClientRect().toJSON(); };
  const options = document.querySelectorAll('.bipolar-option');
  return {low: text(document.querySelector('.anchor-low')),
          high: text(document.querySelector('.anchor-high')),
          first: options[0].getBoundingClientRect().toJSON(),
          last: options[options.length - 1].getBoundingClientRect().toJSON()};
}"""


def _cat_anchors_problems(page, stacked: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """Where CAT's statements are not next to options 0 and 5 (empty list: they are)."""
    g = page.evaluate(CAT_GEOMETRY)
    low, high, first, last = g["low"], g["high"], g["first"], g["last"]
    problems = []
    if stacked:  # phones: the 0 statement just above option 0, the 5 statement just below 5
        if not 0 <= first["top"] - low["bottom"] <= 16 or abs(low["left"] - first["left"]) > 2:
            problems.append(f"low statement {low} not on top of option 0 {first}")
        if not 0 <= high["top"] - last["bottom"] <= 16 or abs(high["right"] - last["right"]) > 2:
            problems.append(f"high statement {high} not below option 5 {last}")
    else:  # wider screens: the printed row, statements left of 0 and right of 5
        if not 0 <= first["left"] - low["right"] <= 24 or not (
            first["top"] <= (low["top"] + low["bottom"]) / 2 <= first["bottom"]
        ):
            problems.append(f"low statement {low} not left of option 0 {first}")
        if not 0 <= high["left"] - last["right"] <= 24 or not (
            last["top"] <= (high["top"] + high["bottom"]) / 2 <= last["bottom"]
        ):
            problems.append(f"high statement {high} not right of option 5 {last}")
    return problems


def _focus_order_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Tab from the top of the page to the last control: each stop must come after the
    previous one in reading order (lower down; or beside it, further right)."""
    page.evaluate("window.scrollTo(0, 0); document.activeElement.blur()")
    stops: list[dict] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => { const el = document.activeElement;
            if (!el || el === document.body) { return null; }
            const r = el.getBoundingClientRect();
            return {what: el.tagName + ' ' + (el.name || el.textContent.trim().slice(0, 24)),
                    top: r.top + window.scrollY, bottom: r.bottom + window.scrollY,
                    left: r.left, skip: el.classList.contains('skip')}; }"""
        )
        if stop is None or (stops and stop["what"] == stops[0]["what"]):
            break  # past the last control (the focus left the page or wrapped around)
        stops.append(stop)
    stops = [s for s in stops if not s["skip"]]  # the skip link appears where it is needed
    problems = []
    for before, after in zip(stops, stops[1:], strict=False):
        beside = after["top"] < before["bottom"] and before["top"] < after["bottom"]
        if (beside and after["left"] <= before["left"]) or (
            not beside and after["top"] < before["top"]
        ):
            problems.append(f"{before['what']} -> {after['what']}")
    assert len(stops) >= 3, stops  # language links, the page's controls, the buttons
    return problems


VAS_STATE = """() => { const r = document.querySelector('.vas-range');
  const n = document.querySelector('input[type=number]');
  return {box: n.value, unset: r.classList.contains('unset'),
          opacity: getComputedStyle(r).opacity, name: r.name,
          valuetext: r.getAttribute('aria-valuetext')}; }"""


def _answer(page, instrument_id: str) -> None:  # type: ignore[no-untyped-def]
    """Answer the page shown (the first option, or 1 on CAT; 50 in a number box), go on."""
    names = page.eval_on_selector_all("input[type=radio]", "els => els.map(e => e.name)")
    for name in dict.fromkeys(names):
        value = "[value='1']" if instrument_id == "cat" else ""
        page.locator(f"label:has(input[name='{name}']{value})").first.click()
    for box in page.locator("input[type=number]").all():
        box.fill("50")
        box.dispatch_event("input")
    page.get_by_role("button", name="Neste").click()
    page.wait_for_load_state("load")


def _open_details_and_axe(page, label: str, problems: dict) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = walk.axe_violations(page)
    if violations:
        problems[f"{label} (axe)"] = violations
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = false; })")


@pytest.mark.browser
@pytest.mark.parametrize("width", [360, 320])
def test_every_page_of_every_instrument_fits_a_phone(browser, every_instrument, width):
    """All five instruments at 360x740 and 320x740: page heights, no sideways scrolling,
    CAT statements beside options 0 and 5, an unmarked EQ VAS, focus order, axe-core."""
    if not walk.AXE.exists():
        missing_part("node_modules/axe-core is missing (run: npm ci)")
    base, token = every_instrument
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="nb-NO")
    page = context.new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    heights: dict[str, int] = {}
    problems: dict[str, object] = {}
    checked_first: set[str] = set()
    while "/q/" in page.url:
        key = page.url.split("/q/")[1].split("?")[0]
        instrument_id, index = key.split("/")
        heights[key] = page.evaluate("document.documentElement.scrollHeight")
        if page.evaluate("document.documentElement.scrollWidth") > width:
            problems[f"{key} scrolls sideways"] = page.evaluate(
                "document.documentElement.scrollWidth"
            )
        if instrument_id == "cat" and (found := _cat_anchors_problems(page, stacked=True)):
            problems[f"{key} CAT statements"] = found
        if page.locator("[data-vas]").count():
            page.locator(".vas-range").wait_for(state="attached")
            state = page.evaluate(VAS_STATE)
            expected = {"box": "", "unset": True, "opacity": "0", "name": ""}
            if {k: state[k] for k in expected} != expected or not state["valuetext"]:
                problems[f"{key} VAS before any answer"] = state
        if index in ("0", "1") or page.locator("[data-vas]").count():
            if order := _focus_order_problems(page):
                problems[f"{key} focus order"] = order
            _open_details_and_axe(page, key, problems)
            checked_first.add(instrument_id)
        _answer(page, instrument_id)
    assert page.url.endswith("/review"), page.url
    for name in ("review", "insight"):
        heights[name] = page.evaluate("document.documentElement.scrollHeight")
        if order := _focus_order_problems(page):
            problems[f"{name} focus order"] = order
        _open_details_and_axe(page, name, problems)
        if name == "review":
            page.get_by_role("button", name="Send inn svarene").click()
            page.get_by_role("link", name="Se svarene dine").click()
            page.get_by_role("heading", name="Svarene dine", exact=True).wait_for()
    context.close()
    print(f"page heights at {width}x740:", heights)
    assert checked_first == set(ALL_INSTRUMENTS)
    assert len(heights) == 2 + sum(len(i.screen_pages()) for i in _instruments())
    too_tall = {k: h for k, h in heights.items() if h > MAX_PAGE_HEIGHT}
    assert too_tall == {}, too_tall
    assert problems == {}, problems


def _instruments():  # type: ignore[no-untyped-def]
    import instruments

    return [instruments.load(i) for i in ALL_INSTRUMENTS]


@pytest.mark.browser
def test_cat_statements_sit_at_the_ends_of_the_row_on_a_wide_screen(browser, every_instrument):
    base, token = every_instrument
    page = browser.new_context(viewport={"width": 1024, "height": 768}, locale="nb-NO").new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    for _ in range(6):  # the EQ-5D-5L screens
        _answer(page, "eq5d5l")
    for index in range(8):
        page.wait_for_url(f"**/q/cat/{index}")
        assert _cat_anchors_problems(page, stacked=False) == [], index
        _answer(page, "cat")


@pytest.mark.browser
def test_the_vas_is_unmarked_until_set_and_shows_the_number_in_the_box(browser, every_instrument):
    base, token = every_instrument
    page = browser.new_context(viewport={"width": 360, "height": 740}, locale="nb-NO").new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    for item_id, code in walk.EQ5D.items():
        walk.choose(page, item_id, code)
    page.locator(".vas-range").wait_for(state="attached")
    before = page.evaluate(VAS_STATE)
    assert before == {
        "box": "",
        "unset": True,
        "opacity": "0",  # no thumb, no fill: nothing on the scale
        "name": "",  # the slider never posts: only the box does
        "valuetext": "Ikke besvart ennå",
    }
    page.get_by_role("button", name="Neste").click()  # nothing set: nothing sent
    page.get_by_text("Skriv et helt tall fra 0 til 100.").wait_for()
    assert page.evaluate(VAS_STATE)["box"] == ""
    ruler = page.locator(".vas-ruler")
    ruler.scroll_into_view_if_needed()
    box = ruler.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
    after = page.evaluate(VAS_STATE)
    assert after["unset"] is False and after["opacity"] == "1" and after["valuetext"] is None
    assert 67 <= int(after["box"]) <= 73  # 30 % down the scale from 100
    box_input = page.get_by_role("spinbutton", name="HELSEN DIN I DAG")
    box_input.fill("")
    box_input.dispatch_event("input")
    assert page.evaluate(VAS_STATE)["unset"] is True  # an emptied box unmarks the scale


@pytest.mark.browser
def test_the_focus_order_check_catches_controls_shown_out_of_order(browser, every_instrument):
    """The check above is not vacuous: with Back and Next swapped on screen (CSS only,
    the DOM unchanged) the focus no longer follows the visual order, and it says so."""
    base, token = every_instrument
    page = browser.new_context(viewport={"width": 360, "height": 740}, locale="nb-NO").new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    page.wait_for_url("**/q/eq5d5l/0")
    assert _focus_order_problems(page) == []
    page.evaluate("document.querySelector('.nav').style.flexDirection = 'row-reverse'")
    assert _focus_order_problems(page) == ["A Tilbake -> BUTTON Neste"]


@pytest.mark.browser
@pytest.mark.parametrize(("width", "limit"), [(360, MAX_PAGE_HEIGHT), (320, 2200)])
def test_the_insight_page_after_high_cat_and_odi_scores_fits_a_phone(
    app, browser, every_instrument, width, limit
):
    """High CAT (32, "very high") and ODI (80 %, "crippled") answers of all five
    instruments, from a unit that gave its contact details: one next-step box with them;
    the page <= 2,000 px at the issue's 360x740 (1,996 px measured), <= 2,200 at 320 px
    where the same text wraps into more lines (2,166 px measured)."""
    from webapp.extensions import db
    from webapp.models import Unit

    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        unit.contact_phone, unit.contact_email = "+47 00 00 09 09", "post@testsykehuset.example"
        unit.contact_hours, unit.contact_address = "Hverdager kl. 8–15", "Testveien 1, Testby"
        db.session.commit()
    base, token = every_instrument
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="nb-NO")
    page = context.new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    while "/q/" in page.url:
        instrument_id = page.url.split("/q/")[1].split("/")[0]
        names = page.eval_on_selector_all("input[type=radio]", "els => els.map(e => e.name)")
        for name in dict.fromkeys(names):
            code = "[value='4']" if instrument_id in ("cat", "odi") else ""
            page.locator(f"label:has(input[name='{name}']{code})").first.click()
        for box in page.locator("input[type=number]").all():
            box.fill("50")
            box.dispatch_event("input")
        page.get_by_role("button", name="Neste").click()
        page.wait_for_load_state("load")
    page.get_by_role("button", name="Send inn svarene").click()
    page.get_by_role("link", name="Se svarene dine").click()
    page.get_by_role("heading", name="Svarene dine", exact=True).wait_for()
    box = page.locator(".contact.next-step")
    assert box.count() == 1  # one calm box for both high scores
    text = box.inner_text()
    assert "lungesykdommen" in text and "beinsmertene" in text and "113" in text
    assert "+47 00 00 09 09" in text and "Testveien 1, Testby" in text
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"insight after high CAT and ODI at {width}x740: {height} px")
    assert height <= limit, height
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    problems: dict[str, object] = {}
    if walk.AXE.exists():
        _open_details_and_axe(page, "insight", problems)
    assert problems == {}, problems
    context.close()


@pytest.fixture
def rand36_patient(app):  # type: ignore[no-untyped-def]
    """A patient asked RAND-36 only, served on loopback: (base, token)."""
    app.config["OPENPROM_TOKEN_RATE_LIMIT"] = "1000 per minute"
    with app.app_context():
        support.make_protocol(("rand36",))
        enrolled = support.enrol_patient()
    with walk.serve(app) as base:
        yield base, enrolled.token


STEM_BAR = """() => { const b = document.querySelector('.stem-bar');
  const r = b.getBoundingClientRect(); const s = getComputedStyle(b);
  return {shown: s.visibility === 'visible', top: r.top, bottom: r.bottom, height: r.height,
          text: b.getAttribute('data-stem'), hidden: b.getAttribute('aria-hidden'),
          line: parseFloat(s.lineHeight), stem: document.getElementById('page-title').textContent};
}"""
FOCUSED_TOP = """() => { const el = document.activeElement;
  const box = (el.closest('label') || el).getBoundingClientRect(); return box.top; }"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [360, 320])
def test_a_grouped_screen_keeps_its_stem_in_view_as_one_line(browser, rand36_patient, width):
    """RAND-36's activities stem: full at the top of the screen; once it scrolled away, a
    one-line copy is pinned to the top (<= 15 % of 740 px), hidden from screen readers,
    and keyboard focus never lands under it; back at the top the copy goes."""
    base, token = rand36_patient
    context = browser.new_context(viewport={"width": width, "height": 740}, locale="nb-NO")
    page = context.new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    page.get_by_role("button", name="Neste").click()  # screen 1: general health, unanswered
    page.wait_for_url("**/q/rand36/1")
    page.locator(".stem-bar").wait_for(state="attached")
    assert page.evaluate(STEM_BAR)["shown"] is False  # the full stem is in view
    page.locator("fieldset").last.scroll_into_view_if_needed()
    page.locator(".stem-bar.shown").wait_for(state="visible")
    pinned = page.evaluate(STEM_BAR)
    print(f"pinned stem at {width}x740: {pinned['height']:.0f} px")
    assert pinned["shown"] and pinned["top"] == 0 and pinned["text"] == pinned["stem"]
    assert pinned["hidden"] == "true"
    assert pinned["height"] <= 0.15 * 740  # issue 12: at most ~15 % of the screen
    assert pinned["height"] < 2 * pinned["line"]  # one line (the rest is an ellipsis)
    obscured = []
    for _ in range(12):  # back up through the answers with the keyboard
        page.keyboard.press("Shift+Tab")
        bar = page.evaluate(STEM_BAR)
        top = page.evaluate(FOCUSED_TOP)
        if bar["shown"] and top < bar["bottom"]:
            obscured.append((top, page.evaluate("() => document.activeElement.id")))
    assert obscured == []
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".stem-bar.shown").wait_for(state="detached")
    context.close()
