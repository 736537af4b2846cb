"""Population norms in the clinician's summary panel (issue #12 point 7).

No published norms are bundled (docs/clinician.md says what was searched). The norms here
are the synthetic fixture ``tests/fixtures/norms/synthetic_eq5d5l_norms.csv`` (means 11,
22, 33 …, source "SYNTHETIC TEST FIXTURE"), so every expected number is read off that file.
Sex and age come from the national ID (ninth digit even = female, odd = male: Store norske
leksikon, «fødselsnummer»); the synthetic test numbers below (month + 80, Skatteetaten's
convention) were made by hand, their check digits worked out next to them.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g

import scoring
from scoring.norms import load_norms
from webapp.config import ConfigError, load_settings
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
from webapp.national_id import validate
from webapp.services import summary_panel as sp
from webapp.services.auth import start_session
from webapp.services.passwords import hash_password
from webapp.services.patients import get_or_create_patient

NORMS = Path(__file__).resolve().parents[1] / "fixtures" / "norms" / "synthetic_eq5d5l_norms.csv"
# 15.06.1960 (synthetic month 86), individual 482 (ninth digit 2: a woman):
#   k1: 3*1+7*5+6*8+1*6+8*6+9*0+4*4+5*8+2*2 = 200; 200 mod 11 = 2 -> k1 = 9
#   k2: 5*1+4*5+3*8+2*6+7*6+6*0+5*4+4*8+3*2+2*9 = 179; 179 mod 11 = 3 -> k2 = 8
WOMAN = "15866048298"
# the same birth date, individual 483 (ninth digit 3: a man):
#   k1: 200 + 2*1 = 202; 202 mod 11 = 4 -> k1 = 7
#   k2: 179 - 3*2 + 3*3 - 2*9 + 2*7 = 178; 178 mod 11 = 2 -> k2 = 9
MAN = "15866048379"
FH_NUMBER = "81234567802"  # health-sector FH number: no date, no sex
# EQ-5D-5L answers; the 3-month VAS is 72 and the index is scored with the NO value set
EQ_BASELINE = {"MO": 2, "SC": 1, "UA": 2, "PD": 3, "AD": 2, "VAS": 60}
EQ_3M = {"MO": 1, "SC": 1, "UA": 1, "PD": 2, "AD": 1, "VAS": 72}


def _response(inv: Invitation, answers: dict, value_set: str) -> None:
    response = Response(
        invitation_id=inv.id,
        instrument_id="eq5d5l",
        instrument_version="test",
        instrument_hash="sha256:test",
        language="nb",
        mode="self",
        status="complete",
        answers=answers,
        completed_at=inv.completed_at,
    )
    db.session.add(response)
    db.session.flush()
    scores = scoring.score("eq5d5l", answers, value_set=value_set)
    for scale in ("index", "vas"):
        db.session.add(
            Score(
                response_id=response.id,
                scale=scale,
                value=scores[scale],
                algorithm_version="test",
                value_set=value_set,
            )
        )


def _patient(national_id: str, unit: Unit, protocol: Protocol, value_set: str = "NO") -> int:
    """A patient with EQ-5D-5L answered 3 March and 2 June 2025 (aged 64 if born 1960)."""
    patient, _ = get_or_create_patient(national_id)
    enrolment = Enrolment(
        patient_id=patient.id,
        protocol_id=protocol.id,
        unit_id=unit.id,
        index_date=dt.date(2025, 3, 1),
    )
    db.session.add(enrolment)
    db.session.flush()
    for tp, answers in zip(protocol.time_points, (EQ_BASELINE, EQ_3M), strict=True):
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
        _response(inv, answers, value_set)
    return patient.id


def _world(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        register = Register(name="hip", title="Hofteregisteret")
        db.session.add(register)
        db.session.flush()
        unit = Unit(name="ortho", title="Ortopedisk", register_id=register.id)
        db.session.add(unit)
        db.session.flush()
        protocol = Protocol(register_id=register.id, name="hip", title="Hofte", window_days=30)
        protocol.time_points = [
            TimePoint(
                name="baseline",
                title="Ved oppstart",
                offset_days=0,
                position=0,
                instruments=["eq5d5l"],
            ),
            TimePoint(
                name="3m", title="3 måneder", offset_days=91, position=1, instruments=["eq5d5l"]
            ),
        ]
        db.session.add(protocol)
        db.session.flush()
        ids = {
            "woman": _patient(WOMAN, unit, protocol),
            "man": _patient(MAN, unit, protocol),
            "fh": _patient(FH_NUMBER, unit, protocol),
        }
        user = User(
            email="ortho@hip.test",
            display_name="Kari Lie",
            password_hash=hash_password("correct horse battery staple"),
        )
        user.roles.append(RoleAssignment(role="clinician", unit_id=unit.id))
        db.session.add(user)
        db.session.commit()
        ids["user"] = user.id
        return ids


def _page(app, ids: dict[str, int], who: str, lang: str | None = None) -> str:  # type: ignore[no-untyped-def]
    client = app.test_client()
    with app.app_context():
        client.set_cookie(
            "openprom_session", start_session(db.session.get(User, ids["user"]), None)
        )
        db.session.commit()
    if lang:
        client.set_cookie("openprom_staff_lang", lang)
    response = client.get(f"/clinician/patients/{ids[who]}")
    assert response.status_code == 200
    return response.text


def _panel(html: str) -> str:
    return html.split('id="sum-h"')[1].split("</section>")[0]


@pytest.fixture
def normed_app(app_factory, tmp_path):  # type: ignore[no-untyped-def]
    return app_factory(
        f"sqlite:///{tmp_path / 'normed.sqlite'}", WTF_CSRF_ENABLED=False, OPENPROM_NORMS_FILE=NORMS
    )


def test_panel_shows_the_norm_of_sex_and_age_band_with_its_source(normed_app, caplog):
    ids = _world(normed_app)
    caplog.set_level(logging.DEBUG)
    html = _page(normed_app, ids, "woman", "en")
    panel = _panel(html)
    # born 15.06.1960, answered 2 June 2025: 64 years, band 60-69 (VAS), 18-69 (index, NO)
    assert "EQ VAS (0–100): 72 — Norwegian women 60–69 years: mean 33 (SD 3, n = 103)" in panel
    assert "— Norwegian women 18–69 years: mean 0.111 (SD 0.011, n = 107)" in panel
    assert panel.count('<a href="#norm-eq5d5l-1">1</a>') == 2  # one source for both
    assert (
        '<li id="norm-eq5d5l-1">Population norm: SYNTHETIC TEST FIXTURE - not population norms'
        in panel
    )
    # the number and anything derived from it stay out of the page, the log and the audit
    assert WOMAN not in html
    assert WOMAN not in caplog.text and "1960-06-15" not in caplog.text
    with normed_app.app_context():
        events = db.session.scalars(sa.select(AuditEvent)).all()
        assert [e.action for e in events if e.patient_id == ids["woman"]] == ["patient.view"]
        for e in events:
            stored = f"{e.subject} {e.details} {e.actor_label}"
            assert WOMAN not in stored and "female" not in stored and "1960" not in stored


def test_norm_words_in_bokmal_and_nynorsk(normed_app):
    ids = _world(normed_app)
    nb = _panel(_page(normed_app, ids, "woman"))
    assert "Norske kvinner 60–69 år: gjennomsnitt 33 (SD 3, n = 103)" in nb
    assert "Norske kvinner 18–69 år: gjennomsnitt 0,111 (SD 0,011, n = 107)" in nb
    assert "Befolkningsnorm: SYNTHETIC TEST FIXTURE" in nb
    nn = _panel(_page(normed_app, ids, "woman", "nn"))
    assert "Norske kvinner 60–69 år: gjennomsnitt 33 (SD 3, n = 103)" in nn


def test_index_norm_needs_the_same_value_set(normed_app):
    ids = _world(normed_app)
    # the fixture's male index norm is for the England value set; the man's index is NO
    panel = _panel(_page(normed_app, ids, "man", "en"))
    assert "EQ VAS (0–100): 72 — Norwegian men 18–69 years: mean 55 (SD 5, n = 105)" in panel
    assert "0.333" not in panel and "EQ-5D index:" not in panel.split('class="norms"')[1]


def test_no_norms_when_the_number_encodes_no_sex(normed_app):
    ids = _world(normed_app)
    assert 'class="norms"' not in _panel(_page(normed_app, ids, "fh", "en"))


def test_nothing_about_norms_without_a_file(app):
    ids = _world(app)
    html = _page(app, ids, "woman", "en")
    assert 'class="norms"' not in html and "Population norm" not in html
    assert "Norwegian women" not in html


@pytest.fixture
def bad_norms_app(app_factory, tmp_path):  # type: ignore[no-untyped-def]
    """An app whose norms file has a bad row (built before the test body: the migrations'
    logging setup replaces the root handlers, caplog's too)."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "instrument,score,sex,age_low,age_high,mean,sd,n,source,value_set\n"
        "eq5d5l,vas,kvinne,18,29,11,1,101,test,\n",
        encoding="utf-8",
    )
    return app_factory(
        f"sqlite:///{tmp_path / 'bad.sqlite'}", WTF_CSRF_ENABLED=False, OPENPROM_NORMS_FILE=bad
    )


def test_unreadable_file_is_logged_and_hides_norms(bad_norms_app, caplog):
    application = bad_norms_app
    ids = _world(application)
    caplog.set_level(logging.DEBUG)
    html = _page(application, ids, "woman", "en")
    assert 'class="norms"' not in html
    lines = [r.getMessage() for r in caplog.records if r.name == "openprom.norms"]
    assert lines == [
        "population norms not shown: bad.csv, line 2, column sex: 'kvinne' is neither "
        "'female' nor 'male'"
    ]
    assert all(WOMAN not in r.getMessage() for r in caplog.records)


def test_a_bad_norms_file_stops_the_start(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("instrument,score\n", encoding="utf-8")
    env = {"OPENPROM_NORMS_FILE": str(bad)}
    with pytest.raises(ConfigError, match="OPENPROM_NORMS_FILE: bad.csv, line 1: the header"):
        load_settings(tmp_path / "instance", env)
    env["OPENPROM_NORMS_FILE"] = str(NORMS)
    assert load_settings(tmp_path / "instance", env).norms_file == NORMS
    assert load_settings(tmp_path / "instance", {}).norms_file is None


@pytest.mark.parametrize(
    ("answered", "mean"),
    [
        (dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC), "33"),  # 64: band 60-69
        (dt.datetime(2030, 6, 14, 12, 0, tzinfo=dt.UTC), "33"),  # the day before 70: 69
        # 70th birthday in Oslo (summer time, UTC+2) but not yet in UTC: 70 and over
        (dt.datetime(2030, 6, 14, 22, 0, tzinfo=dt.UTC), "44"),
        (dt.datetime(2030, 6, 14, 21, 59, tzinfo=dt.UTC), "33"),  # 23:59 on the 14th in Oslo
        (dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC), "44"),
    ],
)
def test_age_band_at_the_measurement(app, answered, mean):
    person = sp.NormPerson("female", validate(WOMAN))  # born 15.06.1960
    latest = sp.Measurement(
        "eq5d5l", "3 måneder", answered, "self", None, {}, {"vas": 50.0}, {"vas": "NO"}
    )
    block = sp.InstrumentSummary("eq5d5l", "EQ-5D-5L", "3 måneder", "", "")
    with app.test_request_context():
        g.lang = "en"
        sp._add_norms(block, latest, load_norms(NORMS), person, "en")
    assert [n.text.split("mean ")[1].split(" ")[0] for n in block.norms] == [mean]
