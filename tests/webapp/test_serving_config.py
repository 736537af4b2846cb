"""gunicorn.conf.py: worker count from cores and environment; an access log that never
holds an invitation token or a query string."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from webapp.accesslog import RedactingLogger, redact

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
TOKEN = "Zm9vYmFyYmF6cXV4MTIzNDU2"


def _load_conf(monkeypatch, **env: str):  # type: ignore[no-untyped-def]
    for name in ("GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_workers_default_to_twice_the_cores_plus_one_capped(monkeypatch):
    conf = _load_conf(monkeypatch)
    assert [conf.default_workers(c) for c in (1, 2, 4, 32)] == [3, 5, 9, 12]
    assert conf.workers == conf.default_workers()
    assert conf.bind == ["127.0.0.1:8000"]
    assert conf.max_requests > 0 and 0 < conf.max_requests_jitter < conf.max_requests
    assert conf.control_socket_disable  # several instances on one host never collide


def test_workers_and_bind_come_from_the_environment(monkeypatch):
    assert _load_conf(monkeypatch, WEB_CONCURRENCY="7").workers == 7
    conf = _load_conf(
        monkeypatch,
        GUNICORN_WORKERS="3",
        WEB_CONCURRENCY="7",
        GUNICORN_BIND="0.0.0.0:9000,unix:/run/openprom.sock",
    )
    assert conf.workers == 3
    assert conf.bind == ["0.0.0.0:9000", "unix:/run/openprom.sock"]


def test_redact_removes_tokens_and_query_strings():
    assert redact(f"/s/{TOKEN}/q/eq5d5l/2?lang=nn") == "/s/…/q/eq5d5l/2"
    assert redact(f"GET /s/{TOKEN} HTTP/1.1") == "GET /s/… HTTP/1.1"
    assert redact("/clinician/patient?q=17845810001") == "/clinician/patient"


def test_access_log_line_holds_no_token_query_or_referer_token(caplog):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", '%(h)s "%(r)s" %(U)s %(q)s %(f)s %({location}o)s %(s)s')
    logger = RedactingLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/s/{TOKEN}/q/odi/0?lang=en",
        "PATH_INFO": f"/s/{TOKEN}/q/odi/0",
        "QUERY_STRING": "lang=en",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": f"https://prom.example.no/s/{TOKEN}/start",
    }
    resp = SimpleNamespace(
        status="302 FOUND", sent=0, headers=[("Location", f"/s/{TOKEN}/q/odi/1")]
    )
    req = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    lines: list[str] = []
    logger.access_log.handlers = [_ListHandler(lines)]
    logger.access(resp, req, environ, dt.timedelta(milliseconds=3))
    assert lines, "nothing logged"
    line = lines[0]
    assert TOKEN not in line and "lang=" not in line
    assert '"GET /s/…/q/odi/0 HTTP/1.1"' in line and "/s/…/q/odi/1" in line


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
