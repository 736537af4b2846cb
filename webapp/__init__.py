"""openprom web application: ``create_app()`` builds a configured Flask app.

The web layer is thin: views turn HTTP into calls of :mod:`webapp.services`, which use the
domain core (:mod:`instruments`, :mod:`scoring`) and the models.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import flask_config, load_settings
from webapp.extensions import csrf, db, migrate
from webapp.signed_tokens import init_signed_tokens

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO_ROOT / "migrations"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    # same-origin: Flask-WTF's strict CSRF check over HTTPS needs the Referer, and
    # invitation tokens in URLs still never leave the site.
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


def _log_openprom_lines() -> None:
    """Security and error lines (loggers ``openprom.*``) reach stderr at INFO even when
    nobody configured logging (gunicorn configures only its own loggers)."""
    log = logging.getLogger("openprom")
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        log.addHandler(handler)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app; ``config`` overrides settings read from ``OPENPROM_*`` variables."""
    instance_path = Path(os.environ.get("OPENPROM_INSTANCE_PATH") or REPO_ROOT / "instance")
    app = Flask(__name__, instance_path=str(instance_path.resolve()))
    _log_openprom_lines()
    overrides = dict(config or {})
    env = None
    if "SQLALCHEMY_DATABASE_URI" in overrides:
        env = {**os.environ, "OPENPROM_DATABASE_URL": overrides["SQLALCHEMY_DATABASE_URI"]}
    app.config.update(flask_config(load_settings(Path(app.instance_path), env)))
    app.config.update(overrides)
    hops = int(app.config.get("OPENPROM_TRUSTED_PROXIES") or 0)
    if hops:  # behind N reverse proxies: client address, scheme and host from X-Forwarded-*
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    init_signed_tokens(app)

    from webapp import models  # noqa: F401  (register the tables on the metadata)
    from webapp.admin import bp as admin_bp
    from webapp.api import bp as api_bp
    from webapp.auth import init_auth
    from webapp.cli import register_commands
    from webapp.clinician import bp as clinician_bp
    from webapp.fhir import bp as fhir_bp
    from webapp.health import bp as health_bp
    from webapp.http_policy import init_http_policy
    from webapp.patient import bp as patient_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(patient_bp)
    app.register_blueprint(clinician_bp, url_prefix="/clinician")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api")
    csrf.exempt(api_bp)
    app.register_blueprint(fhir_bp, url_prefix="/fhir")
    csrf.exempt(fhir_bp)  # bearer tokens only: no cookie is trusted there
    register_commands(app)
    init_auth(app)
    init_http_policy(app)

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        # one pass over the headers instead of a search per setdefault
        present = {name.lower() for name, _value in response.headers}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                response.headers.add(name, value)
        return response

    return app
