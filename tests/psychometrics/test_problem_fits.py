"""Problem fits are flagged and bad input refused, as lavaan 0.6-14 does.

* Two factors measuring one construct (numpy seed 2, 200 rows, six items loading 0.7 on one
  factor): lavaan 0.6-14 ``cfa("F1 =~ y1 + y2 + y3\\n F2 =~ y4 + y5 + y6", std.lv = TRUE)``
  on the same data gives r(F1, F2) = 1.019, chisq 7.259 and the warning "covariance matrix
  of latent variables is not positive definite".
* A seventh item y7 = y1 + y2: lavaan stops with "sample covariance matrix is not
  positive-definite".
"""

import numpy as np
import pandas as pd
import pytest

from scoring.psychometrics import cfa, dif

MODEL = {"F1": ["y1", "y2", "y3"], "F2": ["y4", "y5", "y6"]}


@pytest.fixture(scope="module")
def one_factor() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    f = rng.normal(size=200)
    return pd.DataFrame({f"y{i}": 0.7 * f + rng.normal(scale=0.7, size=200) for i in range(1, 7)})


def test_non_positive_definite_factor_correlation_is_flagged(one_factor):
    res = cfa(one_factor, MODEL)
    assert res.factor_correlations.loc["F1", "F2"] == pytest.approx(1.019, abs=5e-4)
    assert res.chi2 == pytest.approx(7.259, abs=5e-4)
    assert res.admissible is False
    assert any("not positive definite" in w for w in res.warnings)
    assert res.to_dict()["admissible"] is False


def test_collinear_items_are_refused(one_factor):
    data = one_factor.assign(y7=one_factor["y1"] + one_factor["y2"])
    with pytest.raises(ValueError, match="collinear.*y1.*y2.*y7"):
        cfa(data, {"F1": ["y1", "y2", "y3", "y7"], "F2": ["y4", "y5", "y6"]})


def test_infinite_values_are_refused(one_factor):
    data = one_factor.copy()
    data.loc[3, "y2"] = np.inf
    with pytest.raises(ValueError, match="'y2' has infinite values"):
        cfa(data, MODEL)


def test_text_in_a_numeric_column_is_refused_not_made_missing(one_factor):
    data = one_factor.astype({"y5": object})
    data.loc[7, "y5"] = "n/a"
    with pytest.raises(ValueError, match="'y5' has non-numeric values.*'n/a'"):
        cfa(data, MODEL)
    items = pd.DataFrame({"a": [1, 2, 3, 2] * 10, "b": [2, 3, 1, 2] * 10}).astype(object)
    items.loc[0, "b"] = "x"
    with pytest.raises(ValueError, match="'b' has non-numeric values"):
        dif(items, pd.Series(["m", "f"] * 20))


def test_numbers_stored_as_text_are_accepted(one_factor):
    data = one_factor.astype({"y1": str})
    assert cfa(data, MODEL).chi2 == pytest.approx(cfa(one_factor, MODEL).chi2, rel=1e-9)
