"""Benchmark the patient pages against bare Flask, on gunicorn with two workers.

    python bench/web.py [--db sqlite,postgresql] [--duration 10] [--runs 1] [--dashboard]

Starts a bare Flask "hello" app (``bench/hello.py``) and openprom, both on the same
gunicorn settings (``gunicorn.conf.py``, ``GUNICORN_WORKERS=2``) on loopback ports, on
SQLite (a file, as the embedded default) and on PostgreSQL (``OPENPROM_TEST_POSTGRES`` or
a throwaway cluster like the tests start), seeds ``--patients`` enrolled patients with
valid links who have started answering, and drives each with wrk
(``bench/wrk_patients.lua``): the bare hello GET, the question page GET and a page POST
(session cookie, CSRF token and a fresh idempotency key each time; a saved page answers
302), each after a 2 s warm-up of the same page. Prints req/s, p50/p99 latency, errors
(non-2xx/3xx and socket errors) and the ratio to bare Flask measured in the same run.
``--dashboard`` also runs ``bench/dashboard.py``'s ``main(argv)`` when it exists.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/scoring.py would shadow the scoring package: put the repository root first
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.pgcluster import free_port, new_database, postgres_server  # noqa: E402
from webapp.crypto import generate_key  # noqa: E402

LUA = ROOT / "bench" / "wrk_patients.lua"
GUNICORN = Path(sys.executable).with_name("gunicorn")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
KEYS = ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY")
TARGETS = {"question page GET": 0.40, "page POST": 0.15}


@dataclass
class Result:
    """One wrk run."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def _wait_http(port: int, path: str = "/", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answers on port {port}")


@contextlib.contextmanager
def gunicorn(app: str | None, env: dict[str, str], workers: int = 2) -> Iterator[int]:
    """Run gunicorn (``app`` with defaults, or openprom's gunicorn.conf.py); yields port."""
    port = free_port()
    # both apps on the same settings (gunicorn.conf.py: worker class and count, preload,
    # max_requests, no access log); the bare app names itself instead of wsgi:app
    cmd = [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), *([app] if app else [])]
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
           "GUNICORN_ACCESSLOG": "", "GUNICORN_LOGLEVEL": "warning",
           "PYTHONPATH": str(ROOT)}  # gunicorn.conf.py imports webapp.accesslog
    # the bare app runs from bench/, where no gunicorn.conf.py is read
    cwd = ROOT if app is None else ROOT / "bench"
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True)
    try:
        _wait_http(port, "/healthz" if app is None else "/")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def seed(env: dict[str, str], patients: int) -> list[str]:
    """Migrate, then enrol ``patients`` who chose "self": returns their link tokens."""
    code = f"""
import json, datetime as dt, os, sys
sys.path.insert(0, {str(ROOT)!r})
import flask_migrate
from webapp import create_app
from webapp.extensions import db
from webapp.models import Protocol, Register, TimePoint, Unit
from webapp.services import responses
from webapp.services.demo import demo_national_ids
from webapp.services.invitations import issue_token
from webapp.services.patients import get_or_create_patient
from webapp.services.protocols import enrol
app = create_app()
with app.app_context():
    flask_migrate.upgrade()
    register = Register(name="bench", title="Bench register")
    db.session.add(register); db.session.flush()
    unit = Unit(name="bench-unit", title="Benkesykehuset", register_id=register.id)
    protocol = Protocol(register_id=register.id, name="bench", title="Bench", window_days=30,
                        reminder_days=7)
    protocol.time_points = [TimePoint(name="baseline", title="Før", offset_days=0, position=0,
                                      instruments=["eq5d5l", "odi"])]
    db.session.add_all([unit, protocol]); db.session.commit()
    tokens = []
    for nid in demo_national_ids({patients}, seed=7):
        patient, _ = get_or_create_patient(nid)
        invitation = enrol(patient, protocol, unit, dt.date.today()).invitations[0]
        tokens.append(issue_token(invitation))
        db.session.commit()
        responses.start(invitation, mode="self", relation=None, language="nb")
    print(json.dumps(tokens))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def patients_file(port: int, tokens: list[str], path: Path) -> Path:
    """For each patient: the first EQ-5D page, its session cookie and CSRF token."""
    lines = []
    for token in tokens:
        url = f"/s/{token}/q/eq5d5l/0"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", url)
        response = conn.getresponse()
        html = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"seeded page answered {response.status}")
        cookies = "; ".join(
            value.split(";", 1)[0]
            for name, value in response.getheaders()
            if name.lower() == "set-cookie"
        )
        match = CSRF.search(html)
        if match is None:
            raise RuntimeError("no CSRF token on the seeded page")
        lines.append("\t".join([url, cookies, urllib.parse.quote(match.group(1), safe=""), "MO"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wrk(name: str, port: int, mode: str, data: Path, args: argparse.Namespace) -> Result:
    """Run wrk against 127.0.0.1:``port`` and read its summary line."""
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}", "--",
           mode, str(data), str(args.threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    d = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        name,
        d["requests"] / (d["duration_us"] / 1e6),
        d["p50_us"] / 1000,
        d["p99_us"] / 1000,
        d["status_errors"] + d["socket_errors"],
        d["requests"],
    )


def _best(results: list[Result]) -> Result:
    return max(results, key=lambda r: r.rps)


def bench_database(label: str, url: str, args: argparse.Namespace, tmp: Path) -> list[Result]:
    """Seed, serve and measure openprom on one database, with bare Flask in the same run."""
    env = {**os.environ, "OPENPROM_DATABASE_URL": url,
           "OPENPROM_INSTANCE_PATH": str(tmp / f"instance-{label}")}
    for key in KEYS:
        env.setdefault(key, generate_key())
    tokens = seed(env, args.patients)
    hello_data = tmp / "hello.tsv"
    hello_data.write_text("/\t\t\t\n", encoding="utf-8")
    results: dict[str, list[Result]] = {}
    with gunicorn("hello:app", env) as hello_port, gunicorn(None, env) as port:
        data = patients_file(port, tokens, tmp / f"patients-{label}.tsv")
        warm = argparse.Namespace(**{**vars(args), "duration": 2})
        for p, mode, d in ((hello_port, "get", hello_data), (port, "get", data),
                           (port, "post", data)):
            wrk("warm-up", p, mode, d, warm)  # every page served (and compiled) before
        for _ in range(args.runs):
            for name, p, mode, d in (
                ("bare Flask GET", hello_port, "get", hello_data),
                ("question page GET", port, "get", data),
                ("page POST", port, "post", data),
            ):
                results.setdefault(name, []).append(wrk(name, p, mode, d, args))
    return [_best(r) for r in results.values()]


def table(label: str, rows: list[Result]) -> str:
    """Markdown table of one database's results with the ratio to bare Flask."""
    bare = rows[0].rps
    out = [f"| {label} | req/s | p50 ms | p99 ms | errors | ratio to bare Flask |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r.name} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
                   f" {r.rps / bare:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1, help="runs per page (best is kept)")
    parser.add_argument("--dashboard", action="store_true", help="also run bench/dashboard.py")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    failed = []
    with tempfile.TemporaryDirectory(prefix="openprom-bench-web-") as name:
        tmp = Path(name)
        labels = ["sqlite", "postgresql"] if args.db == "both" else args.db.split(",")
        for label in labels:
            if label == "sqlite":
                rows = bench_database(label, f"sqlite:///{tmp / 'bench.sqlite'}", args, tmp)
            elif label == "postgresql":
                with postgres_server() as server:
                    rows = bench_database(label, new_database(server), args, tmp)
            else:
                raise SystemExit(f"unknown database {label!r}")
            print(table(label, rows), flush=True)
            print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
            bare = rows[0].rps
            for r in rows[1:]:
                if r.errors or r.rps / bare < TARGETS[r.name]:
                    failed.append(f"{label} {r.name}: {r.rps / bare:.2f}, {r.errors} errors")
    if args.dashboard:
        dashboard = ROOT / "bench" / "dashboard.py"
        if dashboard.exists():
            import importlib.util

            spec = importlib.util.spec_from_file_location("bench_dashboard", dashboard)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            module.main([])
        else:
            print("bench/dashboard.py is not there yet")
    for line in failed:
        print("below target:", line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
