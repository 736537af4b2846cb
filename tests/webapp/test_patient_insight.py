"""Innsyn: every score of every instrument is explained in plain language, in the patient's
language, with dates and numbers written the way the patient writes them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import g

import instruments
import scoring
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, Response, Score
from webapp.patient import explanations
from webapp.patient.presenters import _scale_label, local_date, local_number

GENERIC = "Ask the people treating you what this score means for you."


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_score_of_every_instrument_has_an_explanation_and_a_name(app, lang):
    ids = [i for i in scoring.instrument_ids() if i in instruments.load_all()]
    assert {"eq5d5l", "odi", "rand36", "cat", "gspeq"} <= set(ids)
    with app.test_request_context():
        g.lang = lang
        for instrument_id in ids:
            instrument = instruments.load(instrument_id)
            for scale in scoring.get(instrument_id).scores:
                text = explanations.score_explanation(instrument_id, scale)
                assert explanations.SCORE_EXPLANATIONS.get((instrument_id, scale)), (
                    instrument_id,
                    scale,
                )
                assert text and text != GENERIC, (instrument_id, scale)
                english = str(explanations.SCORE_EXPLANATIONS[(instrument_id, scale)]._args[0])
                if lang != "en":
                    assert text != english, f"{lang}: untranslated {instrument_id}.{scale}"
                label = _scale_label(instrument, scale)
                assert label and label != scale, (instrument_id, scale)


def test_dates_and_numbers_are_written_in_the_patient_language(app):
    day = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
    with app.test_request_context():
        expected = {
            "nb": ("1. mars 2027", "0,788", "-0,285"),
            "nn": ("1. mars 2027", "0,788", "-0,285"),
            "en": ("1 March 2027", "0.788", "-0.285"),
        }
        for lang, (date_text, index, negative) in expected.items():
            g.lang = lang
            assert local_date(day) == date_text
            assert local_number(0.78812) == index
            assert local_number(-0.285) == negative
            assert local_number(20.0) == "20"


def _answer_pages(client, token: str, instrument_id: str, answers: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """Post every page of ``instrument_id`` with the answers that belong to it."""
    instrument = instruments.load(instrument_id)
    for index, page in enumerate(instrument.screen_pages()):
        html = client.get(f"/s/{token}/q/{instrument_id}/{index}")
        assert html.status_code == 200, (instrument_id, index, html.status_code)
        data = {k: str(v) for k, v in answers.items() if k in page.items}
        saved = client.post(
            f"/s/{token}/q/{instrument_id}/{index}",
            data={**data, "idem": support.idem_from(html.text)},
        )
        assert saved.status_code == 302, (instrument_id, index, saved.status_code)


def test_insight_explains_rand36_and_gspeq_scores_in_plain_language(app, client):
    with app.app_context():
        support.make_protocol(("rand36", "gspeq"))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    rand36 = {f"q{i:02d}": 1 for i in range(1, 37)}
    _answer_pages(client, enrolled.token, "rand36", rand36)
    _answer_pages(client, enrolled.token, "gspeq", {"q01": 4, "q02": 9})
    assert client.post(f"/s/{enrolled.token}/submit").headers["Location"].endswith("/thanks")
    html = client.get(f"/s/{enrolled.token}").text
    assert "Hvor godt du klarer fysiske aktiviteter" in html  # PF
    assert "Samlet fysisk helse (PCS)" in html and "Samlet psykisk helse (MCS)" in html
    assert "Helse sammenlignet med for ett år siden" in html  # HT, not "HT"
    assert GENERIC not in html and "Spør dem som behandler deg" not in html
    gspeq = instruments.load("gspeq")
    assert f"{gspeq.item('q01').text['nb']}: <strong>4</strong>" in html  # the question names it
    assert "Ditt eget svar på dette spørsmålet" in html
    with app.app_context():
        rows = db.session.query(Score).join(Response).filter(Response.instrument_id == "gspeq")
        scores = {s.scale: s.value for s in rows}
        assert scores["q01"] == 4 and scores["q02"] is None  # 9 = not applicable
    # "not applicable" and unanswered GS-PEQ items say so instead of showing a number
    assert f"{gspeq.item('q02').text['nb']}: <strong>ikke beregnet" in html


def test_thanks_and_insight_write_dates_in_words_not_iso(app, client):
    enrolled = support.setup_world(app)
    support.answer_everything(client, enrolled.token)
    client.post(f"/s/{enrolled.token}/submit")
    with app.app_context():
        until = db.session.get(Invitation, enrolled.invitation_id).innsyn_until
    months = "januar februar mars april mai juni juli august september oktober november desember"
    expected = f"{until.day}. {months.split()[until.month - 1]} {until.year}"
    for path in ["thanks", ""]:
        html = client.get(f"/s/{enrolled.token}/{path}".rstrip("/")).text
        assert expected in html, path
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", html), path
