"""Writes simulated_items.csv and simulated_retest.csv (seeded numpy; run once).

Used with make_simulated_reference.R to cross-check openprom against R psych on data
that are not a textbook example. Run from this folder:
    python make_simulated_psychometrics.py && Rscript make_simulated_reference.R
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261122)
# 9 items, 3 group factors of 3 items plus a general factor, cut to 1..5
n = 600
g = rng.standard_normal(n)
groups = rng.standard_normal((n, 3))
latent = np.column_stack([0.55 * g + 0.5 * groups[:, j // 3] for j in range(9)])
latent += rng.standard_normal((n, 9)) * 0.7
items = np.digitize(latent, [-1.2, -0.4, 0.4, 1.2]) + 1.0
items[rng.random(items.shape) < 0.03] = np.nan
pd.DataFrame(items, columns=[f"q{j + 1:02d}" for j in range(9)]).to_csv(
    "simulated_items.csv", index=False, na_rep="")
# test-retest: 150 subjects, 3 occasions, a systematic shift at occasion 3
m = 150
true = rng.normal(50, 10, m)
retest = np.column_stack([true + rng.normal(shift, 4, m) for shift in (0.0, 0.5, 2.0)])
retest = np.round(retest, 1)
retest[rng.random(retest.shape) < 0.02] = np.nan
pd.DataFrame(retest, columns=["t1", "t2", "t3"]).to_csv(
    "simulated_retest.csv", index=False, na_rep="")
