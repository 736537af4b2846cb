"""CPU time per request of the question page, in-process, against bare Flask.

    python bench/page_cpu.py [--db sqlite|postgresql] [--requests 3000] [--profile N]

``bench/web.py`` measures throughput through gunicorn and wrk, which on a shared 2-core
machine swings with every other process. This script measures what openprom itself
costs: the WSGI app is called directly (no server, no load tool), one request after the
other, and ``time.process_time`` is read around rounds of requests; the cheapest round
counts (other processes only ever make a round dearer). Bare Flask (``bench/hello.py``)
is measured the same way in the same run. Pages and patients as in ``bench/web.py``: the
first EQ-5D-5L page of seeded patients who have started answering, GET with the session
cookie, POST with the CSRF token and a fresh idempotency key (a real save, 302).
``--profile N`` prints the N most expensive functions of the GET (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import secrets
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/scoring.py would shadow the scoring package: put the repository root first
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.pgcluster import new_database, postgres_server  # noqa: E402
from bench.web import CSRF, KEYS, seed  # noqa: E402
from webapp.crypto import generate_key  # noqa: E402

ROUNDS = 10


def _caller(wsgi: Callable[..., Any]) -> Callable[..., tuple[str, dict[str, str], bytes]]:
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    def call(path: str, method: str = "GET", cookie: str = "", body: str | None = None):  # type: ignore[no-untyped-def]
        builder = EnvironBuilder(
            path=path,
            method=method,
            headers={"Cookie": cookie} if cookie else {},
            data=body,
            content_type="application/x-www-form-urlencoded" if body else None,
        )
        chunks, status, headers = run_wsgi_app(wsgi, builder.get_environ())
        return status, dict(headers), b"".join(chunks)

    return call


def cheapest_ms(one: Callable[[int], None], requests: int) -> float:
    """CPU milliseconds per request of the cheapest of ROUNDS rounds."""
    per_round = max(1, requests // ROUNDS)
    best = float("inf")
    done = 0
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(per_round):
            one(done)
            done += 1
        best = min(best, (time.process_time() - start) / per_round)
    return best * 1000


def run(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    """Seed, load the app in this process and measure; returns ms per request by page."""
    env = {"OPENPROM_DATABASE_URL": url, "OPENPROM_INSTANCE_PATH": str(tmp / "instance")}
    for key in KEYS:
        env[key] = os.environ.get(key) or generate_key()
    os.environ.update(env)
    tokens = seed({**os.environ}, args.patients)

    spec = importlib.util.spec_from_file_location("bench_hello", ROOT / "bench" / "hello.py")
    hello_module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(hello_module)  # type: ignore[union-attr]
    hello_app = hello_module.app

    from webapp.warmup import warm_up  # noqa: PLC0415
    from wsgi import app  # noqa: PLC0415

    warm_up(app)
    call, bare = _caller(app.wsgi_app), _caller(hello_app.wsgi_app)
    patients = []
    for token in tokens:
        path = f"/s/{token}/q/eq5d5l/0"
        status, headers, html = call(path)
        if not status.startswith("200"):
            raise RuntimeError(f"seeded page answered {status}")
        cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
        token_match = CSRF.search(html.decode())
        if token_match is None:
            raise RuntimeError("no CSRF token on the seeded page")
        patients.append((path, cookie, urllib.parse.quote(token_match.group(1), safe="")))

    def hello(_i: int) -> None:
        bare("/")

    def get(i: int) -> None:
        path, cookie, _csrf = patients[i % len(patients)]
        status, _h, _b = call(path, cookie=cookie)
        assert status.startswith("200"), status

    def post(i: int) -> None:
        path, cookie, csrf = patients[i % len(patients)]
        body = f"csrf_token={csrf}&idem={secrets.token_hex(16)}&ret=&MO=1"
        status, _h, _b = call(path, "POST", cookie, body)
        assert status.startswith("302"), status

    for one in (hello, get, post):  # warm every path up first
        for i in range(200):
            one(i)
    results = {
        "bare Flask GET": cheapest_ms(hello, args.requests),
        "question page GET": cheapest_ms(get, args.requests),
        "page POST": cheapest_ms(post, args.requests // 2),
    }
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(1000):
            get(i)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000, help="GETs measured (POSTs: half)")
    parser.add_argument("--profile", type=int, default=0, help="print the N top functions")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="openprom-bench-cpu-") as name:
        tmp = Path(name)
        if args.db == "sqlite":
            results = run(f"sqlite:///{tmp / 'bench.sqlite'}", args, tmp)
        else:
            with postgres_server() as server:
                results = run(new_database(server), args, tmp)
    bare = results["bare Flask GET"]
    print(f"| {args.db} | CPU ms per request (cheapest of {ROUNDS} rounds) | × bare Flask |")
    print("|---|---:|---:|")
    for page, ms in results.items():
        print(f"| {page} | {ms:.3f} | {ms / bare:.1f} |")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
