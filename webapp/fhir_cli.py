"""FHIR exchange commands: ``import-responses``, ``create-api-token``, ``revoke-api-token``,
``list-api-tokens`` (``flask --app wsgi COMMAND --help``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask


def register_fhir_commands(app: Flask) -> None:
    """Attach the FHIR commands to ``app.cli``."""

    @app.cli.command("import-responses")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--register", "register_name", required=True, help="register name")
    @click.option(
        "--mode",
        type=click.Choice(["helsenorge", "paper", "external"]),
        default="external",
        show_default=True,
        help="how the answers were given: helsenorge, paper (scanned) or external (another system)",
    )
    @click.option("--dry-run", is_flag=True, help="check everything, store nothing")
    def import_responses(file: str, register_name: str, mode: str, dry_run: bool) -> None:
        """Import completed FHIR R4 QuestionnaireResponses (NDJSON, one a line).

        Every resource is checked first; one problem refuses the whole file (one line per
        problem: resource number, linkId, reason) and nothing is stored. Resources
        imported before are recognised and not stored twice.
        """
        from webapp.extensions import db
        from webapp.services import audit
        from webapp.services.export import ExportError, find_register
        from webapp.services.fhir_import import Actor, ImportRefused, parse_ndjson
        from webapp.services.fhir_import import import_responses as run

        try:
            register = find_register(register_name)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot read {file}: {exc}") from exc
        resources, unreadable = parse_ndjson(text)
        actor = Actor("cli", label="flask import-responses")
        try:
            if unreadable:  # report the problems of the readable lines as well
                try:
                    run(resources, register, mode=mode, actor=actor, dry_run=True)
                except ImportRefused as exc:
                    unreadable = sorted(unreadable + exc.problems, key=lambda p: p.index)
                raise ImportRefused(unreadable)
            report = run(resources, register, mode=mode, actor=actor, dry_run=dry_run)
        except ImportRefused as exc:
            audit.record(
                "response.import.refused",
                actor_type="cli",
                actor_label=actor.label,
                subject=f"register:{register_name}",
                details={"file": Path(file).name[:100], "problems": len(exc.problems)},
            )
            db.session.commit()
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(
                f"{len(exc.problems)} problem(s) in {file}; nothing was imported"
            ) from exc
        if dry_run:
            audit.record(
                "response.import.dry_run",
                actor_type="cli",
                actor_label=actor.label,
                subject=f"register:{register_name}",
                details={"file": Path(file).name[:100], "would_store": report.stored},
            )
            db.session.commit()
            click.echo(
                f"dry run: {report.stored} response(s) would be stored,"
                f" {report.duplicates} already imported; nothing was stored"
            )
            return
        click.echo(f"stored {report.stored} response(s); {report.duplicates} already imported")

    @app.cli.command("create-api-token")
    @click.option("--register", "register_name", required=True, help="register name")
    @click.option("--scope", type=click.Choice(["read", "write"]), required=True)
    @click.option("--label", default="", help="who or what uses the token (shown in lists)")
    def create_api_token(register_name: str, scope: str, label: str) -> None:
        """Issue a bearer token of the /fhir API for one register; printed once."""
        from webapp.extensions import db
        from webapp.services import api_tokens, audit
        from webapp.services.export import ExportError, find_register

        try:
            register = find_register(register_name)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        issued = api_tokens.create(register, scope, label)
        audit.record(
            "api_token.create",
            actor_type="cli",
            actor_label="flask create-api-token",
            subject=f"register:{register_name}",
            details={"token_id": issued.token.id, "scope": scope, "label": label[:200]},
        )
        db.session.commit()
        click.echo(f"API token {issued.token.id} for register {register_name} ({scope})")
        click.echo(f"token (shown once, store it safely): {issued.secret}")

    @app.cli.command("revoke-api-token")
    @click.argument("token_id", type=int)
    def revoke_api_token(token_id: int) -> None:
        """Revoke an API token by its id (refused from now on)."""
        from webapp.extensions import db
        from webapp.services import api_tokens, audit

        try:
            token = api_tokens.revoke(token_id)
        except api_tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(
            "api_token.revoke",
            actor_type="cli",
            actor_label="flask revoke-api-token",
            subject=f"register:{token.register.name}",
            details={"token_id": token_id},
        )
        db.session.commit()
        click.echo(f"API token {token_id} revoked")

    @app.cli.command("list-api-tokens")
    @click.option("--register", "register_name", required=True, help="register name")
    def list_api_tokens(register_name: str) -> None:
        """List a register's API tokens (id, scope, label, created, revoked; never secrets)."""
        from webapp.services import api_tokens
        from webapp.services.export import ExportError, find_register

        try:
            register = find_register(register_name)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        for token in api_tokens.tokens_of(register):
            revoked = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "live"
            click.echo(
                f"{token.id}\t{token.scope}\t{revoked}\tcreated {token.created_at:%Y-%m-%d}"
                f"\t{token.label}"
            )
