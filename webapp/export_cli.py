"""``flask --app wsgi export --register NAME --out DIR``: pseudonymised register export."""

from __future__ import annotations

import click
from flask import Flask


def register_export_commands(app: Flask) -> None:
    """Attach the ``export`` command to ``app.cli``."""

    @app.cli.command("export")
    @click.option("--register", "register_name", required=True, help="register name")
    @click.option("--out", required=True, type=click.Path(file_okay=False), help="output dir")
    @click.option(
        "--format",
        "formats",
        default="csv,parquet,sav,dta",
        show_default=True,
        help="comma-separated: csv, parquet, sav, dta",
    )
    @click.option("--lang", default="nb", show_default=True, help="language of labels")
    def export(register_name: str, out: str, formats: str, lang: str) -> None:
        """Write completed responses and scores (pseudonymised) plus a codebook to OUT."""
        from webapp.extensions import db
        from webapp.services import audit
        from webapp.services.export import ExportError, export_register, parse_formats

        try:
            result = export_register(register_name, out, formats=parse_formats(formats), lang=lang)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(
            "export.create",
            actor_type="cli",
            actor_label="flask export",
            subject=f"register:{register_name}",
            details={
                "formats": formats,
                "lang": lang,
                "rows": result.rows,
                "free_text": result.free_text,
            },
        )
        db.session.commit()
        for iid, rows in result.rows.items():
            click.echo(f"{iid}: {rows} responses")
        for path in result.files:
            click.echo(f"wrote {path}")
