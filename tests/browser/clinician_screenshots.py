"""Write screenshots of every clinician, unit and register view to ``docs/screenshots/``.

Run from the repository root::

    python -m tests.browser.clinician_screenshots [--out DIR]

It builds a throwaway app with the demo register (temporary SQLite database, CSRF on),
signs in with the demo logins and saves each view at desktop size (1280 x 800) and the
patient page and dashboard also at tablet width (768 px), in Debian's headless Chromium;
also a COPD patient's page (bokmål and English) and the staff 404 page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.browser import clinician_walk as walk

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def take(out: Path) -> list[Path]:
    """Sign in as each demo role and save one PNG per view; returns the files written."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("OPENPROM_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium not found (apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = walk.demo_app(Path(tmp))
        _, national_id = walk.first_patient_number(app)
        _, copd_id = walk.copd_patient_number(app)
        with walk.serve(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=walk.CHROMIUM_ARGS)

            def session(email: str, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
                page = browser.new_context(viewport=viewport, locale="nb-NO").new_page()
                walk.sign_in(page, base, email)
                return page

            def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)

            page = browser.new_context(viewport=walk.DESKTOP, locale="nb-NO").new_page()
            page.goto(f"{base}/clinician/login")
            shot(page, "clinician-01-login")
            for viewport, suffix in ((walk.DESKTOP, "desktop"), (walk.TABLET, "tablet")):
                page = session("clinician@demo.openprom.no", viewport)
                shot(page, f"clinician-02-start-{suffix}")
                walk.look_up(page, national_id)
                shot(page, f"clinician-03-patient-{suffix}")
                lead = session("lead@demo.openprom.no", viewport)
                lead.goto(f"{base}/clinician/units/demo-unit/dashboard")
                shot(lead, f"clinician-05-dashboard-{suffix}")
            page = session("clinician@demo.openprom.no", walk.DESKTOP)
            walk.look_up(page, national_id)
            page.get_by_role("link", name="Utskriftsvennlig sammendrag").click()
            page.emulate_media(media="print")
            shot(page, "clinician-04-print-summary")
            admin = session("registeradmin@demo.openprom.no", walk.DESKTOP)
            admin.goto(f"{base}/clinician/registers/demo-register/indicators")
            shot(admin, "clinician-06-indicators")
            admin.goto(f"{base}/clinician/export")
            shot(admin, "clinician-07-export")
            admin.goto(f"{base}/admin/audit")
            shot(admin, "clinician-08-audit-log")
            admin.goto(f"{base}/admin/instruments")
            shot(admin, "clinician-09-instruments-licences")
            sysadmin = session("sysadmin@demo.openprom.no", walk.DESKTOP)
            sysadmin.goto(f"{base}/admin/users")
            shot(sysadmin, "clinician-10-users")
            sysadmin.goto(f"{base}/clinician/account")
            shot(sysadmin, "clinician-11-account-totp")
            copd = session("clinician-c@demo.openprom.no", walk.DESKTOP)
            walk.look_up(copd, copd_id)
            shot(copd, "clinician-12-copd-patient-desktop")
            copd.get_by_role("link", name="English").click()
            copd.get_by_role("heading", name="Summary").wait_for()
            shot(copd, "clinician-13-copd-patient-english")
            copd.get_by_role("link", name="Bokmål").click()
            copd.goto(f"{base}/clinician/no-such-page")
            shot(copd, "clinician-14-not-found")
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--out DIR`` (default ``docs/screenshots``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
