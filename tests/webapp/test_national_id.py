"""Validation of Norwegian national ID numbers.

Expected validity comes from Skatteetaten's published test list
(Skatteetaten/folkeregisteret-api-dokumentasjon, docs/dokumenter/
foedselsEllerDNummerValidator/foedselsnummer.csv), an independent source.
"""

from __future__ import annotations

import datetime as dt

import pytest

from webapp.national_id import InvalidNationalId, is_valid, synthetic_number, validate

# (number, synthetic, valid, description) as published by Skatteetaten.
SKATTEETATEN = [
    ("30108299939", False, True, "reelt 2032-nummer"),
    ("30908299902", True, True, "syntetisk 2032-nummer"),
    ("20036914700", False, True, "reelt 1964-nummer"),
    ("03851598730", True, True, "syntetisk 1964-nummer"),
    ("20036914712", False, False, "reelt 1964-nummer"),
    ("29020073150", False, True, "reelt 1964-nummer (skuddag i skuddår)"),
    ("29020105729", False, False, "reelt 1964-nummer (skuddag i ikke-skuddår)"),
    ("55102499947", False, True, "reelt 2032-D-nummer"),
    ("41819077906", True, True, "syntetisk 2032-D-nummer"),
    ("41819077302", True, True, "syntetisk 1964-D-nummer"),
]


@pytest.mark.parametrize(("number", "synthetic", "valid", "description"), SKATTEETATEN)
def test_skatteetaten_reference_list(number, synthetic, valid, description):
    assert is_valid(number) is valid, description
    if valid:
        assert validate(number).synthetic is synthetic


def test_kinds_and_birth_dates():
    assert validate("55102499947").kind == "dnr"  # D-number: first digit + 4
    assert validate("55102499947").birth_date == dt.date(2024, 10, 15)
    assert validate("03851598730").birth_date == dt.date(2015, 5, 3)  # month 85 = 5 + 80
    assert validate("29020073150").birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0385159873", "length"),
        ("038515987301", "length"),
        ("0385159873O", "non_digit"),
        ("", "length"),
        ("   ", "length"),
        ("29020105729", "bad_date"),
        ("20036914712", "bad_check_digit"),
        ("03851598731", "bad_check_digit"),
    ],
)
def test_each_failure_kind_has_its_own_reason(raw, reason):
    with pytest.raises(InvalidNationalId) as info:
        validate(raw)
    assert info.value.reason == reason
    assert str(info.value)  # a message a person can read


# Constructed numbers: check digits worked out by hand with the published weights
# (k1: 3 7 6 1 8 9 4 5 2, k2: 5 4 3 2 7 6 5 4 3 2; remainder r -> 11 - r, 11 -> 0), e.g.
# 154580123: k1 sum 151, 151 mod 11 = 8 -> 3; k2 sum 131, 131 mod 11 = 10 -> 1.
H_NUMBER = "15458012331"  # 15.05.1980 with month + 40
FH_NUMBER = "81234567802"  # first digit 8: no date (sum 198 -> k1 0; sum 196 -> k2 2)
D_NUMBER_DAY_72 = "72019012345"  # day 72 - 40 = 32: no such date (k1 4, k2 5)
MONTH_13 = "01139012328"  # 01.13.1990 (k1 2, k2 8)


def test_h_and_fh_numbers():
    h = validate(H_NUMBER)
    assert (h.kind, h.birth_date, h.synthetic) == ("hnr", dt.date(1980, 5, 15), False)
    fh = validate(FH_NUMBER)
    assert (fh.kind, fh.birth_date) == ("fh", None)


@pytest.mark.parametrize("number", [D_NUMBER_DAY_72, MONTH_13])
def test_valid_check_digits_with_an_impossible_date_is_a_bad_date(number):
    with pytest.raises(InvalidNationalId) as info:
        validate(number)
    assert info.value.reason == "bad_date"


def test_each_failure_kind_has_a_distinct_clear_message():
    messages = {}
    for raw in ("123", "0385159873O", MONTH_13, "03851598731"):
        with pytest.raises(InvalidNationalId) as info:
            validate(raw)
        messages[info.value.reason] = str(info.value)
    assert set(messages) == {"length", "non_digit", "bad_date", "bad_check_digit"}
    assert len(set(messages.values())) == 4
    assert "11 digits" in messages["length"] and "got 3" in messages["length"]
    assert "digits" in messages["non_digit"]
    assert "date of birth" in messages["bad_date"]
    assert "check digit" in messages["bad_check_digit"]


def test_formatting_is_tolerated_and_repr_hides_the_number():
    nid = validate("038515 98730")
    assert nid.value == "03851598730"
    assert "03851598730" not in repr(nid) and "03851598730" not in str(nid)


def test_synthetic_generator_output_passes_validation():
    numbers = [synthetic_number(dt.date(1975, 6, 30), i) for i in range(0, 40)]
    made = [n for n in numbers if n]
    assert len(made) > 20
    for n in made:
        nid = validate(n)
        assert nid.synthetic and nid.birth_date == dt.date(1975, 6, 30)
