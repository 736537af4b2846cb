# Regenerates the lavaan reference values of tests/psychometrics/test_cfa_mlr.py.
# Run from this folder: Rscript make_mlr_reference.R
# R 4.2.2, lavaan 0.6-14. Data: HolzingerSwineford1939 (lavaan) and the PoliticalDemocracy
# measurement model (Bollen 1989) with correlated residuals; estimator = "MLR"
# (robust.huber.white SEs, test = "yuan.bentler.mplus").
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(lavaan); library(jsonlite)})
keep <- c("chisq", "df", "chisq.scaled", "chisq.scaling.factor", "baseline.chisq",
          "baseline.chisq.scaled", "baseline.chisq.scaling.factor", "cfi", "tli", "rmsea",
          "cfi.scaled", "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust",
          "rmsea.robust", "srmr", "pvalue.scaled")
run <- function(model, data) {
  fit <- cfa(model, data = data, estimator = "MLR", std.lv = TRUE)
  pe <- parameterEstimates(fit)
  list(fit = as.list(fitMeasures(fit)[keep]), n = lavInspect(fit, "nobs"),
       information = lavInspect(fit, "options")$information,
       loadings_se = pe$se[pe$op == "=~"])
}
hs <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
pdm <- "ind60 =~ x1 + x2 + x3\n dem60 =~ y1 + y2 + y3 + y4\n dem65 =~ y5 + y6 + y7 + y8
        y1 ~~ y5\n y2 ~~ y4 + y6\n y3 ~~ y7\n y4 ~~ y8\n y6 ~~ y8"
ref <- list(versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            hs = run(hs, HolzingerSwineford1939), pd = run(pdm, PoliticalDemocracy))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "mlr_reference.json")
