"""Scale-out on one machine: two app "hosts" (two gunicorn instances, two workers each)
and two ``flask worker`` processes on one PostgreSQL, real SMTP (aiosmtpd) on loopback.

200 patients get their invitation e-mail from the workers and answer through both hosts
at once, switching host on every request (session cookie and CSRF token made on one host
are accepted by the other). Afterwards every answer is stored once, every message was sent
once, and both hosts show the same dashboard numbers.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import _new_postgres_database
from tests.db.test_worker_db import SlowInbox
from tests.serving import gunicorn_server
from tests.webapp import patient_support as support
from tests.webapp.test_patient_outbox import _free_port
from webapp.extensions import db
from webapp.models import (
    Invitation,
    OutboxMessage,
    PageSubmission,
    Response,
    RoleAssignment,
    Score,
    Unit,
    User,
)
from webapp.services.auth import start_session
from webapp.services.demo import demo_national_ids
from webapp.services.passwords import hash_password

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PATIENTS = 200
LINK = re.compile(r"https?://[^/\s]+(/s/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
IDEM = re.compile(r'name="idem" type="hidden" value="([0-9a-f]+)"')


class Browser:
    """A patient's browser: one cookie jar, every request to the next host in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{port}"
            headers["Referer"] = f"http://127.0.0.1:{port}{path}"
        for attempt in range(5):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                text = response.read().decode()
                break
            except ConnectionError:  # a worker recycled (max_requests): try again
                time.sleep(0.1 * (attempt + 1))
            finally:
                conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location"), text


def _answer(ports: list[int], path: str) -> list[int]:
    """Answer EQ-5D-5L through alternating hosts; returns every status seen."""
    browser, statuses = Browser(ports), []
    status, location, _ = browser.request("GET", path)
    statuses.append(status)
    status, _, html = browser.request("GET", f"{path}/start")
    statuses.append(status)
    form = {"csrf_token": CSRF.search(html).group(1), "mode": "self"}
    status, location, _ = browser.request("POST", f"{path}/start", form)
    statuses.append(status)
    for index, (item, value) in enumerate(support.EQ5D_ANSWERS.items()):
        page = f"{path}/q/eq5d5l/{index}"
        status, _, html = browser.request("GET", page)
        statuses.append(status)
        form = {
            "csrf_token": CSRF.search(html).group(1),
            "idem": IDEM.search(html).group(1),
            "ret": "",
            item: str(value),
        }
        status, location, _ = browser.request("POST", page, form)
        statuses.append(status)
    status, _, html = browser.request("GET", f"{path}/review")
    statuses.append(status)
    status, location, _ = browser.request(
        "POST", f"{path}/submit", {"csrf_token": CSRF.search(html).group(1)}
    )
    statuses.append(status)
    assert location and location.endswith(f"{path}/thanks"), (status, location)
    return statuses


def _to_patients(inbox) -> list:  # type: ignore[no-untyped-def,type-arg]
    """The invitation e-mails (the unit lead also gets the monthly report notice)."""
    return [(r, m) for r, m in inbox.messages if r[0].startswith("patient")]


def _seed(app) -> str:  # type: ignore[no-untyped-def]
    """200 enrolled patients with e-mail (no link yet) and a unit lead; the lead's cookie."""
    with app.app_context():
        support.make_protocol(instruments=("eq5d5l",))
        for n, nid in enumerate(demo_national_ids(PATIENTS, seed=11)):
            support.enrol_patient(nid, email=f"patient{n}@example.org")
        db.session.query(Invitation).update({"token_hash": None})
        unit = db.session.query(Unit).filter_by(name="unit-1").one()
        lead = User(
            email="lead@unit1.test", display_name="Lead", password_hash=hash_password("x" * 20)
        )
        lead.roles.append(RoleAssignment(role="unit_lead", unit_id=unit.id))
        db.session.add(lead)
        db.session.commit()
        return start_session(lead, None)


def test_two_hosts_and_two_workers_on_one_postgresql(postgres_server, app_factory, tmp_path):
    from aiosmtpd.controller import Controller

    url = _new_postgres_database(postgres_server)
    app = app_factory(url)
    lead_cookie = _seed(app)
    inbox = SlowInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    smtp_url = f"smtp://127.0.0.1:{smtp.port}?from=noreply@sykehus.test"
    workers: list[subprocess.Popen] = []
    try:
        with (
            gunicorn_server(url, workers=2, tmp_path=tmp_path / "a") as host_a,
            gunicorn_server(url, workers=2, tmp_path=tmp_path / "b") as host_b,
        ):
            worker_env = {
                **os.environ,
                "OPENPROM_DATABASE_URL": url,
                "OPENPROM_SMTP_URL": smtp_url,
                "OPENPROM_BASE_URL": host_a.base_url,
                "OPENPROM_INSTANCE_PATH": str(tmp_path / "worker"),
            }
            flask = str(Path(sys.executable).with_name("flask"))
            for _ in range(2):
                workers.append(
                    subprocess.Popen(
                        [flask, "--app", "wsgi", "worker", "--interval", "0.3"],
                        cwd=ROOT,
                        env=worker_env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            deadline = time.monotonic() + 180
            while len(_to_patients(inbox)) < PATIENTS and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # two more passes: nothing more may arrive
            assert len(_to_patients(inbox)) == PATIENTS
            links = [LINK.search(m.get_content()).group(1) for _, m in _to_patients(inbox)]
            assert len(set(links)) == PATIENTS

            ports = [host_a.port, host_b.port]
            with ThreadPoolExecutor(max_workers=12) as pool:
                results = list(pool.map(lambda p: _answer(ports, p), links))
            assert all(s in (200, 302) for statuses in results for s in statuses)

            csv = []
            for host in (host_a, host_b):
                conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=60)
                conn.request(
                    "GET",
                    "/clinician/units/unit-1/dashboard.csv",
                    headers={"Cookie": f"openprom_session={lead_cookie}"},
                )
                response = conn.getresponse()
                csv.append((response.status, response.read()))
                conn.close()
            assert csv[0][0] == 200 and csv[0] == csv[1]
            assert str(PATIENTS).encode() in csv[0][1]  # the answered patients are counted
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp.stop()
    assert [proc.returncode for proc in workers] == [0, 0]  # SIGTERM: a graceful stop

    recipients = [rcpt[0] for rcpt, _ in _to_patients(inbox)]
    assert len(recipients) == len(set(recipients)) == PATIENTS  # every message sent once
    # the unit lead's monthly report notice: once, although two workers ran
    assert [r[0] for r, _ in inbox.messages if r[0] == "lead@unit1.test"] == ["lead@unit1.test"]
    with app.app_context():
        messages = db.session.query(OutboxMessage).filter_by(kind="invitation").all()
        assert len(messages) == PATIENTS
        assert {(m.state, m.attempts) for m in messages} == {("sent", 1)}
        responses = db.session.query(Response).all()
        assert len(responses) == PATIENTS  # one per patient: never a second copy
        assert all(r.status == "complete" for r in responses)
        assert all(r.answers == support.EQ5D_ANSWERS for r in responses)
        pages = db.session.query(PageSubmission).count()
        assert pages == PATIENTS * len(support.EQ5D_ANSWERS)  # every page stored once
        scored = {s.response_id for s in db.session.query(Score)}
        assert len(scored) == PATIENTS
        assert db.session.query(Invitation).filter_by(state="completed").count() == PATIENTS
