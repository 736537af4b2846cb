"""Benchmark the FHIR API's pseudonym lookup (``subject:identifier``) on demo registers.

    python bench/pseudonym.py [--patients 2000 20000] [--database sqlite|postgresql|both]
                              [--runs 15]

For each database and size: builds the demo register (``create_demo``) on a SQLite file in
a temp dir or a fresh PostgreSQL database (``OPENPROM_TEST_POSTGRES``, else a throwaway
cluster; then ``ANALYZE``) and times, for pseudonyms of demo patients:

- old way: every enrolled patient's national ID decrypted and hashed, as
  ``fhir_responses.patients_with_pseudonym`` did before the index (kept here only, as the
  baseline: :func:`decrypt_all`);
- new: ``patients_with_pseudonym`` as the API calls it, for a pseudonym of a demo patient
  (found: one index query) and for an unknown one (not found: the index, then the
  anti-join check that no enrolled patient lacks a stored pseudonym);
- first fill: every stored pseudonym deleted, then ``ensure_pseudonyms`` (what the first
  search pays after migration 0013 or a new ``OPENPROM_PSEUDONYM_KEY``).

Both ways must return the same patients. Prints medians (best) in ms and old / new. No
national ID is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/scoring.py would shadow the scoring package: put the repository root first
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.pgcluster import new_database, postgres_server  # noqa: E402
from webapp.crypto import generate_key  # noqa: E402

for _name in ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY"):
    os.environ.setdefault(_name, generate_key())


def decrypt_all(register_id: int, alias: str, key: bytes) -> tuple[int, ...]:
    """The lookup before the index: decrypt and hash every enrolled, not withdrawn patient."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Enrolment, Patient, Unit
    from webapp.services.fhir_responses import Pseudonyms
    from webapp.services.withdrawal import withdrawn_patients

    query = (
        select(Patient.id, Patient.national_id_encrypted)
        .join(Enrolment, Enrolment.patient_id == Patient.id)
        .join(Unit, Enrolment.unit_id == Unit.id)
        .where(Unit.register_id == register_id, Patient.id.not_in(withdrawn_patients(register_id)))
        .distinct()
    )
    aliases = Pseudonyms(key)
    return tuple(sorted(pid for pid, enc in db.session.execute(query) if aliases.of(enc) == alias))


def _time(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(median, best) wall time in ms of ``runs`` calls after one warm-up call."""
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def measure(database: str, url: str, patients: int, runs: int, work: Path) -> dict[str, Any]:
    """Build the demo register on ``url`` and time the lookups."""
    import flask_migrate
    from sqlalchemy import delete, select, text

    from webapp import create_app
    from webapp.crypto import pseudonym
    from webapp.extensions import db
    from webapp.models import Register, RegisterPseudonym
    from webapp.services import pseudonyms_index
    from webapp.services.demo import DEMO_REGISTER, create_demo, demo_national_ids
    from webapp.services.fhir_responses import patients_with_pseudonym

    os.environ["OPENPROM_INSTANCE_PATH"] = str(work / f"instance-{database}-{patients}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OPENPROM_REQUIRE_SECOND_FACTOR": False})
    with app.app_context():
        flask_migrate.upgrade()
        start = time.perf_counter()
        create_demo(patients=patients)
        print(f"  {database}, {patients:,} patients: demo data in "
              f"{time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
        if database == "postgresql":  # autovacuum would soon; plans need the statistics
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        register = db.session.scalar(select(Register).where(Register.name == DEMO_REGISTER))
        key = pseudonyms_index.register_key(register)
        rng = random.Random(5)
        aliases = [pseudonym(n, key) for n in rng.sample(demo_national_ids(patients), 20)]
        aliases.append("nobody")
        for alias in aliases:  # same answer both ways (and a demo patient is found)
            assert decrypt_all(register.id, alias, key) == patients_with_pseudonym(
                register.id, alias, key
            )
        assert patients_with_pseudonym(register.id, aliases[0], key)
        known = aliases[:-1]
        cycle = iter(known * (runs + 1))

        def found() -> Any:
            return patients_with_pseudonym(register.id, next(cycle), key)

        def not_found() -> Any:
            return patients_with_pseudonym(register.id, "nobody", key)

        def old() -> Any:
            return decrypt_all(register.id, next(cycle), key)

        result = {
            "database": database,
            "patients": patients,
            "found": _time(found, runs),
            "not_found": _time(not_found, runs),
            "old": _time(old, max(3, runs // 5)),
        }
        fills = []
        for _ in range(3):
            db.session.execute(delete(RegisterPseudonym))
            db.session.commit()
            start = time.perf_counter()
            written = pseudonyms_index.ensure_pseudonyms(register.id, key)
            fills.append((time.perf_counter() - start) * 1000)
        result["fill"] = (statistics.median(fills), min(fills))
        result["rows"] = written
        db.session.remove()
        db.engine.dispose()
    return result


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| database | patients | old way ms (best) | new, found ms (best) "
        "| new, not found ms (best) | old / new found | old / new not found "
        "| first fill ms (rows) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['database']} | {r['patients']:,} | {r['old'][0]:.1f} ({r['old'][1]:.1f}) "
            f"| {r['found'][0]:.2f} ({r['found'][1]:.2f}) "
            f"| {r['not_found'][0]:.2f} ({r['not_found'][1]:.2f}) "
            f"| {r['old'][0] / r['found'][0]:.0f} | {r['old'][0] / r['not_found'][0]:.0f} "
            f"| {r['fill'][0]:.0f} ({r['rows']:,}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--runs", type=int, default=15, help="timed lookups per way")
    args = parser.parse_args(argv)
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    rows = []
    with tempfile.TemporaryDirectory(prefix="openprom-bench-pseudonym-") as tmp:
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
                    rows.append(measure(database, url, patients, args.runs, work))
    print()
    print(table(rows))
    print(f"\nload average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
