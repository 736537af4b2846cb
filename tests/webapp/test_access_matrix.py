"""Access control as a matrix: every route × every role × own / other unit's / other
register's data, asserting allow or deny. A route missing from the tables below fails the
test, so a new page cannot go live without an access rule.

The world (``tests/webapp/conftest.py``): register A with units a1 and a2, register B with
unit b1; one user per role (clinician and unit lead at a1, register admin and methodologist
of A, a sysadmin, a user without a role) and a patient at each unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for

from tests.webapp.conftest import OTHER_REGISTER_PATIENT_ID, OTHER_UNIT_PATIENT_ID, OWN_PATIENT_ID

ROLES = (
    "anonymous",
    "no_role",
    "clinician",
    "unit_lead",
    "register_admin",
    "methodologist",
    "sysadmin",
)
SCOPES = ("own", "other_unit", "other_register")
ALL, REGISTER, UNIT = set(SCOPES), {"own", "other_unit"}, {"own"}
NATIONAL_IDS = {
    "own": OWN_PATIENT_ID,
    "other_unit": OTHER_UNIT_PATIENT_ID,
    "other_register": OTHER_REGISTER_PATIENT_ID,
}


@dataclass(frozen=True)
class Rule:
    """Who may use a route: role -> scopes allowed; ``ok`` is the status when allowed."""

    allowed: dict[str, set[str]]
    ok: int = 200
    data: dict[str, str] | None = None


SIGNED_IN = {r: ALL for r in ROLES if r != "anonymous"}
ADMINS = {"sysadmin": ALL, "register_admin": ALL}

# (endpoint, method) -> rule. Register-scoped roles (register_admin) reach both units of
# register A; unit roles reach their own unit only; sysadmin sees no patient data.
MATRIX: dict[tuple[str, str], Rule] = {
    ("clinician.index", "GET"): Rule(SIGNED_IN),
    ("clinician.account", "GET"): Rule(SIGNED_IN),
    ("clinician.account", "POST"): Rule(SIGNED_IN, ok=400, data={"action": "?"}),
    ("clinician.search", "POST"): Rule(
        {"clinician": UNIT, "unit_lead": UNIT, "register_admin": REGISTER}, ok=302
    ),
    ("clinician.patient", "GET"): Rule(
        {"clinician": UNIT, "unit_lead": UNIT, "register_admin": REGISTER}
    ),
    ("clinician.patient_summary", "GET"): Rule(
        {"clinician": UNIT, "unit_lead": UNIT, "register_admin": REGISTER}
    ),
    ("clinician.dashboard", "GET"): Rule({"unit_lead": UNIT, "register_admin": REGISTER}),
    ("clinician.dashboard_csv", "GET"): Rule({"unit_lead": UNIT, "register_admin": REGISTER}),
    ("clinician.indicators", "GET"): Rule({"unit_lead": REGISTER, "register_admin": REGISTER}),
    ("clinician.indicators_csv", "GET"): Rule({"unit_lead": REGISTER, "register_admin": REGISTER}),
    ("clinician.export_index", "GET"): Rule({"register_admin": ALL, "methodologist": ALL}),
    ("clinician.export_download", "POST"): Rule(
        {"register_admin": REGISTER, "methodologist": REGISTER}, data={"format": "csv"}
    ),
    # withdrawal from a register: its register admin only (POST unconfirmed: 400, no change)
    ("clinician.patient_withdraw", "GET"): Rule({"register_admin": REGISTER}),
    ("clinician.patient_withdraw", "POST"): Rule({"register_admin": REGISTER}, ok=400),
    # consent and contact on the patient page: its register admin only (empty POST: 400)
    ("clinician.consent_given", "POST"): Rule({"register_admin": REGISTER}, ok=400),
    ("clinician.consent_withdrawn", "POST"): Rule({"register_admin": REGISTER}, ok=400),
    ("clinician.patient_phone", "POST"): Rule({"register_admin": REGISTER}, ok=400),
    # undoing a withdrawal: the world has none (the page says so; POST: 400, no change)
    ("clinician.patient_reinstate", "GET"): Rule({"register_admin": REGISTER}),
    ("clinician.patient_reinstate", "POST"): Rule({"register_admin": REGISTER}, ok=400),
    # the register's withdrawals and the lookup for a reinstatement (no number: 400)
    ("clinician.register_withdrawals", "GET"): Rule({"register_admin": REGISTER}),
    ("clinician.register_withdrawals", "POST"): Rule({"register_admin": REGISTER}, ok=400),
    ("clinician.coverage_page", "GET"): Rule({"unit_lead": REGISTER, "register_admin": REGISTER}),
    ("clinician.unit_month_report", "GET"): Rule({"unit_lead": UNIT, "register_admin": REGISTER}),
    ("clinician.analysis_page", "GET"): Rule({"register_admin": ALL, "methodologist": ALL}),
    # aggregate query without a register chosen: 400 once past the access rule
    ("clinician.analysis_page", "POST"): Rule(
        {"register_admin": ALL, "methodologist": ALL}, ok=400
    ),
    ("admin.instruments", "GET"): Rule(ADMINS),
    ("admin.instrument", "GET"): Rule(ADMINS),
    ("admin.audit_log", "GET"): Rule(ADMINS),
    ("admin.users_page", "GET"): Rule(ADMINS),  # register admins: their register's accounts
    ("admin.users_page", "POST"): Rule({"sysadmin": ALL}, ok=400, data={"email": "x"}),
    ("admin.user_active", "POST"): Rule({"sysadmin": ALL}, ok=302, data={"active": "1"}),
    # the world's accounts are approved already: 400 once past the access rule
    ("admin.user_approve", "POST"): Rule({"sysadmin": ALL, "register_admin": REGISTER}, ok=400),
}

# Routes without a login. Patient pages are opened by the invitation token (a credential
# of its own: tested in test_patient_links.py); the rest hold no personal data.
PUBLIC = {
    ("patient.home", "GET"),
    ("patient.entry", "GET"),
    ("patient.start", "GET"),
    ("patient.start", "POST"),
    ("patient.page", "GET"),
    ("patient.page", "POST"),
    ("patient.review", "GET"),
    ("patient.submit", "POST"),
    ("patient.thanks", "GET"),
    ("patient.adaptive_item", "GET"),  # item-bank pages: the invitation token, as page
    ("patient.adaptive_item", "POST"),
    ("api.instruments", "GET"),
    ("api.instrument_fhir", "GET"),
    ("health.healthz", "GET"),
    ("static", "GET"),
    ("clinician.login", "GET"),
    ("clinician.login", "POST"),
    ("clinician.logout", "POST"),
    ("clinician.second_factor", "GET"),
    ("clinician.second_factor", "POST"),
    ("clinician.set_language", "GET"),  # sets the staff language cookie only
    # The FHIR API: bearer tokens per register, never a staff session (a cookie alone
    # gets 401); every route x token scope is tested in test_fhir_api.py.
    ("fhir.metadata", "GET"),
    ("fhir.questionnaire_search", "GET"),
    ("fhir.questionnaire_read", "GET"),
    ("fhir.response_search", "GET"),
    ("fhir.response_read", "GET"),
    ("fhir.response_create", "POST"),
    ("fhir.observation_search", "GET"),
    ("fhir.observation_read", "GET"),
    *(("fhir.unknown", m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")),
}


def _routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _values(world, scope: str) -> dict[str, object]:
    unit = {"own": "unit-a1", "other_unit": "unit-a2", "other_register": "unit-b1"}[scope]
    register = "reg-b" if scope == "other_register" else "reg-a"
    return {
        "patient_id": world.patients[scope],
        "unit_name": unit,
        "register_name": register,
        "register_id": world.registers["b" if scope == "other_register" else "a"],
        "user_id": world.users["clinician_b" if scope == "other_register" else "clinician"],
        "instrument_id": "odi",
        "token": "x" * 22,
        "page": 0,
        "filename": "css/app.css",
        "month": "2026-11",
    }


def test_every_route_has_a_rule(app):
    unknown = sorted(
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in _routes(app)
        if (rule.endpoint, method) not in MATRIX and (rule.endpoint, method) not in PUBLIC
    )
    assert not unknown, "routes without an access rule in this test: " + ", ".join(unknown)
    stale = sorted((set(MATRIX) | PUBLIC) - {(r.endpoint, m) for r, m in _routes(app)})
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_guarded_views_declare_their_rule(app):
    for rule, method in _routes(app):
        if (rule.endpoint, method) in MATRIX:
            declared = getattr(app.view_functions[rule.endpoint], "access_rule", "")
            assert declared and not declared.startswith("public"), rule.endpoint


def test_matrix(app, world, login_as):
    clients = {"anonymous": app.test_client()}
    for role in ROLES[1:]:
        clients[role] = app.test_client()
        client = login_as(role)
        clients[role].set_cookie("openprom_session", client.get_cookie("openprom_session").value)
    failures = []
    for rule, method in _routes(app):
        expected = MATRIX.get((rule.endpoint, method))
        if expected is None:
            continue
        for scope in SCOPES:
            with app.test_request_context():
                values = _values(world, scope)
                url = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
            data = dict(expected.data or {})
            if rule.endpoint == "clinician.search":
                data["national_id"] = NATIONAL_IDS[scope]
            for role in ROLES:
                client = clients[role]
                response = client.open(url, method=method, data=data)
                if role == "anonymous":
                    ok = response.status_code == 302 and "/clinician/login" in response.location
                elif scope in expected.allowed.get(role, set()):
                    ok = response.status_code == expected.ok
                else:
                    ok = response.status_code in (403, 404)
                if not ok:
                    failures.append(
                        f"{role:15} {scope:15} {method} {url} -> {response.status_code}"
                    )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES[1:])
def test_patient_links_ignore_staff_sessions(app, world, login_as, role):
    """A staff session gives no access to patient pages: the token decides."""
    client = login_as(role)
    response = client.get("/s/" + "x" * 22)
    assert response.status_code == 404
