"""Answering an invitation: drafts saved per page, resume, review and final submit.

- Every page submit saves the draft server-side (``Response.answers``, ``current_page``)
  with optimistic concurrency on ``Response.revision``: pages saved at once are all kept,
  and nothing is saved once the response is completed. A replayed page (same idempotency
  key) is recognised and not applied twice; the key is bound to a hash of the page's
  answers, so a replay with other answers is refused as a conflict.
- Final submit is idempotent by construction: conditional updates that only succeed while
  ``completed_at`` is empty (and the revision is the one scored), plus the unique
  (invitation, instrument) of responses. Raw answers and scores are written in the same
  transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Select, TextClause, Update, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError

import instruments
import scoring
from instruments import Instrument, Item
from webapp.crypto import content_digest_key
from webapp.extensions import db
from webapp.models import Invitation, PageSubmission, Response, Score, utcnow
from webapp.services import adaptive, audit, one_statement_save
from webapp.services.invitations import innsyn_until
from webapp.services.page_links import DraftRow

PROXY_RELATIONS = ("parent", "relative", "carer", "other")


class SubmitError(ValueError):
    """The answers cannot be submitted yet; ``instrument_id``/``page`` say where to go."""

    def __init__(self, message: str, instrument_id: str, page: int):
        super().__init__(message)
        self.instrument_id = instrument_id
        self.page = page


@dataclass(frozen=True)
class Step:
    """Where a patient continues: ``start`` (who answers), a ``page``, or ``review``."""

    kind: str
    instrument_id: str | None = None
    page: int = 0


def instruments_of(invitation: Invitation) -> list[Instrument]:
    """The instruments of the invitation's time point, in protocol order."""
    return [instruments.load(i) for i in invitation.time_point.instruments]


def page_count(instrument: Instrument) -> int:
    """Pages of an instrument in the flow; an item bank (asked adaptively) counts as one
    (its ``current_page`` becomes 1 when the adaptive test is complete)."""
    return 1 if adaptive.is_item_bank(instrument) else len(instrument.screen_pages())


def shown_pages(invitation: Any, instrument: Instrument) -> int:
    """Pages the patient sees for ``instrument`` (progress and the start page): an item
    bank's items asked once it is complete, else at most its ``max_items``."""
    if not adaptive.is_item_bank(instrument):
        return len(instrument.screen_pages())
    for response in invitation.responses:
        if response.instrument_id == instrument.id and response.current_page >= 1:
            return len(response.answers or {})
    return adaptive.max_items_of_invitation(invitation.id)


@cache
def _responses_stmt() -> Select[tuple[Response]]:
    return select(Response).where(Response.invitation_id == bindparam("invitation_id"))


def responses_of(invitation: Invitation) -> dict[str, Response]:
    """Existing responses of an invitation by instrument id (read now)."""
    rows = db.session.scalars(_responses_stmt(), {"invitation_id": invitation.id})
    return {r.instrument_id: r for r in rows}


def loaded_responses(invitation: Invitation) -> dict[str, Response]:
    """The responses read with the invitation (:func:`invitations.resolve` loads them)."""
    return {r.instrument_id: r for r in invitation.responses}


def is_enabled(item: Item, answers: dict[str, Any]) -> bool:
    """Whether ``item`` is shown given the answers so far (its enable_when conditions)."""
    ops = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
    }
    for cond in item.enable_when:
        value = answers.get(cond.item)
        if value is None or not ops[cond.operator](value, cond.answer):
            return False
    return True


def start(
    invitation: Invitation, *, mode: str, relation: str | None, language: str
) -> dict[str, Response]:
    """Record who answers (self or proxy + relation) and create the draft responses.

    ``language`` is the UI language; a response records the language its questionnaire is
    shown in (bokmål when the instrument file lacks that language).
    """
    if mode not in ("self", "proxy"):
        raise ValueError(f"unknown mode {mode!r}")
    if mode == "proxy" and relation not in PROXY_RELATIONS:
        raise ValueError("a proxy must say how they are related to the patient")
    existing = responses_of(invitation)
    for instrument in instruments_of(invitation):
        response = existing.get(instrument.id)
        if response is None:
            response = Response(
                invitation_id=invitation.id,
                instrument_id=instrument.id,
                instrument_version=instrument.version,
                instrument_hash=instrument.content_hash,
                language=language if language in instrument.languages else "nb",
                answers={},
                current_page=0,
            )
            try:
                with db.session.begin_nested():
                    db.session.add(response)
            except IntegrityError:  # another tab created it first
                response = responses_of(invitation)[instrument.id]
        if response.completed_at is None:
            response.mode = mode
            response.proxy_relation = relation if mode == "proxy" else None
            response.updated_at = utcnow()
    if invitation.state in ("scheduled", "sent"):
        invitation.state = "opened"
    db.session.commit()
    return responses_of(invitation)


def next_step(invitation: Invitation) -> Step:
    """Where the patient continues: the first page not yet saved, else the review."""
    responses = responses_of(invitation)
    if not responses:
        return Step("start")
    for instrument in instruments_of(invitation):
        response = responses.get(instrument.id)
        if response is None:
            return Step("start")
        if response.current_page < page_count(instrument):
            kind = "adaptive" if adaptive.is_item_bank(instrument) else "page"
            return Step(kind, instrument.id, response.current_page)
    return Step("review")


def reachable(
    invitation: Invitation,
    instrument_id: str,
    page: int,
    loaded: dict[str, Response] | None = None,
) -> bool:
    """Whether a page may be shown: it exists and every page before it was saved.

    ``loaded``: the invitation's responses when the caller has just read them.
    """
    responses = responses_of(invitation) if loaded is None else loaded
    for instrument in instruments_of(invitation):
        response = responses.get(instrument.id)
        if response is None:
            return False
        n_pages = page_count(instrument)
        if instrument.id == instrument_id:
            if adaptive.is_item_bank(instrument):  # asked on its own page (patient/adaptive)
                return False
            return 0 <= page < n_pages and page <= response.current_page
        if response.current_page < n_pages:
            return False
    return False


class SaveResult(enum.Enum):
    """What :func:`save_page` did with a posted page."""

    SAVED = "saved"  # applied to the draft
    REPLAYED = "replayed"  # this key was applied before with the same answers: no change
    CONFLICT = "conflict"  # this key was applied before with other answers: nothing saved
    CLOSED = "closed"  # the response was already submitted: nothing saved


class ConcurrentEdit(RuntimeError):
    """The draft kept changing under this request (other saves at once); try again."""


MAX_ATTEMPTS = 8


@cache
def _digest_key(master_key: bytes) -> bytes:
    return content_digest_key(master_key)


def content_hash(answers: dict[str, Any], key: bytes | None = None) -> str:
    """Keyed HMAC-SHA256 of a page's answers in canonical JSON (sorted keys, None kept).

    Keyed (default: :func:`webapp.crypto.content_digest_key` of ``OPENPROM_ID_KEY``) so
    a short free-text answer cannot be guessed from the stored digest; the same answers
    give the same digest within one installation.
    """
    if key is None:
        key = _digest_key(current_app.config["OPENPROM_ID_KEY"])
    return hmac.new(key, _canonical(answers), hashlib.sha256).hexdigest()


def _legacy_content_hash(answers: dict[str, Any]) -> str:
    """The unkeyed SHA-256 that rows written before the keyed digest still hold."""
    return hashlib.sha256(_canonical(answers)).hexdigest()


def _canonical(answers: dict[str, Any]) -> bytes:
    """A page's answers as canonical JSON (sorted keys, no spaces, None kept)."""
    return json.dumps(answers, sort_keys=True, separators=(",", ":")).encode()


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 (jitter, not secrets)


@cache
def _insert_key_stmt() -> TextClause:
    """The key insert, in SQL that PostgreSQL and SQLite (3.35+) both take.

    Written out because SQLAlchemy's dialect ``insert()`` constructs (for ``ON CONFLICT``)
    are not cacheable: they would be compiled again on every save.
    """
    table = PageSubmission.__table__
    names = ("idempotency_key", "response_id", "page", "content_hash", "created_at")
    return text(
        "INSERT INTO page_submission (idempotency_key, response_id, page, content_hash,"
        " created_at) VALUES (:idempotency_key, :response_id, :page, :content_hash,"
        " :created_at) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    ).bindparams(*(bindparam(n, type_=table.c[n].type) for n in names))


def _insert_key(key: str, response_id: int, page: int, digest: str) -> bool:
    """Insert the idempotency key in the open transaction; False when it already exists.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint: no aborted PostgreSQL transaction,
    and no pysqlite savepoint that would commit the key on its own.
    """
    values = {
        "idempotency_key": key,
        "response_id": response_id,
        "page": page,
        "content_hash": digest,
        "created_at": utcnow(),
    }
    return db.session.execute(_insert_key_stmt(), values).first() is not None


@cache
def _draft_stmt() -> Select[tuple[dict[str, Any], int, int, dt.datetime | None]]:
    return select(
        Response.answers, Response.current_page, Response.revision, Response.completed_at
    ).where(Response.id == bindparam("response_id"))


@cache
def _save_stmt() -> Update:
    """``UPDATE response ... WHERE id = ? AND completed_at IS NULL AND revision = <read>``.

    A Core update of the table (not the mapped class): no ORM bulk-update machinery per
    save; the session holds no loaded ``Response`` for the question page to synchronise.
    """
    table = Response.__table__
    column = table.c
    return (
        update(table)
        .where(
            column.id == bindparam("response_id"),
            column.completed_at.is_(None),
            column.revision == bindparam("read_revision"),
        )
        .values(
            answers=bindparam("new_answers", type_=column.answers.type),
            current_page=bindparam("new_page", type_=column.current_page.type),
            revision=bindparam("new_revision", type_=column.revision.type),
            language=bindparam("new_language", type_=column.language.type),
            updated_at=bindparam("now", type_=column.updated_at.type),
        )
    )


@dataclass(frozen=True)
class _Draft:
    """A draft's answers, progress and revision as read (never a completed one)."""

    answers: dict[str, Any] | None
    current_page: int
    revision: int


def _loaded_draft(response: Response | DraftRow) -> _Draft | None:
    """The draft as this request already read it, else None (read it then)."""
    if isinstance(response, DraftRow):  # read by page_links.resolve_page
        if response.completed_at is not None:
            return None
        return _Draft(response.answers, response.current_page, response.revision)
    loaded = response.__dict__  # no attribute access: an expired one would be reloaded
    if not {"answers", "current_page", "revision", "completed_at"} <= loaded.keys():
        return None
    if loaded["completed_at"] is not None:
        return None
    return _Draft(loaded["answers"], loaded["current_page"], loaded["revision"])


def _save_values(
    response_id: int, draft: _Draft, answers: dict[str, int | None], page: int, language: str
) -> dict[str, Any]:
    """The conditional update's values: ``answers`` merged into the draft as read."""
    merged = dict(draft.answers or {})
    for item_id, value in answers.items():
        if value is None:
            merged.pop(item_id, None)
        else:
            merged[item_id] = value
    return {
        "response_id": response_id,
        "read_revision": draft.revision,
        "new_answers": merged,
        "new_page": max(draft.current_page, page + 1),
        "new_revision": draft.revision + 1,
        "new_language": language,
        "now": utcnow(),
    }


def save_page(
    response: Response | DraftRow,
    instrument: Instrument,
    page: int,
    answers: dict[str, int | None],
    *,
    idempotency_key: str,
    language: str,
) -> SaveResult:
    """Save one page's answers into the draft, atomically (no lost update, never after submit).

    One transaction per attempt: insert the idempotency key (bound to the keyed digest of
    the answers), merge into the draft as read, and ``UPDATE ... WHERE revision = read AND
    completed_at IS NULL``. The first attempt merges into the draft as the caller's
    session read it (when it did, earlier in the request) or as ``response`` holds it (a
    :class:`DraftRow`); every retry reads it fresh. A concurrent save bumps the revision:
    roll back and retry (up to :data:`MAX_ATTEMPTS`, then :class:`ConcurrentEdit`). A key
    seen before is REPLAYED (same answers) or a CONFLICT (other answers); a submitted
    response is CLOSED.
    """
    response_id = response.id
    digest = content_hash(answers)
    draft = _loaded_draft(response)
    if (
        isinstance(response, DraftRow)  # read outside the session: nothing in it goes stale
        and draft is not None
        and not db.session().in_transaction()  # nothing of this request left uncommitted
        and one_statement_save.supported(db.engine)
    ):
        # PostgreSQL: draft update and key in one autocommit statement; anything but
        # "saved" is told apart by the transactional path below, reading afresh
        if one_statement_save.save(
            db.engine,
            {
                **_save_values(response_id, draft, answers, page, language),
                "idempotency_key": idempotency_key,
                "page": page,
                "content_hash": digest,
            },
        ):
            return SaveResult.SAVED
        draft = None
    for attempt in range(MAX_ATTEMPTS):
        if not _insert_key(idempotency_key, response_id, page, digest):
            stored = db.session.scalar(
                select(PageSubmission.content_hash).where(
                    PageSubmission.idempotency_key == idempotency_key
                )
            )
            db.session.rollback()
            if stored is not None and stored not in (digest, _legacy_content_hash(answers)):
                return SaveResult.CONFLICT
            return SaveResult.REPLAYED
        if draft is None:
            row = db.session.execute(_draft_stmt(), {"response_id": response_id}).one()
            if row.completed_at is not None:
                db.session.rollback()
                return SaveResult.CLOSED
            draft = _Draft(row.answers, row.current_page, row.revision)
        done = db.session.execute(
            _save_stmt(), _save_values(response_id, draft, answers, page, language)
        )
        if done.rowcount == 1:
            db.session.commit()
            return SaveResult.SAVED
        db.session.rollback()  # another save (or the submit) got there first: read again
        draft = None
        _backoff(attempt)
    raise ConcurrentEdit(f"response {response_id}: draft kept changing, page not saved")


def missing_required(instrument: Instrument, answers: dict[str, Any]) -> tuple[str, int] | None:
    """The first required, shown item without a valid answer: (item id, page index)."""
    for index, page in enumerate(instrument.screen_pages()):
        for item_id in page.items:
            item = instrument.item(item_id)
            if item.type == "display" or not is_enabled(item, answers):
                continue
            value = answers.get(item_id)
            if value is None:
                if item.required:
                    return item_id, index
            elif not item.is_valid_answer(value):
                return item_id, index
    return None


def value_set_for(instrument_id: str) -> str | None:
    """The value set to score an instrument with.

    Config ``OPENPROM_VALUE_SETS`` (instrument id -> name) first, then the instrument file's
    ``default_value_set`` (``NO`` for EQ-5D-5L) when the scoring module ships it, else the
    scoring module's default.
    """
    algorithm = scoring.get(instrument_id)
    chosen = current_app.config.get("OPENPROM_VALUE_SETS", {}).get(instrument_id)
    if chosen is None:
        preferred = instruments.load(instrument_id).scoring.default_value_set
        if preferred in {v.name for v in algorithm.value_sets}:
            chosen = preferred
    return algorithm.value_set(chosen)


def score_rows(response: Response) -> list[Score]:
    """Score rows of a response's answers (instrument's value set, algorithm version)."""
    return _score_rows(
        response.id,
        response.instrument_id,
        dict(response.answers or {}),
        dashboard_keys(response.invitation),
    )


def dashboard_keys(invitation: Invitation) -> dict[str, Any]:
    """The invitation's and enrolment's keys copied onto each of its scores (the
    dashboards count scores without joining them to responses; see :class:`Score`)."""
    enrolment = invitation.enrolment
    return {
        "enrolment_id": enrolment.id,
        "unit_id": enrolment.unit_id,
        "protocol_id": enrolment.protocol_id,
        "time_point_id": invitation.time_point_id,
        "index_year": enrolment.index_date.year,
    }


def _score_rows(
    response_id: int, instrument_id: str, answers: dict[str, Any], keys: dict[str, Any]
) -> list[Score]:
    if adaptive.is_bank_id(instrument_id):  # final theta, T-score and SE
        return adaptive.score_rows(response_id, instrument_id, answers, keys)
    try:
        algorithm = scoring.get(instrument_id)
    except KeyError:  # an instrument without a scoring algorithm: raw answers only
        return []
    value_set = value_set_for(instrument_id)
    result = scoring.score(instrument_id, dict(answers), value_set=value_set)
    rows = []
    for name, value in result.items():
        text = name in algorithm.text_scores
        rows.append(
            Score(
                response_id=response_id,
                scale=name,
                value=None if text or value is None else float(value),
                text_value=str(value) if text and value is not None else None,
                algorithm_version=algorithm.algorithm_version,
                value_set=value_set or "",
                instrument_id=instrument_id,
                **keys,
            )
        )
    return rows


def submit(invitation: Invitation, now: dt.datetime | None = None) -> bool:
    """Complete every response of the invitation and score it, in one transaction.

    Returns True when this call completed the invitation, False when it was already
    complete (a double submit, a second tab). Raises :class:`SubmitError` when a required
    answer is missing, :class:`ConcurrentEdit` when pages kept being saved meanwhile.

    The answers are read fresh with their revision, validated and scored; each response is
    then completed only ``WHERE revision = <the one scored> AND completed_at IS NULL``. A
    page saved in between changes the revision: the whole attempt is rolled back and done
    again, so the scores always belong to exactly the answers that stay stored.
    """
    now = now or utcnow()
    invitation_id = invitation.id
    patient_id = invitation.enrolment.patient_id
    keys = dashboard_keys(invitation)
    ordered = instruments_of(invitation)
    for attempt in range(MAX_ATTEMPTS):
        rows = {
            row.instrument_id: row
            for row in db.session.execute(
                select(
                    Response.id,
                    Response.instrument_id,
                    Response.answers,
                    Response.revision,
                    Response.completed_at,
                    Response.mode,
                    Response.current_page,
                ).where(Response.invitation_id == invitation_id)
            )
        }
        for instrument in ordered:
            row = rows.get(instrument.id)
            if row is None:
                raise SubmitError("not started", instrument.id, 0)
            if adaptive.is_item_bank(instrument):  # complete when the engine stopped
                gap = None if row.current_page >= 1 else (instrument.id, 0)
            else:
                gap = missing_required(instrument, row.answers or {})
            if gap is not None:
                raise SubmitError(
                    f"{instrument.id}: {gap[0]} is not answered", instrument.id, gap[1]
                )
        claimed = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.completed_at.is_(None))
            .values(completed_at=now, state="completed", innsyn_until=innsyn_until(now))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            return False
        if _complete_responses(rows.values(), now, keys):
            audit.record(
                "response.submit",
                actor_type="patient",
                patient_id=patient_id,
                subject=f"invitation {invitation_id}",
                details={"instruments": sorted(rows), "mode": _mode(rows.values())},
            )
            db.session.commit()
            db.session.expire_all()
            return True
        db.session.rollback()  # a page was saved after we read it: read and score again
        _backoff(attempt)
    raise ConcurrentEdit(f"invitation {invitation_id}: answers kept changing, not submitted")


def _complete_responses(rows: Any, now: dt.datetime, keys: dict[str, Any]) -> bool:
    """Complete and score each draft row at the revision read; False when one had changed."""
    for row in rows:
        if row.completed_at is not None:
            continue
        done = db.session.execute(
            update(Response)
            .where(
                Response.id == row.id,
                Response.completed_at.is_(None),
                Response.revision == row.revision,
            )
            .values(status="complete", completed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            return False
        db.session.add_all(_score_rows(row.id, row.instrument_id, row.answers or {}, keys))
    return True


def _mode(responses: Any) -> str:
    modes = {r.mode for r in responses}
    return modes.pop() if len(modes) == 1 else "mixed"
