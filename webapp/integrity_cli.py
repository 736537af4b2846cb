"""``flask --app wsgi verify-scores [--register NAME]``: stored scores against stored answers."""

from __future__ import annotations

import click
from flask import Flask


def register_integrity_commands(app: Flask) -> None:
    """Attach the ``verify-scores`` command to ``app.cli``."""

    @app.cli.command("verify-scores")
    @click.option("--register", "register_name", help="only this register's responses")
    def verify_scores(register_name: str | None) -> None:
        """Recompute every stored score of completed responses; exit 1 on a mismatch.

        Lists response and invitation ids (never patients). Scores from another algorithm
        version than the current one are listed as not checkable.
        """
        from webapp.extensions import db
        from webapp.services import audit
        from webapp.services.integrity import UnknownRegister
        from webapp.services.integrity import verify_scores as verify

        try:
            report = verify(register_name)
        except UnknownRegister as exc:
            raise click.ClickException(f"no register named {register_name!r}") from exc
        for mismatch in report.mismatches:
            for problem in mismatch.problems:
                click.echo(f"mismatch: response {mismatch.response_id}: {problem}")
        for invitation_id in report.invitations:
            click.echo(
                f"mismatch: invitation {invitation_id}: dashboard keys differ from its enrolment"
            )
        for invitation_id, problem in report.completions:
            click.echo(f"mismatch: invitation {invitation_id}: {problem}")
        for response_id, reasons in sorted(report.not_checkable.items()):
            for reason in reasons:
                click.echo(f"not checkable: response {response_id}: {reason}")
        if report.not_checkable:
            click.echo(f"{len(report.not_checkable)} responses with scores not checkable")
        click.echo(f"{report.checked} responses checked, {report.failed} mismatches")
        audit.record(
            "scores.verify",
            actor_type="cli",
            actor_label="flask verify-scores",
            subject=f"register:{register_name}" if register_name else "all registers",
            details={"checked": report.checked, "mismatches": report.failed},
        )
        db.session.commit()
        if report.failed:
            raise click.exceptions.Exit(1)
