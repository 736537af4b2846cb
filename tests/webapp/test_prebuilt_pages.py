"""Prebuilt question pages give exactly the HTML the template renders.

The question page GET is served from pieces rendered once per process
(``webapp.patient.prebuilt_pages``). These tests render every page of every bundled
questionnaire both ways (prebuilt, and the template with a bound WTForms form as
before) for the same request, with random saved drafts, every UI language and hostile
``ret`` values (Hypothesis), and compare the bodies byte for byte after replacing the
random idempotency key.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import instruments
from tests.conftest import make_app
from tests.webapp import patient_support as support
from tests.webapp.patient_support import enrol_patient, make_protocol
from webapp.extensions import db
from webapp.models import Invitation, Response
from webapp.patient import prebuilt_pages
from webapp.services import responses

BUNDLED = ("eq5d5l", "odi", "cat", "rand36", "gspeq", "eq5d3l")
IDEM = re.compile(r'(id="idem" name="idem" type="hidden" value=")[0-9a-f]{32}"')


def _pages() -> list[tuple[str, int]]:
    return [
        (instrument_id, page)
        for instrument_id in BUNDLED
        for page in range(len(instruments.load(instrument_id).screen_pages()))
    ]


def _value(item: instruments.Item) -> st.SearchStrategy[object]:
    """A saved value for ``item``: one of its codes, a number in range, or none."""
    if item.type == "choice":
        return st.one_of(st.none(), st.sampled_from(list(item.codes)))
    low = item.min if item.min is not None else 0
    high = item.max if item.max is not None else 100
    return st.one_of(st.none(), st.integers(low, high))


@st.composite
def drafts(draw: st.DrawFn) -> dict[str, dict[str, object]]:
    """Random saved drafts for every bundled instrument (some items left unanswered)."""
    out: dict[str, dict[str, object]] = {}
    for instrument_id in BUNDLED:
        instrument = instruments.load(instrument_id)
        answers: dict[str, object] = {}
        for page in instrument.screen_pages():
            for item_id in page.items:
                item = instrument.item(item_id)
                if item.type in ("choice", "integer"):
                    value = draw(_value(item))
                    if value is not None:
                        answers[item_id] = value
        out[instrument_id] = answers
    return out


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    """One patient whose baseline asks all bundled instruments, started, every page open."""
    with app.app_context():
        make_protocol(instruments=BUNDLED)
        enrolled = enrol_patient()
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        responses.start(invitation, mode="self", relation=None, language="nb")
        db.session.commit()
    return enrolled


def _save_drafts(app, invitation_id: int, answers: dict[str, dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for response in db.session.query(Response).filter_by(invitation_id=invitation_id):
            instrument = instruments.load(response.instrument_id)
            response.answers = answers[response.instrument_id]
            response.current_page = responses.page_count(instrument)
        db.session.commit()


def _both_ways(client, monkeypatch, url: str) -> tuple[object, object]:  # type: ignore[no-untyped-def]
    fast = client.get(url)
    with monkeypatch.context() as patched:
        patched.setattr(prebuilt_pages, "eligible", lambda *_args: False)
        slow = client.get(url)
    return fast, slow


def _same_page(fast, slow) -> None:  # type: ignore[no-untyped-def]
    assert fast.status_code == slow.status_code, (fast.status_code, slow.status_code)
    if fast.status_code != 200:  # e.g. a NUL in ``ret``: refused before the view (400)
        assert fast.text == slow.text
        return
    assert IDEM.sub(r'\1-"', fast.text) == IDEM.sub(r'\1-"', slow.text)
    assert fast.headers.get("Cache-Control") == slow.headers.get("Cache-Control") == "no-store"
    assert fast.headers.get("Content-Type") == slow.headers.get("Content-Type")


def test_every_bundled_page_is_prebuilt_and_equal_to_the_template(app, world, monkeypatch):  # type: ignore[no-untyped-def]
    """All pages of the six bundled questionnaires, in the three languages, empty draft."""
    _save_drafts(app, world.invitation_id, {i: {} for i in BUNDLED})
    client = app.test_client()
    for lang in ("nb", "nn", "en"):
        client.set_cookie("openprom_lang", lang)
        for instrument_id, page in _pages():
            fast, slow = _both_ways(
                client, monkeypatch, f"/s/{world.token}/q/{instrument_id}/{page}"
            )
            _same_page(fast, slow)
    # every page was served prebuilt (one entry per page and language), none fell back
    with app.app_context():
        assert len(prebuilt_pages.cache_of(app)._pages) == 3 * len(_pages())


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    answers=drafts(),
    lang=st.sampled_from(["nb", "nn", "en"]),
    ret=st.one_of(
        st.just(""),
        st.just("review"),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.sampled_from(['"><script>alert(1)</script>', "&amp;", "' onmouseover='x", "\u202e"]),
    ),
)
def test_saved_answers_languages_and_ret_give_the_template_html(  # type: ignore[no-untyped-def]
    app, world, monkeypatch, answers, lang, ret
):
    """Random drafts: the checked radio and the number box are the template's, and a
    hostile ``ret`` is escaped as the template escapes it."""
    _save_drafts(app, world.invitation_id, answers)
    client = app.test_client()
    client.set_cookie("openprom_lang", lang)
    for instrument_id, page in _pages():
        url = f"/s/{world.token}/q/{instrument_id}/{page}"
        fast = client.get(url, query_string={"ret": ret} if ret else None)
        with monkeypatch.context() as patched:
            patched.setattr(prebuilt_pages, "eligible", lambda *_args: False)
            slow = client.get(url, query_string={"ret": ret} if ret else None)
        _same_page(fast, slow)
        saved = answers[instrument_id]
        for item_id in instruments.load(instrument_id).screen_pages()[page].items:
            if (
                fast.status_code == 200
                and item_id in saved
                and instruments.load(instrument_id).item(item_id).type == "choice"
            ):
                assert f'name="{item_id}" value="{saved[item_id]}" checked' in fast.text


def test_a_token_that_is_not_url_safe_is_rendered_by_the_template(app):  # type: ignore[no-untyped-def]
    """The slots cover only tokens as ``new_token`` makes them; anything else is rendered
    by the template (and such a token is not found anyway)."""
    instrument = instruments.load("eq5d5l")
    page = instrument.screen_pages()[0]
    assert prebuilt_pages.eligible(instrument, page, "A" * 43)
    assert not prebuilt_pages.eligible(instrument, page, "abc<def>" + "A" * 30)
    assert not prebuilt_pages.eligible(instrument, page, "short")


def test_cut_and_fill_put_each_value_in_its_slot() -> None:
    """A hand-made page: token in two URLs, CSRF, key, ``ret``, radios and a number box."""
    rendered = (
        f'<a href="/s/{prebuilt_pages.TOKEN_SLOT}/q/x/0?lang=nn">nn</a>'
        '<input id="csrf_token" name="csrf_token" type="hidden" value="SIGNED.csrf-1">'
        f'<input id="idem" name="idem" type="hidden" value="{prebuilt_pages.IDEM_SLOT}">'
        f'<input id="ret" name="ret" type="hidden" value="{prebuilt_pages.RET_SLOT}">'
        '<input type="radio" id="MO-0" name="MO" value="1" required>'
        '<input type="radio" id="MO-1" name="MO" value="2" required>'
        '<input type="number" inputmode="numeric" id="VAS" name="VAS" value="" min="0">'
        f'<a href="/s/{prebuilt_pages.TOKEN_SLOT}/start">Back</a>'
    )
    pieces = prebuilt_pages.cut(rendered, "SIGNED.csrf-1")
    filled = prebuilt_pages.fill(
        pieces,
        token="T" * 43,
        csrf_token=lambda: "NEW.csrf",
        idem="0" * 32,
        ret='"><b>',
        answers={"MO": "2", "VAS": "57"},
    )
    assert filled == (
        f'<a href="/s/{"T" * 43}/q/x/0?lang=nn">nn</a>'
        '<input id="csrf_token" name="csrf_token" type="hidden" value="NEW.csrf">'
        f'<input id="idem" name="idem" type="hidden" value="{"0" * 32}">'
        '<input id="ret" name="ret" type="hidden" value="&#34;&gt;&lt;b&gt;">'
        '<input type="radio" id="MO-0" name="MO" value="1" required>'
        '<input type="radio" id="MO-1" name="MO" value="2" checked required>'
        '<input type="number" inputmode="numeric" id="VAS" name="VAS" value="57" min="0">'
        f'<a href="/s/{"T" * 43}/start">Back</a>'
    )


def test_with_csrf_on_the_prebuilt_page_carries_the_sessions_token(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An app with CSRF protection on: the prebuilt page equals the template's, carries
    this session's CSRF token (another browser's differs), and a save with it succeeds."""
    app = make_app(f"sqlite:///{tmp_path / 'csrf.sqlite'}", tmp_path / "inst")
    enrolled = support.setup_world(app)
    url = f"/s/{enrolled.token}/q/eq5d5l/0"
    tokens = []
    for _browser in range(2):
        client = app.test_client()
        start = client.get(f"/s/{enrolled.token}/start")
        client.post(
            f"/s/{enrolled.token}/start",
            data={"mode": "self", "csrf_token": support.csrf_from(start.text)},
        )
        fast, slow = _both_ways(client, monkeypatch, url)
        _same_page(fast, slow)
        tokens.append(support.csrf_from(fast.text))
    assert tokens[0] != tokens[1]
    saved = client.post(
        url, data={"MO": "2", "csrf_token": tokens[1], "idem": support.idem_from(fast.text)}
    )
    assert saved.status_code == 302
    again = client.get(url)
    assert 'name="MO" value="2" checked' in again.text
    with app.app_context():
        db.engine.dispose()


def test_with_templates_reloading_nothing_is_remembered(app):  # type: ignore[no-untyped-def]
    """``flask run --debug`` reloads templates: an edited page template must show at once."""
    app.jinja_env.auto_reload = True
    app.extensions.pop("prebuilt_pages", None)
    builds = []

    def build() -> tuple[str, str]:
        builds.append(1)
        return f'<a href="/s/{prebuilt_pages.TOKEN_SLOT}/x">{len(builds)}</a>', ""

    with app.app_context():
        cache = prebuilt_pages.cache_of(app)
        first = cache.get("key", build)
        second = cache.get("key", build)
    assert len(builds) == 2 and first != second
    assert (
        prebuilt_pages.fill(
            second, token="T" * 20, csrf_token=lambda: "", idem="", ret="", answers={}
        )
        == f'<a href="/s/{"T" * 20}/x">2</a>'
    )
    app.jinja_env.auto_reload = False
    app.extensions.pop("prebuilt_pages", None)
    with app.app_context():
        cache = prebuilt_pages.cache_of(app)
        cache.get("key", build)
        cache.get("key", build)
    assert len(builds) == 3  # remembered: built once
