"""Hostile input never gives a server error: odd digits, huge numbers, NUL bytes, any text.

Hypothesis posts arbitrary values into every field of every patient page type (start, a
choice page, the EQ VAS integer page, a grouped RAND-36 page, ODI) and every staff form,
on SQLite and PostgreSQL. No response may be >= 500, and a refused patient post leaves
the saved draft exactly as it was. (CSRF is off here; it has its own tests.)
"""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Register, Response, User
from webapp.national_id import InvalidNationalId, validate
from webapp.services import auth
from webapp.whole_numbers import parse_whole_number

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Digits that str.isdigit() or int() accept but that are not ASCII, and int()'s limits.
ODD_DIGITS = [
    "²", "³", "¹", "③", "⑩", "３", "１２", "٣", "۷", "१", "𝟘", "1_0", "0x1", "1e3", "+3", " 3 ",
    "-", "--1", "3.0", "\x00", "1\x00", "\x003", "9" * 4301, "-" + "9" * 5000, "³" * 11,
    "9" * 25, "1" * 7, "\u200b1",
]
# Text without an 11-digit run, so a URL never happens to hold a valid national ID.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40).filter(
    lambda s: not any(len(run) == 11 for run in _digit_runs(s))
)
HOSTILE = st.one_of(
    st.sampled_from(ODD_DIGITS),
    ANY_TEXT,
    st.from_regex(r"-?[0-9²³③３٣]{1,10}", fullmatch=True),
    st.integers(4290, 6000).map(lambda n: "9" * n),
    st.integers(-(10**30), 10**30).map(str).filter(lambda s: len(s.lstrip("-")) != 11),
)


def _digit_runs(text: str) -> list[str]:
    runs, run = [], ""
    for ch in text:
        if ch.isdigit():
            run += ch
        else:
            runs.append(run)
            run = ""
    return [*runs, run]


def _fields(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """A form: each of ``names`` hostile or left out."""
    return st.fixed_dictionaries({}, optional={name: HOSTILE for name in names})


@pytest.fixture
def app(database_url, app_factory):  # type: ignore[no-untyped-def]
    """The app on SQLite and on PostgreSQL (overrides the SQLite-only ``app``)."""
    return app_factory(database_url, WTF_CSRF_ENABLED=False)


# --- patient pages -------------------------------------------------------------------


@pytest.fixture
def patient(app, client):  # type: ignore[no-untyped-def]
    """A patient who has answered EQ-5D-5L, ODI and the first RAND-36 page (all reachable)."""
    with app.app_context():
        support.make_protocol(("eq5d5l", "odi", "rand36"))
        enrolled = support.enrol_patient()
    support.answer_everything(client, enrolled.token)
    first = client.post(f"/s/{enrolled.token}/q/rand36/0", data={"q01": "1", "q02": "1"})
    assert first.status_code == 302, first.status_code
    return enrolled


def _drafts(app, invitation_id: int) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.query(Response).filter_by(invitation_id=invitation_id).all()
        return {
            r.instrument_id: (dict(r.answers or {}), r.mode, r.proxy_relation, r.current_page)
            for r in rows
        }


def _post_and_check(app, client, patient, url: str, data: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Post ``data``: never >= 500; refused leaves the draft as it was, saved stores ASCII
    whole numbers only."""
    before = _drafts(app, patient.invitation_id)
    response = client.post(url, data=data)
    assert response.status_code < 500, (response.status_code, data)
    after = _drafts(app, patient.invitation_id)
    if response.status_code not in (302, 303):
        assert response.status_code in (400, 422), response.status_code
        assert after == before, "a refused post changed the saved draft"
    elif "/q/" in url:
        instrument_id = url.split("/q/")[1].split("/")[0]
        for item, value in data.items():
            if item not in ("idem", "ret"):
                saved = after[instrument_id][0].get(item)
                assert saved == parse_whole_number(value), (item, value)


RAND36_PAGE1 = ["q03", "q04", "q05", "q06"]  # the first screen of the activities group
# page type -> (path under /s/<token>, the form's fields)
PATIENT_PAGES = {
    "start": ("start", ["mode", "relation"]),
    "choice": ("q/eq5d5l/0", ["MO", "idem", "ret"]),
    "eq-vas-integer": ("q/eq5d5l/5", ["VAS", "idem", "ret"]),
    "rand36-grouped": ("q/rand36/1", [*RAND36_PAGE1, "idem"]),
    "odi": ("q/odi/0", ["q01", "idem"]),
}


@settings(FUZZ, max_examples=150)
@given(page=st.sampled_from(sorted(PATIENT_PAGES)), draw=st.data())
def test_patient_pages_refuse_hostile_input_calmly(app, client, patient, page, draw):
    path, fields = PATIENT_PAGES[page]
    data = draw.draw(_fields(fields), label="form")
    _post_and_check(app, client, patient, f"/s/{patient.token}/{path}", data)


def test_superscript_digit_on_the_vas_page_is_a_calm_422(app, client, patient):
    before = _drafts(app, patient.invitation_id)
    for value in ("³", "３", "9" * 5000):
        response = client.post(f"/s/{patient.token}/q/eq5d5l/5", data={"VAS": value})
        assert response.status_code == 422
        assert "Skriv et helt tall fra 0 til 100" in response.get_data(as_text=True)
    choice = client.post(f"/s/{patient.token}/q/eq5d5l/0", data={"MO": "²"})
    assert choice.status_code == 422
    assert _drafts(app, patient.invitation_id) == before


# --- staff forms ---------------------------------------------------------------------


def _ok(response, data) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, (response.status_code, data)


@pytest.fixture
def staff(app, world, login_as):  # type: ignore[no-untyped-def]
    """Signed-in clients by role, one halfway (owes the second factor), and a register id."""
    clients = {key: login_as(key) for key in ("clinician",)}
    for key in ("unit_lead", "register_admin", "sysadmin"):
        clients[key] = app.test_client()
        with app.app_context():
            token = auth.start_session(db.session.get(User, world.users[key]), None)
            db.session.commit()
        clients[key].set_cookie("openprom_session", token)
    with app.app_context():
        user = db.session.get(User, world.users["clinician_b"])
        secret = pyotp.random_base32()
        assert auth.enable_totp(user, secret, pyotp.TOTP(secret).now())
        db.session.commit()
        token = auth.start_session(user, None)
        db.session.commit()
        register_id = db.session.query(Register).filter_by(name="reg-a").one().id
    clients["halfway"] = app.test_client()
    clients["halfway"].set_cookie("openprom_session", token)
    clients["anonymous"] = app.test_client()
    return clients, register_id


ACTIONS = st.sampled_from(["password", "totp-on", "totp-off"]) | HOSTILE
ROLES = st.sampled_from(["clinician", "unit_lead", "sysadmin"]) | HOSTILE
ACCOUNT_FIELDS = ["pw-current", "pw-new", "pw-repeat", "totp-secret", "totp-code", "off-password"]
# form -> (who, method, path, fields strategy); "{register}" is the export register's id
STAFF_FORMS = {
    "login": ("anonymous", "POST", "/clinician/login", _fields(["email", "password"])),
    "second factor": ("halfway", "POST", "/clinician/second-factor", _fields(["code"])),
    "patient search": (
        "clinician", "POST", "/clinician/patients/search", _fields(["national_id"])
    ),
    "account": (
        "clinician", "POST", "/clinician/account",
        st.builds(lambda a, d: {"action": a, **d}, ACTIONS, _fields(ACCOUNT_FIELDS)),
    ),
    "user creation": (
        "sysadmin", "POST", "/admin/users",
        st.builds(lambda r, d: {"role": r, **d}, ROLES, _fields(["email", "unit", "register"])),
    ),
    "audit filter": (
        "sysadmin", "GET", "/admin/audit", _fields(["action", "patient_id", "actor", "since"])
    ),
    "dashboard year": (
        "unit_lead", "GET", "/clinician/units/unit-a1/dashboard", _fields(["year"])
    ),
    "dashboard csv year": (
        "unit_lead", "GET", "/clinician/units/unit-a1/dashboard.csv", _fields(["year"])
    ),
    "export": (
        "register_admin", "POST", "/clinician/export/{register}",
        st.fixed_dictionaries(
            {"lang": st.sampled_from(["nb", "en"]) | HOSTILE},
            optional={"format": st.lists(st.sampled_from(["csv"]) | HOSTILE, max_size=3)},
        ),
    ),
}


@settings(FUZZ, max_examples=200)
@given(form=st.sampled_from(sorted(STAFF_FORMS)), draw=st.data())
def test_staff_forms_refuse_hostile_input_calmly(staff, form, draw):
    clients, register_id = staff
    who, method, path, fields = STAFF_FORMS[form]
    data = draw.draw(fields, label="form")
    path = path.format(register=register_id)
    if method == "GET":
        response = clients[who].get(path, query_string=data)
    else:
        response = clients[who].post(path, data=data)
    assert response.status_code < 500, (response.status_code, form, data)
    assert response.headers["Cache-Control"] == "no-store"
    if form == "patient search":
        assert response.status_code in (400, 404), response.status_code
    if form.startswith("dashboard") and data.get("year"):
        year = parse_whole_number(data["year"], max_digits=4, signed=False)
        if not (year and 1900 <= year <= 2999):
            assert response.status_code == 400, (data, response.status_code)


# --- national IDs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "³" * 11, "1784581000³", "１７８４５８１０００１", "١٧٨٤٥٨١٠٠٠١", "9" * 5000,
        "1" * 5000 + "³",
    ],
)
def test_national_id_rejects_non_ascii_digits_and_huge_strings(raw):
    with pytest.raises(InvalidNationalId) as caught:
        validate(raw)
    assert caught.value.reason in ("non_digit", "length")


def test_national_id_still_accepts_the_usual_forms():
    assert validate(support.PATIENT_ID).value == support.PATIENT_ID
    assert validate("178458 10001").value == support.PATIENT_ID
