"""Register-operation commands: ``withdraw``, ``reinstate``, ``import-coverage``,
``unit-report`` and ``analyse``.

Register IDs given on the command line are validated, never echoed and never logged:
output names the patient by internal number only.
"""

from __future__ import annotations

import click
from flask import Flask


def _register(name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Register

    register = db.session.scalar(select(Register).where(Register.name == name))
    if register is None:
        known = ", ".join(db.session.scalars(select(Register.name).order_by(Register.name)))
        raise click.ClickException(f"unknown register {name!r} (known: {known or 'none'})")
    return register


def register_register_ops_commands(app: Flask) -> None:
    """Attach the register-operation commands to ``app.cli``."""

    @app.cli.command("withdraw")
    @click.argument("register_id")
    @click.option("--register", "register_name", required=True, help="register name")
    @click.option(
        "--erase",
        is_flag=True,
        help="also delete the answers (always done in a consent-based register)",
    )
    def withdraw(register_id: str, register_name: str, erase: bool) -> None:
        """Withdraw a patient from a register: no more invitations, left out of every
        export, dashboard, indicator and report; answers deleted with --erase."""
        from webapp.extensions import db
        from webapp.patient_cli import _known_patient
        from webapp.services.withdrawal import WithdrawalError
        from webapp.services.withdrawal import withdraw as withdraw_patient

        patient = _known_patient(register_id)
        register = _register(register_name)
        try:
            result = withdraw_patient(patient, register, erase=erase, actor_type="cli")
        except WithdrawalError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(
            f"patient #{patient.id} withdrawn from {register.name}:"
            f" {result.invitations_revoked} invitation(s) revoked,"
            f" {result.messages_dropped} message(s) dropped,"
            f" {result.scores_deleted} score(s) deleted"
            + (f", {result.responses_deleted} response(s) erased" if result.erased else "")
        )

    @app.cli.command("reinstate")
    @click.argument("register_id")
    @click.option("--register", "register_name", required=True, help="register name")
    @click.option("--reason", required=True, help="why the withdrawal is undone (required)")
    def reinstate(register_id: str, register_name: str, reason: str) -> None:
        """Undo a patient's withdrawal from a register: the withdrawal stays as history,
        the patient is back in exports and reports (kept answers scored again); revoked
        invitations are not revived; a consent-based register needs a new consent."""
        from webapp.extensions import db
        from webapp.patient_cli import _known_patient
        from webapp.services.withdrawal import WithdrawalError
        from webapp.services.withdrawal import reinstate as reinstate_patient

        patient = _known_patient(register_id)
        register = _register(register_name)
        try:
            result = reinstate_patient(patient, register, reason=reason, actor_type="cli")
        except WithdrawalError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(
            f"patient #{patient.id} reinstated in {register.name}"
            f" (withdrawn {result.withdrawn_at.date().isoformat()}):"
            f" {result.scores_restored} score(s) of {result.responses_rescored} kept"
            " response(s) restored; revoked invitations are not revived"
            + (
                "; record a new consent before inviting"
                if register.legal_basis == "consent"
                else ""
            )
        )

    @app.cli.command("import-coverage")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--register", "register_name", required=True, help="register name")
    def import_coverage(file: str, register_name: str) -> None:
        """Import treated patients per unit and year (national patient register) from a
        CSV file with the columns unit, year (or period) and treated; replaces the stored
        counts of the file's years. On any error nothing is stored."""
        from pathlib import Path

        from webapp.extensions import db
        from webapp.services import audit
        from webapp.services.coverage import CoverageImportError, import_counts

        register = _register(register_name)
        try:
            result = import_counts(Path(file), register)
        except CoverageImportError as exc:
            db.session.rollback()
            for problem in exc.problems:
                click.echo(problem, err=True)
            raise click.ClickException(
                f"nothing imported: {len(exc.problems)} problem(s) in {file}"
            ) from None
        audit.record(
            "coverage.import",
            actor_type="cli",
            subject=f"register {register.name}",
            details={"rows": result.rows, "years": list(result.years), "replaced": result.replaced},
        )
        db.session.commit()
        years = ", ".join(str(y) for y in result.years)
        click.echo(
            f"imported {result.rows} count(s) for {years} into {register.name}"
            f" (replaced {result.replaced})"
        )

    @app.cli.command("unit-report")
    @click.option("--unit", "unit_name", required=True, help="unit name")
    @click.option("--month", required=True, help="month, e.g. 2026-11")
    @click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False, writable=True),
        help="FILE.pdf or FILE.html",
    )
    @click.option(
        "--language",
        type=click.Choice(["nb", "nn", "en"]),
        default="nb",
        show_default=True,
        help="language of the report's texts and number format",
    )
    def unit_report_command(unit_name: str, month: str, output: str, language: str) -> None:
        """Write a unit's monthly report (response rates, indicators against the register
        with target levels and funnel positions, coverage, score distributions and change;
        n < 5 suppressed) as PDF or HTML, in bokmål unless ``--language`` says otherwise."""
        from pathlib import Path

        from sqlalchemy import select

        from webapp.clinician.register_ops_views import render_month_html, render_month_pdf
        from webapp.extensions import db
        from webapp.models import Unit
        from webapp.services import monthly_report

        path = Path(output)
        if path.suffix.lower() not in (".pdf", ".html"):
            raise click.ClickException("-o must end in .pdf or .html")
        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        if unit is None:
            raise click.ClickException(f"unknown unit {unit_name!r}")
        with monthly_report.in_language(language):
            try:
                report = monthly_report.build(unit, month)
            except monthly_report.MonthError as exc:
                raise click.ClickException(str(exc)) from None
            try:
                if path.suffix.lower() == ".pdf":
                    path.write_bytes(render_month_pdf(report))
                else:
                    path.write_text(render_month_html(report), encoding="utf-8")
            except OSError as exc:
                raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
        click.echo(f"wrote {path} ({unit.name}, {report.month_title})")

    @app.cli.command("analyse")
    @click.option("--register", "register_name", required=True, help="register name")
    @click.option(
        "--query",
        "query_file",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="YAML file: instrument, scale, [protocol], [time_point], [by], [years]",
    )
    def analyse_command(register_name: str, query_file: str) -> None:
        """Counts, means and quartiles of a score by up to two of unit, year, sex and age
        band, with disclosure control (n<5 suppressed, complementary suppression, rounding);
        CSV on standard output. Every query is audited."""
        import csv
        import sys

        import yaml

        from webapp.extensions import db
        from webapp.services import audit
        from webapp.services.analysis import AnalysisError, analyse, as_rows

        register = _register(register_name)
        try:
            with open(query_file, encoding="utf-8") as f:
                query = yaml.safe_load(f)
            table = analyse(register, query)
        except (OSError, yaml.YAMLError) as exc:
            raise click.ClickException(f"cannot read {query_file}: {exc}") from None
        except AnalysisError as exc:
            raise click.ClickException(str(exc)) from None
        records = as_rows(table)
        audit.record(
            "analysis.query",
            actor_type="cli",
            subject=f"register {register.name}",
            details={
                "query": table.query,
                "cells": len(records),
                "suppressed": sum(c.suppressed for c in table.cells.values()),
            },
        )
        db.session.commit()
        if records:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
