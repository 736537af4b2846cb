"""Benchmark the register export: N synthetic EQ-5D-5L responses, CSV + Parquet, rows/s and
peak traced memory for N and N/10 (flat memory: ratio near 1).

    python bench/export.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/scoring.py would shadow the scoring package: put the repository root first
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from webapp.crypto import generate_key  # noqa: E402

for _name in ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY"):
    os.environ.setdefault(_name, generate_key())

PATIENTS = ("03851598730", "30908299902", "41819077906")


def _seed(n: int) -> None:
    from sqlalchemy import insert

    from webapp.extensions import db
    from webapp.models import (
        Enrolment,
        Invitation,
        Protocol,
        Register,
        Response,
        Score,
        TimePoint,
        Unit,
    )
    from webapp.services.patients import get_or_create_patient

    reg = Register(name="bench", title="bench")
    unit = Unit(register=reg, name="bench-unit", title="u")
    proto = Protocol(register=reg, name="p", title="p")
    db.session.add_all([reg, unit, proto])
    patients = [get_or_create_patient(p)[0] for p in PATIENTS]
    db.session.flush()
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    step = 10_000
    for start in range(0, n, step):
        size = min(step, n - start)
        # one time point per block so (enrolment, time point) stays unique
        tp = TimePoint(protocol=proto, name=f"t{start}", title="t", offset_days=0)
        db.session.add(tp)
        db.session.flush()
        enrols = [{"patient_id": patients[i % 3].id, "protocol_id": proto.id, "unit_id": unit.id,
                   "index_date": dt.date(1900, 1, 1) + dt.timedelta(days=start + i),
                   "created_at": now} for i in range(size)]
        e_ids = db.session.scalars(insert(Enrolment).returning(Enrolment.id), enrols).all()
        invs = [{"enrolment_id": e, "time_point_id": tp.id, "opens_at": now, "expires_at": now,
                 "state": "completed", "created_at": now, "unit_id": unit.id,
                 "index_year": enrol["index_date"].year}
                for e, enrol in zip(e_ids, enrols, strict=True)]
        i_ids = db.session.scalars(insert(Invitation).returning(Invitation.id), invs).all()
        resps = [{"invitation_id": i, "instrument_id": "eq5d5l", "instrument_version": "1",
                  "instrument_hash": "h", "language": "nb", "mode": "self", "status": "complete",
                  "answers": {"MO": 1 + k % 5, "SC": 2, "UA": 3, "PD": 1, "AD": 2, "VAS": 70},
                  "current_page": 0, "started_at": now, "updated_at": now, "completed_at": now}
                 for k, i in enumerate(i_ids)]
        r_ids = db.session.scalars(insert(Response).returning(Response.id), resps).all()
        db.session.execute(insert(Score), [
            {"response_id": r, "scale": "index", "value": 0.8, "algorithm_version": "1",
             "value_set": "NO", "computed_at": now, "enrolment_id": e, "unit_id": unit.id,
             "protocol_id": proto.id, "time_point_id": tp.id, "instrument_id": "eq5d5l",
             "index_year": enrol["index_date"].year}
            for r, e, enrol in zip(r_ids, e_ids, enrols, strict=True)])
        db.session.commit()


def run(n: int) -> dict[str, float]:
    """Seed ``n`` responses into a temporary SQLite database, export, measure."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.services.export import export_register

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OPENPROM_INSTANCE_PATH"] = str(Path(tmp) / "instance")
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.sqlite"})
        with app.app_context():
            db.create_all()  # benchmark only; the app itself uses the migrations
            _seed(n)
            tracemalloc.start()
            t0 = time.perf_counter()
            export_register("bench", Path(tmp) / "out", formats=("csv", "parquet"))
            seconds = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return {"n": n, "seconds": seconds, "rows_per_s": n / seconds, "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    small, big = run(args.n // 10), run(args.n)
    print(json.dumps({"small": small, "big": big,
                      "peak_ratio": big["peak_mib"] / small["peak_mib"]}, indent=1))


if __name__ == "__main__":
    main()
