# Regenerates the R reference values of tests/psychometrics/test_rater_agreement.py.
# Run from this folder: Rscript make_agreement_reference.R
# R 4.2.2, psych 2.2.9 (Debian r-cran-psych), lme4 1.1-31 (r-cran-lme4) for
# psych::ICC(lmer = TRUE), base R for Bland-Altman. ICC data: simulated_retest.csv
# (150 subjects x 3 occasions, 2 % missing; make_simulated_psychometrics.py), all rows.
# Data: kappa - psych::bfi items A2 and A3 (and C1, C2) treated as two "raters" of six
# categories (bfi_report_data.csv); Bland-Altman - HolzingerSwineford1939 (lavaan)
# x4 vs x5 (holzinger_swineford_1939.csv; any paired measurements do).
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(psych); library(jsonlite)})
b <- read.csv("bfi_report_data.csv")
kap <- function(x1, x2, w = NULL) {
  d <- na.omit(data.frame(x1, x2))
  k <- if (is.null(w)) cohen.kappa(d) else cohen.kappa(d, w = w)
  list(kappa = k$kappa, weighted = k$weighted.kappa, var_kappa = k$var.kappa,
       var_weighted = k$var.weighted, bounds = unname(k$confid), n = k$n.obs)
}
levs <- 1:6
lin <- 1 - abs(outer(levs, levs, "-")) / 5
hs <- read.csv("holzinger_swineford_1939.csv")
ba <- function(a, b) {
  d <- a - b; n <- length(d); m <- mean(d); s <- sd(d); t <- qt(0.975, n - 1)
  se_l <- s * sqrt(1 / n + 1.96^2 / (2 * (n - 1)))
  fit <- summary(lm(d ~ I((a + b) / 2)))
  list(n = n, mean = m, sd = s, mean_ci = m + c(-1, 1) * t * s / sqrt(n),
       lower = m - 1.96 * s, upper = m + 1.96 * s,
       lower_ci = m - 1.96 * s + c(-1, 1) * t * se_l, upper_ci = m + 1.96 * s + c(-1, 1) * t * se_l,
       slope = fit$coefficients[2, 1], slope_se = fit$coefficients[2, 2])
}
rt <- read.csv("simulated_retest.csv")
icc_lmer <- function(d) {
  r <- ICC(d, lmer = TRUE)
  list(icc = r$results$ICC, lower = r$results[["lower bound"]], upper = r$results[["upper bound"]],
       variance = unname(r$lme[1:3, 1]), n = r$n.obs, k = r$n.judge)
}
ref <- list(
  icc_lmer_retest = icc_lmer(rt), icc_lmer_retest_t1t2 = icc_lmer(rt[, 1:2]),
  versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                  lme4 = as.character(packageVersion("lme4"))),
  kappa_A2_A3_quadratic = kap(b$A2, b$A3),
  kappa_A2_A3_linear = kap(b$A2, b$A3, lin),
  kappa_C1_C2_quadratic = kap(b$C1, b$C2),
  bland_altman_hs_x4_x5 = ba(hs$x4, hs$x5)
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "agreement_reference.json")
