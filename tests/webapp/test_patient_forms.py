"""Questionnaire pages: rendering from instrument files, validation, bad input, languages."""

from __future__ import annotations

import re

import pytest

import instruments
from tests.conftest import make_app
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import PageSubmission, Response


@pytest.fixture
def started(app, client):  # type: ignore[no-untyped-def]
    """A patient who has passed the start screen (answering for themselves)."""
    enrolled = support.setup_world(app)
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    return enrolled


def _answers(app, instrument_id: str) -> dict:  # type: ignore[no-untyped-def]
    with app.app_context():
        return dict(db.session.query(Response).filter_by(instrument_id=instrument_id).one().answers)


def test_page_renders_the_instrument_text_verbatim_with_bound_labels(client, started):
    html = client.get(f"/s/{started.token}/q/eq5d5l/0").text
    eq5d = instruments.load("eq5d5l")
    mobility = eq5d.item("MO")
    assert f"<legend>{mobility.text['nb']}</legend>" in html
    for option in mobility.options:
        assert option.label["nb"] in html
        assert f'<label class="option" for="MO-{option.code - 1}">' in html
        assert f'id="MO-{option.code - 1}" name="MO" value="{option.code}"' in html
    assert eq5d.intro["nb"] in html
    assert "Side 1 av 16" in html and '<progress max="16" value="1"' in html
    assert "EuroQol Research Foundation" in html  # licence footer (licence.required)


def test_pages_use_no_inline_script_or_style(client, started):
    for path in ["start", "q/eq5d5l/0"]:
        html = client.get(f"/s/{started.token}/{path}").text
        assert "<script>" not in html and "style=" not in html and "<style" not in html
        assert not re.search(r"<[^>]+\son[a-z]+=", html)


def test_vas_page_has_a_number_field_and_loads_the_scale_script(client, started):
    for index, item in enumerate(["MO", "SC", "UA", "PD", "AD"]):
        page = client.get(f"/s/{started.token}/q/eq5d5l/{index}")
        client.post(
            f"/s/{started.token}/q/eq5d5l/{index}",
            data={item: "1", "idem": support.idem_from(page.text)},
        )
    html = client.get(f"/s/{started.token}/q/eq5d5l/5").text
    assert '<label for="VAS" class="number-label">HELSEN DIN I DAG</label>' in html
    assert 'type="number" inputmode="numeric" id="VAS" name="VAS"' in html
    assert 'min="0" max="100"' in html and "data-vas" in html
    assert "/static/js/vas.js" in html
    # the scale is drawn in the page itself (also without JavaScript), end labels verbatim
    assert '<p class="vas-end">Den beste helsen du kan tenke deg</p>' in html


def test_required_item_message_is_shown_next_to_the_item(client, started, app):
    page = client.get(f"/s/{started.token}/q/eq5d5l/0")
    response = client.post(
        f"/s/{started.token}/q/eq5d5l/0", data={"idem": support.idem_from(page.text)}
    )
    assert response.status_code == 422
    assert '<p class="error" id="MO-error">Velg ett svar.' in response.text
    assert 'aria-describedby="MO-error' in response.text
    assert _answers(app, "eq5d5l") == {}


def test_tampered_option_code_is_rejected_and_nothing_saved(client, started, app):
    page = client.get(f"/s/{started.token}/q/eq5d5l/0")
    response = client.post(
        f"/s/{started.token}/q/eq5d5l/0", data={"MO": "9", "idem": support.idem_from(page.text)}
    )
    assert response.status_code == 422 and "Velg ett svar." in response.text
    response = client.post(f"/s/{started.token}/q/eq5d5l/0", data={"MO": "1 OR 1=1"})
    assert response.status_code == 422
    assert _answers(app, "eq5d5l") == {}


def test_unknown_item_id_is_rejected(client, started, app):
    response = client.post(f"/s/{started.token}/q/eq5d5l/0", data={"MO": "1", "XX": "2"})
    assert response.status_code == 400
    # an item of another page is just as unknown on this page
    response = client.post(f"/s/{started.token}/q/eq5d5l/0", data={"MO": "1", "SC": "2"})
    assert response.status_code == 400
    assert _answers(app, "eq5d5l") == {}


def test_vas_out_of_range_or_not_a_number_is_rejected(client, started, app):
    for index, item in enumerate(["MO", "SC", "UA", "PD", "AD"]):
        client.post(f"/s/{started.token}/q/eq5d5l/{index}", data={item: "2", "idem": f"k{index}"})
    for bad in ["101", "-1", "seventy", "50.5"]:
        response = client.post(f"/s/{started.token}/q/eq5d5l/5", data={"VAS": bad})
        assert response.status_code == 422, bad
        assert "Skriv et helt tall fra 0 til 100." in response.text
    assert "VAS" not in _answers(app, "eq5d5l")


def test_unknown_instrument_or_page_beyond_progress_redirects_to_where_to_continue(client, started):
    for path in ["q/eq5d5l/3", "q/odi/0", "q/rand36/0", "q/eq5d5l/99"]:
        response = client.get(f"/s/{started.token}/{path}")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/q/eq5d5l/0")
    response = client.post(f"/s/{started.token}/q/odi/0", data={"q01": "1"})
    assert response.status_code == 302


def test_wrong_csrf_token_is_refused_when_csrf_is_on(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'csrf.sqlite'}", tmp_path / "inst")
    enrolled = support.setup_world(app)
    client = app.test_client()
    start = client.get(f"/s/{enrolled.token}/start")
    token = support.csrf_from(start.text)
    assert client.post(f"/s/{enrolled.token}/start", data={"mode": "self"}).status_code == 400
    bad = client.post(f"/s/{enrolled.token}/start", data={"mode": "self", "csrf_token": "x"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.query(Response).count() == 0
    good = client.post(f"/s/{enrolled.token}/start", data={"mode": "self", "csrf_token": token})
    assert good.status_code == 302
    page = client.get(f"/s/{enrolled.token}/q/eq5d5l/0")
    no_csrf = client.post(
        f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "1", "idem": support.idem_from(page.text)}
    )
    assert no_csrf.status_code == 400
    with app.app_context():
        assert db.session.query(PageSubmission).count() == 0
        db.engine.dispose()


def test_start_screen_records_proxy_and_requires_the_relation(client, app):
    enrolled = support.setup_world(app)
    missing = client.post(f"/s/{enrolled.token}/start", data={"mode": "proxy"})
    assert missing.status_code == 422 and "Velg hva du er for pasienten." in missing.text
    assert client.post(f"/s/{enrolled.token}/start", data={"mode": "robot"}).status_code == 422
    ok = client.post(f"/s/{enrolled.token}/start", data={"mode": "proxy", "relation": "parent"})
    assert ok.status_code == 302
    with app.app_context():
        rows = db.session.query(Response).all()
        assert {(r.mode, r.proxy_relation) for r in rows} == {("proxy", "parent")}
        assert {r.instrument_id for r in rows} == {"eq5d5l", "odi"}


def test_language_from_link_is_remembered_and_falls_back_to_bokmal_with_notice(client, app):
    enrolled = support.setup_world(app)
    start = client.get(f"/s/{enrolled.token}/start?lang=nn")
    assert "Kven svarar?" in start.text and '<html lang="nn">' in start.text
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    page = client.get(f"/s/{enrolled.token}/q/eq5d5l/0").text  # no ?lang: the cookie
    assert "Side 1 av 16" in page and "Neste" in page
    # EQ-5D-5L has no nynorsk text here: bokmål with a visible notice, marked lang="nb"
    assert "finst ikkje på nynorsk" in page and '<form method="post" novalidate lang="nb">' in page
    assert "Jeg har ingen problemer med å gå omkring" in page
    with app.app_context():
        from webapp.models import Invitation

        assert db.session.get(Invitation, enrolled.invitation_id).language == "nn"
    english = client.get(f"/s/{enrolled.token}/q/eq5d5l/0?lang=en").text
    assert "I have no problems in walking about" in english and "Page 1 of 16" in english
    assert "not available" not in english
    # a new device with no cookie: the invitation remembers the language
    other = app.test_client()
    assert "Page 1 of 16" in other.get(f"/s/{enrolled.token}/q/eq5d5l/0").text


def test_language_switch_is_on_every_page(client, started):
    for path in ["start", "q/eq5d5l/0"]:
        html = client.get(f"/s/{started.token}/{path}").text
        for code, name in [("nb", "Bokmål"), ("nn", "Nynorsk"), ("en", "English")]:
            assert f'?lang={code}" lang="{code}"' in html and name in html
    assert 'href="/?lang=nn"' in client.get("/s/unknown-token-xxxxxxxxxxxx").text


def test_enable_when_conditions_are_evaluated_like_fhir():
    from pathlib import Path

    from webapp.services.responses import is_enabled

    full = instruments.load_file(
        Path(__file__).resolve().parents[1] / "instruments" / "fixtures" / "full.yaml"
    )
    q02, q03 = full.item("q02"), full.item("q03")  # q02: q01 = 2; q03: vas < 50 and q01 != 9
    assert is_enabled(q02, {"q01": 2}) and not is_enabled(q02, {"q01": 1})
    assert not is_enabled(q02, {})  # an unanswered condition item disables
    assert is_enabled(q03, {"vas": 49, "q01": 1})
    assert not is_enabled(q03, {"vas": 50, "q01": 1})
    assert not is_enabled(q03, {"vas": 10, "q01": 9})


def test_malformed_idempotency_key_is_replaced_not_stored(client, started, app):
    response = client.post(f"/s/{started.token}/q/eq5d5l/0", data={"MO": "1", "idem": "x" * 500})
    assert response.status_code == 302
    with app.app_context():
        key = db.session.query(PageSubmission).one().idempotency_key
        assert len(key) <= 64 and "xxx" not in key


def test_instruction_for_the_dimensions_is_not_repeated_on_the_vas_page(client, started):
    intro = instruments.load("eq5d5l").intro["nb"]
    assert intro in client.get(f"/s/{started.token}/q/eq5d5l/0").text
    for index, item in enumerate(["MO", "SC", "UA", "PD", "AD"]):
        client.post(f"/s/{started.token}/q/eq5d5l/{index}", data={item: "1"})
    vas_page = client.get(f"/s/{started.token}/q/eq5d5l/5")
    assert vas_page.status_code == 200 and "HELSEN DIN I DAG" in vas_page.text
    assert intro not in vas_page.text
