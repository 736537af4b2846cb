"""Faults while patients answer: a gunicorn worker SIGKILLed and PostgreSQL restarted.

50 patients answer every page and submit over real HTTP (gunicorn, 2 workers) while one
worker is killed and the database server restarts. Clients press again on a connection
error or a 5xx, as a patient would. Afterwards every acknowledged save and submit is stored,
nothing is half-saved, and ``verify-scores`` finds no mismatch.

The test runs its own PostgreSQL cluster (it must restart it), like ``postgres_server``.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

import instruments
from tests.conftest import (
    _as_postgres,
    _free_port,
    _new_postgres_database,
    _pg_bin,
    make_app,
    missing_part,
)
from tests.serving import gunicorn_server
from tests.webapp import patient_support as support
from webapp.extensions import db
from webapp.models import Invitation, Response, Score
from webapp.services.demo import demo_national_ids
from webapp.services.integrity import verify_scores

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PATIENTS = 50
CLIENTS = 8
AFTER_RESTART_GRACE = 1.0  # requests in flight during the restart may fail; none later
SERVER_ERRORS_AT: list[float] = []  # when clients got a 5xx (time.monotonic())
RETRY_FOR = 60.0  # seconds a patient keeps pressing again before the test gives up


@dataclass
class Cluster:
    """A PostgreSQL cluster of this test: its server URL and how to restart it."""

    server: str
    restart: Callable[[], None]


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Cluster]:
    """A dedicated throwaway cluster (the shared one may not be ours to restart)."""
    bindir = _pg_bin()
    if bindir is None:
        missing_part("PostgreSQL is not installed (apt-get install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="openprom-pg-fault-"))
    datadir, port, log = tmp / "data", _free_port(), tmp / "server.log"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    pg_ctl = str(bindir / "pg_ctl")
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    pg_ctl,
                    "-D",
                    str(datadir),
                    "-l",
                    str(log),
                    "-w",
                    "-o",
                    f"-h 127.0.0.1 -p {port} -F -k {tmp}",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        missing_part(f"could not start PostgreSQL: {exc}")

    def restart() -> None:
        subprocess.run(
            _as_postgres(
                [pg_ctl, "-D", str(datadir), "-l", str(log), "-m", "fast", "-w", "restart"]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )

    try:
        yield Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}", restart)
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(datadir), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


class Browser:
    """One patient's browser: a cookie, forms posted, redirects not followed."""

    def __init__(self, port: int, stats: Counter[str], lock: threading.Lock) -> None:
        self.port, self.stats, self.lock = port, stats, lock
        self.cookies: dict[str, str] = {}

    def _count(self, what: str) -> None:
        with self.lock:
            self.stats[what] += 1

    def _once(self, method: str, path: str, form: dict[str, str] | None) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode("utf-8", errors="replace")
            for header in answer.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return answer.status, answer.headers.get("Location", ""), text
        finally:
            conn.close()

    def request(self, method: str, path: str, form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        """The answer, pressing again on a connection error or a 5xx (same form)."""
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                status, location, text = self._once(method, path, form)
            except (OSError, http.client.HTTPException):
                self._count("connection errors")
            else:
                if status < 500:
                    return status, urllib.parse.urlsplit(location).path, text
                self._count(f"HTTP {status}")
                with self.lock:
                    SERVER_ERRORS_AT.append(time.monotonic())
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path.split('/')[-1]}: no answer for {RETRY_FOR}s")
            time.sleep(0.2)


@dataclass
class Outcome:
    """What one patient was told: acknowledged page answers and whether the submit was."""

    invitation_id: int
    acknowledged: dict[str, dict[str, int]] = field(default_factory=dict)
    submitted: bool = False


def _answers(rng: random.Random) -> dict[str, dict[str, int]]:
    eq5d = {item: rng.randint(1, 5) for item in ("MO", "SC", "UA", "PD", "AD")}
    return {
        "eq5d5l": {**eq5d, "VAS": rng.randint(0, 100)},
        "odi": {f"q{i:02d}": rng.randint(0, 5) for i in range(1, 11)},
    }


def _patient(browser: Browser, token: str, invitation_id: int, seed: int) -> Outcome:
    """Answer every page and submit, as a patient on a phone would."""
    outcome = Outcome(invitation_id)
    base = f"/s/{token}"
    status, _, html = browser.request("GET", f"{base}/start")
    assert status == 200, status
    status, location, _ = browser.request(
        "POST", f"{base}/start", {"csrf_token": support.csrf_from(html), "mode": "self"}
    )
    assert status == 302 and "/q/eq5d5l/0" in location, (status, location)
    for instrument_id, answers in _answers(random.Random(seed)).items():
        items = [i for p in instruments.load(instrument_id).screen_pages() for i in p.items]
        assert items == list(answers)  # one question per page in both instruments
        for page, (item, code) in enumerate(answers.items()):
            url = f"{base}/q/{instrument_id}/{page}"
            status, _, html = browser.request("GET", url)
            assert status == 200, (status, url.split("/", 3)[-1])
            form = {"csrf_token": support.csrf_from(html), "idem": support.idem_from(html)}
            status, location, _ = browser.request("POST", url, {**form, item: str(code)})
            assert status == 302 and not location.endswith("/thanks"), (status, location)
            outcome.acknowledged.setdefault(instrument_id, {})[item] = code
    status, _, html = browser.request("GET", f"{base}/review")
    assert status == 200, status
    status, location, _ = browser.request(
        "POST", f"{base}/submit", {"csrf_token": support.csrf_from(html)}
    )
    outcome.submitted = status == 302 and location.endswith("/thanks")
    return outcome


def _enrol(url: str, instance: Path) -> list[tuple[str, int]]:
    app = make_app(url, instance)
    with app.app_context():
        support.make_protocol()
        enrolled = [support.enrol_patient(n) for n in demo_national_ids(PATIENTS, seed=9)]
        db.engine.dispose()
    return [(e.token, e.invitation_id) for e in enrolled]


def test_saves_and_submits_survive_a_killed_worker_and_a_database_restart(own_postgres, tmp_path):
    url = _new_postgres_database(own_postgres.server)
    patients = _enrol(url, tmp_path / "setup")
    stats: Counter[str] = Counter()
    lock = threading.Lock()
    faults: list[str] = []
    back_at: list[float] = []
    SERVER_ERRORS_AT.clear()
    with gunicorn_server(url, workers=2, tmp_path=tmp_path) as server:

        def run(index: int) -> Outcome:
            token, invitation_id = patients[index]
            outcome = _patient(Browser(server.port, stats, lock), token, invitation_id, index)
            with lock:
                stats["patients done"] += 1
            return outcome

        def chaos() -> None:
            while stats["patients done"] < 5:
                time.sleep(0.05)
            victim = server.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            faults.append(f"SIGKILL worker {victim}")
            while stats["patients done"] < 15:
                time.sleep(0.05)
            started = time.monotonic()
            own_postgres.restart()
            back_at.append(time.monotonic())
            faults.append(f"PostgreSQL restarted in {back_at[0] - started:.1f}s")

        saboteur = threading.Thread(target=chaos)
        saboteur.start()
        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = list(pool.map(run, range(PATIENTS)))
        saboteur.join(120)
        assert len(faults) == 2, faults
    print(f"\nfaults: {faults}; clients saw {dict(stats)}")
    late = [t - back_at[0] for t in SERVER_ERRORS_AT if t > back_at[0] + AFTER_RESTART_GRACE]
    assert late == [], f"5xx {late} s after the database was back (stale pooled connections?)"

    app = make_app(url, tmp_path / "check")
    kept = 0
    with app.app_context():
        for outcome in outcomes:
            assert outcome.submitted, outcome.invitation_id
            invitation = db.session.get(Invitation, outcome.invitation_id)
            assert invitation.completed_at is not None and invitation.state == "completed"
            stored = {r.instrument_id: r for r in invitation.responses}
            assert set(stored) == set(outcome.acknowledged)
            for instrument_id, answers in outcome.acknowledged.items():
                response = stored[instrument_id]
                kept += sum(response.answers.get(k) == v for k, v in answers.items())
                assert response.answers == answers, (outcome.invitation_id, instrument_id)
                assert response.completed_at is not None and response.status == "complete"
                assert response.scores, (outcome.invitation_id, instrument_id)
        drafts = db.session.scalar(
            sa.select(sa.func.count()).select_from(Response).where(Response.completed_at.is_(None))
        )
        assert drafts == 0
        per_scale = db.session.execute(sa.select(Score.response_id, Score.scale)).all()
        assert len(per_scale) == len(set(per_scale))
        report = verify_scores()
        assert report.checked == 2 * PATIENTS and report.mismatches == [], report.mismatches
        db.engine.dispose()
    saves = sum(len(a) for o in outcomes for a in o.acknowledged.values())
    print(f"acknowledged saves kept: {kept} of {saves}; submits: {PATIENTS} of {PATIENTS}")
