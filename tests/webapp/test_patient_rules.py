"""Rules of issue 4 not covered elsewhere: CSRF on the final submit, links that expire
mid-way, two tabs, children and proxies, RAND-36 skipping, security headers, and register
IDs that never reach logs, links or the database in clear text."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import instruments
from tests.conftest import make_app
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, PageSubmission, Patient, Response, utcnow
from webapp.services.patients import get_or_create_patient, is_child

UNAVAILABLE = "Denne lenken virker ikke"


def test_final_submit_without_the_right_csrf_token_is_refused(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'csrf.sqlite'}", tmp_path / "inst")
    enrolled = support.setup_world(app)
    client = app.test_client()
    csrf = support.csrf_from(client.get(f"/s/{enrolled.token}/start").text)
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self", "csrf_token": csrf})
    for instrument_id, answers in (("eq5d5l", support.EQ5D_ANSWERS), ("odi", support.ODI_ANSWERS)):
        for index, (item, value) in enumerate(answers.items()):
            page = client.get(f"/s/{enrolled.token}/q/{instrument_id}/{index}").text
            saved = client.post(
                f"/s/{enrolled.token}/q/{instrument_id}/{index}",
                data={item: str(value), "idem": support.idem_from(page), "csrf_token": csrf},
            )
            assert saved.status_code == 302
    review = client.get(f"/s/{enrolled.token}/review")
    assert review.status_code == 200
    refused = client.post(f"/s/{enrolled.token}/submit")
    assert refused.status_code == 400
    # a calm page in the patient's language that leads back to where the answers end
    assert "Denne siden ble ikke lagret" in refused.text
    assert f'<a class="button" href="/s/{enrolled.token}">Fortsett</a>' in refused.text
    bad = client.post(f"/s/{enrolled.token}/submit", data={"csrf_token": csrf[:-2] + "xx"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.get(Invitation, enrolled.invitation_id).completed_at is None
    good = client.post(
        f"/s/{enrolled.token}/submit", data={"csrf_token": support.csrf_from(review.text)}
    )
    assert good.status_code == 302 and good.headers["Location"].endswith("/thanks")
    with app.app_context():
        assert db.session.get(Invitation, enrolled.invitation_id).completed_at is not None
        db.engine.dispose()


def test_a_link_that_expires_mid_way_shows_the_friendly_page_and_saves_nothing(app, client):
    enrolled = support.setup_world(app)
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    first = client.get(f"/s/{enrolled.token}/q/eq5d5l/0")
    client.post(
        f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "2", "idem": support.idem_from(first.text)}
    )
    second = client.get(f"/s/{enrolled.token}/q/eq5d5l/1")
    with app.app_context():
        invitation = db.session.get(Invitation, enrolled.invitation_id)
        invitation.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    late = client.post(
        f"/s/{enrolled.token}/q/eq5d5l/1", data={"SC": "3", "idem": support.idem_from(second.text)}
    )
    assert late.status_code == 404 and UNAVAILABLE in late.text
    for path in ["", "/review", "/q/eq5d5l/0"]:
        assert client.get(f"/s/{enrolled.token}{path}").status_code == 404
    assert client.post(f"/s/{enrolled.token}/submit").status_code == 404
    with app.app_context():
        draft = db.session.query(Response).filter_by(instrument_id="eq5d5l").one()
        assert draft.answers == {"MO": 2}  # what was saved before is kept, nothing added
        assert draft.completed_at is None
        assert db.session.query(PageSubmission).count() == 1


def test_two_tabs_answering_the_same_page_keep_one_draft_and_the_last_answer(app, client):
    enrolled = support.setup_world(app)
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    other_tab = app.test_client()
    key_a = support.idem_from(client.get(f"/s/{enrolled.token}/q/eq5d5l/0").text)
    key_b = support.idem_from(other_tab.get(f"/s/{enrolled.token}/q/eq5d5l/0").text)
    assert key_a != key_b  # each rendering has its own idempotency key
    assert client.post(f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "1", "idem": key_a})
    assert other_tab.post(f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "3", "idem": key_b})
    # tab A's request is retried after a lost connection: recognised, not applied again
    client.post(f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": "1", "idem": key_a})
    with app.app_context():
        drafts = db.session.query(Response).filter_by(instrument_id="eq5d5l").all()
        assert len(drafts) == 1 and drafts[0].answers == {"MO": 3}
        assert drafts[0].current_page == 1
        assert db.session.query(PageSubmission).count() == 2
    # starting again in the second tab neither duplicates the drafts nor loses answers
    other_tab.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    with app.app_context():
        assert db.session.query(Response).count() == 2
        answers = db.session.query(Response).filter_by(instrument_id="eq5d5l").one().answers
        assert answers == {"MO": 3}


def test_a_child_is_answered_for_by_a_parent_or_guardian(app, client):
    with app.app_context():
        support.make_protocol()
        child = support.enrol_patient(support.CHILD_ID)  # born 2015
    start = client.get(f"/s/{child.token}/start")
    assert "under 16 år" in start.text
    for data in ({"mode": "self"}, {"mode": "proxy", "relation": "carer"}):
        refused = client.post(f"/s/{child.token}/start", data=data)
        assert refused.status_code == 422, data
        assert "For pasienter under 16 år svarer en forelder eller verge" in refused.text
    with app.app_context():
        assert db.session.query(Response).count() == 0
    ok = client.post(f"/s/{child.token}/start", data={"mode": "proxy", "relation": "parent"})
    assert ok.status_code == 302
    with app.app_context():
        rows = db.session.query(Response).all()
        assert {(r.mode, r.proxy_relation) for r in rows} == {("proxy", "parent")}


def test_age_16_is_counted_from_the_birth_date_not_only_the_year(app):
    # a synthetic number for someone born 15 December 2010 (month + 80)
    with app.app_context():
        patient, _ = get_or_create_patient("15921050183")
        assert patient.birth_year == 2010
        assert is_child(patient, dt.date(2025, 6, 1))
        assert is_child(patient, dt.date(2026, 12, 14))  # 15 until the birthday
        assert not is_child(patient, dt.date(2026, 12, 15))
        assert not is_child(patient, dt.date(2027, 1, 1))
        adult, _ = get_or_create_patient(support.PATIENT_ID)
        assert not is_child(adult, dt.date(2026, 1, 1))


def test_a_tampered_start_form_is_refused(app, client):
    enrolled = support.setup_world(app)
    for data in ({"mode": "proxy", "relation": "boss"}, {"mode": "paper"}, {"mode": ""}):
        assert client.post(f"/s/{enrolled.token}/start", data=data).status_code == 422, data
    extra = client.post(f"/s/{enrolled.token}/start", data={"mode": "self", "MO": "1"})
    assert extra.status_code == 400  # a field that is not on the form
    with app.app_context():
        assert db.session.query(Response).count() == 0
    # a relation sent with "I answer for myself" is not stored
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self", "relation": "parent"})
    with app.app_context():
        rows = db.session.query(Response).all()
        assert rows and all((r.mode, r.proxy_relation) == ("self", None) for r in rows)


def test_rand36_pages_are_grouped_as_printed_and_every_item_may_be_skipped(app, client):
    with app.app_context():
        support.make_protocol(("rand36",))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    rand36 = instruments.load("rand36")
    pages = rand36.screen_pages()
    # the printed groups, long ones split into screens of at most 4 (issue 12: phones)
    assert len(pages) == 12 and pages[1].items + pages[2].items + pages[3].items == tuple(
        f"q{i:02d}" for i in range(3, 13)
    )
    assert [i for page in pages for i in page.items] == list(rand36.item_ids)  # printed order
    answered = {f"q{i:02d}": 3 for i in range(3, 8)}  # 5 of the 10 physical-function items
    for index, page in enumerate(pages):
        html = client.get(f"/s/{enrolled.token}/q/rand36/{index}").text
        assert f"Side {index + 1} av 12" in html
        assert html.count("<fieldset") == len(page.items)  # the printed group on one screen
        assert " required" not in html  # nothing is forced, as on paper
        key = support.idem_from(html)
        data = {k: str(v) for k, v in answered.items() if k in page.items}
        saved = client.post(f"/s/{enrolled.token}/q/rand36/{index}", data={**data, "idem": key})
        assert saved.status_code == 302, index  # an empty page is fine
    review = client.get(f"/s/{enrolled.token}/review").text
    assert review.count("Ikke besvart") == 31
    assert client.post(f"/s/{enrolled.token}/submit").headers["Location"].endswith("/thanks")
    with app.app_context():
        response = db.session.query(Response).one()
        assert response.status == "complete" and response.answers == answered
        scores = {s.scale: s.value for s in response.scores}
        assert scores["PF"] == 100.0  # half of the items answered: scored (SF-36 manual rule)
        assert scores["RP"] is None and scores["PCS"] is None  # too few answers: no score


def test_patient_pages_send_strict_security_headers(app, client):
    enrolled = support.setup_world(app)
    paths = ["/", "/s/not-a-token-xxxxxxxxxxxxxx", f"/s/{enrolled.token}/start"]
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    paths.append(f"/s/{enrolled.token}/q/eq5d5l/0")
    for path in paths:
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "script-src 'self'" in csp and "style-src 'self'" in csp, path
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        assert response.headers["Cache-Control"] == "no-store", path
        assert "http://" not in response.text.replace("http://www.w3.org", ""), path
        assert "https://" not in response.text, path  # no third-party resource or link


def test_register_ids_never_reach_logs_links_output_or_the_database_file(tmp_path):
    db_file = tmp_path / "ids.sqlite"
    app = make_app(f"sqlite:///{db_file}", tmp_path / "inst", WTF_CSRF_ENABLED=False)
    records: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)  # after the migrations: Alembic's fileConfig resets handlers
    old_level = root.level
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # SQL with parameters
    try:
        with app.app_context():
            support.make_protocol()
        runner = app.test_cli_runner()
        outputs = [
            runner.invoke(
                args=[
                    "enrol",
                    support.PATIENT_ID,
                    "--protocol",
                    "lumbar",
                    "--unit",
                    "unit-1",
                    "--email",
                    "pasient@example.org",
                ]
            ),
            runner.invoke(args=["invite", support.PATIENT_ID]),
            runner.invoke(args=["invite", support.PATIENT_ID, "--time-point", "3m"]),
            runner.invoke(args=["scores", support.PATIENT_ID]),
            runner.invoke(args=["enrol", support.INVALID_ID, "--protocol", "x", "--unit", "y"]),
        ]
        link = outputs[1].output.strip().splitlines()[0]
        client = app.test_client()
        client.get(link.split("5000", 1)[1])
        client.post(link.split("5000", 1)[1] + "/start", data={"mode": "self"})
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        root.removeHandler(handler)
        root.setLevel(old_level)
    log_text = "\n".join(records)
    assert "national_id_index" in log_text  # the SQL log (with parameters) was captured
    for number in (support.PATIENT_ID, support.INVALID_ID):
        assert all(number not in o.output for o in outputs)
        assert number not in log_text
        assert number not in link
    with app.app_context():
        db.engine.dispose()
    raw = Path(db_file).read_bytes()
    assert support.PATIENT_ID.encode() not in raw and b"pasient@example.org" not in raw
    with app.app_context():
        assert db.session.query(Patient).count() == 1
        db.engine.dispose()


def test_a_grouped_page_shows_its_printed_question_stem_on_the_page_and_the_review(app, client):
    with app.app_context():
        support.make_protocol(("rand36",))
        enrolled = support.enrol_patient()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    stem = instruments.load("rand36").screen_pages()[1].title["nb"]
    assert stem.startswith("De følgende spørsmålene handler om aktiviteter")
    key = support.idem_from(client.get(f"/s/{enrolled.token}/q/rand36/0").text)
    client.post(f"/s/{enrolled.token}/q/rand36/0", data={"q01": "2", "idem": key})
    html = client.get(f"/s/{enrolled.token}/q/rand36/1").text
    assert f'<p class="page-title" id="page-title">{stem}</p>' in html
    # every question of the screen is described by the stem (screen readers read it too)
    assert html.count('aria-describedby="page-title"') == 4
    # the group's next screens repeat the stem
    for index in (2, 3):
        page = instruments.load("rand36").screen_pages()[index]
        assert page.title["nb"] == stem and page.items[0] == f"q{3 * index + 1:02d}"
    for index in range(1, 12):
        key = support.idem_from(client.get(f"/s/{enrolled.token}/q/rand36/{index}").text)
        client.post(f"/s/{enrolled.token}/q/rand36/{index}", data={"idem": key})
    review = client.get(f"/s/{enrolled.token}/review").text
    assert review.count(f'<h3 class="group-title">{stem}</h3>') == 1  # one group, as printed


def test_the_same_page_posted_at_once_three_times_is_saved_once(database_url, app_factory):
    """A double tap plus a retry arriving together (SQLite and PostgreSQL)."""
    import threading

    app = app_factory(database_url, WTF_CSRF_ENABLED=False)
    enrolled = support.setup_world(app)
    client = app.test_client()
    client.post(f"/s/{enrolled.token}/start", data={"mode": "self"})
    key = support.idem_from(client.get(f"/s/{enrolled.token}/q/eq5d5l/0").text)
    barrier = threading.Barrier(3)
    statuses: list[int] = []

    def post(code: str) -> None:
        other = app.test_client()
        barrier.wait()
        response = other.post(f"/s/{enrolled.token}/q/eq5d5l/0", data={"MO": code, "idem": key})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(code,)) for code in ("2", "2", "2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [302, 302, 302]
    with app.app_context():
        assert db.session.query(PageSubmission).count() == 1
        draft = db.session.query(Response).filter_by(instrument_id="eq5d5l").one()
        assert draft.answers == {"MO": 2} and draft.current_page == 1
