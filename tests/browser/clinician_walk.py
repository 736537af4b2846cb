"""Helpers shared by the clinician browser tests and the clinician screenshot command.

They build a throwaway app with the demo register (CSRF on), sign in through the real
login form and open the clinician pages the way a user does.
"""

from __future__ import annotations

from pathlib import Path

from tests.browser.patient_walk import CHROMIUM_ARGS, serve  # noqa: F401  (re-exported)

DESKTOP = {"width": 1280, "height": 800}  # the issue #12 walk-through size
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}  # a clinician on call, looking at a phone
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (the documented demo password)


def demo_app(tmp: Path, patients: int = 150):  # type: ignore[no-untyped-def]
    """A migrated SQLite app with the demo register and ``patients`` synthetic patients."""
    from tests.conftest import make_app  # also sets throwaway keys in the environment
    from webapp.extensions import db
    from webapp.services.demo import create_demo

    app = make_app(
        f"sqlite:///{tmp / 'clinician.sqlite'}", tmp / "instance", SESSION_COOKIE_SECURE=False
    )
    with app.app_context():
        create_demo(patients=patients)
        db.session.remove()
    return app


def first_patient_number(app) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """(internal id, national ID) of a demo patient at demo-unit with answered time points."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Enrolment, Invitation, Unit
    from webapp.services.patients import national_id_of

    with app.app_context():
        enrolment = db.session.scalars(
            select(Enrolment)
            .join(Unit)
            .join(Invitation, Invitation.enrolment_id == Enrolment.id)
            .where(Unit.name == "demo-unit", Invitation.state == "completed")
            .order_by(Enrolment.index_date)
        ).first()
        return enrolment.patient_id, national_id_of(enrolment.patient)


def copd_patient_number(app) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """(internal id, national ID) of a COPD demo patient (demo-unit-c) with 2+ answered
    time points."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Enrolment, Invitation, Protocol
    from webapp.services.patients import national_id_of

    with app.app_context():
        enrolment = db.session.scalars(
            select(Enrolment)
            .join(Protocol)
            .join(Invitation, Invitation.enrolment_id == Enrolment.id)
            .where(Protocol.name == "copd-rehab", Invitation.state == "completed")
            .group_by(Enrolment.id)
            .having(func.count(Invitation.id) >= 2)
            .order_by(Enrolment.index_date, Enrolment.id)
        ).first()
        return enrolment.patient_id, national_id_of(enrolment.patient)


def sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    """Use the login form; waits for the start page."""
    page.goto(f"{base}/clinician/login")
    page.get_by_label("E-post").fill(email)
    page.get_by_label("Passord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    page.get_by_role("heading", name="Velkommen").wait_for()


def look_up(page, national_id: str) -> None:  # type: ignore[no-untyped-def]
    """Search a patient by national ID from the start page; waits for the patient page."""
    page.get_by_label("Fødselsnummer eller D-nummer").fill(national_id)
    page.get_by_role("button", name="Søk").click()
    page.get_by_role("heading", name="Måletidspunkter").wait_for()
