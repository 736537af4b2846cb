"""Patient pages: answering questionnaires from an invitation link (no login)."""

from flask import Blueprint

bp = Blueprint("patient", __name__, template_folder="../templates")


# Patient-flow settings read from the environment unless create_app(config) sets them.
ENV_SETTINGS = {
    "OPENPROM_INNSYN_DAYS": int,  # days a patient can see their answers after submitting
    "OPENPROM_OUTBOX_LEASE": int,  # seconds a worker's claim on an e-mail lasts
}


@bp.record_once
def _setup(state) -> None:  # type: ignore[no-untyped-def]
    import os

    from webapp.i18n import init_i18n

    for name, kind in ENV_SETTINGS.items():
        if name not in state.app.config and os.environ.get(name):
            state.app.config[name] = kind(os.environ[name])
    init_i18n(state.app)


from webapp.patient import adaptive, views  # noqa: E402,F401
