"""FHIR API views: thin, the rules live in webapp.services (fhir_responses, fhir_import)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, request, url_for
from werkzeug.exceptions import HTTPException

import instruments
from webapp.auth import public
from webapp.extensions import db
from webapp.fhir import bp
from webapp.fhir.http import (
    FHIR_JSON,
    actor_label,
    error,
    fhir_response,
    operation_outcome,
    requires_token,
)
from webapp.fhir.search import SearchError, parse, parse_observation
from webapp.services import audit, fhir_responses
from webapp.services import fhir_resources as fr
from webapp.services.export import pseudonym_key
from webapp.services.fhir_import import IMPORT_MODES, Actor, ImportRefused, import_responses

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.after_request
def no_store(response: Response) -> Response:
    """Answers hold health data: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    """Errors inside the API (413, 400 ...) as OperationOutcome."""
    code = {400: "invalid", 404: "not-found", 405: "not-supported", 413: "too-costly"}
    return error(exc.code or 500, code.get(exc.code or 500, "exception"), exc.description or "")


@bp.errorhandler(Exception)
def unexpected(exc: Exception) -> Response:
    """Anything else: 500, nothing of the cause shown."""
    db.session.rollback()
    current_app.logger.error("fhir API error: %s", type(exc).__name__)
    return error(500, "exception", "internal error; nothing was stored")


@bp.route("/<path:rest>", methods=ANY_METHOD)
@public("nothing here: every unknown path under /fhir is a JSON 404")
def unknown(rest: str) -> Response:
    """Unknown resource types and interactions: 404 OperationOutcome."""
    return error(404, "not-found", "no such resource type or interaction")


@bp.get("/metadata")
@public("the CapabilityStatement holds no personal data")
def metadata() -> Response:
    """CapabilityStatement of this server."""
    return fhir_response(capability_statement(request.url_root.rstrip("/") + "/fhir"))


def capability_statement(base: str) -> dict[str, Any]:
    """What the API offers (R4, JSON, bearer tokens)."""
    reference = {"name": "questionnaire", "type": "reference"}
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": dt.date.today().isoformat(),
        "publisher": "openprom",
        "kind": "instance",
        "software": {"name": "openprom"},
        "implementation": {"description": "openprom FHIR API", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer tokens issued per register with scope read or"
                    " write (flask create-api-token); a staff session gives no access."
                },
                "resource": [
                    {
                        "type": "Questionnaire",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "url", "type": "uri"},
                            {"name": "version", "type": "token"},
                        ],
                    },
                    {
                        "type": "QuestionnaireResponse",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "create"},
                        ],
                        "searchParam": [
                            reference,
                            {"name": "authored", "type": "date"},
                            {
                                "name": "subject",
                                "type": "reference",
                                "documentation": "subject:identifier="
                                "urn:openprom:pseudonym|<pseudonym>",
                            },
                        ],
                    },
                    {
                        "type": "Observation",
                        "profile": "http://hl7.org/fhir/StructureDefinition/Observation",
                        "documentation": "Scores of completed responses (read-only), id"
                        " <response id>-<score name>.",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {
                                "name": "code",
                                "type": "token",
                                "documentation": "urn:openprom:score:<instrument>|<score>"
                                " or <score>",
                            },
                            {
                                "name": "derived-from",
                                "type": "reference",
                                "documentation": "QuestionnaireResponse/<id>",
                            },
                            {
                                "name": "subject",
                                "type": "reference",
                                "documentation": "subject:identifier="
                                "urn:openprom:pseudonym|<pseudonym>",
                            },
                        ],
                    },
                ],
            }
        ],
    }


def _questionnaires() -> dict[str, tuple[dict[str, Any], instruments.Instrument]]:
    found = {}
    for inst in sorted(instruments.load_all().values(), key=lambda i: i.id):
        q = fr.questionnaire(inst, inst.languages[0])
        found[q["id"]] = (q, inst)
    return found


def _bundle(resources: list[dict[str, Any]], total: int, links: list[dict[str, str]]) -> dict:
    base = request.url_root.rstrip("/") + "/fhir"
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


@bp.get("/Questionnaire")
@requires_token()
def questionnaire_search() -> Response:
    """Questionnaires of the bundled instruments, by ``url`` and ``version``."""
    unknown = sorted(set(request.args) - {"url", "version", "_format"})
    if unknown:
        return error(400, "not-supported", f"unknown search parameter(s): {', '.join(unknown)}")
    url, version = request.args.get("url"), request.args.get("version")
    found = [
        q
        for q, inst in _questionnaires().values()
        if (url is None or q.get("url") == url) and (version is None or q.get("version") == version)
    ]
    return fhir_response(_bundle(found, len(found), [{"relation": "self", "url": request.url}]))


@bp.get("/Questionnaire/<qid>")
@requires_token()
def questionnaire_read(qid: str) -> Response:
    """One Questionnaire by id."""
    found = _questionnaires().get(qid)
    if found is None:
        return error(404, "not-found", f"no Questionnaire {qid}")
    return fhir_response(found[0])


def _audit_reads(
    found: list[fhir_responses.FoundResponse] | list[fhir_responses.FoundObservation],
    action: str,
) -> None:
    """One audit event per patient read; Observation reads also name the observations."""
    token = g.api_token
    by_patient: dict[int, dict[str, list[Any]]] = {}
    for item in found:
        details = by_patient.setdefault(item.patient_id, {"responses": []})
        if item.response_id not in details["responses"]:
            details["responses"].append(item.response_id)
        if isinstance(item, fhir_responses.FoundObservation):
            details.setdefault("observations", []).append(item.resource["id"])
    for patient_id, details in by_patient.items():
        audit.record(
            action,
            actor_type="api",
            actor_id=token.id,
            actor_label=actor_label(token),
            patient_id=patient_id,
            subject=f"register:{token.register.name}",
            details=details,
        )
    db.session.commit()


@bp.get("/QuestionnaireResponse/<rid>")
@requires_token("read")
def response_read(rid: str) -> Response:
    """One completed QuestionnaireResponse of the token's register."""
    if not (rid.isascii() and rid.isdigit()) or len(rid) > 12:
        return error(404, "not-found", f"no QuestionnaireResponse {rid}")
    key = pseudonym_key(g.api_token.register)
    found = fhir_responses.read(g.api_token.register_id, int(rid), key)
    if found is None:
        return error(404, "not-found", f"no QuestionnaireResponse {rid}")
    _audit_reads([found], "fhir.read")
    return fhir_response(found.resource)


@bp.get("/QuestionnaireResponse")
@requires_token("read")
def response_search() -> Response:
    """Search the token's register: questionnaire, authored, subject:identifier (pseudonym)."""
    return _search(parse, fhir_responses.search)


def _search(parse_args: Callable[..., Any], run: Callable[..., tuple[list[Any], int]]) -> Response:
    """Parse the search parameters, resolve a pseudonym to patients, search, audit, bundle."""
    try:
        criteria, alias, count, offset, possible = parse_args(request.args)
    except SearchError as exc:
        return error(400, "invalid", str(exc))
    register_id = g.api_token.register_id
    key = pseudonym_key(g.api_token.register)
    if alias is not None:
        patients = fhir_responses.patients_with_pseudonym(register_id, alias, key)
        criteria = dataclasses.replace(criteria, patient_ids=patients)
    found: list[Any] = []
    total = 0
    if possible:
        found, total = run(register_id, criteria, key, count=count, offset=offset)
    _audit_reads(found, "fhir.search")
    links = _next_link(offset, count, len(found), total)
    return fhir_response(_bundle([f.resource for f in found], total, links))


def _next_link(offset: int, count: int, shown: int, total: int) -> list[dict[str, str]]:
    links = [{"relation": "self", "url": request.url}]
    if offset + shown < total:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "_offset"]
        args.append(("_offset", str(offset + count)))
        links.append({"relation": "next", "url": f"{request.base_url}?{urlencode(args)}"})
    return links


@bp.get("/Observation/<oid>")
@requires_token("read")
def observation_read(oid: str) -> Response:
    """One score Observation (``<response id>-<score>``) of the token's register."""
    key = pseudonym_key(g.api_token.register)
    found = fhir_responses.read_observation(g.api_token.register_id, oid, key)
    if found is None:
        return error(404, "not-found", f"no Observation {oid[:80]}")
    _audit_reads([found], "fhir.read")
    return fhir_response(found.resource)


@bp.get("/Observation")
@requires_token("read")
def observation_search() -> Response:
    """Search the token's register's scores: code, derived-from, subject:identifier."""
    return _search(parse_observation, fhir_responses.search_observations)


def _mode(resource: Any) -> str:
    for ext in resource.get("extension", []) if isinstance(resource, dict) else []:
        if isinstance(ext, dict) and ext.get("url") == fr.EXT_MODE:
            return str(ext.get("valueCode"))
    return "external"


@bp.post("/QuestionnaireResponse")
@requires_token("write")
def response_create() -> Response:
    """Create one QuestionnaireResponse (the rules of ``flask import-responses``)."""
    resource = request.get_json(silent=True, force=True)
    if not isinstance(resource, dict):
        return error(400, "structure", "the body must be one QuestionnaireResponse (JSON)")
    mode = _mode(resource)
    if mode not in IMPORT_MODES:
        return error(422, "value", f"mode extension: {mode!r} is not one of {IMPORT_MODES}")
    token = g.api_token
    actor = Actor("api", token.id, actor_label(token))
    try:
        report = import_responses(
            [(1, resource)], token.register, mode=mode, actor=actor, source="api"
        )
    except ImportRefused as exc:
        issues = [
            (
                "invalid",
                f"{p.link_id + ': ' if p.link_id else ''}{p.reason}",
                f"QuestionnaireResponse.item.where(linkId='{p.link_id}')" if p.link_id else None,
            )
            for p in exc.problems
        ]
        return fhir_response(operation_outcome(issues), 422)
    (response_id,) = report.response_ids or (None,)
    key = pseudonym_key(g.api_token.register)
    found = fhir_responses.read(token.register_id, response_id, key) if response_id else None
    if found is None:  # a repeat of a resource sent before whose response is gone
        return error(409, "duplicate", "this resource was imported before")
    location = url_for("fhir.response_read", rid=str(response_id), _external=True)
    return fhir_response(found.resource, 200 if report.duplicates else 201, {"Location": location})
