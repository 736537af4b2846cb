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
        ("", "non_digit"),
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
