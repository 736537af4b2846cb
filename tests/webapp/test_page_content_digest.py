"""Page idempotency digests are keyed (HMAC-SHA256), not a plain SHA-256 of the answers
(issue #11 follow-up: a short free-text answer must not be guessable from the table)."""

from __future__ import annotations

import hashlib
import hmac
import json

import sqlalchemy as sa

import instruments
from tests.webapp import patient_support as support
from webapp.crypto import content_digest_key
from webapp.extensions import db
from webapp.models import PageSubmission, Response
from webapp.services import responses


def _canonical(answers: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps(answers, sort_keys=True, separators=(",", ":")).encode()


def test_the_digest_is_an_hmac_under_a_subkey_of_the_id_key(app):  # type: ignore[no-untyped-def]
    answers = {"comment": "ja", "q01": 3, "q02": None}
    with app.app_context():
        digest = responses.content_hash(answers)
        key = content_digest_key(app.config["OPENPROM_ID_KEY"])
    assert digest == hmac.new(key, _canonical(answers), hashlib.sha256).hexdigest()
    assert digest != hashlib.sha256(_canonical(answers)).hexdigest()
    assert key != app.config["OPENPROM_ID_KEY"]  # a derived subkey, not the master key


def test_same_answers_same_digest_in_one_installation_not_across(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        first = responses.content_hash({"b": 2, "a": "kort"})
        again = responses.content_hash({"a": "kort", "b": 2})
        other_answer = responses.content_hash({"a": "lang", "b": 2})
    other_installation = responses.content_hash({"a": "kort", "b": 2}, key=b"\x01" * 32)
    assert first == again
    assert first != other_answer
    assert first != other_installation


def _odi_draft(app):  # type: ignore[no-untyped-def]
    """A patient invited to the ODI only, with the start page answered."""
    with app.app_context():
        support.make_protocol(("odi",))
        patient = support.enrol_patient()
    app.test_client().post(f"/s/{patient.token}/start", data={"mode": "self"})
    return patient


def test_a_page_save_stores_the_keyed_digest_and_replays_match(app):  # type: ignore[no-untyped-def]
    patient = _odi_draft(app)
    client = app.test_client()
    url = f"/s/{patient.token}/q/odi/0"
    key = support.idem_from(client.get(url).text)
    first = client.post(url, data={"q01": "3", "idem": key})
    assert first.status_code == 302
    again = client.post(url, data={"q01": "3", "idem": key})
    assert again.status_code == 302
    other = client.post(url, data={"q01": "5", "idem": key})
    assert other.status_code == 409
    with app.app_context():
        stored = db.session.scalars(sa.select(PageSubmission.content_hash)).one()
        keyed = content_digest_key(app.config["OPENPROM_ID_KEY"])
    assert stored == hmac.new(keyed, _canonical({"q01": 3}), hashlib.sha256).hexdigest()
    assert stored != hashlib.sha256(_canonical({"q01": 3})).hexdigest()


def test_a_row_written_before_the_keyed_digest_still_replays(app):  # type: ignore[no-untyped-def]
    patient = _odi_draft(app)
    odi = instruments.load("odi")
    client = app.test_client()
    client.get(f"/s/{patient.token}/q/odi/0")
    with app.app_context():
        draft = db.session.scalars(sa.select(Response).filter_by(instrument_id="odi")).one()
        legacy = hashlib.sha256(_canonical({"q01": 3})).hexdigest()
        db.session.add(
            PageSubmission(
                idempotency_key="k-legacy", response_id=draft.id, page=0, content_hash=legacy
            )
        )
        db.session.commit()
        same = responses.save_page(
            draft, odi, 0, {"q01": 3}, idempotency_key="k-legacy", language="nb"
        )
        draft = db.session.get(Response, draft.id)
        different = responses.save_page(
            draft, odi, 0, {"q01": 4}, idempotency_key="k-legacy", language="nb"
        )
    assert same is responses.SaveResult.REPLAYED
    assert different is responses.SaveResult.CONFLICT
