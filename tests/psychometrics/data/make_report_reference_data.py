"""Writes rand36_reference.csv and rand36_reference_retest.csv (seeded numpy; run once).

Simulated RAND-36 answers (printed codes, RAND 36-Item Health Survey 1.0 form) for the
report-versus-R comparison (make_report_reference.R, test_report_r_agreement.py):
1,000 respondents with latent physical and mental health (r = 0.5), a ``sex`` column
(item q05 has uniform DIF by sex), a ``chronic`` column (lower physical health), 1.5 %
of the answers missing; the retest has 900 of them again (12 % of answers moved one
code, 1.5 % missing) plus 30 unknown ids, in shuffled order. Run from this folder:
    python make_report_reference_data.py && Rscript make_report_reference.R
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261201)
SCALES = {
    "PF": list(range(3, 13)), "RP": [13, 14, 15, 16], "RE": [17, 18, 19], "SF": [20, 32],
    "BP": [21, 22], "VT": [23, 27, 29, 31], "MH": [24, 25, 26, 28, 30],
    "GH": [1, 33, 34, 35, 36], "HT": [2],
}
CODES = {1: 5, 2: 5, **{i: 3 for i in range(3, 13)}, **{i: 2 for i in range(13, 20)},
         20: 5, 21: 6, 22: 5, **{i: 6 for i in range(23, 32)}, **{i: 5 for i in range(32, 37)}}
# printed codes where a higher code means worse health (RAND form)
HIGHER_WORSE = {1, 2, 20, 21, 22, 23, 26, 27, 30, 34, 36}
LOADINGS = {"PF": (0.9, 0.1), "RP": (0.8, 0.3), "BP": (0.75, 0.25), "GH": (0.6, 0.4),
            "VT": (0.4, 0.6), "SF": (0.35, 0.65), "RE": (0.2, 0.75), "MH": (0.1, 0.9),
            "HT": (0.4, 0.3)}

n = 1000
latent = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=n)
chronic = rng.random(n) < 1 / (1 + np.exp(1.0 + 1.2 * latent[:, 0]))
sex = rng.choice(["female", "male"], size=n)
cols = {"id": np.arange(1001, 1001 + n), "sex": sex, "chronic": np.where(chronic, "yes", "no")}
items = {}
for scale, numbers in SCALES.items():
    a, b = LOADINGS[scale]
    factor = a * latent[:, 0] + b * latent[:, 1] + rng.normal(0, 0.45, n)
    for i in numbers:
        k = CODES[i]
        x = 1.3 * factor + rng.normal(0, 1.0, n) + (np.where(sex == "male", 0.9, 0) if i == 5
                                                     else 0)
        cuts = np.quantile(rng.normal(0.3, 1.2, 4000), np.linspace(0, 1, k + 1)[1:-1])
        level = np.searchsorted(cuts, x) + 1  # 1..k, higher = better health
        items[i] = k + 1 - level if i in HIGHER_WORSE else level
names = [f"q{i:02d}" for i in range(1, 37)]
test = pd.DataFrame({**cols, **{f"q{i:02d}": items[i] for i in range(1, 37)}})
test[names] = test[names].astype(float).mask(rng.random((n, 36)) < 0.015)
retest = test.iloc[:900].copy()
for i in range(1, 37):
    c, k = f"q{i:02d}", CODES[i]
    move = rng.random(900) < 0.12
    retest[c] = np.where(move, np.clip(retest[c] + rng.choice([-1, 1], 900), 1, k), retest[c])
retest[names] = retest[names].mask(rng.random((900, 36)) < 0.015)
extra = test.iloc[900:930].copy()
extra["id"] = extra["id"] + 100_000
retest = pd.concat([retest, extra]).sample(frac=1.0, random_state=7)
test.to_csv("rand36_reference.csv", index=False, na_rep="", float_format="%.0f")
retest.to_csv("rand36_reference_retest.csv", index=False, na_rep="", float_format="%.0f")
