"""Importing FHIR R4 QuestionnaireResponses (Helsenorge, a paper-scanning service, another
system) into a register: ``flask import-responses`` and ``POST /fhir/QuestionnaireResponse``.

Each resource is checked completely before anything is written: valid R4, ``completed``,
a known Questionnaire (canonical ``url|version``), a subject identified by fødselsnummer
(``urn:oid:2.16.578.1.12.4.1.4.1``) or D-number (``urn:oid:2.16.578.1.12.4.1.4.2``) of a
patient enrolled in the register, exactly one time point of that enrolment whose window
(``opens_at`` <= ``authored`` < ``expires_at``) contains ``authored`` and asks for the
instrument, and answers that fit the instrument (linkIds, types, codes, enableWhen,
required items). One problem anywhere refuses the whole batch (:class:`ImportRefused`,
one line per problem) and nothing is stored. Otherwise every response is stored complete
with the mode given, scored like a web answer (:func:`webapp.services.responses.score_rows`)
and audited, in one transaction.

Each resource has an import key: its ``identifier`` (``system|value``) when it has one,
else the SHA-256 of its canonical JSON. Keys are stored per register
(:class:`webapp.models.ResponseImport`): importing the same resource again stores nothing
(a duplicate), the same identifier with other content is a problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import instruments
from instruments import Instrument, Item
from webapp.crypto import content_digest_key
from webapp.extensions import db
from webapp.models import (
    Enrolment,
    Invitation,
    Register,
    Response,
    ResponseImport,
    Unit,
    utcnow,
)
from webapp.national_id import InvalidNationalId
from webapp.national_id import validate as validate_national_id
from webapp.services import audit, responses
from webapp.services import fhir_resources as fr
from webapp.services.invitations import innsyn_until
from webapp.services.patients import find_patient
from webapp.services.withdrawal import is_withdrawn

IMPORT_MODES = ("helsenorge", "paper", "external")
ID_SYSTEMS = {fr.FNR_SYSTEM: "fnr", fr.DNR_SYSTEM: "dnr"}
ID_NAMES = {"fnr": "fødselsnummer", "dnr": "D-number"}
MAX_PROBLEMS_PER_RESOURCE = 50


@dataclass(frozen=True)
class Problem:
    """Why one resource cannot be imported: its number (1 = first line), linkId, reason."""

    index: int
    link_id: str
    reason: str

    def __str__(self) -> str:
        return f"resource {self.index}: {self.link_id or '-'}: {self.reason}"


class ImportRefused(ValueError):
    """Nothing was stored; ``problems`` says why, one entry per problem."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = problems


@dataclass(frozen=True)
class Actor:
    """Who imports: ``cli`` (an operator) or ``api`` (a token), for the audit log."""

    type: str
    id: int | None = None
    label: str = ""


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    stored: int = 0
    duplicates: int = 0
    dry_run: bool = False
    response_ids: list[int] = field(default_factory=list)  # stored, or found for duplicates


@dataclass
class _Planned:
    index: int
    key: str
    content_hash: str
    inst: Instrument
    version: str
    invitation: Invitation
    patient_id: int
    answers: dict[str, Any]
    authored: dt.datetime
    language: str
    duplicate: bool = False  # imported before (or earlier in this batch): not stored again
    duplicate_of: int | None = None  # the response stored by the earlier import


def parse_ndjson(text: str) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """(line number, JSON value) of each non-blank line, and a problem per unreadable one."""
    found, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, "", f"not JSON ({exc.msg}, column {exc.colno})"))
    return found, problems


def import_key(resource: Mapping[str, Any]) -> str:
    """The QR's identifier (``system|value``), else ``hmac:`` + keyed hash of its content."""
    ident = resource.get("identifier")
    if isinstance(ident, Mapping) and ident.get("value"):
        return f"{ident.get('system', '')}|{ident['value']}"[:128]
    return "hmac:" + content_hash(resource)


def _canonical(resource: Mapping[str, Any]) -> bytes:
    text = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def content_hash(resource: Mapping[str, Any]) -> str:
    """Keyed HMAC-SHA256 of the resource's canonical JSON (sorted keys, no spaces).

    Keyed like the page digests (:func:`webapp.services.responses.content_hash`): the
    resource holds a national ID, a date and answers, few enough combinations to try
    against a plain hash.
    """
    key = _digest_key(current_app.config["OPENPROM_ID_KEY"])
    return hmac.new(key, _canonical(resource), hashlib.sha256).hexdigest()


@cache
def _digest_key(master_key: bytes) -> bytes:
    return content_digest_key(master_key)


def _legacy_hash(resource: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 that imports stored before the keyed hash still hold."""
    return hashlib.sha256(_canonical(resource)).hexdigest()


def import_responses(
    resources: Iterable[tuple[int, Any]],
    register: Register,
    *,
    mode: str,
    actor: Actor,
    source: str = "file",
    dry_run: bool = False,
) -> ImportReport:
    """Check every resource, then store them all in one transaction (or none; see module).

    ``resources`` are (number, parsed JSON) pairs; numbers appear in the problems.
    Raises :class:`ImportRefused` listing every problem; the session is rolled back then.
    """
    if mode not in IMPORT_MODES:
        raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(IMPORT_MODES)})")
    checker = _Checker(register)
    planned: list[_Planned] = []
    problems: list[Problem] = []
    for index, resource in resources:
        found, result = checker.check(index, resource)
        problems += found
        if result is not None:
            planned.append(result)
    if problems:
        db.session.rollback()
        raise ImportRefused(problems)
    report = ImportReport(dry_run=dry_run)
    for plan in planned:
        if plan.duplicate:
            report.duplicates += 1
            if plan.duplicate_of is not None:
                report.response_ids.append(plan.duplicate_of)
    if dry_run:
        report.stored = sum(1 for p in planned if not p.duplicate)
        db.session.rollback()
        return report
    try:
        for plan in planned:
            if not plan.duplicate:
                report.response_ids.append(_store(plan, register, mode, source, actor))
                report.stored += 1
        _complete_invitations({p.invitation.id for p in planned if not p.duplicate})
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ImportRefused(
            [Problem(0, "", "answers for the same time point were stored meanwhile; try again")]
        ) from None
    db.session.commit()
    return report


def _store(plan: _Planned, register: Register, mode: str, source: str, actor: Actor) -> int:
    response = Response(
        invitation=plan.invitation,
        instrument_id=plan.inst.id,
        instrument_version=plan.version,
        instrument_hash=plan.inst.content_hash,
        language=plan.language,
        mode=mode,
        status="complete",
        answers=plan.answers,
        current_page=len(plan.inst.screen_pages()),
        started_at=plan.authored,
        updated_at=utcnow(),
        completed_at=plan.authored,
    )
    db.session.add(response)
    db.session.flush()
    db.session.add_all(responses.score_rows(response))
    db.session.add(
        ResponseImport(
            register_id=register.id,
            import_key=plan.key,
            content_hash=plan.content_hash,
            response_id=response.id,
            source=source,
        )
    )
    audit.record(
        "response.import",
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        patient_id=plan.patient_id,
        subject=f"invitation {plan.invitation.id}",
        details={
            "instrument": plan.inst.id,
            "mode": mode,
            "source": source,
            "import_key": plan.key,
            "response_id": response.id,
        },
    )
    return response.id


def _complete_invitations(invitation_ids: set[int]) -> None:
    """An invitation whose every instrument now has a complete response is completed."""
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.id.in_(invitation_ids))
    ):
        done = {
            r.instrument_id: r.completed_at
            for r in db.session.scalars(
                select(Response).where(
                    Response.invitation_id == invitation.id, Response.status == "complete"
                )
            )
        }
        wanted = set(invitation.time_point.instruments)
        if invitation.completed_at is None and wanted <= set(done):
            last = max(done[i] for i in wanted)
            invitation.completed_at = last
            invitation.state = "completed"
            invitation.innsyn_until = innsyn_until(last)


def _parse_authored(text: Any) -> dt.datetime | None:
    """``authored`` as an aware datetime (a date alone is midnight UTC); None if unusable."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _validation_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for error in errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()))
            parts.append(f"{where}: {error.get('msg', '')}")
        return "not valid FHIR R4: " + "; ".join(parts)
    return f"not valid FHIR R4: {str(exc).splitlines()[0]}"


class _Checker:
    """Checks resources one by one against the register (reads only)."""

    def __init__(self, register: Register):
        self.register = register
        self.by_url: dict[str, Instrument] = {}
        for inst in instruments.load_all().values():
            self.by_url[fr.canonical_url(inst)] = inst
        self.keys_in_file: dict[str, tuple[str, int]] = {}
        self.index = 0

    def check(self, index: int, resource: Any) -> tuple[list[Problem], _Planned | None]:
        problems: list[Problem] = []
        self.index = index

        def problem(reason: str, link_id: str = "") -> tuple[list[Problem], None]:
            problems.append(Problem(index, link_id, reason))
            return problems, None

        if not isinstance(resource, Mapping):
            return problem("not a JSON object")
        kind = resource.get("resourceType")
        if kind != "QuestionnaireResponse":
            return problem(f"resourceType is {kind!r}, not QuestionnaireResponse")
        try:
            fr.validate(resource)
        except ValueError as exc:
            return problem(_validation_message(exc))
        if resource.get("status") != "completed":
            return problem(f"status is {resource.get('status')!r}; only completed is imported")
        inst, version = self._instrument(resource.get("questionnaire"), problem)
        if inst is None:
            return problems, None
        patient_id = self._patient(resource.get("subject"), problem)
        authored = _parse_authored(resource.get("authored"))
        if authored is None:
            problem("authored is missing or not a date and time with a time zone")
        answers = self._answers(inst, resource.get("item") or [], problems, index)
        if patient_id is None or authored is None or problems:
            return problems, None
        invitation = self._invitation(patient_id, inst, authored, problem)
        if invitation is None:
            return problems, None
        key, digest = import_key(resource), content_hash(resource)
        legacy = _legacy_hash(resource)
        duplicate, duplicate_of = self._duplicate(key, digest, problem, legacy)
        if problems:
            return problems, None
        existing = db.session.scalar(
            select(Response).where(
                Response.invitation_id == invitation.id, Response.instrument_id == inst.id
            )
        )
        if not duplicate and existing is not None:
            if existing.status == "complete":
                return problem(
                    f"this time point ({invitation.time_point.name}) of {inst.id} was answered"
                    f" already (response {existing.id})"
                )
            return problem(
                f"a draft of {inst.id} for this time point ({invitation.time_point.name}) was"
                " started on the web; it is left as it is (finish or remove it, then import)"
            )
        language = str(resource.get("language") or "")[:2].lower()
        language = {"no": "nb"}.get(language, language)
        if language not in inst.languages:
            language = inst.languages[0]
        plan = _Planned(
            index=index,
            key=key,
            content_hash=digest,
            inst=inst,
            version=version,
            invitation=invitation,
            patient_id=patient_id,
            answers=answers,
            authored=authored,
            language=language,
            duplicate=duplicate,
            duplicate_of=duplicate_of,
        )
        return problems, plan

    def _instrument(self, canonical: Any, problem: Any) -> tuple[Instrument | None, str]:
        if not isinstance(canonical, str) or not canonical:
            problem("questionnaire (the canonical url|version) is missing")
            return None, ""
        url, _, version = canonical.partition("|")
        inst = self.by_url.get(url)
        if inst is None:
            problem(f"unknown questionnaire {url!r}")
            return None, ""
        version = version.replace("%20", " ")
        current = fr.questionnaire_version(inst)
        if version and version != current:
            problem(f"{inst.id}: version {version!r} is not the one openprom holds ({current!r})")
            return None, ""
        return inst, inst.version

    def _patient(self, subject: Any, problem: Any) -> int | None:
        ident = subject.get("identifier") if isinstance(subject, Mapping) else None
        if not isinstance(ident, Mapping):
            problem("subject.identifier (fødselsnummer or D-number) is missing")
            return None
        system = ident.get("system")
        expected = ID_SYSTEMS.get(system)
        if expected is None:
            problem(
                f"subject.identifier.system must be {fr.FNR_SYSTEM} (fødselsnummer) or"
                f" {fr.DNR_SYSTEM} (D-number), not {system!r}"
            )
            return None
        try:
            nid = validate_national_id(str(ident.get("value") or ""))
        except InvalidNationalId as exc:
            problem(f"subject.identifier.value is not a valid {ID_NAMES[expected]}: {exc}")
            return None
        if nid.kind != expected:
            problem(
                f"subject.identifier.value is a {ID_NAMES.get(nid.kind, nid.kind)}, but the"
                f" system says {ID_NAMES[expected]}"
            )
            return None
        patient = find_patient(nid)
        if patient is None:
            problem("no patient with this national ID is registered in openprom")
            return None
        return patient.id

    def _invitation(
        self, patient_id: int, inst: Instrument, authored: dt.datetime, problem: Any
    ) -> Invitation | None:
        enrolments = db.session.scalars(
            select(Enrolment)
            .join(Unit, Enrolment.unit_id == Unit.id)
            .where(Enrolment.patient_id == patient_id, Unit.register_id == self.register.id)
        ).all()
        if is_withdrawn(patient_id, self.register.id):
            problem(f"the patient has withdrawn from register {self.register.name!r}")
            return None
        if not enrolments:
            problem(f"the patient is not enrolled in register {self.register.name!r}")
            return None
        matches = []
        for enrolment in enrolments:
            if enrolment.ended_at is not None and _aware(enrolment.ended_at) < authored:
                continue
            for invitation in enrolment.invitations:
                if invitation.state == "revoked":
                    continue
                if inst.id not in invitation.time_point.instruments:
                    continue
                if _aware(invitation.opens_at) <= authored < _aware(invitation.expires_at):
                    matches.append(invitation)
        when = authored.date().isoformat()
        if not matches:
            problem(
                f"no time point of the patient's enrolment in {self.register.name!r} asks for"
                f" {inst.id} in a window that contains authored ({when})"
            )
            return None
        if len(matches) > 1:
            names = ", ".join(sorted(m.time_point.name for m in matches))
            problem(f"authored ({when}) lies in the windows of several time points ({names})")
            return None
        return matches[0]

    def _duplicate(
        self, key: str, digest: str, problem: Any, legacy: str
    ) -> tuple[bool, int | None]:
        """(imported before?, the response it made) for an import key; problems added.
        ``legacy``: the unkeyed hash that imports stored before the keyed one hold."""
        seen = self.keys_in_file.get(key)
        if seen is not None and seen[0] != digest:
            problem(f"resource {seen[1]} of this batch has the same identifier")
            return False, None
        keys = [key, "sha256:" + legacy] if key.startswith("hmac:") else [key]
        stored = db.session.scalar(
            select(ResponseImport)
            .where(
                ResponseImport.register_id == self.register.id,
                ResponseImport.import_key.in_(keys),
            )
            .limit(1)
        )
        if stored is not None and stored.content_hash not in (digest, legacy):
            problem("this identifier was imported before with other content")
            return False, None
        self.keys_in_file.setdefault(key, (digest, self.index))
        if stored is not None:
            return True, stored.response_id
        return seen is not None, None

    def _answers(
        self, inst: Instrument, items: list[Any], problems: list[Problem], index: int
    ) -> dict[str, Any]:
        """Stored answers (item id -> value) from the QR items; problems added per linkId."""
        questions = fr.question_items(inst)
        groups = _structure_link_ids(inst)
        answers: dict[str, Any] = {}
        given: dict[str, list[Any]] = {}

        def add(link: str, reason: str) -> None:
            if len(problems) < MAX_PROBLEMS_PER_RESOURCE:
                problems.append(Problem(index, link, reason))

        def walk(nodes: list[Any]) -> None:
            for node in nodes:
                link = str(node.get("linkId", ""))
                if link in groups:
                    if node.get("answer"):
                        add(link, "a group or display item takes no answer")
                    walk(node.get("item") or [])
                    continue
                if link not in questions:
                    add(link, f"no item with this linkId in {inst.id}")
                    continue
                if node.get("item"):
                    add(link, "items nested under a question are not part of this questionnaire")
                if link in given:
                    add(link, "answered twice")
                    continue
                given[link] = list(node.get("answer") or [])

        walk(items)
        failed = {p.link_id for p in problems if p.index == index}
        for link, values in given.items():
            q_item, model = questions[link]
            if not values:
                continue
            try:
                converted = [
                    fr.answer_from_fhir(q_item, model, v, instrument_id=inst.id) for v in values
                ]
                if len(converted) > 1 and not getattr(model, "repeats", False):
                    raise fr.AnswerProblem(link, "several answers to an item that does not repeat")
                value = converted if getattr(model, "repeats", False) else converted[0]
                answers[model.id] = _validated(model, value)
            except fr.AnswerProblem as exc:
                add(link, exc.reason)
                failed.add(link)
        for model in inst.questions:
            link = fr.link_id(model)
            enabled = _enabled(model, answers)
            if model.id in answers and not enabled:
                add(link, "answered, but the item is not enabled by the other answers")
            elif model.id not in answers and enabled and model.required and link not in failed:
                add(link, "required, but not answered")
        return answers


def _structure_link_ids(inst: Instrument) -> set[str]:
    """linkIds of the Questionnaire's groups and display items (they take no answer)."""
    found = set()
    stack = list(fr.questionnaire(inst, inst.languages[0])["item"])
    while stack:
        q_item = stack.pop()
        if q_item.get("type") in ("group", "display"):
            found.add(q_item["linkId"])
        stack.extend(q_item.get("item", []))
    return found


def _validated(model: Item, value: Any) -> Any:
    """The value as the model normalises it; AnswerProblem when the item cannot hold it."""
    check = getattr(model, "validate_answer", None)
    if check is not None:
        try:
            return check(value)
        except ValueError as exc:
            raise fr.AnswerProblem(fr.link_id(model), str(exc)) from None
    if not model.is_valid_answer(value):
        raise fr.AnswerProblem(fr.link_id(model), f"{value!r} is not a possible answer")
    return value


def _enabled(model: Item, answers: dict[str, Any]) -> bool:
    own = getattr(model, "is_enabled", None)
    if own is not None:
        return bool(own(answers))
    return responses.is_enabled(model, answers)
