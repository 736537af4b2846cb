"""``python -m scoring``: CSV in, CSV out, exit status 0/1/2.

Expected scores: ODI and CAT by the published arithmetic (Fairbank & Pynsent 2000; CAT
user guide 2016), RAND-36 from PharmCat/SF36HealthSurvey.jl test/runtests.jl (PCS
44.4027962318693, MCS 32.31104541346562) and RAND Scoring Instructions Table 1.
"""

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.__main__ import main

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, list(csv.DictReader(io.StringIO(out))) if out.strip() else [], out, err


def test_odi_file_with_bad_rows(capsys):
    code, rows, _, err = run(["score", "odi", str(DATA / "odi_example.csv")], capsys)
    assert code == 1
    by_id = {r["id"]: r for r in rows}
    assert by_id["A"]["total"] == "0" and by_id["A"]["band"] == "minimal"
    assert by_id["B"]["total"] == "40" and by_id["B"]["band"] == "moderate"  # 20/50
    assert by_id["C"]["total"] == "20"  # 9/45 with one section missing
    assert by_id["D"]["total"] == ""  # one section answered: not scored
    assert by_id["E"]["total"] == "" and by_id["F"]["total"] == ""
    assert by_id["F"]["note"] == "text" and by_id["F"]["q01"] == "x"  # input kept as is
    assert "row 5, column q01: impossible code '7'" in err
    assert "row 6, column q01: not a number 'x'" in err


def test_all_valid_rows_exit_0_and_output_file(tmp_path, capsys):
    path = tmp_path / "ok.csv"
    path.write_text("q01,q02,q03,q04,q05,q06,q07,q08\n1,1,1,1,1,1,2,2\n5,5,5,5,5,5,5,5\n")
    out = tmp_path / "out.csv"
    assert main(["score", "cat", str(path), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["total"], r["impact"]) for r in rows] == [("10", "medium"), ("40", "very high")]


def test_rand36_file(capsys):
    code, rows, _, err = run(["score", "rand36", str(DATA / "rand36_example.csv")], capsys)
    assert code == 1 and "column q21" in err
    first = rows[0]
    assert float(first["PCS"]) == pytest.approx(44.4027962318693, abs=1e-6)
    assert float(first["MCS"]) == pytest.approx(32.31104541346562, abs=1e-6)
    assert rows[1]["PF"] == ""
    assert float(rows[2]["BP"]) == 60.0  # RAND: q22 missing, q21=3 -> 60 alone


def test_codes_with_leading_zero_and_spaces_are_read(tmp_path, capsys):
    path = tmp_path / "z.csv"
    path.write_text("q01,q02,q03,q04,q05,q06,q07,q08\n01, 1,1,1,1,1,1,1\n")
    code, rows, _, _ = run(["score", "cat", str(path)], capsys)
    assert code == 0 and rows[0]["total"] == "8" and rows[0]["q01"] == "01"


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "nosuch", "x.csv"],
        ["score", "cat", "does-not-exist.csv"],
        ["score", "cat", str(DATA / "odi_example.csv"), "--value-set", "UK"],
        ["score", "eq5d5l", str(DATA / "cat_example.csv")],  # no EQ-5D item column
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_value_sets_listing(capsys):
    assert main(["value-sets", "eq5d5l"]) == 0
    out = capsys.readouterr().out
    assert "(default)" in out and all(line.startswith("eq5d5l\t") for line in out.splitlines())
    assert main(["value-sets", "nosuch"]) == 2
    capsys.readouterr()
    assert main(["value-sets", "rand36"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "without a value set" in err
    assert main(["value-sets"]) == 0
    listed = {tuple(line.split("\t")[:2]) for line in capsys.readouterr().out.splitlines()}
    for name in ("NO (default)", "England", "UK", "UK-crosswalk", "DK", "SE", "SE-2020"):
        assert ("eq5d5l", name) in listed
    for name in ("UK (default)", "DK"):
        assert ("eq5d3l", name) in listed


def test_module_entry_point(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scoring", "score", "cat", str(DATA / "cat_example.csv")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert result.returncode == 1
    assert "total,impact" in result.stdout.splitlines()[0]
    assert "column q08" in result.stderr


def test_eq5d5l_example_file(capsys):
    # Expected: 11111 = 1 (every value set); 55555 = -0.453 (Garratt et al. 2024, abstract;
    # eq5dsuite EQ-5D-5L/NO.csv) and -0.285 under England (Devlin 2018; R eq5d tests).
    path = str(DATA / "eq5d5l_example.csv")
    code, rows, _, err = run(["score", "eq5d5l", path], capsys)
    assert code == 1
    by_id = {r["id"]: r for r in rows}
    assert (by_id["a"]["index"], by_id["a"]["vas"], by_id["a"]["profile"]) == ("1", "90", "11111")
    assert float(by_id["b"]["index"]) == pytest.approx(-0.453, abs=1e-9)
    for bad in ("c", "d"):  # MO=7, VAS=140: the row's scores are empty, the input is kept
        assert by_id[bad]["index"] == by_id[bad]["vas"] == by_id[bad]["profile"] == ""
    assert by_id["c"]["MO"] == "7" and by_id["d"]["VAS"] == "140"
    assert by_id["e"]["index"] == "" and by_id["e"]["profile"] == ""  # UA not answered
    assert "(line 4): row 3, column MO: impossible code '7' (allowed 1..5)" in err
    assert "(line 5): row 4, column VAS: impossible code '140' (allowed 0..100)" in err
    assert len(err.strip().splitlines()) == 2
    code, rows, _, _ = run(["score", "eq5d5l", path, "--value-set", "England"], capsys)
    assert code == 1 and float(rows[1]["index"]) == pytest.approx(-0.285, abs=0.0005)


def test_cat_example_file(capsys):
    # CAT user guide 2016: total = sum of the 8 items; a total of exactly 10 is "medium".
    code, rows, _, err = run(["score", "cat", str(DATA / "cat_example.csv")], capsys)
    assert code == 1
    assert [(r["total"], r["impact"]) for r in rows] == [
        ("10", "medium"),
        ("40", "very high"),
        ("", ""),  # q08 not answered: no total
        ("", ""),  # q08 = 6 is impossible
    ]
    assert err.strip() == (
        f"{DATA / 'cat_example.csv'} (line 5): row 4, column q08: impossible code '6' "
        "(allowed 0..5)"
    )
