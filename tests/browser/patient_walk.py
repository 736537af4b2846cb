"""Helpers shared by the patient browser tests and the screenshot command.

They drive a real page the way a patient does: click the option's label, press the
buttons, type the VAS number (or use the scale when JavaScript runs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

EQ5D = {"MO": 2, "SC": 1, "UA": 3, "PD": 3, "AD": 1}
VAS = 65
ODI = {f"q{i:02d}": (i % 3) for i in range(1, 11)}


@contextmanager
def serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve ``app`` on a free loopback port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def choose(page, item_id: str, code: int) -> None:  # type: ignore[no-untyped-def]
    """Tap the label of the option with ``code`` and go on."""
    page.locator(f"label:has(input[name='{item_id}'][value='{code}'])").click()
    page.get_by_role("button", name="Neste").click()


def start_as_self(page) -> None:  # type: ignore[no-untyped-def]
    """Answer the first screen: the patient answers for themselves."""
    page.get_by_label("Jeg er pasienten og svarer selv").check()
    page.get_by_role("button", name="Begynn").click()


def answer_vas(page, value: int = VAS) -> None:  # type: ignore[no-untyped-def]
    """Type the EQ VAS number (works with and without JavaScript)."""
    page.get_by_role("spinbutton", name="HELSEN DIN I DAG").fill(str(value))
    page.get_by_role("button", name="Neste").click()


def answer_eq5d(page) -> None:  # type: ignore[no-untyped-def]
    """All five EQ-5D-5L dimensions and the VAS."""
    for item_id, code in EQ5D.items():
        choose(page, item_id, code)
    answer_vas(page)


def answer_odi(page, items: list[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """The ODI sections (all, or the given ones in order)."""
    for item_id in items or list(ODI):
        choose(page, item_id, ODI[item_id])


def inject_axe(page) -> None:  # type: ignore[no-untyped-def]
    """Load axe-core from node_modules into the page (a script tag would break the CSP)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))


def axe_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe-core violations (WCAG 2.0/2.1 A and AA rules and best practices) on the page."""
    inject_axe(page)
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}))"""
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]
