"""API views."""

from __future__ import annotations

from flask import abort, jsonify

from instruments import load_all
from webapp.api import bp
from webapp.auth import public


@bp.get("/instruments")
@public("instrument definitions hold no personal data")
def instruments():  # type: ignore[no-untyped-def]
    """List of bundled instruments (id, version, kind, languages, content hash)."""
    return jsonify(
        [
            {
                "id": i.id,
                "version": i.version,
                "kind": i.kind,
                "languages": list(i.languages),
                "content_hash": i.content_hash,
            }
            for i in sorted(load_all().values(), key=lambda i: i.id)
        ]
    )


@bp.get("/instruments/<instrument_id>/fhir")
@public("instrument definitions hold no personal data")
def instrument_fhir(instrument_id: str):  # type: ignore[no-untyped-def]
    """The instrument as an HL7 FHIR R4 Questionnaire."""
    from instruments.fhir import to_questionnaire

    inst = load_all().get(instrument_id)
    if inst is None:
        abort(404)
    return jsonify(to_questionnaire(inst, lang=inst.languages[0]))
