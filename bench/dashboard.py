"""Benchmark the unit dashboard and the register's indicator page on demo registers.

    python bench/dashboard.py [--patients 2000 20000] [--database sqlite|postgresql|both]
                              [--runs 9] [--no-baseline]

For each database and size: builds the demo register (``create_demo``, timed) on a SQLite
file in a temp dir or a fresh PostgreSQL database (``OPENPROM_TEST_POSTGRES``, else a
throwaway cluster started like ``tests/conftest.py`` does; then ``ANALYZE``, as autovacuum
would), signs in as the demo unit lead and times through the Flask test client (whole
request: queries, Python, template; after one warm-up request)
``GET /clinician/units/demo-unit/dashboard`` and
``GET /clinician/registers/demo-register/indicators``:

- counted: the register's aggregates are forgotten before each request, so every request
  runs all its aggregate queries (the first view after new data);
- kept: the aggregates counted by the previous request are reused (nothing changed);
- old way: the whole register loaded into Python and scanned per cell
  (``tests/webapp/dashboard_reference.py``), the baseline.

Prints the median and best of ``--runs`` in ms and the ratio of the medians to the target
(150 ms at 2,000 patients, 300 ms at 20,000; at most 1 is within target). ``main(argv)``
returns 0 when every page is within target both counted and kept
(``bench/web.py --dashboard`` calls it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/scoring.py would shadow the scoring package: put the repository root first
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.pgcluster import new_database, postgres_server  # noqa: E402
from webapp.crypto import generate_key  # noqa: E402

for _name in ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY"):
    os.environ.setdefault(_name, generate_key())
# the demo unit lead has no second factor; the pages, not the login, are measured here
os.environ.setdefault("OPENPROM_REQUIRE_SECOND_FACTOR", "0")

TARGET_MS = {2000: 150.0, 20000: 300.0}
PAGES = (
    ("unit dashboard", "/clinician/units/demo-unit/dashboard"),
    ("indicators", "/clinician/registers/demo-register/indicators"),
)
LEAD = "lead@demo.openprom.no"


def target_ms(patients: int) -> float:
    """The target for ``patients`` (linear between the two agreed points)."""
    if patients in TARGET_MS:
        return TARGET_MS[patients]
    (n0, t0), (n1, t1) = sorted(TARGET_MS.items())
    return max(t0, t0 + (t1 - t0) * (patients - n0) / (n1 - n0))


@dataclass
class Row:
    """One page timed on one database and register size (medians and bests in ms)."""

    database: str
    patients: int
    page: str
    counted: tuple[float, float]
    kept: tuple[float, float]
    baseline_ms: float | None

    def ratio(self, timing: tuple[float, float]) -> float:
        """Median over the target (<= 1 is within target)."""
        return timing[0] / target_ms(self.patients)

    @property
    def within_target(self) -> bool:
        """Both counted and kept within target."""
        return self.ratio(self.counted) <= 1 and self.ratio(self.kept) <= 1


# -- databases ---------------------------------------------------------------------------


# -- timing ------------------------------------------------------------------------------


def _time(get: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(median, best) wall time in ms of ``runs`` calls after one warm-up call."""
    get()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        get()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


@contextlib.contextmanager
def old_way() -> Iterator[None]:
    """Serve the pages with the previous implementation (whole register in Python)."""
    from tests.webapp import dashboard_reference as ref
    from webapp.services import unit_report

    saved = unit_report.unit_report, unit_report.register_indicators
    unit_report.unit_report = ref.unit_report  # type: ignore[assignment]
    unit_report.register_indicators = ref.register_indicators  # type: ignore[assignment]
    try:
        yield
    finally:
        unit_report.unit_report, unit_report.register_indicators = saved


def measure(
    database: str, url: str, patients: int, runs: int, baseline: bool, work: Path
) -> list[Row]:
    """Build the demo register on ``url`` and time the pages."""
    import flask_migrate
    from sqlalchemy import select, text

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services.auth import start_session
    from webapp.services.dashboard import clear_cache
    from webapp.services.demo import create_demo

    os.environ["OPENPROM_INSTANCE_PATH"] = str(work / f"instance-{database}-{patients}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OPENPROM_REQUIRE_SECOND_FACTOR": False})
    with app.app_context():
        flask_migrate.upgrade()
        start = time.perf_counter()
        create_demo(patients=patients)
        print(
            f"  {database}, {patients} patients: demo data in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        if database == "postgresql":  # autovacuum would soon; plans need the statistics
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        lead = db.session.scalar(select(User).where(User.email == LEAD))
        token = start_session(lead, None)
        db.session.commit()
    client = app.test_client()
    client.set_cookie("openprom_session", token)

    def getter(path: str) -> Callable[[], Any]:
        def get() -> Any:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
            return response

        return get

    def counting(get: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            clear_cache()
            return get()

        return run

    rows = []
    for page, path in PAGES:
        counted = _time(counting(getter(path)), runs)
        kept = _time(getter(path), runs)
        old = None
        if baseline:
            with old_way():
                old, _ = _time(getter(path), max(3, runs // 3))
        rows.append(Row(database, patients, page, counted, kept, old))
    with app.app_context():
        db.engine.dispose()
    return rows


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| database | patients | page | counted ms (best) | kept ms (best) | target ms "
        "| ratio counted / kept | old way ms | counted vs old |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        old = f"{r.baseline_ms:.0f}" if r.baseline_ms is not None else "–"
        gain = f"{r.baseline_ms / r.counted[0]:.1f}× faster" if r.baseline_ms else "–"
        lines.append(
            f"| {r.database} | {r.patients:,} | {r.page} "
            f"| {r.counted[0]:.0f} ({r.counted[1]:.0f}) | {r.kept[0]:.0f} ({r.kept[1]:.0f}) "
            f"| {target_ms(r.patients):.0f} | {r.ratio(r.counted):.2f} / {r.ratio(r.kept):.2f} "
            f"| {old} | {gain} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every page's median is within its target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=9, help="timed requests per page")
    parser.add_argument(
        "--no-baseline", dest="baseline", action="store_false", help="skip the old way"
    )
    args = parser.parse_args(argv)
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="openprom-bench-dash-") as tmp:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            server = ""
            if "postgresql" in databases:
                server = stack.enter_context(postgres_server(fsync=False))
            for database in databases:
                for patients in args.patients:
                    if database == "sqlite":
                        url = f"sqlite:///{work / f'demo-{patients}.sqlite'}"
                    else:
                        url = new_database(server)
                    rows += measure(database, url, patients, args.runs, args.baseline, work)
    print()
    print(table(rows))
    print(f"\nload average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0 if all(r.within_target for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
