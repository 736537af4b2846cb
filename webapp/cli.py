"""Flask CLI commands (``flask --app wsgi COMMAND``). ``db`` comes from Flask-Migrate."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register_commands(app: Flask) -> None:
    """Attach openprom's commands to ``app.cli``."""
    from webapp.patient_cli import register_patient_commands

    register_patient_commands(app)

    @app.cli.command("demo")
    @click.option("--patients", default=20, show_default=True, help="synthetic patients")
    @click.option("--yes", is_flag=True, help="allow a database other than the embedded SQLite")
    def demo(patients: int, yes: bool) -> None:
        """Create demo register, units, users, protocol and patients; print the logins."""
        from webapp.services.demo import create_demo

        url = current_app.config["SQLALCHEMY_DATABASE_URI"]
        if not url.startswith("sqlite") and not yes:
            raise click.ClickException(
                "demo data has fixed passwords: refusing a non-SQLite database without --yes"
            )
        logins = create_demo(patients=patients)
        click.echo("Demo data ready. Logins (password for all: shown below):")
        for login in logins:
            click.echo(f"  {login.email:34} {login.password:20} {login.role} ({login.scope})")
