"""Key handling, ID encryption, blind index and pseudonyms."""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.exceptions import InvalidTag

from webapp.config import ConfigError, load_settings
from webapp.crypto import IdCipher, decode_key, generate_key, pseudonym, token_hash


def test_cipher_round_trip_blind_index_and_context():
    key = decode_key(generate_key())
    c = IdCipher(key)
    blob = c.encrypt("03851598730")
    assert b"03851598730" not in blob
    assert c.decrypt(blob) == "03851598730"
    assert c.encrypt("03851598730") != blob  # random nonce
    assert c.blind_index("03851598730") == c.blind_index("03851598730")
    assert IdCipher(decode_key(generate_key())).blind_index("03851598730") != c.blind_index(
        "03851598730"
    )
    with pytest.raises(InvalidTag):
        c.decrypt(blob, b"email")
    with pytest.raises(InvalidTag):
        IdCipher(decode_key(generate_key())).decrypt(blob)


def test_pseudonym_is_keyed_and_stable():
    k1, k2 = decode_key(generate_key()), decode_key(generate_key())
    assert pseudonym("03851598730", k1) == pseudonym("03851598730", k1)
    assert pseudonym("03851598730", k1) != pseudonym("03851598730", k2)
    assert "03851598730" not in pseudonym("03851598730", k1)
    assert len(token_hash("abc")) == 64


def test_bad_keys_are_named():
    with pytest.raises(ValueError, match="OPENPROM_ID_KEY must be 32 bytes"):
        decode_key("c2hvcnQ=", "OPENPROM_ID_KEY")


def test_embedded_default_generates_keys_once(tmp_path):
    s1 = load_settings(tmp_path, env={})
    keys_file = tmp_path / "keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert set(json.loads(keys_file.read_text())) == {
        "OPENPROM_SECRET_KEY",
        "OPENPROM_ID_KEY",
        "OPENPROM_PSEUDONYM_KEY",
    }
    s2 = load_settings(tmp_path, env={})
    assert s1.id_key == s2.id_key and s1.database_url.startswith("sqlite:///")


def test_other_database_requires_explicit_keys(tmp_path):
    with pytest.raises(ConfigError, match="OPENPROM_ID_KEY"):
        load_settings(tmp_path, env={"OPENPROM_DATABASE_URL": "postgresql://x/y"})
    assert not (tmp_path / "keys.json").exists()


def test_embedded_default_is_a_sqlite_file_under_instance(tmp_path):
    settings = load_settings(tmp_path, env={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'openprom.sqlite'}"
    assert settings.smtp_url is None


def test_every_openprom_variable_reaches_the_settings(tmp_path):
    id_key, pseudonym_key = generate_key(), generate_key()
    env = {
        "OPENPROM_DATABASE_URL": "postgresql+psycopg://openprom@db.example/openprom",
        "OPENPROM_SECRET_KEY": "session-secret",
        "OPENPROM_ID_KEY": id_key,
        "OPENPROM_PSEUDONYM_KEY": pseudonym_key,
        "OPENPROM_SMTP_URL": "smtp://mail.example:25",
        "OPENPROM_BASE_URL": "https://prom.example.no/",
    }
    s = load_settings(tmp_path, env=env)
    assert s.database_url == env["OPENPROM_DATABASE_URL"]
    assert s.secret_key == "session-secret"
    assert s.id_key == decode_key(id_key) and s.pseudonym_key == decode_key(pseudonym_key)
    assert s.id_key != s.pseudonym_key
    assert s.smtp_url == "smtp://mail.example:25"
    assert s.base_url == "https://prom.example.no" and s.cookie_secure is True
    assert not (tmp_path / "keys.json").exists()  # nothing generated when keys are given


def test_given_keys_win_over_generated_ones_on_the_embedded_default(tmp_path):
    id_key = generate_key()
    s = load_settings(tmp_path, env={"OPENPROM_ID_KEY": id_key})
    assert s.id_key == decode_key(id_key)
    generated = json.loads((tmp_path / "keys.json").read_text())
    assert decode_key(generated["OPENPROM_PSEUDONYM_KEY"]) == s.pseudonym_key


def test_a_malformed_key_in_the_environment_is_named(tmp_path):
    env = {name: generate_key() for name in ("OPENPROM_ID_KEY", "OPENPROM_PSEUDONYM_KEY")}
    env["OPENPROM_SECRET_KEY"] = "x"
    env["OPENPROM_PSEUDONYM_KEY"] = "not base64 !"
    with pytest.raises(ValueError, match="OPENPROM_PSEUDONYM_KEY"):
        load_settings(tmp_path, env=env)
