"""A page save in one PostgreSQL statement: one round trip instead of four.

The save of a question page (:func:`webapp.services.responses.save_page`) is, in one
transaction: insert the idempotency key, then ``UPDATE response ... WHERE revision =
<read> AND completed_at IS NULL``. On PostgreSQL both fit in one statement with
data-modifying ``WITH`` queries, run in autocommit mode (a single statement is atomic):
the draft is updated only when its revision is still the one read, it is not submitted
and the key is not stored yet, and the key is inserted from the updated row, so the two
happen together or not at all. A key stored by a concurrent request makes the insert fail
(unique key) and the whole statement with it. Anything but "saved" (0 rows: another save
or the submit came first, the key was seen before; or that unique-key error) returns
False, and the caller takes the transactional path, which reads afresh and tells a replay,
a conflict, a closed response and a concurrent edit apart exactly as before.

SQLite has no data-modifying ``WITH`` and no round trips to save: it keeps the
transactional path.
"""

from __future__ import annotations

import weakref
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from webapp.models import PageSubmission, Response

_AUTOCOMMIT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def supported(engine: Engine) -> bool:
    """Whether ``engine``'s database takes the one-statement save (PostgreSQL)."""
    return engine.dialect.name == "postgresql"


@cache
def _statement() -> TextClause:
    response, submission = Response.__table__.c, PageSubmission.__table__.c
    return text(
        "WITH saved AS ("
        " UPDATE response SET answers = :new_answers, current_page = :new_page,"
        " revision = :new_revision, language = :new_language, updated_at = :now"
        " WHERE id = :response_id AND revision = :read_revision AND completed_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM page_submission"
        " WHERE idempotency_key = :idempotency_key)"
        " RETURNING id),"
        " keyed AS ("
        " INSERT INTO page_submission (idempotency_key, response_id, page, content_hash,"
        " created_at) SELECT :idempotency_key, id, :page, :content_hash, :now FROM saved"
        " RETURNING id)"
        " SELECT (SELECT count(*) FROM saved) AS saved, (SELECT count(*) FROM keyed) AS keyed"
    ).bindparams(
        bindparam("new_answers", type_=response.answers.type),
        bindparam("new_page", type_=response.current_page.type),
        bindparam("new_revision", type_=response.revision.type),
        bindparam("new_language", type_=response.language.type),
        bindparam("now", type_=response.updated_at.type),
        bindparam("response_id", type_=response.id.type),
        bindparam("read_revision", type_=response.revision.type),
        bindparam("idempotency_key", type_=submission.idempotency_key.type),
        bindparam("page", type_=submission.page.type),
        bindparam("content_hash", type_=submission.content_hash.type),
    )


def _autocommit(engine: Engine) -> Engine:
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        found = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


def save(engine: Engine, values: dict[str, Any]) -> bool:
    """Save a page in one statement; True when saved (draft and key), else False.

    ``values``: ``response_id``, ``read_revision``, ``new_answers``, ``new_page``,
    ``new_revision``, ``new_language``, ``now``, ``idempotency_key``, ``page``,
    ``content_hash``.
    """
    try:
        with _autocommit(engine).connect() as connection:
            row = connection.execute(_statement(), values).one()
    except IntegrityError:  # the key was stored by a concurrent request: nothing saved
        return False
    return row.saved == 1 and row.keyed == 1
