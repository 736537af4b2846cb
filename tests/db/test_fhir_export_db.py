"""FHIR export on SQLite and PostgreSQL (server-side cursor): one valid QuestionnaireResponse
per completed response, subjects are the same pseudonyms as in the tabular export."""

from __future__ import annotations

import json

import pandas as pd
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tests.webapp.export_support import TEST_IDS, seed_register
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.services.export import export_register


def test_fhir_export_matches_the_tabular_export(app_factory, database_url, tmp_path):
    app = app_factory(database_url)
    with app.app_context():
        seed_register()
        result = export_register("hip-register", tmp_path, formats=("csv", "fhir"))
        key = register_pseudonym_key(app.config["OPENPROM_PSEUDONYM_KEY"], "hip-register")
    assert result.rows == {"eq5d5l": 3}
    lines = (tmp_path / "QuestionnaireResponse.ndjson").read_text("utf-8").splitlines()
    resources = [json.loads(line) for line in lines]
    for resource in resources:
        QuestionnaireResponse.model_validate(resource)
    subjects = [r["subject"]["identifier"]["value"] for r in resources]
    assert subjects == [pseudonym(n, key) for n in TEST_IDS]
    frame = pd.read_csv(tmp_path / "eq5d5l.csv")
    assert subjects == list(frame["pseudonym"])
    assert [int(r["id"]) for r in resources] == list(frame["response_id"])
    observations = (tmp_path / "Observation.ndjson").read_text("utf-8").splitlines()
    assert len(observations) == 9
