"""Write phone-width screenshots of every patient page type to ``docs/screenshots/``.

Run from the repository root::

    python -m tests.browser.screenshots [--out DIR]

It builds a throwaway app (temporary SQLite database, CSRF on), enrols a synthetic
patient and walks through the questionnaire in Debian's headless Chromium at 390x844.
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


def _grouped_world(app, support) -> str:  # type: ignore[no-untyped-def]
    """A second patient whose time point asks RAND-36 (pages grouped as printed)."""
    import datetime as dt

    from webapp.extensions import db
    from webapp.models import Register
    from webapp.services.invitations import issue_token
    from webapp.services.patients import get_or_create_patient
    from webapp.services.protocols import TimePointSpec, define_protocol, enrol, find_unit

    with app.app_context():
        register = db.session.query(Register).filter_by(name="reg").one()
        baseline = TimePointSpec("baseline", "Før", 0, ("rand36",))
        protocol = define_protocol(register, "general", "General health", [baseline])
        patient, _ = get_or_create_patient(support.SECOND_ID)
        enrolment = enrol(patient, protocol, find_unit("unit-1"), dt.date.today())
        token = issue_token(enrolment.invitations[0])
        db.session.commit()
        return token


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
        grouped = _grouped_world(app, support)
        with walk.serve(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=walk.CHROMIUM_ARGS)
            page = browser.new_context(viewport=walk.PHONE, locale="nb-NO").new_page()

            def shot(name: str) -> None:
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)

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
            plain.screenshot(path=str(out / "10-eq-vas-without-javascript.png"), full_page=True)
            written.append(out / "10-eq-vas-without-javascript.png")
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
