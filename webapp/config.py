"""Configuration from ``OPENPROM_*`` environment variables.

On the embedded default (SQLite under ``instance/``) missing keys are generated once into
``instance/keys.json`` (mode 0600, never committed). With any other database every key
must be given explicitly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from webapp.crypto import decode_key, generate_key

KEY_NAMES = ("OPENPROM_SECRET_KEY", "OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY")


class ConfigError(RuntimeError):
    """The configuration is incomplete or invalid."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings (mapped onto Flask config keys by :func:`flask_config`)."""

    database_url: str
    secret_key: str
    id_key: bytes
    pseudonym_key: bytes
    smtp_url: str | None
    base_url: str
    instance_path: Path
    cookie_secure: bool
    trusted_proxies: int = 0
    token_max_failures: int = 20
    token_failure_window: int = 900
    max_content_length: int = 1024 * 1024  # bytes of a request body (413 above)
    max_form_parts: int = 200  # fields + files of a multipart form (413 above)
    require_second_factor: bool = True  # staff must set up TOTP before any other page
    sms_url: str | None = None  # HTTP SMS gateway (POST JSON {to, text}); None = no SMS
    # population norms CSV (scoring.norms) for the clinician's summary panel; None = none
    norms_file: Path | None = None


def _instance_keys(instance_path: Path) -> dict[str, str]:
    path = instance_path / "keys.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    instance_path.mkdir(parents=True, exist_ok=True)
    keys = {name: generate_key() for name in KEY_NAMES}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(keys, fh, indent=2)
    return keys


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _count(env: dict[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def load_settings(instance_path: Path, env: dict[str, str] | None = None) -> Settings:
    """Read the environment; generate dev keys only on the embedded SQLite default."""
    env = dict(os.environ if env is None else env)
    default_db = f"sqlite:///{instance_path / 'openprom.sqlite'}"
    database_url = env.get("OPENPROM_DATABASE_URL") or default_db
    embedded = "OPENPROM_DATABASE_URL" not in env or database_url == default_db
    missing = [name for name in KEY_NAMES if not env.get(name)]
    if missing:
        if not embedded:
            raise ConfigError(
                "missing " + ", ".join(missing) + " (required when OPENPROM_DATABASE_URL is set;"
                " generate one with: python -c 'import secrets,base64;"
                "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
            )
        generated = _instance_keys(instance_path)
        for name in missing:
            env[name] = generated[name]
    base_url = (env.get("OPENPROM_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return Settings(
        database_url=database_url,
        secret_key=env["OPENPROM_SECRET_KEY"],
        id_key=decode_key(env["OPENPROM_ID_KEY"], "OPENPROM_ID_KEY"),
        pseudonym_key=decode_key(env["OPENPROM_PSEUDONYM_KEY"], "OPENPROM_PSEUDONYM_KEY"),
        smtp_url=env.get("OPENPROM_SMTP_URL") or None,
        base_url=base_url,
        instance_path=instance_path,
        cookie_secure=_flag(
            env.get("OPENPROM_COOKIE_SECURE"), default=base_url.startswith("https:")
        ),
        trusted_proxies=_count(env, "OPENPROM_TRUSTED_PROXIES", 0),
        token_max_failures=_count(env, "OPENPROM_TOKEN_MAX_FAILURES", 20, minimum=1),
        token_failure_window=_count(env, "OPENPROM_TOKEN_FAILURE_WINDOW", 900, minimum=1),
        max_content_length=_count(
            env, "OPENPROM_MAX_CONTENT_LENGTH", 1024 * 1024, minimum=16 * 1024
        ),
        max_form_parts=_count(env, "OPENPROM_MAX_FORM_PARTS", 200, minimum=10),
        # on everywhere but the embedded demo default, whose printed demo logins have none
        require_second_factor=_flag(
            env.get("OPENPROM_REQUIRE_SECOND_FACTOR"), default=not embedded
        ),
        sms_url=env.get("OPENPROM_SMS_URL") or None,
        norms_file=_norms_file(env.get("OPENPROM_NORMS_FILE")),
    )


def _norms_file(raw: str | None) -> Path | None:
    """The population norms file, checked now so that a bad file stops the start with the
    loader's message (file, line, column) instead of hiding norms from clinicians."""
    if not raw:
        return None
    from scoring.norms import NormsFileError, load_norms

    try:
        load_norms(raw)
    except NormsFileError as exc:
        raise ConfigError(f"OPENPROM_NORMS_FILE: {exc}") from None
    return Path(raw)


def engine_options(database_url: str) -> dict[str, object]:
    """SQLAlchemy engine options for ``database_url`` (none beyond the defaults).

    A server database's pooled connections are checked at checkout without a round trip
    (a connection the server closed is replaced: :mod:`webapp.extensions`), instead of
    ``pool_pre_ping``'s ``SELECT 1`` before every request. SQLite's WAL mode, busy timeout
    and ``synchronous`` are set on every connection there too.
    """
    del database_url  # the same for every database today
    return {}


def flask_config(settings: Settings) -> dict[str, object]:
    """Flask config mapping for ``settings``."""
    return {
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings.database_url),
        "OPENPROM_ID_KEY": settings.id_key,
        "OPENPROM_PSEUDONYM_KEY": settings.pseudonym_key,
        "OPENPROM_SMTP_URL": settings.smtp_url,
        "OPENPROM_BASE_URL": settings.base_url,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": settings.cookie_secure,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "OPENPROM_TRUSTED_PROXIES": settings.trusted_proxies,
        "OPENPROM_TOKEN_MAX_FAILURES": settings.token_max_failures,
        "OPENPROM_TOKEN_FAILURE_WINDOW": settings.token_failure_window,
        "MAX_CONTENT_LENGTH": settings.max_content_length,
        "MAX_FORM_PARTS": settings.max_form_parts,
        "OPENPROM_REQUIRE_SECOND_FACTOR": settings.require_second_factor,
        "OPENPROM_SMS_URL": settings.sms_url,
        "OPENPROM_NORMS_FILE": settings.norms_file,
    }
