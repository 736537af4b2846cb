"""A separate pseudonym per register: HKDF-SHA256 of OPENPROM_PSEUDONYM_KEY with the
register name as info, then HMAC-SHA256 of the national ID as before.

The expected key is computed here from RFC 5869 (HKDF, sections 2.2-2.3: extract with a
zero salt of hash length, expand one block) with the standard library's ``hmac``, not
with the code under test (which uses ``cryptography``'s HKDF).
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
from flask import current_app

from tests.webapp.export_support import TEST_IDS, seed_register
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.services.export import PSEUDONYM_METHOD, export_register


def _rfc5869(master: bytes, info: bytes) -> bytes:
    prk = hmac.new(b"\x00" * 32, master, hashlib.sha256).digest()  # extract, salt absent
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()  # expand, L = 32 = HashLen


def test_register_key_is_rfc5869_hkdf_with_the_register_name_as_info():
    master = bytes(range(32))
    assert register_pseudonym_key(master, "hip-register") == _rfc5869(master, b"hip-register")
    assert register_pseudonym_key(master, "nkr-rygg") == _rfc5869(master, b"nkr-rygg")
    assert register_pseudonym_key(master, "hip-register") != register_pseudonym_key(
        master, "nkr-rygg"
    )


def _pseudonyms(out) -> list[str]:  # type: ignore[no-untyped-def]
    return list(pd.read_csv(out / "eq5d5l.csv")["pseudonym"])


def test_two_registers_give_different_pseudonyms_one_register_stable(app, tmp_path):
    with app.app_context():
        seed_register("hip-register", "unit-a")
        seed_register("knee-register", "unit-k")  # the same three patients
        db.session.commit()
        master = current_app.config["OPENPROM_PSEUDONYM_KEY"]
        export_register("hip-register", tmp_path / "hip1", formats=("csv",))
        export_register("hip-register", tmp_path / "hip2", formats=("csv",))
        export_register("knee-register", tmp_path / "knee", formats=("csv",))
    hip, again, knee = (_pseudonyms(tmp_path / d) for d in ("hip1", "hip2", "knee"))
    assert hip == again  # stable within a register
    assert len(set(hip)) == 3 and not set(hip) & set(knee)  # no common pseudonym
    assert hip == [pseudonym(n, _rfc5869(master, b"hip-register")) for n in TEST_IDS]
    assert knee == [pseudonym(n, _rfc5869(master, b"knee-register")) for n in TEST_IDS]
    # the installation-wide key alone no longer gives the export's pseudonyms
    assert not set(hip) & {pseudonym(n, master) for n in TEST_IDS}
    assert "register name as info" in PSEUDONYM_METHOD
    assert "register name as info" in (tmp_path / "hip1" / "codebook.md").read_text("utf-8")
