"""Population norms file: loader checks and the norm for a sex and age.

No published norm values are used here: the fixture file
``tests/fixtures/norms/synthetic_eq5d5l_norms.csv`` holds obviously synthetic numbers
(11, 22, 33 …), so every expected value below is read off that file by eye. Band rule
tested: both ends of a band are included (as the age groups "18–29", "30–39" … of
population-norm papers, e.g. Garratt et al. 2022, Qual Life Res 31:517, whose youngest
group is 18–29 and oldest 80 and over).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.norms import NormsFileError, load_norms

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "norms" / "synthetic_eq5d5l_norms.csv"
HEADER = "instrument,score,sex,age_low,age_high,mean,sd,n,source,value_set\n"
GOOD_ROW = "eq5d5l,vas,female,18,29,11,1,101,test,\n"


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return load_norms(FIXTURE)


def test_fixture_loads_every_row(table):
    assert len(table.rows) == 9
    first = table.rows[0]
    assert (first.instrument, first.score, first.sex) == ("eq5d5l", "vas", "female")
    assert (first.age_low, first.age_high, first.mean, first.sd, first.n) == (18, 29, 11, 1, 101)
    assert first.source.startswith("SYNTHETIC")
    assert first.value_set == ""


@pytest.mark.parametrize(
    ("sex", "age", "mean"),
    [
        ("female", 17, None),  # below the youngest band
        ("female", 18, 11),  # lower edge of 18-29
        ("female", 29, 11),  # upper edge of 18-29
        ("female", 30, 22),  # next band starts the year after
        ("female", 59, 22),
        ("female", 60, 33),
        ("female", 69, 33),
        ("female", 70, 44),  # open band 70 and over
        ("female", 104, 44),
        ("male", 18, 55),
        ("male", 69, 55),
        ("male", 70, 66),
        ("male", 17, None),
    ],
)
def test_vas_norm_band_edges(table, sex, age, mean):
    found = table.norm_for("vas", sex, age, instrument="eq5d5l")
    assert (found.mean if found else None) == mean


def test_empty_sd_and_n_are_none(table):
    found = table.norm_for("vas", "female", 75, instrument="eq5d5l")
    assert found is not None
    assert (found.mean, found.sd, found.n, found.age_high) == (44, None, None, None)


def test_index_norm_only_for_the_same_value_set(table):
    women = table.norm_for("index", "female", 65, instrument="eq5d5l", value_set="NO")
    assert women is not None and women.mean == 0.111
    assert table.norm_for("index", "female", 65, instrument="eq5d5l", value_set="DK") is None
    assert table.norm_for("index", "female", 65, instrument="eq5d5l") is None
    men = table.norm_for("index", "male", 65, instrument="eq5d5l", value_set="England")
    assert men is not None and men.mean == 0.333
    assert table.norm_for("index", "male", 65, instrument="eq5d5l", value_set="NO") is None


def test_other_instrument_or_score_has_no_norm(table):
    assert table.norm_for("vas", "female", 40, instrument="eq5d3l") is None
    assert table.norm_for("profile", "female", 40, instrument="eq5d5l") is None


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "norms.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "norms.csv: the file is empty"),
        (HEADER, "norms.csv: the file has a header but no norms"),
        (
            "instrument,score,sex,age_low,age_high,mean,sd,n,source\n" + GOOD_ROW,
            "line 1: the header must name the columns",
        ),
        (HEADER.replace("sd,", "stdev,"), "missing sd; unknown stdev"),
        (HEADER + "eq5d5l,vas,female,18,29,11,1,101,test\n", "line 2: 9 cells where the header"),
        (HEADER + "eq5d9l,vas,female,18,29,11,1,101,test,\n", "line 2, column instrument"),
        (HEADER + "eq5d5l,VAS,female,18,29,11,1,101,test,\n", "column score: eq5d5l has no"),
        (HEADER + "eq5d5l,profile,female,18,29,11,1,101,test,\n", "column score"),
        (HEADER + "eq5d5l,vas,kvinne,18,29,11,1,101,test,\n", "column sex: 'kvinne' is neither"),
        (HEADER + "eq5d5l,vas,female,,29,11,1,101,test,\n", "column age_low: a whole number"),
        (HEADER + "eq5d5l,vas,female,18.5,29,11,1,101,test,\n", "column age_low: '18.5'"),
        (HEADER + "eq5d5l,vas,female,30,29,11,1,101,test,\n", "age_high 29 is below age_low 30"),
        (HEADER + "eq5d5l,vas,female,18,29,,1,101,test,\n", "column mean: a number is required"),
        (HEADER + "eq5d5l,vas,female,18,29,79,5,0,test,\n", "column n: must be at least 1"),
        (HEADER + "eq5d5l,vas,female,18,29,7,x,101,test,\n", "column sd: 'x' is not a number"),
        (HEADER + "eq5d5l,vas,female,18,29,7,-1,101,test,\n", "sd: a standard deviation cannot"),
        (HEADER + "eq5d5l,vas,female,18,29,nan,1,101,test,\n", "column mean: 'nan' is not a"),
        (HEADER + "eq5d5l,vas,female,18,29,11,1,101,,\n", "column source: say where"),
        (HEADER + "eq5d5l,index,female,18,29,0.8,,,test,\n", "column value_set: the value set"),
        (HEADER + "eq5d5l,index,female,18,29,0.8,,,test,XX\n", "unknown value set 'XX'"),
        (HEADER + "eq5d5l,vas,female,18,29,11,1,101,test,NO\n", "eq5d5l vas takes no value set"),
        (
            HEADER + GOOD_ROW + "eq5d5l,vas,female,29,39,11,1,101,test,\n",
            "norms.csv, lines 2 and 3: the age bands of eq5d5l vas (female) overlap",
        ),
        (
            HEADER + "eq5d5l,vas,female,70,,11,1,101,test,\n" + GOOD_ROW.replace("18,29", "80,89"),
            "lines 2 and 3: the age bands",
        ),
    ],
)
def test_bad_file_gives_a_clear_error(tmp_path, text, message):
    with pytest.raises(NormsFileError) as err:
        load_norms(_write(tmp_path, text))
    assert message in str(err.value)


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(NormsFileError, match="no such norms file"):
        load_norms(tmp_path / "absent.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + GOOD_ROW.replace("test", "kilde: Bøe")).encode("latin-1"))
    with pytest.raises(NormsFileError, match="not UTF-8"):
        load_norms(path)


def test_same_bands_for_other_sex_or_value_set_do_not_overlap(tmp_path):
    text = (
        HEADER
        + GOOD_ROW
        + GOOD_ROW.replace("female", "male")
        + "eq5d5l,index,female,18,29,0.8,,,test,NO\n"
        + "eq5d5l,index,female,18,29,0.7,,,test,England\n"
    )
    assert len(load_norms(_write(tmp_path, text)).rows) == 4
