"""Scheduled work, run by ``flask worker`` (forever) and ``flask send-due`` (once).

One pass: expire invitations past their window, queue e-mails for invitations that have
opened, queue the monthly "your unit's report is ready" e-mails to unit leads
(:func:`webapp.services.monthly_report.queue_monthly_notices`), deliver due messages
(claims with leases: any number of workers on any number of hosts may run at once, see
:mod:`webapp.services.outbox`), and prune old guessing counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete

from webapp.extensions import db
from webapp.models import AttemptCounter, utcnow
from webapp.services.invitations import expire_overdue
from webapp.services.monthly_report import queue_monthly_notices
from webapp.services.outbox import DeliveryReport, deliver_due, queue_due

COUNTER_RETENTION = dt.timedelta(days=2)


@dataclass(frozen=True)
class JobReport:
    """What one pass did."""

    expired: int
    queued: int
    delivery: DeliveryReport
    pruned: int
    reports: int = 0  # monthly report notices queued for unit leads

    @property
    def busy(self) -> bool:
        """Whether the pass changed anything."""
        d = self.delivery
        return bool(
            self.expired
            or self.queued
            or d.sent
            or d.failed
            or d.dropped
            or self.pruned
            or self.reports
        )


def prune_token_counters(now: dt.datetime | None = None) -> int:
    """Delete link-guessing counters of windows that ended long ago; returns how many."""
    cutoff = (now or utcnow()) - COUNTER_RETENTION
    result = db.session.execute(
        delete(AttemptCounter)
        .where(AttemptCounter.key.like("token:%"), AttemptCounter.window_start < cutoff)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def run_due_jobs(
    now: dt.datetime | None = None, *, should_stop: Callable[[], bool] | None = None
) -> JobReport:
    """One pass of every periodic job (raises MailConfigError without an SMTP URL)."""
    expired = expire_overdue(now)
    queued = queue_due(now)
    reports = queue_monthly_notices(now)
    delivery = deliver_due(now, should_stop=should_stop)
    pruned = prune_token_counters(now)
    return JobReport(expired, queued, delivery, pruned, reports)
