"""Flask CLI commands (``flask --app wsgi COMMAND``). ``db`` comes from Flask-Migrate."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register_commands(app: Flask) -> None:
    """Attach openprom's commands to ``app.cli``."""
    from webapp.patient_cli import register_patient_commands

    register_patient_commands(app)
    from webapp.export_cli import register_export_commands

    register_export_commands(app)
    from webapp.integrity_cli import register_integrity_commands

    register_integrity_commands(app)
    from webapp.account_cli import register_account_commands

    register_account_commands(app)
    from webapp.fhir_cli import register_fhir_commands

    register_fhir_commands(app)
    from webapp.register_ops_cli import register_register_ops_commands

    register_register_ops_commands(app)

    @app.cli.command("demo")
    @click.option(
        "--patients", default=300, show_default=True, help="synthetic patients, 2 years of data"
    )
    @click.option("--yes", is_flag=True, help="allow a database other than the embedded SQLite")
    def demo(patients: int, yes: bool) -> None:
        """Create demo register, units, users, protocol and patients; print the logins."""
        from webapp.services.demo import create_demo

        url = current_app.config["SQLALCHEMY_DATABASE_URI"]
        if not url.startswith("sqlite") and not yes:
            raise click.ClickException(
                "demo data has fixed passwords: refusing a non-SQLite database without --yes"
            )
        from webapp.services.demo import sample_patients

        logins = create_demo(patients=patients)
        click.echo("Demo data ready. Logins (password for all: shown below):")
        for login in logins:
            click.echo(f"  {login.email:34} {login.password:20} {login.role} ({login.scope})")
        numbers = sample_patients()
        if numbers:
            click.echo("Synthetic demo patients at demo-unit to look up: " + ", ".join(numbers))

    @app.cli.command("load-register")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def load_register(file: str) -> None:
        """Create or update a register, its units and protocols from a YAML file."""
        from pathlib import Path

        from webapp.extensions import db
        from webapp.services import audit
        from webapp.services.register_setup import RegisterFileError, load

        try:
            result = load(Path(file))
        except RegisterFileError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        for what in result.created:
            click.echo(f"created {what}")
        for what in result.updated:
            click.echo(f"updated {what}")
        if not result.created and not result.updated:
            click.echo("nothing to change")
        audit.record(
            "register.load",
            actor_type="cli",
            subject=file[:200],
            details={"created": result.created, "updated": result.updated},
        )
        db.session.commit()

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", required=True, help="clinician, unit_lead, register_admin, ...")
    @click.option("--unit", help="unit name (clinician, unit_lead)")
    @click.option("--register", "register_name", help="register name (register_admin, ...)")
    @click.option("--password-stdin", is_flag=True, help="read the password from stdin")
    def create_user(
        email: str, role: str, unit: str | None, register_name: str | None, password_stdin: bool
    ) -> None:
        """Create a user; without --password-stdin a generated password is printed once.

        Accounts made here are approved (the operator is on the server); with a generated
        password the owner must choose a new one at first login.
        """
        from webapp.extensions import db
        from webapp.services import security_events
        from webapp.services.users import UserError, audit_subject, scope_of
        from webapp.services.users import create_user as create

        password = None
        if password_stdin:
            import sys

            password = sys.stdin.readline().rstrip("\r\n")
        try:
            user, password = create(
                email,
                role,
                unit=unit,
                register=register_name,
                password=password,
                must_change_password=not password_stdin,
            )
        except UserError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        security_events.record(
            "user.create",
            outcome="success",
            details={
                "target_id": user.id,
                **scope_of(user),
                "via": "cli",
                "pending_approval": False,
                "must_change_password": not password_stdin,
            },
            subject=audit_subject(user),
        )
        db.session.commit()
        click.echo(f"created {user.email} ({role})")
        if not password_stdin:
            click.echo(f"password (shown once): {password}")
