"""Races between page saves and the final submit, on SQLite and PostgreSQL (issue #9, 3-5).

Each thread has its own test client of the same app (its own session and connection), and
all of them are released at once by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

import instruments
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, PageSubmission, Response, Score
from webapp.services import page_links, responses
from webapp.services.demo import demo_national_ids
from webapp.services.integrity import verify_scores

ODI_EDITS = {0: ("q01", 4), 1: ("q02", 3), 2: ("q03", 5), 3: ("q04", 2)}  # page -> item, code


def _app(database_url, app_factory):  # type: ignore[no-untyped-def]
    """Test app; SQLite waits for the write lock instead of failing at once."""
    options: dict[str, object] = {"pool_pre_ping": True}
    if database_url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    return app_factory(database_url, WTF_CSRF_ENABLED=False, SQLALCHEMY_ENGINE_OPTIONS=options)


def _answered_drafts(app, count: int) -> list[support.Enrolled]:  # type: ignore[no-untyped-def]
    """``count`` patients whose EQ-5D-5L and ODI drafts are fully answered (not submitted)."""
    full = {"eq5d5l": support.EQ5D_ANSWERS, "odi": support.ODI_ANSWERS}
    with app.app_context():
        support.make_protocol()
        enrolled = [support.enrol_patient(number) for number in demo_national_ids(count)]
        for patient in enrolled:
            invitation = db.session.get(Invitation, patient.invitation_id)
            drafts = responses.start(invitation, mode="self", relation=None, language="nb")
            for instrument_id, draft in drafts.items():
                draft.answers = dict(full[instrument_id])
                draft.current_page = len(instruments.load(instrument_id).screen_pages())
        db.session.commit()
    return enrolled


def _at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run every job in its own thread, released together; their results in job order."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = jobs[index]()
        except Exception as exc:  # noqa: BLE001 (reported by the caller's assertions)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@dataclass
class Posted:
    """An HTTP answer as the patient's browser sees it."""

    status: int
    location: str
    text: str


def _post(app, url: str, data: dict[str, str] | None = None) -> Posted:  # type: ignore[no-untyped-def]
    answer = app.test_client().post(url, data=data or {})
    return Posted(answer.status_code, answer.headers.get("Location", ""), answer.text)


def _accepted(posted: Posted) -> bool:
    """A save the patient was told went through: a redirect forward (not to /thanks)."""
    return posted.status in (302, 303) and not posted.location.endswith("/thanks")


def _odi_answers(app, invitation_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return dict(
            db.session.scalars(
                sa.select(Response.answers).where(
                    Response.invitation_id == invitation_id, Response.instrument_id == "odi"
                )
            ).one()
        )


def test_edits_racing_the_final_submit_never_change_scored_answers(database_url, app_factory):
    """30 patients: the final submit and 4 page edits fired at once, per patient.

    An edit either lands before the submit (and is scored) or is refused; a completed
    response's answers are exactly the ones scored, and verify-scores finds no mismatch.
    """
    app = _app(database_url, app_factory)
    patients = _answered_drafts(app, 30)
    outcomes: Counter[str] = Counter()
    for patient in patients:
        base = f"/s/{patient.token}"
        keys = {
            page: support.idem_from(app.test_client().get(f"{base}/q/odi/{page}?ret=review").text)
            for page in ODI_EDITS
        }
        jobs: list[Callable[[], object]] = [lambda base=base: _post(app, f"{base}/submit")]
        for page, (item, code) in ODI_EDITS.items():
            data = {item: str(code), "idem": keys[page], "ret": "review"}
            jobs.append(lambda url=f"{base}/q/odi/{page}", data=data: _post(app, url, data))
        submitted, *edits = _at_once(jobs)
        assert isinstance(submitted, Posted) and submitted.location.endswith("/thanks"), submitted
        stored = _odi_answers(app, patient.invitation_id)
        for (item, code), edit in zip(ODI_EDITS.values(), edits, strict=True):
            assert isinstance(edit, Posted), edit
            if _accepted(edit):
                outcomes["accepted"] += 1
                assert stored[item] == code, (item, edit.location)
            else:
                assert edit.status in (302, 409), (edit.status, edit.text[:300])
                if edit.status == 409:  # the race inside the save: told, calmly
                    assert "Svarene dine er allerede sendt inn" in edit.text
                outcomes[f"refused {edit.status}"] += 1
                assert stored[item] == support.ODI_ANSWERS[item], (item, edit.status)
    with app.app_context():
        done = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Response)
            .where(Response.completed_at.is_not(None))
        )
        assert done == 60
        report = verify_scores()
    print(f"\nedits racing submit ({database_url.split(':')[0]}): {dict(outcomes)}")
    assert report.checked == 60 and report.mismatches == [], report.mismatches


def test_pages_saved_at_once_are_all_kept(database_url, app_factory):
    """Five pages of one draft saved at the same moment, eight rounds: no lost update."""
    app = _app(database_url, app_factory)
    (patient,) = _answered_drafts(app, 1)
    base = f"/s/{patient.token}"
    kept = accepted = 0
    for round_ in range(8):
        jobs: list[Callable[[], object]] = []
        wanted = {}
        for page in range(5):
            item, code = f"q{page + 1:02d}", (round_ + page) % 6
            wanted[item] = code
            key = support.idem_from(app.test_client().get(f"{base}/q/odi/{page}").text)
            data = {item: str(code), "idem": key, "ret": "review"}
            jobs.append(lambda url=f"{base}/q/odi/{page}", data=data: _post(app, url, data))
        results = _at_once(jobs)
        stored = _odi_answers(app, patient.invitation_id)
        for (item, code), posted in zip(wanted.items(), results, strict=True):
            assert isinstance(posted, Posted), posted
            assert _accepted(posted) or posted.status == 503, (posted.status, posted.text[:300])
            if _accepted(posted):
                accepted += 1
                kept += stored[item] == code
    print(f"\npages saved at once ({database_url.split(':')[0]}): kept {kept} of {accepted}")
    assert kept == accepted >= 35  # a 503 (draft kept changing) only under extreme load
    with app.app_context():
        odi = db.session.scalars(sa.select(Response).filter_by(instrument_id="odi")).one()
        assert odi.revision == accepted


def test_first_saves_of_a_fresh_draft_at_once_keep_answers_and_progress(database_url, app_factory):
    """save_page itself, five threads on five pages of an empty draft: all kept, page 5."""
    app = _app(database_url, app_factory)
    with app.app_context():
        support.make_protocol()
        patient = support.enrol_patient()
        invitation = db.session.get(Invitation, patient.invitation_id)
        odi_id = responses.start(invitation, mode="self", relation=None, language="nb")["odi"].id
    odi = instruments.load("odi")

    def save(page: int) -> Callable[[], object]:
        def run() -> object:
            with app.app_context():
                try:
                    draft = db.session.get(Response, odi_id)
                    return responses.save_page(
                        draft,
                        odi,
                        page,
                        {f"q{page + 1:02d}": 3},
                        idempotency_key=f"{odi_id}:{page}:k",
                        language="nb",
                    )
                finally:
                    db.session.remove()

        return run

    results = _at_once([save(page) for page in range(5)])
    assert results == [responses.SaveResult.SAVED] * 5, results
    with app.app_context():
        draft = db.session.get(Response, odi_id)
        assert draft.answers == {f"q{p:02d}": 3 for p in range(1, 6)}
        assert draft.current_page == 5 and draft.revision == 5


def test_a_key_replayed_with_other_answers_is_a_conflict(database_url, app_factory):
    app = _app(database_url, app_factory)
    (patient,) = _answered_drafts(app, 1)
    client = app.test_client()
    url = f"/s/{patient.token}/q/odi/0"
    key = support.idem_from(client.get(url).text)
    first = client.post(url, data={"q01": "3", "idem": key})
    assert first.status_code == 302 and first.headers["Location"].endswith("/q/odi/1")
    again = client.post(url, data={"q01": "3", "idem": key})  # the same content: acknowledged
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    other = client.post(url, data={"q01": "5", "idem": key})
    assert other.status_code == 409
    assert "Denne siden ble sendt to ganger med ulike svar" in other.text
    fresh = support.idem_from(other.text)
    assert fresh != key
    assert 'id="q01-5" name="q01" value="5" checked' in other.text  # their last answer, shown
    with app.app_context():
        odi = db.session.scalars(sa.select(Response).filter_by(instrument_id="odi")).one()
        assert odi.answers["q01"] == 3 and odi.revision == 1
        stored = db.session.scalars(sa.select(PageSubmission.content_hash)).one()
        assert stored == responses.content_hash({"q01": 3})
    english = client.post(f"{url}?lang=en", data={"q01": "5", "idem": key})
    assert "This page was sent twice with different answers" in english.text
    saved = client.post(url, data={"q01": "5", "idem": fresh})  # checked and saved again
    assert saved.status_code == 302
    assert _odi_answers(app, patient.invitation_id)["q01"] == 5


def test_an_edit_arriving_after_the_submit_is_refused_and_said(
    database_url, app_factory, monkeypatch
):
    """The submit commits between the page view opening the link and saving: not saved."""
    app = _app(database_url, app_factory)
    (patient,) = _answered_drafts(app, 1)
    client = app.test_client()
    url = f"/s/{patient.token}/q/odi/2"
    key = support.idem_from(client.get(f"{url}?ret=review").text)
    resolve = page_links.resolve_page

    def resolve_then_submit_elsewhere(token: str, **options):  # type: ignore[no-untyped-def]
        access = resolve(token, **options)

        def other_tab() -> None:
            with app.app_context():
                responses.submit(db.session.get(Invitation, patient.invitation_id))
                db.session.remove()

        thread = threading.Thread(target=other_tab)
        thread.start()
        thread.join(30)
        return access

    monkeypatch.setattr(page_links, "resolve_page", resolve_then_submit_elsewhere)
    late = client.post(url, data={"q03": "5", "idem": key, "ret": "review"})
    monkeypatch.undo()
    assert late.status_code == 409
    assert "Svarene dine er allerede sendt inn" in late.text
    assert "Denne endringen ble ikke lagret" in late.text
    assert f'href="/s/{patient.token}"' in late.text  # the way to their answers and results
    assert client.get(f"/s/{patient.token}").status_code == 200  # the results page
    assert _odi_answers(app, patient.invitation_id) == support.ODI_ANSWERS
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PageSubmission)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) > 0
        assert verify_scores().mismatches == []


def test_a_post_from_a_tab_left_open_after_the_submit_is_refused_and_said(
    database_url, app_factory
):
    """No race: the answers were sent long ago, then an old tab posts a page. The link now
    opens the patient's results, and the post is answered 409 "not saved", not silently
    redirected to the thank-you page."""
    app = _app(database_url, app_factory)
    (patient,) = _answered_drafts(app, 1)
    client = app.test_client()
    url = f"/s/{patient.token}/q/odi/2"
    key = support.idem_from(client.get(f"{url}?ret=review").text)
    with app.app_context():
        assert responses.submit(db.session.get(Invitation, patient.invitation_id))
    late = client.post(url, data={"q03": "5", "idem": key, "ret": "review"})
    assert late.status_code == 409
    assert "Denne endringen ble ikke lagret" in late.text
    assert _odi_answers(app, patient.invitation_id) == support.ODI_ANSWERS
    assert client.get(url).status_code == 302  # a plain visit still goes to the thanks page
    with app.app_context():
        assert verify_scores().mismatches == []


def test_a_draft_that_keeps_changing_is_not_saved_and_says_try_again(app, monkeypatch):
    """After MAX_ATTEMPTS lost races a save (or submit) gives up: 503, nothing half-saved."""
    (patient,) = _answered_drafts(app, 1)
    client = app.test_client()
    url = f"/s/{patient.token}/q/odi/0"
    key = support.idem_from(client.get(url).text)
    monkeypatch.setattr(responses, "MAX_ATTEMPTS", 0)  # as if every attempt lost its race
    busy = client.post(url, data={"q01": "4", "idem": key})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert "Denne siden ble ikke lagret" in busy.text
    refused = client.post(f"/s/{patient.token}/submit")
    assert refused.status_code == 503
    monkeypatch.undo()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PageSubmission)) == 0
        assert db.session.get(Invitation, patient.invitation_id).completed_at is None
    assert client.post(url, data={"q01": "4", "idem": key}).status_code == 302  # again: saved
    assert _odi_answers(app, patient.invitation_id)["q01"] == 4
