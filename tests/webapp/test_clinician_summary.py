"""The clinician's patient page at a glance (issue #12 points 7-10): summary panel with
severity bands, change against the MID, flagged answers and proxy; one chart per
instrument; numbers in the staff language; the printing date; staff error pages; audit
actions in words; demo display names.

Band cut-offs: CAT user guide (GSK 2016; Jones et al. 2009 Eur Respir J 34:648): < 10 low,
10-20 medium, 21-30 high, > 30 very high. ODI: Fairbank & Pynsent 2000 Spine 25:2940:
0-20 minimal, 21-40 moderate, 41-60 severe, 61-80 crippled, 81-100 bed-bound. MIDs: CAT 2
points (Kon et al. 2014 Lancet Respir Med 2:195), EQ VAS 7 (Pickard et al. 2007 HQLO 5:70).
Totals below are sums worked by hand from the answers written next to them.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

import scoring
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Enrolment,
    Invitation,
    Protocol,
    Register,
    Response,
    RoleAssignment,
    Score,
    TimePoint,
    Unit,
    User,
)
from webapp.services import summary_panel as sp
from webapp.services.auth import start_session
from webapp.services.passwords import hash_password
from webapp.services.patients import get_or_create_patient

COPD_PATIENT = "17845810001"  # synthetic (Skatteetaten's month + 80 convention)
# CAT q01..q08. Baseline 3+2+3+4+2+3+4+3 = 24 (high); 3 months 2+2+2+3+2+4+5+2 = 22 (high),
# 2 points better = the MID; q06 = 4 and q07 = 5 are flagged at 3 months.
CAT_BASELINE = [3, 2, 3, 4, 2, 3, 4, 3]
CAT_3M = [2, 2, 2, 3, 2, 4, 5, 2]
EQ_BASELINE = {"MO": 2, "SC": 1, "UA": 2, "PD": 3, "AD": 2, "VAS": 60}
EQ_3M = {"MO": 1, "SC": 1, "UA": 1, "PD": 2, "AD": 4, "VAS": 72}  # AD 4 flagged; VAS +12


@pytest.mark.parametrize(
    ("instrument", "value", "band"),
    [
        ("cat", 0, "low"),
        ("cat", 9, "low"),
        ("cat", 10, "medium"),  # exactly 10 is medium (the guide: low is < 10)
        ("cat", 20, "medium"),
        ("cat", 21, "high"),
        ("cat", 30, "high"),
        ("cat", 31, "very high"),
        ("cat", 40, "very high"),
        ("odi", 0, "minimal"),
        ("odi", 20, "minimal"),
        ("odi", 20.4, "moderate"),  # e.g. 23 of 45 points when 9 sections are answered: 51.1 %
        ("odi", 40, "moderate"),
        ("odi", 41, "severe"),
        ("odi", 60, "severe"),
        ("odi", 61, "crippled"),
        ("odi", 80, "crippled"),
        ("odi", 81, "bed-bound"),
        ("odi", 100, "bed-bound"),
    ],
)
def test_severity_bands(instrument, value, band):
    assert sp.band_key(instrument, "total", value) == band


def test_no_band_for_scores_without_one():
    assert sp.band_key("eq5d5l", "index", 0.5) is None
    assert sp.band_key("cat", "total", None) is None
    assert sp.band_key("cat", "total", float("nan")) is None


def test_change_against_the_mid():
    from scoring.mid import mid

    cat = mid("cat", "total")  # 2 points, lower is better
    assert sp.change_trend(cat, 24, 22) == "improved"  # exactly the MID counts
    assert sp.change_trend(cat, 24, 23) == "unclear"
    assert sp.change_trend(cat, 24, 26) == "worsened"
    vas = mid("eq5d5l", "vas")  # 7 points, higher is better
    assert sp.change_trend(vas, 60, 72) == "improved"
    assert sp.change_trend(vas, 60, 54) == "unclear"  # 6 < 7
    assert sp.change_trend(None, 1, 100) == "unclear"  # no MID: never called a change


def _response(inv: Invitation, instrument: str, answers: dict, mode: str = "self") -> None:
    response = Response(
        invitation_id=inv.id,
        instrument_id=instrument,
        instrument_version="test",
        instrument_hash="sha256:test",
        language="nb",
        mode=mode,
        proxy_relation="relative" if mode == "proxy" else None,
        status="complete",
        answers=answers,
        completed_at=inv.completed_at,
    )
    db.session.add(response)
    db.session.flush()
    for scale, value in scoring.score(instrument, answers).items():
        text = value if isinstance(value, str) else None
        db.session.add(
            Score(
                response_id=response.id,
                scale=scale,
                value=None if text is not None else value,
                text_value=text,
                algorithm_version="test",
                value_set="",
            )
        )


@pytest.fixture
def copd(app):  # type: ignore[no-untyped-def]
    """A COPD patient with CAT and EQ-5D-5L at baseline and 3 months (3 months by proxy)."""
    with app.app_context():
        register = Register(name="copd-reg", title="KOLS-register")
        db.session.add(register)
        db.session.flush()
        unit = Unit(name="lung", title="Lungeklinikken", register_id=register.id)
        db.session.add(unit)
        db.session.flush()
        protocol = Protocol(register_id=register.id, name="copd", title="KOLS", window_days=30)
        protocol.time_points = [
            TimePoint(
                name="baseline",
                title="Ved oppstart",
                offset_days=0,
                position=0,
                instruments=["cat", "eq5d5l"],
            ),
            TimePoint(
                name="3m",
                title="3 måneder",
                offset_days=91,
                position=1,
                instruments=["cat", "eq5d5l"],
            ),
        ]
        db.session.add(protocol)
        db.session.flush()
        patient, _ = get_or_create_patient(COPD_PATIENT)
        enrolment = Enrolment(
            patient_id=patient.id,
            protocol_id=protocol.id,
            unit_id=unit.id,
            index_date=dt.date(2025, 3, 1),
        )
        db.session.add(enrolment)
        db.session.flush()
        plan = (
            (CAT_BASELINE, EQ_BASELINE, "self"),
            (CAT_3M, EQ_3M, "proxy"),
        )
        for tp, (cat, eq, mode) in zip(protocol.time_points, plan, strict=True):
            opens = dt.datetime(2025, 3, 1, tzinfo=dt.UTC) + dt.timedelta(days=tp.offset_days)
            inv = Invitation(
                enrolment_id=enrolment.id,
                time_point_id=tp.id,
                opens_at=opens,
                expires_at=opens + dt.timedelta(days=30),
                state="completed",
                completed_at=opens + dt.timedelta(days=2),
            )
            db.session.add(inv)
            db.session.flush()
            _response(inv, "cat", {f"q{i:02d}": v for i, v in enumerate(cat, start=1)}, mode)
            _response(inv, "eq5d5l", eq, mode)
        user = User(
            email="lung@copd.test",
            display_name="Ingrid Berg",
            password_hash=hash_password("correct horse battery staple"),
        )
        user.roles.append(RoleAssignment(role="clinician", unit_id=unit.id))
        admin = User(email="admin@copd.test", password_hash=hash_password("x" * 20))
        admin.roles.append(RoleAssignment(role="sysadmin"))
        db.session.add_all([user, admin])
        db.session.commit()
        return {"patient": patient.id, "user": user.id, "admin": admin.id}


def _client(app, user_id: int, lang: str | None = None):  # type: ignore[no-untyped-def]
    client = app.test_client()
    with app.app_context():
        client.set_cookie("openprom_session", start_session(db.session.get(User, user_id), None))
        db.session.commit()
    if lang:
        client.set_cookie("openprom_staff_lang", lang)
    return client


def _panel(html: str) -> str:
    return html.split('id="sum-h"')[1].split("</section>")[0]


def test_summary_panel_bands_change_flags_and_proxy(app, copd):
    html = _client(app, copd["user"]).get(f"/clinician/patients/{copd['patient']}").text
    panel = _panel(html)
    cat = panel.split("<h3>")[1]
    assert '<td class="num">22</td>' in cat  # latest CAT total, no decimals
    assert "stor påvirkning" in cat  # 22 is high impact (21-30)
    assert "-2 siden ved oppstart (24)" in cat and "BEDRING" in cat  # 2 = the MID
    assert "Sover dårlig på grunn av lungesykdommen (spørsmål 7): 5" in cat
    assert "Føler seg lite trygg når hen går ut (spørsmål 6): 4" in cat
    assert "Besvart for pasienten av en pårørende (stedfortreder)" in cat
    eq = panel.split("<h3>")[2]
    assert "Sterkt eller ekstremt engstelig eller deprimert" in eq and ": 4" in eq
    assert "+12 siden ved oppstart (60)" in eq  # VAS 60 -> 72
    assert re.search(r'<td class="num">0,\d{3}</td>', eq)  # index: decimal comma, 3 decimals
    assert COPD_PATIENT not in html


def test_numbers_follow_the_staff_language(app, copd):
    en = _client(app, copd["user"], "en").get(f"/clinician/patients/{copd['patient']}").text
    panel = _panel(en)
    assert re.search(r'<td class="num">0\.\d{3}</td>', panel)  # decimal point in English
    assert "high impact" in panel and "better by at least the MID (2)" in panel
    assert "Time points" in en and "Answered</td>" in en and "Sign out" in en
    nn = _client(app, copd["user"], "nn").get(f"/clinician/patients/{copd['patient']}").text
    assert "Samandrag" in nn and "Svart for pasienten av ein pårørande" in nn
    assert re.search(r'<td class="num">0,\d{3}</td>', _panel(nn))


def test_one_chart_per_instrument_with_a_table(app, copd):
    html = _client(app, copd["user"]).get(f"/clinician/patients/{copd['patient']}").text
    scores = html.split('id="sc-h"')[1].split("</section>")[0]
    # CAT (total) and EQ-5D-5L (index and VAS in two panels of one chart): two charts
    assert scores.count('class="chart panel-chart"') == 2
    eq_chart = scores.split("<figure")[2]
    assert eq_chart.count('class="chart-bg"') == 2  # index and VAS panels
    assert '<td class="num">60</td><td class="num">72</td>' in eq_chart  # VAS row


def test_printed_summary_carries_the_date_in_the_staff_language(app, copd):
    nb = _client(app, copd["user"]).get(f"/clinician/patients/{copd['patient']}/summary").text
    assert re.search(r"skrevet ut \d{1,2}\. [a-zæøå]+ \d{4}\.", nb)
    en = _client(app, copd["user"], "en").get(f"/clinician/patients/{copd['patient']}/summary")
    assert re.search(r"printed \d{1,2} [A-Z][a-z]+ \d{4}\.", en.text)


def test_staff_error_pages_in_the_staff_language_with_a_way_back(app, copd):
    client = _client(app, copd["user"])
    missing = client.get(
        "/clinician/patients/999999", headers={"Referer": "http://localhost/clinician/"}
    )
    assert missing.status_code in (403, 404)
    page = client.get("/clinician/no-such-page")
    assert page.status_code == 404
    assert "Fant ikke siden" in page.text and 'href="/clinician/"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    en = _client(app, copd["user"], "en").get("/clinician/no-such-page")
    assert "Page not found" in en.text and "To the start page" in en.text
    anonymous = app.test_client().get("/clinician/no-such-page")
    assert "Til innloggingen" in anonymous.text
    forbidden = client.get("/admin/audit")
    assert forbidden.status_code == 403
    assert "Ikke tilgang" in forbidden.text and "registeradministratoren" in forbidden.text


def test_staff_500_page(app, copd):
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail that must not be shown")

    app.add_url_rule("/clinician/test-boom", "test_boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = _client(app, copd["user"]).get("/clinician/test-boom")
    assert page.status_code == 500
    assert "Noe gikk galt" in page.text and "Ingenting du hadde lagret, er tapt" in page.text
    assert "secret detail" not in page.text


def test_patient_pages_keep_their_own_404(app, copd):
    page = app.test_client().get("/p/not-a-real-link-at-all")
    assert "Fant ikke siden" not in page.text


def test_audit_log_shows_actions_in_words(app, copd):
    _client(app, copd["user"]).get(f"/clinician/patients/{copd['patient']}/summary")
    page = _client(app, copd["admin"]).get("/admin/audit")
    assert page.status_code == 200
    assert "skrev ut sammendraget" in page.text and "<code>patient.print</code>" in page.text
    with app.app_context():
        assert db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "patient.print")
        )


def test_demo_staff_have_display_names_and_the_copd_unit_a_clinician(app):
    from webapp.services.demo import create_demo

    with app.app_context():
        logins = create_demo(patients=0)
        assert ("clinician-c@demo.openprom.no", "clinician", "demo-unit-c") in [
            (d.email, d.role, d.scope) for d in logins
        ]
        names = dict(db.session.execute(sa.select(User.email, User.display_name)).all())
        assert names["clinician@demo.openprom.no"] == "Kari Nordmann, lege (demo)"
        assert all(
            name and "@" not in name and name != email.split("@")[0]
            for email, name in names.items()
        )
