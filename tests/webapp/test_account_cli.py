"""Operator recovery commands: a forgotten password, a lost authenticator, approving a
pending account. Each ends the account's sessions where a credential changes and leaves a
security event in the audit log."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.webapp.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import AuditEvent, User, UserSession
from webapp.services.auth import start_session


def _login(client, email, password):  # type: ignore[no-untyped-def]
    return client.post("/clinician/login", data={"email": email, "password": password})


def _user(app, email: str) -> User:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def _actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _live_sessions(app, user_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        )


def test_reset_password_prints_a_new_one_that_must_be_changed(app, world):
    with app.app_context():
        start_session(db.session.get(User, world.users["clinician"]), "127.0.0.1")
    assert _live_sessions(app, world.users["clinician"]) == 1
    result = app.test_cli_runner().invoke(args=["reset-password", "clin@a1.test"])
    assert result.exit_code == 0, result.output
    new = re.search(r"\(shown once\): (\S+)", result.output)[1]
    assert new != PASSWORD
    assert _live_sessions(app, world.users["clinician"]) == 0
    assert _user(app, "clin@a1.test").must_change_password
    client = app.test_client()
    assert _login(client, "clin@a1.test", PASSWORD).status_code != 302
    assert _login(client, "clin@a1.test", new).status_code == 302
    assert client.get("/clinician/").headers["Location"].startswith("/clinician/account")
    assert "security.password.reset" in _actions(app)


def test_reset_second_factor_clears_the_authenticator_and_sessions(app, world):
    with app.app_context():
        user = db.session.get(User, world.users["clinician"])
        user.totp_secret = "JBSWY3DPEHPK3PXP"
        user.totp_last_step = 123
        db.session.commit()
        start_session(user, "127.0.0.1")
    result = app.test_cli_runner().invoke(args=["reset-second-factor", "CLIN@a1.test"])
    assert result.exit_code == 0, result.output
    user = _user(app, "clin@a1.test")
    assert (user.totp_secret, user.totp_secret_encrypted, user.totp_last_step) == (
        None,
        None,
        None,
    )
    assert _live_sessions(app, world.users["clinician"]) == 0
    assert "security.totp.reset" in _actions(app)


def test_approve_user_lets_a_pending_account_sign_in(app, world):
    with app.app_context():
        user = db.session.get(User, world.users["register_admin"])
        user.pending_approval = True
        db.session.commit()
    assert _login(app.test_client(), "admin@a.test", PASSWORD).status_code != 302
    result = app.test_cli_runner().invoke(args=["approve-user", "admin@a.test"])
    assert result.exit_code == 0 and "approved" in result.output
    approved = _user(app, "admin@a.test")
    assert not approved.pending_approval and approved.approved_at is not None
    assert _login(app.test_client(), "admin@a.test", PASSWORD).status_code == 302
    again = app.test_cli_runner().invoke(args=["approve-user", "admin@a.test"])
    assert "not waiting" in again.output
    assert _actions(app).count("security.user.approve") == 1


def test_unknown_account_is_a_clear_error(app, world):
    for command in ("reset-password", "reset-second-factor", "approve-user"):
        result = app.test_cli_runner().invoke(args=[command, "nobody@nowhere.test"])
        assert result.exit_code == 1
        assert "no user with e-mail nobody@nowhere.test" in result.output


def test_security_lines_reach_stderr_when_nobody_configured_logging(tmp_path):
    """gunicorn configures only its own loggers: openprom's INFO lines must still show."""
    import os
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from webapp import create_app\n"
        "create_app()\n"
        "logging.getLogger('openprom.security').info('{\"event\": \"probe\"}')\n"
    )
    env = {**os.environ, "OPENPROM_INSTANCE_PATH": str(tmp_path)}
    env.pop("OPENPROM_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert 'INFO openprom.security {"event": "probe"}' in done.stderr
