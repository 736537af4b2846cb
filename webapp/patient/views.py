"""Patient views: thin glue between the invitation link, forms and services.

Every route under ``/s/<token>`` resolves the token first; an unknown, expired or used
token (and a client that failed too often) gets the same page with status 404.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import (
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import OperationalError

import instruments
from instruments import Instrument
from webapp.extensions import db
from webapp.http_policy import log_database_outage, record_refused
from webapp.i18n import LANGUAGE_NAMES, LANGUAGES, template_gettext
from webapp.models import utcnow
from webapp.patient import bp, prebuilt_pages
from webapp.patient.forms import (
    StartForm,
    cleaned_answers,
    page_form_class,
    posted_codes,
    unexpected_fields,
)
from webapp.patient.presenters import (
    insight_view,
    local_date,
    page_position,
    review_view,
    unit_contact,
)
from webapp.services import invitations, page_links, responses
from webapp.services.invitations import Access
from webapp.services.page_links import PageAccess
from webapp.services.patients import is_child

LANG_COOKIE = "openprom_lang"
LANG_COOKIE_AGE = 365 * 24 * 3600
NOT_FOUND = 404
CONFLICT = 409
BUSY = 503
TOO_MANY = 429
IDEM_KEY = re.compile(r"[0-9a-f]{32}")
START_FIELDS = frozenset({"csrf_token", "mode", "relation"})


@bp.context_processor
def _layout_context() -> dict[str, Any]:
    lang = g.get("lang", "nb")
    gettext = template_gettext()
    return {
        "_": gettext,
        "gettext": gettext,
        "lang": lang,
        "language_names": LANGUAGE_NAMES,
        "switch_url": request.path,
        "instrument_lang": lambda i: lang if lang in i.languages else "nb",
        "local_date": local_date,
    }


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    """Landing page: explains that questionnaires are opened from an invitation link."""
    _choose_language(None)
    return _render("patient/home.html")


def _unavailable():  # type: ignore[no-untyped-def]
    """The dead-link page: 404, or 429 once this client failed too often (same page)."""
    status = TOO_MANY if g.get("token_blocked") else NOT_FOUND
    response = make_response(render_template("patient/unavailable.html", switch_url="/"), status)
    response.headers["Cache-Control"] = "no-store"
    if status == TOO_MANY:
        response.headers["Retry-After"] = str(invitations.retry_after())
    return response


@bp.errorhandler(400)
def _not_saved(_exc):  # type: ignore[no-untyped-def]
    """A refused post (CSRF token missing or stale, a tampered form): say so calmly and
    offer to continue where the saved answers end (the link, not the refused page)."""
    record_refused(_exc)  # a CSRF failure is a security event (log line only: a patient)
    _choose_language(None)
    token = (request.view_args or {}).get("token")
    target = url_for("patient.entry", token=token) if token else None
    return _render("patient/not_saved.html", 400, continue_url=target)


@bp.errorhandler(OperationalError)
def _database_unavailable(_exc):  # type: ignore[no-untyped-def]
    """The database went away mid-request (restart, failover): nothing of this request was
    saved; say so calmly with 503 + Retry-After instead of a bare 500."""
    db.session.rollback()
    log_database_outage(_exc)
    _choose_language(None)
    token = (request.view_args or {}).get("token")
    target = url_for("patient.entry", token=token) if token else None
    page = _render("patient/not_saved.html", BUSY, continue_url=target)
    page.headers["Retry-After"] = "5"
    return page


@bp.errorhandler(413)
def _too_large(_exc):  # type: ignore[no-untyped-def]
    """A body above MAX_CONTENT_LENGTH (or too many form parts): nothing was saved."""
    record_refused(_exc)  # a security event (log line only: a patient)
    _choose_language(None)
    token = (request.view_args or {}).get("token")
    target = url_for("patient.entry", token=token) if token else None
    return _render("patient/too_large.html", 413, continue_url=target)


def _choose_language(invitation: Any) -> str:
    """UI language: ``?lang=``, else the cookie, else the invitation's, else bokmål."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        g.lang, g.remember_lang = asked, True
        if invitation is not None and invitation.language != asked:
            invitations.set_language(invitation.id, asked)
    elif request.cookies.get(LANG_COOKIE) in LANGUAGES:
        g.lang = request.cookies[LANG_COOKIE]
    elif invitation is not None and invitation.language in LANGUAGES:
        g.lang = invitation.language
    else:
        g.lang = "nb"
    return g.lang


def _remember_language(response):  # type: ignore[no-untyped-def]
    if g.get("remember_lang"):
        response.set_cookie(
            LANG_COOKIE,
            g.lang,
            max_age=LANG_COOKIE_AGE,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def _open(token: str) -> Access | None:
    """Resolve ``token``; None means the friendly 404 (429 for a client over the limit).

    A valid link is resolved first and never throttled; only a failed lookup touches the
    per-client failure counter.
    """
    access = invitations.resolve(token)
    if access is None:
        g.token_blocked = invitations.count_failure(request.remote_addr or "unknown")
    return access


def _open_page(token: str) -> PageAccess | None:
    """:func:`_open` for the question page: the link as small rows, no ORM objects."""
    access = page_links.resolve_page(token)  # outside a transaction, GET and POST alike
    if access is None:
        g.token_blocked = invitations.count_failure(request.remote_addr or "unknown")
    return access


def _text_language(instrument: Instrument) -> str:
    """The questionnaire's language: the UI language when the file has it, else bokmål."""
    return g.lang if g.lang in instrument.languages else "nb"


def _render(template: str, status: int = 200, **context: Any):  # type: ignore[no-untyped-def]
    html = render_template(template, **context)
    return _remember_language(make_response(html, status))


def _go(step: responses.Step, token: str):  # type: ignore[no-untyped-def]
    if step.kind == "start":
        return redirect(url_for("patient.start", token=token))
    if step.kind == "page":
        return redirect(
            url_for("patient.page", token=token, instrument_id=step.instrument_id, page=step.page)
        )
    if step.kind == "adaptive":  # an item bank, one adaptive item a page (patient/adaptive.py)
        return redirect(
            url_for("patient.adaptive_item", token=token, instrument_id=step.instrument_id)
        )
    return redirect(url_for("patient.review", token=token))


@bp.get("/s/<token>")
def entry(token: str):  # type: ignore[no-untyped-def]
    """The short link: continue where the patient left off, or show their results."""
    access = _open(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode == "insight":
        return _render("patient/insight.html", token=token, **insight_view(access.invitation))
    return _remember_language(_go(responses.next_step(access.invitation), token))


@bp.route("/s/<token>/start", methods=["GET", "POST"])
def start(token: str):  # type: ignore[no-untyped-def]
    """First screen: who answers (the patient or someone on their behalf)."""
    access = _open(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode == "insight":
        return redirect(url_for("patient.thanks", token=token))
    invitation = access.invitation
    existing = next(iter(responses.responses_of(invitation).values()), None)
    patient = invitation.enrolment.patient
    child = is_child(patient, utcnow().date())
    form = StartForm(
        data={"mode": existing.mode, "relation": existing.proxy_relation} if existing else None
    )
    form.child = child
    if request.method == "POST" and set(request.form) - START_FIELDS:
        abort(400)
    if form.validate_on_submit():
        responses.start(
            invitation,
            mode=form.mode.data,
            relation=form.relation.data if form.mode.data == "proxy" else None,
            language=g.lang,
        )
        return _go(responses.next_step(invitation), token)
    status = 422 if request.method == "POST" else 200
    return _render(
        "patient/start.html",
        status,
        form=form,
        token=token,
        who=invitation.enrolment.unit.title,
        child=child,
        steps=sum(
            responses.shown_pages(invitation, i) for i in responses.instruments_of(invitation)
        ),
    )


@bp.route("/s/<token>/q/<instrument_id>/<int:page>", methods=["GET", "POST"])
def page(token: str, instrument_id: str, page: int):  # type: ignore[no-untyped-def]
    """One questionnaire page: show it, or save its answers into the draft."""
    access = _open_page(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode == "insight":
        if request.method == "POST":  # a change from a tab left open: say it was not saved
            return _render("patient/already_sent.html", CONFLICT, token=token)
        return redirect(url_for("patient.thanks", token=token))
    invitation = access.invitation
    loaded = responses.loaded_responses(invitation)
    if not responses.reachable(invitation, instrument_id, page, loaded):
        return _go(responses.next_step(invitation), token)
    instrument = instruments.load(instrument_id)
    screen = instrument.screen_pages()[page]
    response = loaded[instrument_id]
    text_lang = _text_language(instrument)
    known = dict(response.answers or {})
    if request.method == "POST":
        known.update(posted_codes(request.form, screen, instrument))
    form_class = page_form_class(instrument, screen, text_lang, known)
    if request.method == "POST":
        extra = unexpected_fields(list(request.form.keys()), screen)
        if extra:
            abort(400)
        form = form_class()
        status = 422
        if form.validate():
            try:
                result = responses.save_page(
                    response,
                    instrument,
                    page,
                    cleaned_answers(form, instrument, screen),
                    idempotency_key=_page_key(response.id, page, form.idem.data),
                    language=text_lang,
                )
            except responses.ConcurrentEdit:
                return _busy(token)
            if result is responses.SaveResult.CLOSED:
                return _render("patient/already_sent.html", CONFLICT, token=token)
            if result is not responses.SaveResult.CONFLICT:
                if form.ret.data == "review":
                    return _go(responses.next_step(invitation), token)
                return _after(invitation, instrument, page, token)
            # the same key came back with other answers: show them again with a fresh key
            status = CONFLICT
            form.idem.data = secrets.token_hex(16)
    else:
        saved = {k: str(v) for k, v in (response.answers or {}).items() if k in screen.items}
        if prebuilt_pages.eligible(instrument, screen, token):
            return _prebuilt_page(form_class, invitation, instrument, page, token, saved)
        form = form_class(formdata=None, data={**saved, "ret": request.args.get("ret", "")})
        status = 200
    if not form.idem.data:
        form.idem.data = secrets.token_hex(16)
    return _render(
        "patient/page.html",
        status,
        form=form,
        conflict=status == CONFLICT,
        **_page_context(invitation, instrument, page, token),
    )


def _page_context(invitation: Any, instrument: Instrument, page: int, token: str) -> dict[str, Any]:
    """What the question page template needs besides the form and the conflict notice."""
    screen = instrument.screen_pages()[page]
    position, total = page_position(invitation, instrument.id, page)
    return {
        "token": token,
        "instrument": instrument,
        "screen": screen,
        "text_lang": _text_language(instrument),
        "position": position,
        "total": total,
        "back_url": _back_url(invitation, instrument, page, token),
        "vas": any(instrument.item(i).anchors for i in screen.items),
        "has_choice": any(instrument.item(i).type == "choice" for i in screen.items),
    }


def _prebuilt_page(  # type: ignore[no-untyped-def]
    form_class: type,
    invitation: Any,
    instrument: Instrument,
    page: int,
    token: str,
    saved: dict[str, str],
):
    """The question page GET from its prebuilt pieces (``prebuilt_pages``): the same HTML
    as the template renders, without rendering it or binding a form each time."""
    context = _page_context(invitation, instrument, page, prebuilt_pages.TOKEN_SLOT)
    switch_url = request.path.replace(f"/s/{token}/", f"/s/{prebuilt_pages.TOKEN_SLOT}/", 1)
    key = (
        form_class,
        g.lang,
        context["text_lang"],
        context["position"],
        context["total"],
        context["back_url"],
        switch_url,
        request.script_root,
    )

    def build() -> tuple[str, str]:
        probe = form_class(
            formdata=None,
            data={"ret": prebuilt_pages.RET_SLOT, "idem": prebuilt_pages.IDEM_SLOT},
        )
        rendered = render_template(
            "patient/page.html", form=probe, conflict=False, switch_url=switch_url, **context
        )
        return rendered, probe.csrf_token._value() if "csrf_token" in probe else ""

    pieces = prebuilt_pages.cache_of(current_app).get(key, build)
    html = prebuilt_pages.fill(
        pieces,
        token=token,
        csrf_token=generate_csrf,
        idem=secrets.token_hex(16),
        ret=request.args.get("ret", ""),
        answers=saved,
    )
    return _remember_language(make_response(html, 200))


def _busy(token: str):  # type: ignore[no-untyped-def]
    """Other saves kept changing the draft at the same moment: not saved, try again."""
    page = _render(
        "patient/not_saved.html", BUSY, continue_url=url_for("patient.entry", token=token)
    )
    page.headers["Retry-After"] = "1"
    return page


def _page_key(response_id: int, page: int, posted: str | None) -> str:
    """The stored idempotency key, scoped to response and page; a malformed one is replaced."""
    key = posted if posted and IDEM_KEY.fullmatch(posted) else secrets.token_hex(16)
    return f"{response_id}:{page}:{key}"


def _after(invitation: Any, instrument: Instrument, page: int, token: str):  # type: ignore[no-untyped-def]
    """After saving a page: the next page of this instrument, else wherever is next."""
    if page + 1 < len(instrument.screen_pages()):
        return redirect(
            url_for("patient.page", token=token, instrument_id=instrument.id, page=page + 1)
        )
    return _go(responses.next_step(invitation), token)


def _back_url(invitation: Any, instrument: Instrument, page: int, token: str) -> str:
    if page > 0:
        return url_for("patient.page", token=token, instrument_id=instrument.id, page=page - 1)
    ids = [i.id for i in responses.instruments_of(invitation)]
    index = ids.index(instrument.id)
    if index == 0:
        return url_for("patient.start", token=token)
    previous = instruments.load(ids[index - 1])
    return url_for(
        "patient.page",
        token=token,
        instrument_id=previous.id,
        page=len(previous.screen_pages()) - 1,
    )


@bp.get("/s/<token>/review")
def review(token: str):  # type: ignore[no-untyped-def]
    """Review of every answer before the final submit."""
    access = _open(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode == "insight":
        return redirect(url_for("patient.thanks", token=token))
    step = responses.next_step(access.invitation)
    if step.kind != "review":
        return _go(step, token)
    return _render("patient/review.html", token=token, **review_view(access.invitation))


@bp.post("/s/<token>/submit")
def submit(token: str):  # type: ignore[no-untyped-def]
    """Final submit: store the answers and scores; a repeated submit changes nothing."""
    access = _open(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode == "insight":
        return redirect(url_for("patient.thanks", token=token))
    try:
        responses.submit(access.invitation)
    except responses.SubmitError as exc:
        return redirect(
            url_for("patient.page", token=token, instrument_id=exc.instrument_id, page=exc.page)
        )
    except responses.ConcurrentEdit:
        return _busy(token)
    return redirect(url_for("patient.thanks", token=token))


@bp.get("/s/<token>/thanks")
def thanks(token: str):  # type: ignore[no-untyped-def]
    """Thank-you page after submitting, with the way to see one's own answers."""
    access = _open(token)
    _choose_language(access.invitation if access else None)
    if access is None:
        return _unavailable()
    if access.mode != "insight":
        return _go(responses.next_step(access.invitation), token)
    return _render(
        "patient/thanks.html",
        token=token,
        until=access.invitation.innsyn_until,
        who=access.invitation.enrolment.unit.title,
        contact=unit_contact(access.invitation.enrolment.unit),
    )
