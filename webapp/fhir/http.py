"""FHIR HTTP plumbing: ``application/fhir+json`` responses, OperationOutcome, bearer tokens."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Response, g, request

from webapp.extensions import db
from webapp.models import ApiToken, utcnow

FHIR_JSON = "application/fhir+json"
LAST_USED_STEP_SECONDS = 300  # last_used_at is written at most every 5 minutes


def fhir_response(
    resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``resource`` as ``application/fhir+json`` (UTF-8)."""
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    response = Response(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def operation_outcome(issues: Iterable[tuple[str, str, str | None]]) -> dict[str, Any]:
    """An OperationOutcome of (code, diagnostics, expression or None) error issues."""
    entries = []
    for code, diagnostics, expression in issues:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
        if expression:
            issue["expression"] = [expression]
        entries.append(issue)
    return {"resourceType": "OperationOutcome", "issue": entries}


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error answer: one OperationOutcome issue."""
    return fhir_response(operation_outcome([(code, message, None)]), status, headers)


def _bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def requires_token(*scopes: str) -> Callable[..., Any]:
    """Require a live bearer token with one of ``scopes`` (any scope when none given).

    The staff session cookie is never looked at. No or an unknown/revoked token: 401 with
    ``WWW-Authenticate: Bearer``; a token of another scope: 403. Sets ``g.api_token``.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from webapp.services import api_tokens

            token = api_tokens.find(_bearer_secret())
            if token is None:
                challenge = {"WWW-Authenticate": 'Bearer realm="openprom-fhir"'}
                return error(401, "login", "a valid bearer token is required", challenge)
            if scopes and token.scope not in scopes:
                return error(
                    403, "forbidden", f"this token's scope ({token.scope}) does not allow this"
                )
            _touch(token)
            g.api_token = token
            return view(*args, **kwargs)

        wrapper.access_rule = f"bearer token: {' or '.join(scopes) or 'any scope'}"  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _touch(token: ApiToken) -> None:
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or (now - last).total_seconds() > LAST_USED_STEP_SECONDS:
        token.last_used_at = now
        db.session.commit()


def actor_label(token: ApiToken) -> str:
    """How the audit log names an API token."""
    return f"api token {token.id}" + (f" ({token.label})" if token.label else "")
