"""``create-api-token`` / ``revoke-api-token`` / ``list-api-tokens``: the token is shown
once, only its SHA-256 is stored, revocation is immediate, everything is audited."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ApiToken, AuditEvent, Register
from webapp.services import api_tokens


def _register(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.add(Register(name="hip", title="Hip"))
        db.session.commit()


def test_create_list_revoke(app):
    _register(app)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-api-token",
            "--register",
            "hip",
            "--scope",
            "read",
            "--label",
            "analysis server",
        ]
    )
    assert result.exit_code == 0, result.output
    secret = re.search(r"shown once, store it safely\): (\S+)", result.output).group(1)
    assert secret.startswith("opf_") and len(secret) >= 4 + 43  # 256 bits, base64
    with app.app_context():
        (row,) = db.session.scalars(select(ApiToken)).all()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr(row.__dict__)
        assert (row.scope, row.label, row.revoked_at) == ("read", "analysis server", None)
        assert api_tokens.find(secret).id == row.id
        token_id = row.id
    listed = runner.invoke(args=["list-api-tokens", "--register", "hip"])
    assert f"{token_id}\tread\tlive" in listed.output and secret not in listed.output
    revoked = runner.invoke(args=["revoke-api-token", str(token_id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with app.app_context():
        assert api_tokens.find(secret) is None
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["api_token.create", "api_token.revoke"]
    assert "revoked" in runner.invoke(args=["list-api-tokens", "--register", "hip"]).output


def test_bad_requests(app):
    _register(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-api-token", "--register", "nope", "--scope", "read"])
    assert result.exit_code != 0 and "unknown register 'nope'" in result.output
    result = runner.invoke(args=["create-api-token", "--register", "hip", "--scope", "admin"])
    assert result.exit_code != 0
    assert "no API token with id 99" in runner.invoke(args=["revoke-api-token", "99"]).output
    with app.app_context():
        assert api_tokens.find(None) is None and api_tokens.find("opf_nothing") is None
        assert db.session.scalars(select(ApiToken)).all() == []
