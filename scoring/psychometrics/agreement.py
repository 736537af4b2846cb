"""Agreement and measurement error: ICC (Shrout & Fleiss 1979), SEM and SDC.

Data are in wide form: one row per subject, one column per rater or occasion. Rows with
a missing value are dropped (listwise), as ``psych::ICC`` does by default. The mean
squares come from the two-way ANOVA without replication, computed with vectorised
numpy (no loop over subjects):

* MSB (between subjects), MSJ (between raters/occasions), MSE (residual),
  MSW (within subjects = raters + residual, the one-way model).

The six forms and their F-based confidence intervals are those of ``psych::ICC``
(Shrout & Fleiss 1979; McGraw & Wong 1996 for the ICC2 interval). McGraw & Wong names
are accepted as aliases: ICC(1) = ICC1, ICC(A,1) = ICC2, ICC(C,1) = ICC3, ICC(k) = ICC1k,
ICC(A,k) = ICC2k, ICC(C,k) = ICC3k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scoring.psychometrics.items import apply_missing, as_item_frame
from scoring.psychometrics.results import Estimate, _clean

FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
DESCRIPTIONS = {
    "ICC1": "one-way random, single rater (absolute)",
    "ICC2": "two-way random, single rater, absolute agreement",
    "ICC3": "two-way mixed, single rater, consistency",
    "ICC1k": "one-way random, mean of k raters (absolute)",
    "ICC2k": "two-way random, mean of k raters, absolute agreement",
    "ICC3k": "two-way mixed, mean of k raters, consistency",
}
ALIASES = {
    "ICC(1)": "ICC1",
    "ICC(1,1)": "ICC1",
    "ICC(2,1)": "ICC2",
    "ICC(3,1)": "ICC3",
    "ICC(A,1)": "ICC2",
    "ICC(C,1)": "ICC3",
    "ICC(K)": "ICC1k",
    "ICC(1,K)": "ICC1k",
    "ICC(2,K)": "ICC2k",
    "ICC(3,K)": "ICC3k",
    "ICC(A,K)": "ICC2k",
    "ICC(C,K)": "ICC3k",
}


def _canonical_form(model: str) -> str:
    key = model.replace(" ", "")
    for form in FORMS:
        if key.lower() == form.lower():
            return form
    try:
        return ALIASES[key.upper()]
    except KeyError:
        raise ValueError(
            f"unknown ICC model {model!r}; use one of {', '.join(FORMS)} "
            f"or {', '.join(sorted(ALIASES))}"
        ) from None


@dataclass(frozen=True)
class MeanSquares:
    """Two-way ANOVA mean squares of an n x k table."""

    msb: float
    msj: float
    mse: float
    msw: float
    n: int
    k: int


def mean_squares(values: np.ndarray) -> MeanSquares:
    """Mean squares of a complete n x k array (rows = subjects, columns = raters)."""
    n, k = values.shape
    grand = values.mean()
    row_dev = values.mean(axis=1) - grand
    col_dev = values.mean(axis=0) - grand
    ss_total = float(((values - grand) ** 2).sum())
    ss_rows = k * float(row_dev @ row_dev)
    ss_cols = n * float(col_dev @ col_dev)
    ss_error = max(ss_total - ss_rows - ss_cols, 0.0)
    return MeanSquares(
        msb=ss_rows / (n - 1),
        msj=ss_cols / (k - 1),
        mse=ss_error / ((n - 1) * (k - 1)),
        msw=(ss_total - ss_rows) / (n * (k - 1)),
        n=n,
        k=k,
    )


def _complete(data: Any) -> np.ndarray:
    frame = as_item_frame(data, min_items=2, min_rows=2, what="data")
    frame = apply_missing(frame, "listwise", min_rows=2, what="data")
    values = frame.to_numpy()
    if not np.ptp(values) > 0:
        raise ValueError("data: all values are equal; the ICC is undefined")
    return values


def _icc_table(ms: MeanSquares, ci: float) -> pd.DataFrame:
    n, k = ms.n, ms.k
    msb, msj, mse, msw = ms.msb, ms.msj, ms.mse, ms.msw
    tail = (1 - ci) / 2
    q = stats.f.ppf
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb
        # one-way model
        f1 = msb / msw
        df1n, df1d = n - 1, n * (k - 1)
        f1l = f1 / q(1 - tail, df1n, df1d)
        f1u = f1 * q(1 - tail, df1d, df1n)
        # two-way models
        f3 = msb / mse
        df3n, df3d = n - 1, (n - 1) * (k - 1)
        f3l = f3 / q(1 - tail, df3n, df3d)
        f3u = f3 * q(1 - tail, df3d, df3n)
        # ICC2: Satterthwaite df for the approximate F (McGraw & Wong 1996, as psych::ICC)
        fj = msj / mse
        a = n * (1 + (k - 1) * icc2) - k * icc2
        v = (k - 1) * (n - 1) * (k * icc2 * fj + a) ** 2 / ((n - 1) * k**2 * icc2**2 * fj**2 + a**2)
        fu2 = q(1 - tail, n - 1, v)
        fl2 = q(1 - tail, v, n - 1)
        denom = k * msj + (k * n - k - n) * mse
        l2 = n * (msb - fu2 * mse) / (fu2 * denom + n * msb)
        u2 = n * (fl2 * msb - mse) / (denom + n * fl2 * msb)
    rows = [
        ("ICC1", icc1, f1, df1n, df1d, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
        ("ICC2", icc2, f3, df3n, df3d, l2, u2),
        ("ICC3", icc3, f3, df3n, df3d, (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)),
        ("ICC1k", icc1k, f1, df1n, df1d, 1 - 1 / f1l, 1 - 1 / f1u),
        ("ICC2k", icc2k, f3, df3n, df3d, l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
        ("ICC3k", icc3k, f3, df3n, df3d, 1 - 1 / f3l, 1 - 1 / f3u),
    ]
    table = pd.DataFrame(rows, columns=["type", "icc", "F", "df1", "df2", "ci_low", "ci_high"])
    table["p"] = stats.f.sf(table["F"], table["df1"], table["df2"])
    table.insert(1, "description", [DESCRIPTIONS[t] for t in table["type"]])
    return table.set_index("type")


@dataclass(frozen=True)
class ICCResult:
    """All six Shrout & Fleiss ICC forms (``table``, index = form) and the mean squares."""

    table: pd.DataFrame
    mean_squares: MeanSquares
    ci_level: float
    lmer: bool = False
    variance_components: dict[str, float] | None = None

    @property
    def n(self) -> int:
        """Number of subjects (complete rows)."""
        return self.mean_squares.n

    @property
    def k(self) -> int:
        """Number of raters or occasions."""
        return self.mean_squares.k

    def get(self, model: str) -> Estimate:
        """One form (Shrout & Fleiss or McGraw & Wong name) as an ``Estimate``."""
        form = _canonical_form(model)
        row = self.table.loc[form]
        return Estimate(
            value=float(row["icc"]),
            n=self.n,
            ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]),
            ci_level=self.ci_level,
            method=f"{form}: {row['description']} (Shrout & Fleiss 1979)",
            extra={
                "model": form,
                "k": self.k,
                "F": float(row["F"]),
                "df1": float(row["df1"]),
                "df2": float(row["df2"]),
                "p": float(row["p"]),
            },
        )

    def __getitem__(self, model: str) -> Estimate:
        return self.get(model)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict: ``forms`` maps each form to its row."""
        ms = self.mean_squares
        return _clean(
            {
                "n": self.n,
                "k": self.k,
                "ci_level": self.ci_level,
                "mean_squares": {
                    "between_subjects": ms.msb,
                    "between_raters": ms.msj,
                    "residual": ms.mse,
                    "within_subjects": ms.msw,
                },
                "forms": {t: row.to_dict() for t, row in self.table.iterrows()},
                **(
                    {"lmer": True, "variance_components": self.variance_components}
                    if self.lmer
                    else {}
                ),
            }
        )


def icc(
    data: pd.DataFrame, model: str | None = None, *, ci: float = 0.95, lmer: bool = False
) -> ICCResult | Estimate:
    """Intraclass correlations of wide data (rows = subjects, columns = raters/occasions).

    ``model=None`` returns an :class:`ICCResult` with all six forms; a form name (``"ICC2"``,
    or an alias such as ``"ICC(A,1)"``) returns that form as an ``Estimate`` with its CI.
    ``lmer=False`` (default; ``psych::ICC(lmer = FALSE)``): two-way ANOVA mean squares of
    the complete rows (rows with a missing value are dropped). ``lmer=True``
    (``psych::ICC(lmer = TRUE)``, psych's default): REML variance components of the crossed
    random-effects model on every observed value, so subjects with a missing occasion
    count (``icc_reml.py``).
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
    form = None if model is None else _canonical_form(model)
    if lmer:
        from scoring.psychometrics.icc_reml import reml_mean_squares

        frame = as_item_frame(data, min_items=2, min_rows=2, what="data")
        values = frame.to_numpy()
        values = values[~np.isnan(values).all(axis=1)]
        ms, (s_a2, s_b2, s_e2) = reml_mean_squares(values)
        result = ICCResult(
            table=_icc_table(ms, ci),
            mean_squares=ms,
            ci_level=ci,
            lmer=True,
            variance_components={"subjects": s_a2, "raters": s_b2, "residual": s_e2},
        )
    else:
        ms = mean_squares(_complete(data))
        result = ICCResult(table=_icc_table(ms, ci), mean_squares=ms, ci_level=ci)
    return result if form is None else result.get(form)


SEM_METHODS = ("icc", "anova", "anova_agreement")


def sem(
    data_or_sd: pd.DataFrame | float,
    icc_value: float | Estimate | None = None,
    *,
    method: str = "icc",
) -> Estimate:
    """Standard error of measurement.

    * ``method="icc"``: SEM = SD * sqrt(1 - ICC). With wide data, SD is the pooled SD of the
      occasions (root of the mean column variance) and the ICC is ``icc_value`` or, if not
      given, ICC2 = ICC(A,1) (agreement; de Vet et al. 2006). With a number as the first
      argument it is the SD and ``icc_value`` is required.
    * ``method="anova"``: SEM = sqrt(MSE), the residual mean square (consistency SEM).
    * ``method="anova_agreement"``: SEM = sqrt(sigma2_raters + MSE), with
      sigma2_raters = max(0, (MSJ - MSE) / n) (agreement SEM; de Vet et al. 2006).
    """
    if method not in SEM_METHODS:
        raise ValueError(f"method must be one of {', '.join(SEM_METHODS)}, got {method!r}")
    if isinstance(data_or_sd, (int, float, np.integer, np.floating)) and not isinstance(
        data_or_sd, bool
    ):
        if method != "icc":
            raise ValueError(f"method={method!r} needs the wide data, not an SD")
        if icc_value is None:
            raise ValueError("sem(sd, icc_value): icc_value is required when an SD is given")
        sd, n, source = float(data_or_sd), 0, "given"
        if not sd >= 0:
            raise ValueError(f"SD must be a non-negative number, got {sd!r}")
    else:
        values = _complete(data_or_sd)
        ms = mean_squares(values)
        n = ms.n
        if method == "anova":
            return Estimate(
                value=float(np.sqrt(ms.mse)),
                n=n,
                method="SEM = sqrt(MSE)",
                extra={"k": ms.k, "mse": ms.mse},
            )
        if method == "anova_agreement":
            var_raters = max(0.0, (ms.msj - ms.mse) / ms.n)
            return Estimate(
                value=float(np.sqrt(var_raters + ms.mse)),
                n=n,
                method="SEM = sqrt(var_raters + MSE) (agreement)",
                extra={"k": ms.k, "mse": ms.mse, "var_raters": var_raters},
            )
        sd = float(np.sqrt(values.var(axis=0, ddof=1).mean()))
        source = "pooled SD of the occasions"
        if icc_value is None:
            icc_value = _icc_table(ms, 0.95).loc["ICC2", "icc"]
    r = float(icc_value)
    if not r <= 1:
        raise ValueError(f"ICC must be at most 1, got {r!r}")
    value = sd * np.sqrt(max(0.0, 1.0 - r))
    return Estimate(
        value=float(value),
        n=n,
        method="SEM = SD * sqrt(1 - ICC)",
        extra={"sd": sd, "icc": r, "sd_source": source},
    )


def sdc(
    sem_value: float | Estimate | pd.DataFrame, *, n: int | None = None, z: float = 1.96
) -> Estimate:
    """Smallest detectable change SDC = z * sqrt(2) * SEM (z = 1.96 for 95 %).

    ``sem_value`` is a number, an ``Estimate`` from :func:`sem`, or wide test–retest data
    (then ``sem(data)`` is used). With ``n`` the group-level SDC, SDC / sqrt(n), is
    reported in ``extra["sdc_group"]`` (de Vet et al. 2006).
    """
    sem_n = 0
    if isinstance(sem_value, (pd.DataFrame, np.ndarray)):
        sem_value = sem(sem_value)
    if isinstance(sem_value, Estimate):
        sem_n = sem_value.n
        sem_value = sem_value.value
    value = float(sem_value)
    if not value >= 0:
        raise ValueError(f"SEM must be a non-negative number, got {sem_value!r}")
    extra: dict[str, Any] = {"sem": value, "z": z}
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        extra["sdc_group"] = float(z * np.sqrt(2.0) * value / np.sqrt(n))
        extra["n_group"] = int(n)
    return Estimate(
        value=float(z * np.sqrt(2.0) * value),
        n=sem_n,
        method="SDC = z * sqrt(2) * SEM",
        extra=extra,
    )
