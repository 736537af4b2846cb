"""Operator commands for staff accounts: reset a forgotten password, clear a lost second
factor, approve a pending account.

They are for the operator on the server (who has identified the person out of band); each
ends the account's sessions where it changes a credential and is written to the audit log
as a security event. A generated password is printed once and must be changed at the next
sign-in.
"""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select


def _user(email: str):  # type: ignore[no-untyped-def]
    from webapp.extensions import db
    from webapp.models import User

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with e-mail {email.strip().lower()}")
    return user


def _credential_changed(user, event: str) -> None:  # type: ignore[no-untyped-def]
    """End every session of ``user``, record ``event`` (via the CLI) and commit."""
    from webapp.extensions import db
    from webapp.services import security_events
    from webapp.services.auth import revoke_all
    from webapp.services.users import audit_subject

    revoke_all(user)
    security_events.record(
        event,
        user_id=user.id,
        email=user.email,
        outcome="success",
        details={"via": "cli"},
        subject=audit_subject(user),
    )
    db.session.commit()


def register_account_commands(app: Flask) -> None:
    """Attach ``reset-password``, ``reset-second-factor`` and ``approve-user`` to ``app.cli``."""

    @app.cli.command("reset-password")
    @click.argument("email")
    def reset_password(email: str) -> None:
        """Give EMAIL a new generated password (shown once; must be changed at sign-in)."""
        from webapp.models import utcnow
        from webapp.services.passwords import generate_password, hash_password

        user = _user(email)
        password = generate_password()
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        user.must_change_password = True
        _credential_changed(user, "password.reset")
        click.echo(f"new password for {user.email} (shown once): {password}")
        click.echo("the owner must choose a new password at the next sign-in")

    @app.cli.command("reset-second-factor")
    @click.argument("email")
    def reset_second_factor(email: str) -> None:
        """Clear EMAIL's authenticator (lost phone); they set up a new one at sign-in."""
        user = _user(email)
        user.totp_secret_encrypted = None
        user.totp_secret = None
        user.totp_last_step = None
        _credential_changed(user, "totp.reset")
        click.echo(f"second factor of {user.email} cleared; every session ended")

    @app.cli.command("approve-user")
    @click.argument("email")
    def approve_user(email: str) -> None:
        """Approve a pending privileged account (the operator is the second person)."""
        from webapp.extensions import db
        from webapp.models import utcnow
        from webapp.services import security_events
        from webapp.services.users import audit_subject

        user = _user(email)
        if not user.pending_approval:
            click.echo(f"{user.email} is not waiting for approval")
            return
        user.pending_approval = False
        user.approved_at = utcnow()
        security_events.record(
            "user.approve",
            user_id=user.id,
            email=user.email,
            outcome="success",
            details={"via": "cli", "target_id": user.id},
            subject=audit_subject(user),
        )
        db.session.commit()
        click.echo(f"{user.email} approved")
