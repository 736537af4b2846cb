"""Patient pages: answering questionnaires from an invitation link (no login)."""

from flask import Blueprint

bp = Blueprint("patient", __name__, template_folder="../templates")


@bp.record_once
def _setup(state) -> None:  # type: ignore[no-untyped-def]
    from webapp.i18n import init_i18n
    from webapp.patient.limits import limiter

    init_i18n(state.app)
    limiter.init_app(state.app)


from webapp.patient import views  # noqa: E402,F401
