"""Input validation in scoring.core (codes per item come from each instrument's form)."""

import numpy as np
import pandas as pd
import pytest

from scoring import ScoringInputError, get, score, score_table
from scoring.core import CHUNK_ROWS, prepare


@pytest.mark.parametrize("bad", [6, -1, 2.5, "x", float("inf"), 1e12])
def test_impossible_cat_codes_are_reported(bad):
    with pytest.raises(ScoringInputError) as info:
        score("cat", {"q01": bad, "q02": 1})
    (error,) = info.value.errors
    assert (error.row, error.item) == (0, "q01")
    assert "allowed 0..5" in str(error)


def test_text_digits_and_blanks_are_read():
    table = {"q01": np.array(["1", " 2 ", "", None], dtype=object)}
    columns, errors, bad = prepare(get("odi"), table)
    assert errors == []
    np.testing.assert_array_equal(columns["q01"], [1.0, 2.0, np.nan, np.nan])
    assert not bad.any()


def test_blank_mode_blanks_only_invalid_rows():
    table = {f"q{i:02d}": np.array([1, 1, 1]) for i in range(1, 9)}
    table["q03"] = np.array([1, 7, 1])
    result = score_table("cat", table, errors="blank")
    assert result["total"][0] == 8 and np.isnan(result["total"][1]) and result["total"][2] == 8
    assert list(result["impact"]) == ["low", None, "low"]


def test_errors_across_chunks_keep_absolute_row_numbers():
    n = CHUNK_ROWS + 10
    table = {f"q{i:02d}": np.ones(n) for i in range(1, 9)}
    table["q05"][CHUNK_ROWS + 3] = 9
    with pytest.raises(ScoringInputError) as info:
        score_table("cat", table)
    assert [(e.row, e.item) for e in info.value.errors] == [(CHUNK_ROWS + 3, "q05")]
    result = score_table("cat", table, errors="blank")
    assert np.isnan(result["total"][CHUNK_ROWS + 3])
    assert np.nansum(result["total"]) == 8 * (n - 1)


def test_dataframe_input_and_unknown_item():
    df = pd.DataFrame({f"q{i:02d}": [2, None] for i in range(1, 11)})
    assert score_table("odi", df)["total"][0] == pytest.approx(40.0)
    with pytest.raises(ValueError, match="unknown item"):
        score("odi", {"q11": 1})
    with pytest.raises(ValueError, match="no item column"):
        score_table("odi", {"x": [1]})


def test_pandas_nullable_columns():
    # pd.NA (nullable Int64 and string columns) means "not answered", like NaN and None
    ints = pd.DataFrame({f"q{i:02d}": pd.array([1, None, 2], dtype="Int64") for i in range(1, 9)})
    texts = pd.DataFrame(
        {f"q{i:02d}": pd.array(["1", None, " 2"], dtype="string") for i in range(1, 9)}
    )
    for df in (ints, texts):
        result = score_table("cat", df)
        np.testing.assert_array_equal(result["total"], [8.0, np.nan, 16.0])
        assert list(result["impact"]) == ["low", None, "medium"]
    bad = texts.copy()
    bad["q03"] = pd.array(["1", "x", "2"], dtype="string")
    with pytest.raises(ScoringInputError, match="row 2, column q03: not a number 'x'"):
        score_table("cat", bad)
