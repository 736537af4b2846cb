"""A throwaway PostgreSQL cluster for the benchmarks (Debian binaries, loopback port).

``OPENPROM_TEST_POSTGRES`` (a server URL) is used instead when set. As root the cluster
runs as user ``postgres`` (initdb refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server(*, fsync: bool = True) -> Iterator[str]:
    """Yield a server URL without database name; ``fsync=False`` starts it with ``-F``."""
    url = os.environ.get("OPENPROM_TEST_POSTGRES")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (or set OPENPROM_TEST_POSTGRES)")
    bindir = Path(found[-1]).parent
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = Path(tempfile.mkdtemp(prefix="openprom-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    data, port = tmp / "data", free_port()
    options = f"-h 127.0.0.1 -p {port} -k {tmp}" + ("" if fsync else " -F")
    subprocess.run(
        [*as_pg, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w",
         "-o", options, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


def new_database(server: str, prefix: str = "bench_") -> str:
    """Create an empty database on ``server``; returns its URL."""
    import sqlalchemy as sa

    name = prefix + uuid.uuid4().hex[:10]
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server}/{name}"
