"""The login throttle on SQLite and PostgreSQL: parallel wrong passwords cannot get past
the limit (check and count are one statement), and the owner signs in from elsewhere."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from webapp.extensions import db
from webapp.models import User
from webapp.services import auth
from webapp.services.passwords import hash_password

PASSWORD = "the owner's long password"
PARALLEL = 10
LIMIT = 5  # free attempts per account and address


@pytest.mark.parametrize("run", range(2))
def test_parallel_wrong_passwords_are_held_at_the_limit(
    app_factory, database_url, monkeypatch, run
):
    app = app_factory(database_url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        db.session.add(User(email="owner@unit.test", password_hash=hash_password(PASSWORD)))
        db.session.commit()
    verified = Counter()
    lock = threading.Lock()
    real_verify = auth.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        with lock:
            verified[password] += 1
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    barrier = threading.Barrier(PARALLEL)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def attack(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            response = client.post(
                "/clinician/login",
                data={"email": "owner@unit.test", "password": f"guess number {i}"},
                environ_base={"REMOTE_ADDR": "198.51.100.7"},
            )
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    counts = Counter(statuses)
    kind = database_url.split(":")[0]
    print(f"{kind}: statuses {dict(counts)}, verified {sum(verified.values())}")
    assert sum(verified.values()) <= LIMIT
    assert counts[401] == sum(verified.values()) and counts[401] + counts[429] == PARALLEL
    assert counts[429] >= PARALLEL - LIMIT
    with app.app_context():
        assert auth.attempts(auth.login_key("owner@unit.test", "198.51.100.7")) <= 5
    owner = app.test_client().post(
        "/clinician/login",
        data={"email": "owner@unit.test", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert owner.status_code == 302
