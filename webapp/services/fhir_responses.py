"""QuestionnaireResponses of a register as FHIR R4: the NDJSON export and the API reads.

Export (``flask export --format fhir``): ``QuestionnaireResponse.ndjson`` (one completed
response a line) and ``Observation.ndjson`` (one score a line, ``derivedFrom`` its
response). Subjects are the export pseudonym (``urn:openprom:pseudonym``), never a national
ID. As in the tabular export there is no exact calendar date: ``authored`` is the month of
completion (a FHIR dateTime of month precision) and the days from the index date travel
in an extension. Free-text answers are left out unless asked for.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

import instruments
from webapp.crypto import IdCipher, pseudonym
from webapp.extensions import db
from webapp.models import (
    Enrolment,
    Invitation,
    Patient,
    Response,
    Score,
    TimePoint,
    Unit,
)
from webapp.services import fhir_resources as fr
from webapp.services import pseudonyms_index
from webapp.services.patients import cipher
from webapp.services.withdrawal import withdrawn_patients

CHUNK_SIZE = 2000
QR_FILE = "QuestionnaireResponse.ndjson"
OBSERVATION_FILE = "Observation.ndjson"


@dataclass
class FhirExportResult:
    """Files written and resources per file."""

    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # responses per instrument
    responses: int = 0
    observations: int = 0


@dataclass(frozen=True)
class StoredResponse:
    """One completed response as read for FHIR, with what its resources need."""

    response_id: int
    patient_id: int
    instrument_id: str
    version: str
    language: str
    mode: str
    answers: dict[str, Any]
    completed_at: dt.datetime
    index_date: dt.date
    time_point: str
    encrypted_id: bytes


def completed_responses(register_id: int) -> Select[Any]:
    """Completed responses of a register with their patient, enrolment and time point."""
    return (
        select(
            Response.id,
            Enrolment.patient_id,
            Response.instrument_id,
            Response.instrument_version,
            Response.language,
            Response.mode,
            Response.answers,
            Response.completed_at,
            Enrolment.index_date,
            TimePoint.name,
            Patient.national_id_encrypted,
        )
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
        .join(Unit, Enrolment.unit_id == Unit.id)
        .join(TimePoint, Invitation.time_point_id == TimePoint.id)
        .join(Patient, Enrolment.patient_id == Patient.id)
        .where(
            Unit.register_id == register_id,
            Response.status == "complete",
            Enrolment.patient_id.not_in(withdrawn_patients(register_id)),
        )
    )


def stored(row: Any) -> StoredResponse:
    """A row of :func:`completed_responses` as a :class:`StoredResponse`."""
    return StoredResponse(*row[:6], dict(row[6] or {}), *row[7:])


class Pseudonyms:
    """Export pseudonyms of encrypted national IDs (decrypting is the slow part: cached)."""

    def __init__(self, key: bytes, id_cipher: IdCipher | None = None):
        self.key = key
        self.cipher = id_cipher or cipher()
        self.cache: dict[bytes, str] = {}

    def of(self, encrypted: bytes) -> str:
        alias = self.cache.get(encrypted)
        if alias is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            alias = pseudonym(self.cipher.decrypt(encrypted), self.key)
            self.cache[encrypted] = alias
        return alias


def scores_of(response_ids: list[int]) -> dict[int, list[Score]]:
    """Score rows by response id."""
    found: dict[int, list[Score]] = {}
    if response_ids:
        query = select(Score).where(Score.response_id.in_(response_ids)).order_by(Score.id)
        for score in db.session.scalars(query):
            found.setdefault(score.response_id, []).append(score)
    return found


def _extensions(row: StoredResponse) -> list[dict[str, Any]]:
    completed = row.completed_at.date()
    return [
        {"url": fr.EXT_TIME_POINT, "valueString": row.time_point},
        {"url": fr.EXT_INDEX_YEAR, "valueInteger": row.index_date.year},
        {"url": fr.EXT_DAYS_FROM_INDEX, "valueInteger": (completed - row.index_date).days},
        {"url": fr.EXT_MODE, "valueCode": row.mode},
    ]


def authored(row: StoredResponse, *, exact: bool) -> str:
    """``authored``: the exact instant (API) or the month of completion (export)."""
    if exact:
        return fr.fhir_instant(row.completed_at)
    return row.completed_at.strftime("%Y-%m")


def resources_of(
    row: StoredResponse,
    scores: list[Score],
    alias: str,
    *,
    exact: bool,
    free_text: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The QuestionnaireResponse of a stored response and its score Observations."""
    inst = instruments.load(row.instrument_id)
    when = authored(row, exact=exact)
    qr = fr.questionnaire_response(
        response_id=row.response_id,
        inst=inst,
        version=row.version,
        answers=row.answers,
        lang=row.language,
        alias=alias,
        authored=when,
        extensions=_extensions(row),
        free_text=free_text,
    )
    observations = [observation_of(row, s, alias, when) for s in scores]
    return qr, observations


def observation_of(row: StoredResponse, score: Score, alias: str, effective: str) -> dict[str, Any]:
    """The Observation of one score of a stored response."""
    return fr.score_observation(
        response_id=row.response_id,
        instrument_id=row.instrument_id,
        scale=score.scale,
        value=score.text_value if score.text_value is not None else score.value,
        algorithm_version=score.algorithm_version,
        value_set=score.value_set,
        alias=alias,
        effective=effective,
    )


def _chunks(register_id: int) -> Iterator[list[StoredResponse]]:
    query = (
        completed_responses(register_id)
        .order_by(Response.id)
        .execution_options(stream_results=True, yield_per=CHUNK_SIZE)
    )
    for partition in db.session.execute(query).partitions(CHUNK_SIZE):
        yield [stored(r) for r in partition]


def _line(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_ndjson(
    register_id: int, out: Path, key: bytes, *, validate: bool = True, free_text: bool = False
) -> FhirExportResult:
    """Write ``QuestionnaireResponse.ndjson`` and ``Observation.ndjson`` into ``out``.

    Every resource is checked with fhir.resources (``validate``) before it is written.
    """
    result = FhirExportResult()
    aliases = Pseudonyms(key)
    qr_path, obs_path = out / QR_FILE, out / OBSERVATION_FILE
    with (
        open(qr_path, "w", encoding="utf-8") as qr_file,
        open(obs_path, "w", encoding="utf-8") as obs_file,
    ):
        for chunk in _chunks(register_id):
            scores = scores_of([r.response_id for r in chunk])
            for row in chunk:
                qr, observations = resources_of(
                    row,
                    scores.get(row.response_id, []),
                    aliases.of(row.encrypted_id),
                    exact=False,
                    free_text=free_text,
                )
                if validate:
                    fr.validate(qr)
                    for obs in observations:
                        fr.validate(obs)
                qr_file.write(_line(qr))
                obs_file.writelines(_line(o) for o in observations)
                result.responses += 1
                result.rows[row.instrument_id] = result.rows.get(row.instrument_id, 0) + 1
                result.observations += len(observations)
    result.files += [qr_path, obs_path]
    return result


@dataclass(frozen=True)
class SearchCriteria:
    """QuestionnaireResponse search in one register (all None/empty: every response)."""

    instrument_id: str | None = None
    versions: tuple[str, ...] = ()  # stored instrument versions to match (any)
    authored: tuple[tuple[str, dt.datetime], ...] = ()  # (op, instant): ge, gt, le, lt
    patient_ids: tuple[int, ...] | None = None  # None: any patient; (): nobody
    response_id: int | None = None


def _filtered(register_id: int, criteria: SearchCriteria) -> Select[Any]:
    query = completed_responses(register_id)
    if criteria.response_id is not None:
        query = query.where(Response.id == criteria.response_id)
    if criteria.instrument_id is not None:
        query = query.where(Response.instrument_id == criteria.instrument_id)
    if criteria.versions:
        query = query.where(Response.instrument_version.in_(criteria.versions))
    for op, moment in criteria.authored:
        column = Response.completed_at
        condition = {
            "ge": column >= moment,
            "gt": column > moment,
            "le": column <= moment,
            "lt": column < moment,
        }[op]
        query = query.where(condition)
    if criteria.patient_ids is not None:
        query = query.where(Enrolment.patient_id.in_(criteria.patient_ids))
    return query


@dataclass(frozen=True)
class FoundResponse:
    """A QuestionnaireResponse read through the API, with its patient (for the audit)."""

    resource: dict[str, Any]
    patient_id: int
    response_id: int


def search(
    register_id: int, criteria: SearchCriteria, key: bytes, *, count: int, offset: int
) -> tuple[list[FoundResponse], int]:
    """One page of completed responses of the register (exact ``authored``) and the total."""
    from sqlalchemy import func

    query = _filtered(register_id, criteria)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = [
        stored(r)
        for r in db.session.execute(query.order_by(Response.id).limit(count).offset(offset))
    ]
    scores = scores_of([r.response_id for r in rows])
    aliases = Pseudonyms(key)
    found = []
    for row in rows:
        qr, _ = resources_of(
            row, scores.get(row.response_id, []), aliases.of(row.encrypted_id), exact=True
        )
        found.append(FoundResponse(qr, row.patient_id, row.response_id))
    return found, total


def read(register_id: int, response_id: int, key: bytes) -> FoundResponse | None:
    """The completed response ``response_id`` of the register, or None."""
    found, _ = search(register_id, SearchCriteria(response_id=response_id), key, count=1, offset=0)
    return found[0] if found else None


def patients_with_pseudonym(register_id: int, alias: str, key: bytes) -> tuple[int, ...]:
    """Ids of the register's patients whose export pseudonym is ``alias`` (withdrawn
    patients excluded).

    A pseudonym cannot be reversed: the stored pseudonyms are searched through their
    index (:func:`webapp.services.pseudonyms_index.lookup`); rows missing or written under
    another key are filled in when the pseudonym is not found.
    """
    return pseudonyms_index.lookup(register_id, alias, key)


@dataclass(frozen=True)
class ObservationCriteria:
    """Score Observation search in one register (all None/empty: every score)."""

    codes: tuple[tuple[str | None, str], ...] = ()  # (instrument id or any, score name): any
    response_ids: tuple[int, ...] | None = None  # derived-from; None: any response
    patient_ids: tuple[int, ...] | None = None  # None: any patient; (): nobody


@dataclass(frozen=True)
class FoundObservation:
    """A score Observation read through the API, with its patient (for the audit)."""

    resource: dict[str, Any]
    patient_id: int
    response_id: int


def search_observations(
    register_id: int, criteria: ObservationCriteria, key: bytes, *, count: int, offset: int
) -> tuple[list[FoundObservation], int]:
    """One page of score Observations of the register's completed responses and the total
    (ordered by score; ``effectiveDateTime`` is the exact completion instant)."""
    from sqlalchemy import and_, func, or_

    query = completed_responses(register_id).add_columns(Score.id)
    query = query.join(Score, Score.response_id == Response.id)
    if criteria.codes:
        query = query.where(
            or_(
                *(
                    and_(Score.scale == scale, Response.instrument_id == iid)
                    if iid is not None
                    else Score.scale == scale
                    for iid, scale in criteria.codes
                )
            )
        )
    if criteria.response_ids is not None:
        query = query.where(Response.id.in_(criteria.response_ids))
    if criteria.patient_ids is not None:
        query = query.where(Enrolment.patient_id.in_(criteria.patient_ids))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(query.order_by(Score.id).limit(count).offset(offset)).all()
    scores = {
        s.id: s
        for s in db.session.scalars(select(Score).where(Score.id.in_([r[-1] for r in rows])))
    }
    aliases = Pseudonyms(key)
    found = []
    for row in rows:
        response = stored(row[:-1])
        resource = observation_of(
            response,
            scores[row[-1]],
            aliases.of(response.encrypted_id),
            authored(response, exact=True),
        )
        found.append(FoundObservation(resource, response.patient_id, response.response_id))
    return found, total


def read_observation(register_id: int, observation_id: str, key: bytes) -> FoundObservation | None:
    """The score Observation ``<response id>-<score>`` of the register, or None."""
    rid, sep, _ = observation_id.partition("-")
    if not sep or not (rid.isascii() and rid.isdigit()) or len(rid) > 12:
        return None
    criteria = ObservationCriteria(response_ids=(int(rid),))
    found, _ = search_observations(register_id, criteria, key, count=1000, offset=0)
    matches = [f for f in found if f.resource["id"] == observation_id]
    return matches[0] if matches else None
