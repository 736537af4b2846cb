"""Run the real app under gunicorn for tests: ``gunicorn_server(...)`` and ``self_signed_cert``.

The caller migrates the database first (``tests.conftest.make_app`` or
``flask db upgrade``); the server only opens it. The keys are taken from the test process's
environment (``tests/conftest.py`` puts ``OPENPROM_SECRET_KEY``, ``OPENPROM_ID_KEY`` and
``OPENPROM_PSEUDONYM_KEY`` there), so the server and the test share encrypted data.

    with gunicorn_server(url, tls=True, tmp_path=tmp_path) as server:
        urllib.request.urlopen(server.base_url + "/healthz", context=server.ssl_context())
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KEY_NAMES = ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY")


@dataclass
class Server:
    """A running gunicorn master serving ``wsgi:app``."""

    base_url: str
    process: subprocess.Popen
    port: int
    certfile: Path | None
    log_path: Path | None = None

    def worker_pids(self) -> list[int]:
        """PIDs of the master's child processes (the workers), from ``/proc``."""
        pids: set[int] = set()
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                pids.update(int(pid) for pid in children.read_text().split())
            except OSError:
                continue
        if not pids:  # kernels without the children file: scan every process's parent
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.add(int(stat.parent.name))
        return sorted(pids)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client SSL context trusting this server's certificate (None without TLS)."""
        if self.certfile is None:
            return None
        return ssl.create_default_context(cafile=str(self.certfile))

    def log(self) -> str:
        """Everything gunicorn has written so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def self_signed_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1: ``(certfile, keyfile)`` (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    keyfile.chmod(0o600)
    return certfile, keyfile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def gunicorn_server(
    database_url: str,
    *,
    workers: int = 2,
    tls: bool = False,
    env: dict[str, str] | None = None,
    tmp_path: Path,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Run ``gunicorn wsgi:app`` on 127.0.0.1 and a free port until the block ends.

    ``database_url`` must already be migrated. ``tls=True`` serves HTTPS with a fresh
    self-signed certificate (``Server.certfile``, trusted by ``Server.ssl_context()``).
    ``env`` adds or overrides environment variables. Waits until ``/healthz`` answers 200
    and all ``workers`` are running; gunicorn's output goes to ``tmp_path/gunicorn-PORT.log``
    and is shown on failure. Gunicorn also reads the repository's ``gunicorn.conf.py``
    (it runs from the repository root); the options given here take precedence.
    """
    port = _free_port()
    scheme = "https" if tls else "http"
    base_url = f"{scheme}://127.0.0.1:{port}"
    instance = tmp_path / f"gunicorn-instance-{port}"
    instance.mkdir(parents=True, exist_ok=True)
    child_env = {
        **os.environ,
        "OPENPROM_DATABASE_URL": database_url,
        "OPENPROM_INSTANCE_PATH": str(instance),
        "OPENPROM_BASE_URL": base_url,
        **{name: os.environ[name] for name in KEY_NAMES if name in os.environ},
        "OPENPROM_REQUIRE_SECOND_FACTOR": "0",  # as make_app; tests sign in with passwords
        **(env or {}),
    }
    cmd = [
        sys.executable, "-m", "gunicorn", "wsgi:app",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--graceful-timeout", "5",
        "--access-logfile", "-",
        "--error-logfile", "-",
    ]
    certfile: Path | None = None
    if tls:
        certfile, keyfile = self_signed_cert(tmp_path)
        cmd += ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    log_path = tmp_path / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            cmd, cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(base_url, process, port, certfile, log_path)
    try:
        deadline = time.monotonic() + timeout
        context = server.ssl_context()
        while not _healthy(f"{base_url}/healthz", context) or (
            len(server.worker_pids()) < workers
        ):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn did not become healthy (exit {process.poll()}):\n{server.log()}"
                )
            time.sleep(0.1)
        yield server
    except BaseException:
        print(f"--- gunicorn log {log_path} ---\n{server.log()}", file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
