"""ML EFA finds psych's optimum where a single start does not (issue 13).

Reference values: ``data/make_efa_ml_reference.R`` -> ``data/efa_ml_reference.json``
(R 4.2.2, psych 2.2.9 ``fa(epi.bfi, nfactors, fm = "ml", rotate = "oblimin")``). Data:
psychTools::epi.bfi (231 x 13), ``epi_bfi.csv``. With 3 factors factor_analyzer's single
ML start stopped at a worse local optimum (loadings off by up to 0.83); psych's objective
there is 1.4865.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import efa
from scoring.psychometrics.ml_factor import ml_extract

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "efa_ml_reference.json").read_text())


@pytest.fixture(scope="module")
def epi() -> pd.DataFrame:
    return pd.read_csv(DATA / "epi_bfi.csv")


@pytest.mark.parametrize("nf", [2, 3])
def test_ml_efa_matches_psych_fa_ml(epi, nf):
    ref = REF[f"ml{nf}"]
    res = efa(epi, nf, method="ml")
    np.testing.assert_allclose(res.loadings.to_numpy(), np.array(ref["loadings"]), atol=5e-5)
    np.testing.assert_allclose(res.communalities, ref["communality"], atol=5e-5)
    np.testing.assert_allclose(res.factor_correlations.to_numpy(), np.array(ref["phi"]), atol=5e-5)


def test_ml_objective_is_psychs_and_the_best_start_wins(epi):
    corr = np.corrcoef(epi.to_numpy(float), rowvar=False)
    _, objective, starts = ml_extract(corr, 3)
    # psych reports 1.486486 (its optimum at the 0.005 bound differs by ~1e-5 in psi)
    assert objective == pytest.approx(REF["ml3"]["objective"], abs=1e-4)
    assert starts > 1
