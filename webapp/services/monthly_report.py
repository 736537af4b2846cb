"""The monthly unit report (as Rapporteket sends it): the unit dashboard's numbers as of
the end of a month, with coverage, PROM completeness and each indicator's funnel position.

Everything comes from the dashboard's aggregates (:func:`webapp.services.unit_report.
unit_report` with ``now`` = the first moment of the next month, so invitations count as
due or closed by their dates at the end of the month) and from
:mod:`webapp.services.coverage`; cells with n below 5 are suppressed as on the dashboard.
Funnel positions: :func:`scoring.funnel.funnel` (Spiegelhalter 2005, exact binomial
limits) over every unit's value of the indicator, all years.

Language: the report is built and rendered in the language of the moment (the staff
language on the web, bokmål in the CLI); :func:`in_language` switches to another one (the
monthly e-mail is written in each unit lead's stored ``User.language``, else bokmål).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from babel.dates import format_date
from flask import g
from flask_babel import force_locale
from flask_babel import gettext as _

from scoring.funnel import funnel
from webapp.i18n import DEFAULT_LANGUAGE, FORMAT_LOCALES, LANGUAGES, current_language
from webapp.models import Unit, utcnow
from webapp.services import coverage, unit_report
from webapp.services.charts import funnel_chart
from webapp.services.dashboard import MIN_CELL
from webapp.services.funnel_view import position_words

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


@contextmanager
def in_language(lang: str | None) -> Iterator[str]:
    """Texts, labels and numbers in ``lang`` (bokmål when None or unknown) inside the
    block: sets ``g.lang`` (read by :func:`webapp.i18n.current_language`) and Flask-Babel's
    locale, and puts both back afterwards. Needs an app context."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    before = g.get("lang")
    g.lang = lang
    try:
        with force_locale(lang):
            yield lang
    finally:
        if before is None:
            g.pop("lang", None)
        else:
            g.lang = before


class MonthError(ValueError):
    """A month that is not YYYY-MM, or that has not begun."""


@dataclass(frozen=True)
class FunnelRow:
    """The unit's place among the register's units for one indicator (all years)."""

    indicator: str
    k: int
    n: int
    target: float
    lower95: float
    upper95: float
    lower998: float
    upper998: float
    position: str
    svg: str = ""  # the funnel plot of every unit, this unit labelled
    text: str = ""  # the position in words, in the report's language


@dataclass
class MonthlyReport:
    """Everything the monthly report shows."""

    month: str
    month_title: str
    as_of: dt.datetime
    dashboard: unit_report.UnitReport
    coverage: list[coverage.CoverageRow] = field(default_factory=list)
    completeness: list[coverage.Completeness] = field(default_factory=list)
    funnels: list[FunnelRow] = field(default_factory=list)
    min_cell: int = MIN_CELL
    lang: str = DEFAULT_LANGUAGE  # the language it was built in (``<html lang>``)


def parse_month(text: str, now: dt.datetime | None = None) -> tuple[dt.date, dt.datetime]:
    """(first day, first moment of the next month in UTC) of ``YYYY-MM``."""
    match = MONTH.fullmatch(text or "")
    if match is None or not 1 <= int(match[2]) <= 12:
        raise MonthError(f"--month must look like 2026-11 (got {text!r})")
    first = dt.date(int(match[1]), int(match[2]), 1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    if first > (now or utcnow()).date():
        raise MonthError(f"{text} has not begun yet")
    return first, dt.datetime.combine(following, dt.time(), dt.UTC)


def month_title(first: dt.date, lang: str | None = None) -> str:
    """``november 2026`` (``November 2026`` in English); ``lang`` defaults to the current
    language."""
    lang = lang if lang in LANGUAGES else current_language()
    return format_date(first, "LLLL y", locale=FORMAT_LOCALES[lang])


def _funnels(report: unit_report.UnitReport) -> list[FunnelRow]:
    words = position_words(current_language())
    rows = []
    for table in report.indicators:
        # units with n below 5 are left out of the funnel, as they are suppressed
        points = [
            (r.label, r.cells[-1][0].k, r.cells[-1][0].n)
            for r in table.rows
            if r.unit_id is not None and r.cells[-1][0].n >= MIN_CELL
        ]
        if not any(label == report.unit.title for label, _, _ in points):
            continue  # the unit itself is suppressed: no position shown
        found = funnel(points)
        own = next(p for p in found.points if p.label == report.unit.title)
        svg = funnel_chart(
            found,
            title=_("Funnel plot: %(title)s, all years", title=table.indicator.title),
            highlight=report.unit.title,
            words=words,
        )
        limits = own.limits
        rows.append(
            FunnelRow(
                table.indicator.title,
                own.k,
                own.n,
                found.target,
                limits.lower95,
                limits.upper95,
                limits.lower998,
                limits.upper998,
                own.position,
                svg,
                words[own.position],
            )
        )
    return rows


def build(unit: Unit, month: str, now: dt.datetime | None = None) -> MonthlyReport:
    """The report of ``unit`` for ``month`` (``YYYY-MM``)."""
    first, as_of = parse_month(month, now)
    moment = min(as_of, now or utcnow())
    dashboard = unit_report.unit_report(unit, None, now=moment)
    mine = {unit.id}
    return MonthlyReport(
        month=month,
        month_title=month_title(first),
        as_of=moment,
        dashboard=dashboard,
        coverage=coverage.coverage(unit.register, mine),
        completeness=coverage.completeness(unit.register, moment, mine),
        funnels=_funnels(dashboard),
        lang=current_language(),
    )


NOTICE_KIND = "unit-report"


def notice(unit_title: str, first: dt.date, link: str) -> tuple[str, str]:
    """(subject, body) of the e-mail saying that a month's report is ready, in the current
    language; no health data."""
    month = month_title(first)
    subject = _("Monthly report for %(unit)s, %(month)s", unit=unit_title, month=month)
    body = _(
        "Hello,\n\nThe monthly report for %(unit)s for %(month)s is ready in openprom.\n"
        "Sign in to read it:\n%(link)s\n\nThis e-mail contains no patient data.\n",
        unit=unit_title,
        month=month,
        link=link,
    )
    return subject[:200], body


def previous_month(now: dt.datetime) -> str:
    """``YYYY-MM`` of the month before ``now``."""
    last = now.date().replace(day=1) - dt.timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def queue_monthly_notices(now: dt.datetime | None = None) -> int:
    """Queue, once per unit, unit lead and month, an e-mail saying that last month's report
    is ready, with a link to it behind login (no health data); returns how many.

    The (unit, lead, month) row is inserted first in a savepoint: of two workers running at
    once only one queues the e-mail.
    """
    from flask import current_app
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from webapp.extensions import db
    from webapp.models import OutboxMessage, ReportNotice, RoleAssignment, User
    from webapp.services.outbox import BODY_CONTEXT, RECIPIENT_CONTEXT
    from webapp.services.patients import cipher

    now = now or utcnow()
    month = previous_month(now)
    first, _ = parse_month(month, now)
    leads = db.session.execute(
        select(RoleAssignment.unit_id, User.id, User.email, User.language)
        .join(User, User.id == RoleAssignment.user_id)
        .where(
            RoleAssignment.role == "unit_lead",
            RoleAssignment.unit_id.is_not(None),
            User.active.is_(True),
            ~select(ReportNotice.id)
            .where(
                ReportNotice.unit_id == RoleAssignment.unit_id,
                ReportNotice.user_id == User.id,
                ReportNotice.month == month,
            )
            .exists(),
        )
    ).all()
    base = current_app.config["OPENPROM_BASE_URL"]
    c = cipher()
    count = 0
    for unit_id, user_id, email, language in leads:
        unit = db.session.get(Unit, unit_id)
        savepoint = db.session.begin_nested()
        try:
            db.session.add(
                ReportNotice(unit_id=unit_id, user_id=user_id, month=month, queued_at=now)
            )
            db.session.flush()
        except IntegrityError:  # another worker queued it
            savepoint.rollback()
            continue
        link = f"{base}/clinician/units/{unit.name}/report/{month}.pdf"
        with in_language(language):
            subject, body = notice(unit.title, first, link)
        db.session.add(
            OutboxMessage(
                invitation_id=None,
                kind=NOTICE_KIND,
                channel="email",
                recipient_encrypted=c.encrypt(email, RECIPIENT_CONTEXT),
                subject=subject,
                body_encrypted=c.encrypt(body, BODY_CONTEXT),
                state="queued",
                send_after=now,
            )
        )
        savepoint.commit()
        count += 1
    db.session.commit()
    return count
