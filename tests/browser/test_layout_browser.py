"""The base layout in a real headless Chromium (Debian's), at phone widths."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server


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
