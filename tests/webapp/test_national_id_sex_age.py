"""Sex and age from a Norwegian national ID (for population norms on the clinician page).

Rules: the ninth digit (the last individual digit) is even for women, odd for men, 0 counting
as even (Store norske leksikon, «fødselsnummer»; Jusleksikon, «Fødselsnummer»). D-numbers
add 4 to the first digit and keep the same personal number. Numbers of the 2032 format are
gender-neutral and are recognised by a first check digit whose weighted sum leaves a
remainder 1-3 instead of 0 (Skatteetaten, «Nye fødselsnummer og d-nummer fra 2032»).
Weights for the first check digit: 3 7 6 1 8 9 4 5 2 (and 1 on the check digit itself);
for the second: 5 4 3 2 7 6 5 4 3 2 (and 1). Sums below are worked by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest

from webapp.national_id import age_on, sex_of, validate

# Synthetic (month + 80, Skatteetaten's convention for test numbers, so no real person's
# number) 15.06.1975, individual number 484 (ninth digit 4: a woman), made by hand:
#   k1: 3*1+7*5+6*8+1*6+8*7+9*5+4*4+5*8+2*4 = 257; 257 mod 11 = 4 -> k1 = 11-4 = 7
#   k2: 5*1+4*5+3*8+2*6+7*7+6*5+5*4+4*8+3*4+2*7 = 218; 218 mod 11 = 9 -> k2 = 11-9 = 2
WOMAN_FNR = "15867548472"
# The same person as a D-number (first digit 1 + 4 = 5):
#   k1: 3*5+7*5+6*8+1*6+8*7+9*5+4*4+5*8+2*4 = 269; 269 mod 11 = 5 -> k1 = 6
#   k2: 5*5+4*5+3*8+2*6+7*7+6*5+5*4+4*8+3*4+2*6 = 236; 236 mod 11 = 5 -> k2 = 6
WOMAN_DNR = "55867548466"


@pytest.mark.parametrize(
    ("number", "sex", "why"),
    [
        (WOMAN_FNR, "female", "ninth digit 4"),
        (WOMAN_DNR, "female", "D-number, ninth digit 4"),
        # Skatteetaten's test list: "reelt 1964-nummer"; ninth digit 7, first sum 176 = 16*11
        ("20036914700", "male", "ninth digit 7"),
        # Skatteetaten's test list (leap day 2000); ninth digit 1, first sum 121 = 11*11
        ("29020073150", "male", "ninth digit 1"),
        # synthetic (month + 80) 17.04.1958, individual 100: ninth digit 0 is even; sum 220
        ("17845810001", "female", "ninth digit 0"),
        # Skatteetaten's "syntetisk 1964-D-nummer": ninth digit 3, first sum 209 = 19*11
        ("41819077302", "male", "synthetic D-number, ninth digit 3"),
        # Skatteetaten's "reelt 2032-nummer": first sum 199 = 18*11 + 1 -> gender-neutral
        ("30108299939", None, "2032 format"),
        # Skatteetaten's "reelt 2032-D-nummer": first sum 211 = 19*11 + 2
        ("55102499947", None, "2032 D-number"),
        # H-number (month + 40) and FH number (first digit 8) of tests/webapp/test_national_id.py
        ("15458012331", None, "H-number"),
        ("81234567802", None, "FH number"),
    ],
)
def test_sex_from_the_ninth_digit(number, sex, why):
    assert sex_of(validate(number)) == sex, why


@pytest.mark.parametrize(
    ("number", "day", "age"),
    [
        (WOMAN_FNR, dt.date(2025, 6, 14), 49),  # the day before the 50th birthday
        (WOMAN_FNR, dt.date(2025, 6, 15), 50),  # on the birthday
        (WOMAN_DNR, dt.date(2025, 6, 15), 50),  # D-number: same birth date (day - 40)
        (WOMAN_FNR, dt.date(1975, 6, 15), 0),
        (WOMAN_FNR, dt.date(1975, 6, 14), None),  # before birth
        ("29020073150", dt.date(2025, 2, 28), 24),  # born 29.02.2000
        ("29020073150", dt.date(2025, 3, 1), 25),
        ("29020073150", dt.date(2024, 2, 29), 24),
        ("41819077302", dt.date(2025, 1, 1), None),  # individual 773 with year 90: no century
        ("81234567802", dt.date(2025, 1, 1), None),  # FH number: no date
    ],
)
def test_age_in_whole_years(number, day, age):
    assert age_on(validate(number), day) == age
