"""Shared fixtures: databases built by running the migrations (SQLite and PostgreSQL),
the Flask app, and a throwaway PostgreSQL cluster started by the test setup.

PostgreSQL: ``OPENPROM_TEST_POSTGRES`` may hold a server URL
(``postgresql+psycopg://user@127.0.0.1:PORT/postgres``). Otherwise, when Debian's
PostgreSQL binaries are installed, a cluster is created in a temp dir on a free loopback
port (as user ``postgres`` when running as root, since initdb refuses root) and stopped at
the end. Without PostgreSQL the tests skip locally, and fail when ``CI=true``.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from webapp.crypto import generate_key

IN_CI = os.environ.get("CI", "").lower() == "true"

for _name in ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY"):
    os.environ.setdefault(_name, generate_key())


NATIONAL_ID_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")


def national_ids_in(text: str) -> list[str]:
    """Valid Norwegian national IDs (11 digits passing date and check digits) in ``text``."""
    from webapp.national_id import InvalidNationalId, validate

    found = []
    for candidate in NATIONAL_ID_LIKE.findall(text):
        try:
            validate(candidate)
        except InvalidNationalId:
            continue
        found.append(candidate)
    return found


class _Watch(logging.Handler):
    """Keeps every log line and every URL the test client requests or is sent to."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def check(self, where: str, text: str) -> None:
        for number in national_ids_in(text):
            self.leaks.append(f"{where}: {text[:200].replace(number, '<national id>')}")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.check(f"log {record.name}", record.getMessage())
        except Exception:  # noqa: BLE001 (a broken record must not break the run)
            self.check(f"log {record.name}", str(record.msg))


@pytest.fixture(scope="session", autouse=True)
def privacy_watch() -> Iterator[_Watch]:
    """Fail the run when a national ID appears in any log line or URL of any test.

    Every log record (root logger, DEBUG for openprom's own loggers) and every URL that a
    Flask test client opens or is redirected to is scanned for valid national IDs.
    """
    from flask.testing import FlaskClient

    watch = _Watch()
    root = logging.getLogger()
    root.addHandler(watch)
    for name in ("webapp", "instruments", "scoring", "werkzeug"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    original = FlaskClient.open

    def open_and_watch(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = original(self, *args, **kwargs)
        request = getattr(response, "request", None)
        if request is not None:
            watch.check("URL", request.url)
        if response.location:
            watch.check("redirect", response.location)
        return response

    FlaskClient.open = open_and_watch  # type: ignore[method-assign]
    try:
        yield watch
    finally:
        FlaskClient.open = original  # type: ignore[method-assign]
        root.removeHandler(watch)
    assert not watch.leaks, "national IDs leaked:\n" + "\n".join(sorted(set(watch.leaks)))


def missing_part(reason: str) -> None:
    """Skip locally, fail in CI: a real part (database, browser) must be there in CI."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL of a PostgreSQL server (``postgresql+psycopg://...``, no database name)."""
    url = os.environ.get("OPENPROM_TEST_POSTGRES")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    bindir = _pg_bin()
    if bindir is None:
        missing_part("PostgreSQL is not installed (apt-get install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="openprom-pg-"))
    datadir, port = tmp / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    log = tmp / "server.log"
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres",
                          "-A", "trust", "--no-sync"]),
            check=True, capture_output=True,
        )
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-w",
                          "-o", f"-h 127.0.0.1 -p {port} -F -k {tmp}", "start"]),
            check=True, capture_output=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(tmp, ignore_errors=True)
        missing_part(f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


def _new_postgres_database(server: str) -> str:
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return _new_postgres_database(server)


def make_app(database_url: str, instance_path: Path, **config):  # type: ignore[no-untyped-def]
    """A test app on ``database_url`` with its schema built by the migrations."""
    import flask_migrate

    from webapp import create_app

    os.environ["OPENPROM_INSTANCE_PATH"] = str(instance_path)
    # a second factor is required outside the embedded demo; tests of that set it True
    config.setdefault("OPENPROM_REQUIRE_SECOND_FACTOR", False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **config})
    with app.app_context():
        flask_migrate.upgrade()
    return app


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """App on a migrated SQLite database, CSRF off (CSRF has its own tests)."""
    application = make_app(
        f"sqlite:///{tmp_path / 'app.sqlite'}", tmp_path / "instance", WTF_CSRF_ENABLED=False
    )
    yield application
    from webapp.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium (Playwright drives it; it never downloads a browser)."""
    path = os.environ.get("OPENPROM_CHROMIUM") or shutil.which("chromium")
    if not path:
        missing_part("Chromium is not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing_part("playwright (Python package) is not installed")
    return path


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something listens on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


@pytest.fixture
def app_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build a migrated test app on a given database URL: ``app_factory(url, **config)``."""
    made = []

    def factory(url: str, **config):  # type: ignore[no-untyped-def]
        application = make_app(url, tmp_path / f"instance{len(made)}", **config)
        made.append(application)
        return application

    yield factory
    from webapp.extensions import db

    for application in made:
        with application.app_context():
            db.engine.dispose()
