"""Staff pages in the staff language (issue #12, point 10): every staff page renders in
bokmål, nynorsk and English, and the English page carries none of a list of bokmål words
that only the old, untranslated texts used."""

from __future__ import annotations

import pytest

from tests.webapp.test_dashboard import INDICATORS, qi  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.models import RoleAssignment, User
from webapp.services import audit, security_events
from webapp.services.auth import start_session

# Words of the former bokmål-only staff texts (none is English, none is in the test data).
BOKMAL_TELLTALES = (
    "Velkommen",
    "Finn pasient",
    "Oppslaget logges",
    "Resultater",
    "resultater",
    "Kvalitetsindikatorer",
    "kvalitetsindikatorer",
    "Denne enheten",
    "Hele registeret",
    "Svarandel",
    "Last ned",
    "Indeksår",
    "Alle år",
    "Skårer",
    "Fordeling",
    "Oppfølging",
    "måloppnåelse",
    "Måloppnåelse",
    "Celler med færre",
    "Min konto",
    "Bytt passord",
    "Totrinnsinnlogging",
    "Nåværende passord",
    "Administrasjon",
    "Brukere",
    "Tilgangslogg",
    "Skjema og lisenser",
    "Uttrekk",
    "høyere er",
    "Revisjonslogg",
    "Hvem",
    "Detaljer",
    "Ingen hendelser",
    "skrev ut",
    "Mislykket",
    "feil passord",
    "Ny bruker",
    "Godkjenn",
    "Rettighetshaver",
    "Skåring",
    "venter på",
    "Logg inn",
    "Pseudonymisert",
    "Formater",
)

# page key -> (user key of the qi world, path, a bokmål text, its nynorsk, its English)
PAGES = {
    "start": ("admin", "/clinician/", "Finn pasient", "Finn pasient", "Find a patient"),
    "dashboard": (
        "lead_1",
        "/clinician/units/qi-1/dashboard",
        "Hele registeret",
        "Heile registeret",
        "Whole register",
    ),
    "indicators": (
        "admin",
        "/clinician/registers/qi-reg/indicators",
        "Moderat måloppnåelse",
        "Moderat måloppnåing",
        "Moderate target achievement",
    ),
    "account": ("lead_1", "/clinician/account", "Min konto", "Kontoen min", "My account"),
    "users": ("sysadmin", "/admin/users", "Ny bruker", "Ny brukar", "New user"),
    "export": (
        "method",
        "/clinician/export",
        "Språk for etiketter",
        "Språk for etikettar",
        "Language of the labels",
    ),
    "instruments": (
        "admin",
        "/admin/instruments",
        "Skjema og lisenser",
        "Skjema og lisensar",
        "Forms and licences",
    ),
    "instrument": ("admin", "/admin/instruments/odi", "Rettighetshaver:", "Rettshavar:", "Holder:"),
    "audit": (
        "sysadmin",
        "/admin/audit",
        "skrev ut sammendraget",
        "skreiv ut samandraget",
        "printed the summary",
    ),
}


@pytest.fixture
def staff(app, qi):  # noqa: F811
    """The qi world's users plus a sysadmin, and two audit events to show in words."""
    with app.app_context():
        sysadmin = User(email="sys@qi.test", display_name="sys@qi.test", password_hash="x")
        sysadmin.roles.append(RoleAssignment(role="sysadmin"))
        db.session.add(sysadmin)
        db.session.flush()
        audit.record_by(sysadmin, "patient.print", patient_id=1)
        security_events.record(
            "login.failed", email="lead1@qi.test", details={"reason": "password"}
        )
        db.session.commit()
        return {**qi, "sysadmin": sysadmin.id}


def _get(app, user_id: int, path: str, lang: str) -> str:  # type: ignore[no-untyped-def]
    client = app.test_client()
    with app.app_context():
        client.set_cookie("openprom_session", start_session(db.session.get(User, user_id), None))
        db.session.commit()
    client.set_cookie("openprom_staff_lang", lang)
    page = client.get(path)
    assert page.status_code == 200, (path, lang, page.status_code)
    return page.get_data(as_text=True)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_staff_page_in_each_language(app, staff, page):
    user, path, nb, nn, en = PAGES[page]
    assert nb in _get(app, staff[user], path, "nb")
    assert nn in _get(app, staff[user], path, "nn")
    english = _get(app, staff[user], path, "en")
    assert en in english
    # the charts (titles, legends, band names) included
    leftovers = [word for word in BOKMAL_TELLTALES if word in english]
    assert not leftovers, (page, leftovers)


def test_target_levels_in_words_per_language(app, qi):  # noqa: F811
    # the demo targets of INDICATORS: high 0.70, moderate 0.55 (improved, higher is better)
    assert "high: 0.70, moderate: 0.55" in INDICATORS
    path = "/clinician/registers/qi-reg/indicators"
    assert "høy ≥ 70 %, moderat ≥ 55 %" in _get(app, qi["admin"], path, "nb")
    assert "høg ≥ 70 %, moderat ≥ 55 %" in _get(app, qi["admin"], path, "nn")
    assert "high ≥ 70 %, moderate ≥ 55 %" in _get(app, qi["admin"], path, "en")


def test_security_events_in_words_per_language(app, staff):
    # a failed sign-in with a wrong password, as security_events writes it
    words = {
        "nb": "Mislykket innlogging",
        "nn": "Mislukka innlogging",
        "en": "Failed sign-in",
    }
    reasons = {"nb": "feil passord", "nn": "feil passord", "en": "wrong password"}
    for lang in ("nb", "nn", "en"):
        html = _get(app, staff["sysadmin"], "/admin/audit?action=security.", lang)
        assert words[lang] in html and reasons[lang] in html, lang


@pytest.mark.parametrize(
    ("lang", "title"), [("nb", "Logg inn"), ("nn", "Logg inn"), ("en", "Sign in")]
)
def test_sign_in_page_in_each_language(client, lang, title):
    client.set_cookie("openprom_staff_lang", lang)
    html = client.get("/clinician/login").get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html
    if lang == "en":
        assert "Passord" not in html and "E-post" not in html
