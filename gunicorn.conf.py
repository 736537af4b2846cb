"""Gunicorn settings for openprom: ``gunicorn -c gunicorn.conf.py`` (serves ``wsgi:app``).

Every value can be changed from the environment:

- ``GUNICORN_BIND`` (comma-separated, default ``127.0.0.1:8000``; nginx proxies to it)
- ``GUNICORN_WORKERS`` or ``WEB_CONCURRENCY`` (default 2 x cores + 1, at most 12)
- ``GUNICORN_WORKER_CLASS`` (``sync``) and ``GUNICORN_THREADS`` (1; for ``gthread``)
- ``GUNICORN_TIMEOUT`` (30 s), ``GUNICORN_GRACEFUL_TIMEOUT`` (30 s),
  ``GUNICORN_KEEPALIVE`` (5 s), ``GUNICORN_MAX_REQUESTS`` (2000, jitter 10 %)
- ``GUNICORN_ACCESSLOG`` (``-`` = stdout/journal; empty = off), ``GUNICORN_LOGLEVEL``
- ``GUNICORN_CONTROL_SOCKET`` (path of the ``gunicornc`` control socket; default off)
- ``GUNICORN_PRELOAD`` (on: the app, instrument files and heavy imports load once in the
  master and are shared by the workers)

The access log never contains an invitation token or a query string
(:class:`webapp.accesslog.RedactingLogger`: ``/s/<token>/...`` is logged as ``/s/…/...``).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from webapp.accesslog import RedactingLogger

MAX_DEFAULT_WORKERS = 12


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(cores: int | None = None) -> int:
    """2 x cores + 1 (the usual rule for sync workers), capped at MAX_DEFAULT_WORKERS."""
    return min(2 * (cores or _cores()) + 1, MAX_DEFAULT_WORKERS)


def _workers() -> int:
    for name in ("GUNICORN_WORKERS", "WEB_CONCURRENCY"):
        if os.environ.get(name, "").strip():
            return max(1, _int(name, 1))
    return default_workers()


wsgi_app = "wsgi:app"
bind = [b.strip() for b in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if b]
workers = _workers()
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync").strip() or "sync"
threads = max(1, _int("GUNICORN_THREADS", 1))  # per worker, for worker_class gthread
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0
preload_app = os.environ.get("GUNICORN_PRELOAD", "1").strip().lower() not in ("0", "false", "no")
proc_name = "openprom-web"
# gunicorn's control socket has one default path per user: several instances on a host
# would take it from each other. Off unless a path is given.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip() or None
control_socket_disable = control_socket is None

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
logger_class = RedactingLogger
# client (as nginx saw it), request line without query, status, bytes, milliseconds
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def _app() -> Any:
    module = sys.modules.get("wsgi")
    return getattr(module, "app", None)


def when_ready(server: Any) -> None:
    """In the master, once the app is preloaded: load what every worker needs, once."""
    app = _app()
    if app is None:
        return
    from webapp.warmup import warm_up

    warm_up(app)
    # everything loaded so far lives as long as the master: keep it out of the workers'
    # garbage collections (a full collection no longer walks the imported modules, and
    # its bookkeeping no longer copies the shared pages into every worker)
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: never reuse database connections opened before the fork."""
    app = _app()
    if app is None:
        return
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)
