"""A unit's contact details (issue 12, point 5): given in the register file (checked, with
clear messages), kept by the demo units, and shown to patients on the insight page's one
calm next step and on the thank-you page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Unit

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "register.yaml"
CONTACT = {
    "phone": "+47 00 00 09 09",
    "email": "post@testsykehuset.example",
    "hours": "Hverdager kl. 8–15",
    "address": "Testveien 1, Testby",
}


def _load(app, path: Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["load-register", str(path)])


def _file(tmp_path: Path, contact: dict | None) -> Path:  # type: ignore[type-arg]
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    if contact is None:
        data["units"][0].pop("contact", None)
    else:
        data["units"][0]["contact"] = contact
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _unit(app) -> tuple[str | None, ...]:  # type: ignore[no-untyped-def]
    with app.app_context():
        unit = db.session.query(Unit).filter_by(name="sykehus-a-ortopedi").one()
        return (unit.contact_phone, unit.contact_email, unit.contact_hours, unit.contact_address)


def test_the_register_file_sets_changes_and_clears_a_units_contact(app, tmp_path):
    first = _load(app, EXAMPLE)
    assert first.exit_code == 0, first.output
    assert _unit(app) == (
        "+47 00 00 01 01",
        "post@sykehus-a.example",
        "Hverdager kl. 8–15",
        "Sykehusveien 1, 0000 Eksempelby",
    )
    changed = _load(app, _file(tmp_path, {**CONTACT, "hours": "Mandag–fredag kl. 9–14"}))
    assert changed.exit_code == 0 and "updated unit sykehus-a-ortopedi" in changed.output
    assert _unit(app)[2] == "Mandag–fredag kl. 9–14"
    cleared = _load(app, _file(tmp_path, None))  # the file is the truth: none given, none kept
    assert cleared.exit_code == 0 and "updated unit sykehus-a-ortopedi" in cleared.output
    assert _unit(app) == (None, None, None, None)


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        ({"phone": "22 11 80 00 ring oss"}, "phone '22 11 80 00 ring oss' is not a telephone"),
        ({"phone": "22--11"}, "is not a telephone number: digits with single spaces"),
        ({"email": "post.sykehus.no"}, "email 'post.sykehus.no' is not an e-mail address"),
        ({"fax": "22 11 80 01"}, "Additional properties are not allowed ('fax'"),
        ({"hours": ""}, "should be non-empty"),
        ({"address": "x" * 301}, "is too long"),
    ],
)
def test_bad_contact_details_say_what_and_where_and_store_nothing(app, tmp_path, contact, message):
    result = _load(app, _file(tmp_path, contact))
    assert result.exit_code != 0
    assert "units/" in result.output and "contact" in result.output
    assert message in result.output, result.output
    with app.app_context():
        assert db.session.query(Unit).count() == 0  # nothing of the file was stored


def test_the_demo_units_have_synthetic_contact_details(app):
    from webapp.services.demo import DEMO_UNITS, create_demo

    with app.app_context():
        create_demo(patients=0)
        create_demo(patients=0)  # again: unchanged
        units = {u.name: u for u in db.session.query(Unit)}
        for name, _title, _sender in DEMO_UNITS:
            unit = units[name]
            # No Norwegian 8-digit number starts with 0 (Nkom numbering plan): reaches nobody.
            assert unit.contact_phone and unit.contact_phone.startswith("+47 00")
            assert unit.contact_email and unit.contact_email.endswith(".openprom.no")
            assert unit.contact_hours and unit.contact_address


@pytest.fixture
def high_scores(app, client):  # type: ignore[no-untyped-def]
    """A patient of a unit with contact details who sent high CAT and ODI answers."""
    with app.app_context():
        support.make_protocol(("cat", "odi"))
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        unit.contact_phone, unit.contact_email = CONTACT["phone"], CONTACT["email"]
        unit.contact_hours, unit.contact_address = CONTACT["hours"], CONTACT["address"]
        db.session.commit()
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    for index in range(8):
        _post(client, enrolled.token, f"q/cat/{index}", {f"q{index + 1:02d}": "4"})
    for index in range(10):
        _post(client, enrolled.token, f"q/odi/{index}", {f"q{index + 1:02d}": "4"})
    assert client.post(f"/s/{enrolled.token}/submit").status_code == 302
    return enrolled


def _post(client, token: str, path: str, data: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    key = support.idem_from(client.get(f"/s/{token}/{path}").text)
    assert client.post(f"/s/{token}/{path}", data={**data, "idem": key}).status_code == 302


LINES_NB = (
    '<li>Telefon: <a href="tel:+4700000909">+47 00 00 09 09</a> (Hverdager kl. 8–15)</li>',
    '<li>E-post: <a href="mailto:post@testsykehuset.example">post@testsykehuset.example</a>'
    " (ikke send helseopplysninger)</li>",
    "<li>Adresse: Testveien 1, Testby</li>",
)


def test_the_insight_page_gives_one_next_step_with_the_units_contact(client, high_scores):
    html = client.get(f"/s/{high_scores.token}").text
    unit = support.UNIT_TITLE
    box = html[html.index('<div class="contact next-step">') :]
    box = box[: box.index("</div>")]
    # both high scores in one sentence (CAT 32 "very high", ODI 80 % "crippled")
    assert (
        "<p>Svarene dine viser at lungesykdommen og rygg- eller beinsmertene påvirker "
        f"hverdagen din mye. Snakk om det med behandleren din ved {unit}.</p>"
    ) in box
    for line in LINES_NB:
        assert line in box
    assert "Blir du mye dårligere, kontakt dem eller fastlegen din. Haster det, ring 113." in box
    assert html.count("next-step") == 1 and html.count("ring 113") == 1  # one box only


def test_the_insight_page_in_nynorsk_and_english(client, high_scores):
    nn = client.get(f"/s/{high_scores.token}?lang=nn").text
    assert (
        "Svara dine viser at lungesjukdomen og rygg- eller beinsmertene påverkar kvardagen "
        f"din mykje. Snakk om det med behandlaren din ved {support.UNIT_TITLE}." in nn
    )
    assert "(ikkje send helseopplysningar)" in nn
    en = client.get(f"/s/{high_scores.token}?lang=en").text
    assert (
        "Your answers show that your lung disease and the pain in your back or legs affect "
        f"your daily life a lot. Talk to your clinician at {support.UNIT_TITLE} about it." in en
    )
    assert '<li>Phone: <a href="tel:+4700000909">' in en


def test_one_high_score_is_one_reason(app, client):
    """Only CAT high (8 x 3 = 24, "high", CAT user guide: 21-30): the singular sentence."""
    with app.app_context():
        support.make_protocol(("cat",))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    for index in range(8):
        _post(client, enrolled.token, f"q/cat/{index}", {f"q{index + 1:02d}": "3"})
    client.post(f"/s/{enrolled.token}/submit")
    en = client.get(f"/s/{enrolled.token}?lang=en").text
    assert "Your answers show that your lung disease affects your daily life a lot." in en
    nb = client.get(f"/s/{enrolled.token}?lang=nb").text
    assert "Svarene dine viser at lungesykdommen påvirker hverdagen din mye." in nb


def test_the_thank_you_page_shows_the_units_contact(client, high_scores):
    html = client.get(f"/s/{high_scores.token}/thanks").text
    assert f"Snakk med behandleren din ved {support.UNIT_TITLE}." in html
    for line in LINES_NB:
        assert line in html


def test_a_unit_without_contact_details_shows_no_empty_lines(app, client):
    with app.app_context():
        support.make_protocol(("cat",))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    for index in range(8):
        _post(client, enrolled.token, f"q/cat/{index}", {f"q{index + 1:02d}": "1"})
    client.post(f"/s/{enrolled.token}/submit")
    for path in ("", "/thanks"):
        html = client.get(f"/s/{enrolled.token}{path}").text
        assert f"Snakk med behandleren din ved {support.UNIT_TITLE}." in html
        assert "contact-lines" not in html and "Telefon" not in html
