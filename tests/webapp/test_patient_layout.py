"""Patient pages laid out as the instruments' owners print them (issue 12, points 1-5):
CAT bipolar rows, introductions once, the EQ VAS drawing, RAND-36 page splits, and
review/insight texts (answers with anchors, collapsing, next steps, number formats)."""

from __future__ import annotations

import re

import pytest

import instruments
from tests.webapp import patient_support as support

CAT = instruments.load("cat")


@pytest.fixture
def cat_started(app, client):  # type: ignore[no-untyped-def]
    """A patient asked CAT and ODI who has passed the start screen."""
    with app.app_context():
        support.make_protocol(("cat", "odi"))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    return enrolled


def _post(client, token: str, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    key = support.idem_from(client.get(f"/s/{token}/{path}").text)
    return client.post(f"/s/{token}/{path}", data={**data, "idem": key})


def _answer_cat(client, token: str, codes: list[int]) -> None:  # type: ignore[no-untyped-def]
    for index, code in enumerate(codes):
        saved = _post(client, token, f"q/cat/{index}", {f"q{index + 1:02d}": str(code)})
        assert saved.status_code == 302, index


def test_a_cat_item_is_a_row_from_the_statement_for_0_to_the_statement_for_5(client, cat_started):
    html = client.get(f"/s/{cat_started.token}/q/cat/0").text
    item = CAT.item("q01")
    low, high = item.anchors["min"]["nb"], item.anchors["max"]["nb"]
    # the joined statements are only the group's (visually hidden) name, not a heading
    assert f'<legend class="visually-hidden">{item.text["nb"]}</legend>' in html
    row = html[html.index('<div class="bipolar-row">') :]
    # printed order: statement for 0, the options 0..5, statement for 5
    positions = [row.index(f'<p class="anchor anchor-low" id="q01-low">{low}</p>')]
    positions += [row.index(f'name="q01" value="{code}"') for code in range(6)]
    positions.append(row.index(f'<p class="anchor anchor-high" id="q01-high">{high}</p>'))
    assert positions == sorted(positions)
    # each end statement describes its option for screen readers
    assert 'id="q01-0" name="q01" value="0" required aria-describedby="q01-low"' in row
    assert 'id="q01-5" name="q01" value="5" required aria-describedby="q01-high"' in row
    assert "vas.js" not in html  # CAT's anchors are not an EQ VAS


def test_the_cat_codes_are_saved_unchanged(app, client, cat_started):
    from webapp.extensions import db
    from webapp.models import Response

    _answer_cat(client, cat_started.token, [0, 1, 2, 3, 4, 5, 3, 2])
    with app.app_context():
        answers = db.session.query(Response).filter_by(instrument_id="cat").one().answers
    assert answers == {f"q{i:02d}": code for i, code in enumerate([0, 1, 2, 3, 4, 5, 3, 2], 1)}


def test_the_introduction_is_shown_once_and_a_one_line_reminder_after(client, cat_started):
    for instrument_id in ("cat", "odi"):
        intro = instruments.load(instrument_id).intro["nb"]
        first = client.get(f"/s/{cat_started.token}/q/{instrument_id}/0").text
        assert f'<p class="intro" id="intro">{intro}</p>' in first
        assert "Slik svarer du" not in first
        if instrument_id == "cat":
            _answer_cat(client, cat_started.token, [1])
        else:
            _post(client, cat_started.token, "q/odi/0", {"q01": "1"})
        second = client.get(f"/s/{cat_started.token}/q/{instrument_id}/1").text
        assert 'class="intro"' not in second
        assert 'aria-describedby="intro' not in second  # not read out before every question
        reminder = re.search(r'<details class="fold intro-reminder">(.*?)</details>', second, re.S)
        assert reminder is not None, instrument_id
        assert "<summary>Slik svarer du (veiledningen fra første side)</summary>" in reminder[1]
        assert f"<p>{intro}</p>" in reminder[1]  # the same words, one tap away
        if instrument_id == "cat":
            _answer_cat(client, cat_started.token, [1, 1, 1, 1, 1, 1, 1, 1])


def test_a_short_introduction_is_its_own_reminder_on_every_page(client, app):
    """EQ-5D-5L's one-line instruction is repeated on every dimension, as EuroQol's
    digital versions print it."""
    with app.app_context():
        support.make_protocol(("eq5d5l",))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    intro = instruments.load("eq5d5l").intro["nb"]
    for index, item in enumerate(["MO", "SC", "UA", "PD", "AD"]):
        html = client.get(f"/s/{enrolled.token}/q/eq5d5l/{index}").text
        assert f'<p class="intro" id="intro">{intro}</p>' in html, item
        _post(client, enrolled.token, f"q/eq5d5l/{index}", {item: "1"})


def test_review_shows_cat_answers_with_their_statements(client, cat_started):
    _answer_cat(client, cat_started.token, [0, 3, 5, 1, 1, 1, 1, 1])
    for index in range(10):
        _post(client, cat_started.token, f"q/odi/{index}", {f"q{index + 1:02d}": "0"})
    review = client.get(f"/s/{cat_started.token}/review").text
    q1, q2, q3 = (CAT.item(f"q0{i}").anchors for i in (1, 2, 3))
    assert f"0 — {q1['min']['nb']}" in review
    assert f"3 — mellom «{q2['min']['nb']}» (0) og «{q2['max']['nb']}» (5)" in review
    assert f"5 — {q3['max']['nb']}" in review


def test_the_eq_vas_is_drawn_as_a_vertical_scale_with_nothing_marked(client, app):
    """Without JavaScript: EuroQol's vertical 0-100 scale (end labels verbatim from the
    instrument file) beside an empty number box; the slider exists only with vas.js."""
    with app.app_context():
        support.make_protocol(("eq5d5l",))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    for index, item in enumerate(["MO", "SC", "UA", "PD", "AD"]):
        _post(client, enrolled.token, f"q/eq5d5l/{index}", {item: "1"})
    html = client.get(f"/s/{enrolled.token}/q/eq5d5l/5").text
    vas = instruments.load("eq5d5l").item("VAS")
    assert f'<p class="item-text" id="VAS-text">{vas.text["nb"]}</p>' in html
    best, worst = vas.anchors["max"]["nb"], vas.anchors["min"]["nb"]
    scale = html[html.index('<div class="vas-scale">') :]
    assert scale.index(f'<p class="vas-end">{best}</p>') < scale.index("<li>100</li>")
    assert scale.index("<li>0</li>") < scale.index(f'<p class="vas-end">{worst}</p>')
    ticks = re.search(r'<ol class="vas-ticks" aria-hidden="true">(.*?)</ol>', scale)[1]
    assert re.findall(r"<li>(\d+)</li>", ticks) == [str(v) for v in range(100, -1, -10)]
    assert 'id="VAS" name="VAS" value=""' in html  # nothing is answered for the patient
    assert 'type="range"' not in html
    # not set = nothing saved: the empty box is refused as "not answered"
    refused = _post(client, enrolled.token, "q/eq5d5l/5", {"VAS": ""})
    assert refused.status_code == 422 and "Skriv et helt tall fra 0 til 100." in refused.text


def _submit_cat_odi(client, token: str, cat: int, odi: int) -> str:  # type: ignore[no-untyped-def]
    """Answer every CAT item with ``cat`` and every ODI section with ``odi``; the insight page."""
    _answer_cat(client, token, [cat] * 8)
    for index in range(10):
        _post(client, token, f"q/odi/{index}", {f"q{index + 1:02d}": str(odi)})
    assert client.post(f"/s/{token}/submit").headers["Location"].endswith("/thanks")
    return client.get(f"/s/{token}").text


def test_review_folds_each_questionnaire_and_says_how_many_were_answered(client, cat_started):
    _answer_cat(client, cat_started.token, [1] * 8)
    for index in range(10):
        _post(client, cat_started.token, f"q/odi/{index}", {f"q{index + 1:02d}": "1"})
    review = client.get(f"/s/{cat_started.token}/review").text
    folds = re.findall(r'<details class="fold">\s*<summary>([^<]*)</summary>', review)
    assert folds == ["Vis svarene (8 av 8 besvart)", "Vis svarene (10 av 10 besvart)"]
    assert review.count('<section class="instrument-section"') == 2
    assert review.count(">Endre<") == 18  # every answer can still be changed


def test_insight_after_high_scores_gives_a_calm_next_step_naming_the_unit(client, cat_started):
    html = _submit_cat_odi(client, cat_started.token, cat=4, odi=4)  # CAT 32, ODI 80 %
    unit = support.UNIT_TITLE
    # CAT > 30 is "very high" (CAT user guide); ODI 61-80 % "crippled" (Fairbank 2000):
    # one calm next step at the top for both (tests/webapp/test_unit_contact.py: contact)
    assert "viser at lungesykdommen og rygg- eller beinsmertene påvirker hverdagen din mye" in html
    assert f"Snakk om det med behandleren din ved {unit}." in html
    assert html.count('<div class="contact next-step">') == 1
    # once, in the same box
    assert html.count("kontakt dem eller fastlegen din. Haster det, ring 113.") == 1
    # the main scores in view, the rest folded per questionnaire
    assert "CAT totalskår (0–40): <strong>32</strong>" in html
    assert html.count('<details class="fold">') == 2
    assert "3 — mellom «" not in html and "4 — mellom «" in html  # answers with statements


def test_insight_after_low_scores_has_no_next_step_box(client, cat_started):
    html = _submit_cat_odi(client, cat_started.token, cat=1, odi=1)  # CAT 8, ODI 20 %
    assert "next-step" not in html and "Ring 113" not in html
    assert f"Snakk med behandleren din ved {support.UNIT_TITLE}." in html


@pytest.mark.parametrize(
    ("lang", "index"),
    [("nb", r"Helseindeks: <strong>0,\d{1,3}</strong>"),
     ("nn", r"Helseindeks: <strong>0,\d{1,3}</strong>"),
     ("en", r"Health index: <strong>0\.\d{1,3}</strong>")],
)  # fmt: skip
def test_insight_writes_decimals_as_the_language_does(app, client, lang, index):
    """Decimal comma in bokmål and nynorsk, point in English (Flask-Babel/Babel CLDR)."""
    enrolled = support.setup_world(app)
    support.answer_everything(client, enrolled.token)  # EQ-5D-5L 11231: index below 1
    client.post(f"/s/{enrolled.token}/submit")
    html = client.get(f"/s/{enrolled.token}?lang={lang}").text
    assert re.search(index, html), lang
    values = re.findall(r"<strong>([^<]*)</strong>", html)
    assert values and not [v for v in values if re.fullmatch(r"-?\d+\.\d+", v) and lang != "en"]
