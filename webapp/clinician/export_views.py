"""Register export pages (register admins and methodologists): choose formats, get a ZIP."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from flask import abort, g, render_template, request, send_file
from sqlalchemy import select

from webapp.auth import guarded
from webapp.clinician import bp
from webapp.extensions import db
from webapp.models import Register, User
from webapp.services import access, audit
from webapp.services.export import FORMATS, LANGUAGES, ExportError, export_register


def _exportable(user: User) -> list[Register]:
    ids = access.register_ids(user, access.EXPORT_ROLES)
    if not ids:
        return []
    return list(
        db.session.scalars(select(Register).where(Register.id.in_(ids)).order_by(Register.name))
    )


def _may_export_any(user: User) -> bool:
    return bool(access.register_ids(user, access.EXPORT_ROLES))


@bp.get("/export")
@guarded("export", _may_export_any)
def export_index():  # type: ignore[no-untyped-def]
    """Registers the user may export, each with a form for formats and label language."""
    return render_template(
        "clinician/export.html", registers=_exportable(g.user), formats=FORMATS, languages=LANGUAGES
    )


@bp.post("/export/<int:register_id>")
@guarded("export", access.can_export)
def export_download(register_id: int):  # type: ignore[no-untyped-def]
    """Build the pseudonymised export in a temporary directory and send it as a ZIP."""
    register = db.session.get(Register, register_id)
    if register is None:
        abort(404)
    formats = tuple(f for f in request.form.getlist("format") if f in FORMATS) or ("csv",)
    lang = request.form.get("lang", "nb")
    if lang not in LANGUAGES:
        abort(400)
    archive = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115 (send_file closes it)
    with tempfile.TemporaryDirectory(prefix="openprom-export-") as tmp:
        try:
            result = export_register(register.name, tmp, formats=formats, lang=lang)
        except ExportError:
            abort(400)
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in result.files:
                zf.write(path, arcname=Path(path).name)
    audit.record_by(
        g.user,
        "export.create",
        subject=f"register:{register.name}",
        details={
            "formats": ",".join(formats),
            "lang": lang,
            "rows": result.rows,
            "free_text": result.free_text,
        },
    )
    db.session.commit()
    archive.seek(0)
    return send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{register.name}-export.zip",
    )
