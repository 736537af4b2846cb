"""Tests of responsiveness indices and the minimal important change.

``data/responsiveness_simulated.csv``: 400 simulated patients (numpy seed 2006): baseline
~ N(45, 15), anchor 1..5 (1-2 improved, 3 unchanged, 4-5 worse), true change 15 / 8 / 0 /
-6 plus N(0, 9) noise, rounded; two baselines missing.
Reference values from R 4.2.2: base R (``mean``, ``sd``, ``t.test``), pROC 1.18.0
(``roc``, ``ci.auc(method = "delong")``, ``coords("best", best.method = "youden")``) and
boot 1.3-28.1 (``boot.ci(type = "perc")``, 20,000 resamples).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from scoring.psychometrics import responsiveness

DATA = Path(__file__).parent / "data" / "responsiveness_simulated.csv"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def result(data):
    return responsiveness(
        data["baseline"], data["followup"], data["anchor"], improved=[1, 2], unchanged=[3]
    )


def test_distribution_based_indices_match_r(result):
    # R: mean change 2.37185930, sd(baseline) 14.07694498, sd(change) 11.98287662 (n 398)
    assert result.n == 398
    assert result.mean_change.value == pytest.approx(2.37185930, abs=1e-7)
    assert result.effect_size.value == pytest.approx(2.37185930 / 14.07694498, abs=1e-7)
    assert result.srm.value == pytest.approx(2.37185930 / 11.98287662, abs=1e-7)


def test_bootstrap_cis_agree_with_r_boot_within_monte_carlo_error(result):
    # R boot 1.3-28.1, 20,000 resamples, percentile: ES [0.0841, 0.2549], SRM [0.0997, 0.2954]
    assert result.effect_size.ci == pytest.approx((0.0841, 0.2549), abs=0.01)
    assert result.srm.ci == pytest.approx((0.0997, 0.2954), abs=0.01)
    assert "seed" in result.effect_size.method


def test_bootstrap_is_reproducible_with_the_seed(data, result):
    again = responsiveness(data["baseline"], data["followup"])
    assert again.effect_size.ci == result.effect_size.ci
    other = responsiveness(data["baseline"], data["followup"], seed=99)
    assert other.effect_size.ci != result.effect_size.ci


def test_anchor_based_mic_matches_r_t_tests(result):
    # R: t.test(change[improved]): mean 10.95238095, CI 9.45738586 .. 12.44737605;
    # t.test(change[improved], change[unchanged]) (Welch): CI 10.31967882 .. 14.64758309
    assert result.mic_mean_change.value == pytest.approx(10.95238095, abs=1e-7)
    assert result.mic_mean_change.ci == pytest.approx((9.45738586, 12.44737605), abs=1e-7)
    assert result.mic_difference.ci == pytest.approx((10.31967882, 14.64758309), abs=1e-7)
    assert result.groups["improved"]["n"] == 168
    assert result.groups["unchanged"]["n"] == 128
    assert result.groups["other"] == 102


def test_roc_mic_matches_pROC(result, data):
    # pROC 1.18.0: AUC 0.82238188, DeLong CI 0.77579902 .. 0.86896475; Youden-best
    # threshold 5.5 (pROC reports midpoints; our cut-off is the observed value 6, i.e.
    # "change >= 6" is the same rule on integer changes), sensitivity 0.7023809524,
    # specificity 0.796875.
    roc = result.roc
    assert roc.auc.value == pytest.approx(0.82238188, abs=1e-8)
    assert roc.auc.ci == pytest.approx((0.77579902, 0.86896475), abs=1e-7)
    assert roc.cutoff == 6
    assert roc.sensitivity == pytest.approx(0.7023809524, abs=1e-9)
    assert roc.specificity == pytest.approx(0.796875, abs=1e-9)
    # scikit-learn as a second implementation of the AUC
    d = data.dropna()
    sub = d[d["anchor"].isin([1, 2, 3])]
    auc = roc_auc_score(sub["anchor"].isin([1, 2]), sub["followup"] - sub["baseline"])
    assert roc.auc.value == pytest.approx(auc, abs=1e-12)


def test_lower_is_better_mirrors_the_cutoff(data):
    # reversing the score's direction (e.g. ODI, where lower is better) must mirror results
    r = responsiveness(
        -data["baseline"], -data["followup"], data["anchor"], improved=[1, 2], unchanged=[3],
        higher_is_better=False,
    )
    assert r.roc.cutoff == -6
    assert r.roc.auc.value == pytest.approx(0.82238188, abs=1e-8)
    assert "<=" in r.roc.rule
    assert r.mic_mean_change.value == pytest.approx(-10.95238095, abs=1e-7)


def test_without_anchor_and_to_dict(data):
    import json

    r = responsiveness(data["baseline"].to_numpy(), data["followup"].to_numpy(), n_boot=200)
    assert r.roc is None and r.mic_mean_change is None
    json.dumps(r.to_dict())


def test_bad_input_raises(data):
    with pytest.raises(ValueError, match="rows"):
        responsiveness(data["baseline"], data["followup"][:10])
    with pytest.raises(ValueError, match="improved and unchanged"):
        responsiveness(data["baseline"], data["followup"], data["anchor"])
    with pytest.raises(ValueError, match="both"):
        responsiveness(data["baseline"], data["followup"], data["anchor"],
                       improved=[1, 3], unchanged=[3])
    with pytest.raises(ValueError, match="no improved"):
        responsiveness(data["baseline"], data["followup"], data["anchor"],
                       improved=[9], unchanged=[3])
    with pytest.raises(ValueError, match="at least 3"):
        responsiveness([1, np.nan], [2, 3])
