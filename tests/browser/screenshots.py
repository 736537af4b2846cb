"""Write phone-width screenshots of every patient page type to ``docs/screenshots/``.

Run from the repository root::

    python -m tests.browser.screenshots [--out DIR]

It builds a throwaway app (temporary SQLite database, CSRF on), enrols synthetic
patients and walks through the questionnaire in Debian's headless Chromium at 390x844
(``01``-``14``), then through every screen of the five bundled instruments at 360x740
(``instrument-<id>-<nn>.png``, issue 12; docs/instruments.md compares them with the
printed layouts). With Pillow installed the PNGs are reduced to 64 colours.
Needs Chromium (``OPENPROM_CHROMIUM`` or ``chromium`` on PATH), Playwright, and the scoring
modules for the pages after submitting.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.browser import patient_walk as walk

DEFAULT_OUT = walk.REPO / "docs" / "screenshots"


def _app(tmp: Path):  # type: ignore[no-untyped-def]
    from tests.conftest import make_app  # also sets throwaway keys in the environment

    return make_app(f"sqlite:///{tmp / 'shots.sqlite'}", tmp / "instance")


ALL_INSTRUMENTS = ("eq5d5l", "cat", "odi", "rand36", "gspeq")
INSTRUMENT_PHONE = {"width": 360, "height": 740}  # the phone of issue 12


def _give_contact(app) -> None:  # type: ignore[no-untyped-def]
    """Made-up contact details for the test unit (thank-you and insight pages show them)."""
    from webapp.extensions import db
    from webapp.models import Unit

    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        unit.contact_phone, unit.contact_email = "+47 00 00 01 01", "post@testsykehuset.example"
        unit.contact_hours, unit.contact_address = "Hverdager kl. 8–15", "Testveien 1, Testby"
        db.session.commit()


def _grouped_world(app, support, name: str = "general", asked=("rand36",)) -> str:  # type: ignore[no-untyped-def]
    """The second (synthetic) patient enrolled in a protocol asking ``asked`` (default:
    RAND-36, pages grouped as printed); returns the link token."""
    import datetime as dt

    from webapp.extensions import db
    from webapp.models import Register
    from webapp.services.invitations import issue_token
    from webapp.services.patients import get_or_create_patient
    from webapp.services.protocols import TimePointSpec, define_protocol, enrol, find_unit

    with app.app_context():
        register = db.session.query(Register).filter_by(name="reg").one()
        baseline = TimePointSpec("baseline", "Før", 0, tuple(asked))
        protocol = define_protocol(register, name, name.title(), [baseline])
        patient, _ = get_or_create_patient(support.SECOND_ID)
        enrolment = enrol(patient, protocol, find_unit("unit-1"), dt.date.today())
        token = issue_token(enrolment.invitations[0])
        db.session.commit()
        return token


def _answer_screen(page, instrument_id: str) -> None:  # type: ignore[no-untyped-def]
    """Answer the screen shown (high CAT and ODI answers: the insight shows next steps)."""
    names = page.eval_on_selector_all("input[type=radio]", "els => els.map(e => e.name)")
    for name in dict.fromkeys(names):
        value = "[value='4']" if instrument_id in ("cat", "odi") else ""
        page.locator(f"label:has(input[name='{name}']{value})").first.click()
    for box in page.locator("input[type=number]").all():
        box.fill("70")
        box.dispatch_event("input")
    page.get_by_role("button", name="Neste").click()
    page.wait_for_load_state("load")


def _instrument_shots(browser, base: str, token: str, save) -> None:  # type: ignore[no-untyped-def]
    """Every screen of every bundled instrument at 360x740 (``instrument-<id>-<nn>.png``),
    CAT's printed row at 1024 px, the VAS once set, then review and insight."""
    page = browser.new_context(viewport=INSTRUMENT_PHONE, locale="nb-NO").new_page()
    page.goto(f"{base}/s/{token}")
    walk.start_as_self(page)
    while "/q/" in page.url:
        instrument_id, index = page.url.split("/q/")[1].split("?")[0].split("/")
        save(page, f"instrument-{instrument_id}-{int(index) + 1:02d}")
        if page.locator("[data-vas]").count():
            page.locator(".vas-range").wait_for(state="attached")
            box = page.get_by_role("spinbutton", name="HELSEN DIN I DAG")
            box.fill("70")
            box.dispatch_event("input")
            save(page, f"instrument-{instrument_id}-{int(index) + 1:02d}-set")
        if (instrument_id, index) == ("cat", "1"):  # the printed row on a wide screen
            wide = browser.new_context(viewport={"width": 1024, "height": 600}, locale="nb-NO")
            wide_page = wide.new_page()
            wide_page.goto(page.url)
            save(wide_page, "instrument-cat-02-wide")
            wide.close()
        _answer_screen(page, instrument_id)
    save(page, "instrument-all-review")
    page.get_by_role("button", name="Send inn svarene").click()
    page.get_by_role("link", name="Se svarene dine").click()
    page.get_by_role("heading", name="Svarene dine", exact=True).wait_for()
    save(page, "instrument-all-insight-high-scores")
    page.context.close()


def _save(page, out: Path, name: str, written: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """A full-page PNG, reduced to a 64-colour palette when Pillow is there (small files)."""
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    try:
        from PIL import Image
    except ImportError:
        pass
    else:
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    written.append(path)


def take(out: Path) -> list[Path]:
    """Walk the patient flow and save one PNG per page type; returns the files written."""
    from playwright.sync_api import sync_playwright

    from tests.webapp import patient_support as support

    chromium = os.environ.get("OPENPROM_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium not found (apt-get install chromium)")
    scoring_ready = all(
        importlib.util.find_spec(name) is not None for name in ("scoring.eq5d", "scoring.odi")
    )
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        enrolled = support.setup_world(app)
        _give_contact(app)
        grouped = _grouped_world(app, support)
        every = _grouped_world(app, support, "every", ALL_INSTRUMENTS)
        with walk.serve(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=walk.CHROMIUM_ARGS)
            page = browser.new_context(viewport=walk.PHONE, locale="nb-NO").new_page()

            def shot(name: str) -> None:
                _save(page, out, name, written)

            link = f"{base}/s/{enrolled.token}"
            page.goto(f"{base}/s/expired-or-unknown-link-xx")
            shot("01-link-unavailable")
            page.goto(link)
            shot("02-start")
            page.get_by_role("button", name="Begynn").click()
            shot("03-start-error")
            walk.start_as_self(page)
            shot("04-question-eq5d")
            page.get_by_role("button", name="Neste").click()
            shot("05-question-required-message")
            page.goto(f"{link}/q/eq5d5l/0?lang=nn")
            shot("06-question-nynorsk-ui-bokmal-fallback")
            page.goto(f"{link}/q/eq5d5l/0?lang=nb")
            for item_id, code in walk.EQ5D.items():
                walk.choose(page, item_id, code)
            no_js = browser.new_context(viewport=walk.PHONE, java_script_enabled=False)
            plain = no_js.new_page()
            plain.goto(f"{link}/q/eq5d5l/5")
            _save(plain, out, "10-eq-vas-without-javascript", written)
            no_js.close()
            page.get_by_role("spinbutton", name="HELSEN DIN I DAG").fill(str(walk.VAS))
            page.get_by_role("spinbutton", name="HELSEN DIN I DAG").dispatch_event("input")
            shot("07-eq-vas-scale")
            page.reload()  # a full-page screenshot can leave Chromium's hit-testing stale
            walk.answer_vas(page)
            page.wait_for_url("**/q/odi/0")
            shot("08-question-odi")
            walk.answer_odi(page)
            shot("09-review")
            if scoring_ready:
                page.get_by_role("button", name="Send inn svarene").click()
                shot("11-thanks")
                page.get_by_role("link", name="Se svarene dine").click()
                shot("12-insight")
            else:
                print("scoring.eq5d/scoring.odi missing: no thanks/insight screenshots")
            page.goto(f"{base}/s/{grouped}")
            walk.start_as_self(page)
            page.get_by_role("button", name="Neste").click()  # RAND-36 may be skipped
            page.wait_for_url("**/q/rand36/1")
            shot("13-question-rand36-grouped")
            page.evaluate(  # a post the server refuses (here: a field not on the page)
                """() => { const f = document.createElement('input'); f.type = 'hidden';
                f.name = 'XX'; document.forms[0].append(f); }"""
            )
            page.get_by_role("button", name="Neste").click()
            page.get_by_role("heading", name="Denne siden ble ikke lagret").wait_for()
            shot("14-page-not-saved")
            if scoring_ready:
                _instrument_shots(
                    browser, base, every, lambda p, name: _save(p, out, name, written)
                )
            browser.close()
        from webapp.extensions import db

        with app.app_context():
            db.engine.dispose()
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(path.relative_to(walk.REPO) if path.is_relative_to(walk.REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
