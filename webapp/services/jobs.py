"""Scheduled work, run by ``flask worker`` (forever) and ``flask send-due`` (once).

One pass: expire invitations past their window, queue e-mails for invitations that have
opened, deliver due messages (claims with leases: any number of workers on any number of
hosts may run at once, see :mod:`webapp.services.outbox`), and prune old guessing
counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete

from webapp.extensions import db
from webapp.models import AttemptCounter, utcnow
from webapp.services.invitations import expire_overdue
from webapp.services.outbox import DeliveryReport, deliver_due, queue_due

COUNTER_RETENTION = dt.timedelta(days=2)


@dataclass(frozen=True)
class JobReport:
    """What one pass did."""

    expired: int
    queued: int
    delivery: DeliveryReport
    pruned: int

    @property
    def busy(self) -> bool:
        """Whether the pass changed anything."""
        d = self.delivery
        return bool(self.expired or self.queued or d.sent or d.failed or d.dropped or self.pruned)


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
    delivery = deliver_due(now, should_stop=should_stop)
    pruned = prune_token_counters(now)
    return JobReport(expired, queued, delivery, pruned)
