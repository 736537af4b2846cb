"""Export on SQLite and PostgreSQL (server-side cursor path): rows and pseudonyms match."""

from __future__ import annotations

import pandas as pd

from tests.webapp.export_support import ANSWERS, TEST_IDS, seed_register
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.services.export import export_register


def test_export_matches_database(app_factory, database_url, tmp_path):
    app = app_factory(database_url)
    with app.app_context():
        seed_register()
        result = export_register("hip-register", tmp_path, formats=("csv", "parquet"))
        # the register's own key (HKDF of the master key with the register name)
        key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip-register")
    assert result.rows == {"eq5d5l": 3}
    frame = pd.read_parquet(tmp_path / "eq5d5l.parquet")
    assert list(frame["pseudonym"]) == [pseudonym(n, key) for n in TEST_IDS]
    assert list(frame["eq5d5l_AD"]) == [a["AD"] for a in ANSWERS]
    assert list(pd.read_csv(tmp_path / "eq5d5l.csv")["eq5d5l_VAS"]) == [a["VAS"] for a in ANSWERS]
