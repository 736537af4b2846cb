# Regenerates the lavaan reference values of tests/psychometrics/test_invariance.py.
# Run from this folder: Rscript make_invariance_reference.R
# R 4.2.2, lavaan 0.6-14 (Debian r-cran-lavaan). Data: HolzingerSwineford1939 (lavaan;
# holzinger_swineford_1939.csv, groups = school) and psych::bfi (bfi_report_data.csv has
# the items and gender; A and C scales, groups = gender).
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(lavaan); library(jsonlite)})
levels <- list(configural = character(0), metric = c("loadings"),
               scalar = c("loadings", "intercepts"),
               strict = c("loadings", "intercepts", "residuals"))
keep <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
          "baseline.chisq", "baseline.df")
run <- function(model, data, group) {
  fits <- lapply(levels, function(eq) {
    if (length(eq) == 0) cfa(model, data = data, group = group, std.lv = TRUE)
    else cfa(model, data = data, group = group, std.lv = TRUE, group.equal = eq)
  })
  out <- lapply(fits, function(f) as.list(fitMeasures(f)[keep]))
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
  out$lrt <- list(chisq_diff = as.numeric(lrt[["Chisq diff"]][-1]),
                  df_diff = as.numeric(lrt[["Df diff"]][-1]),
                  p = as.numeric(lrt[["Pr(>Chisq)"]][-1]))
  pe <- parameterEstimates(fits$scalar)
  out$scalar_means <- pe$est[pe$op == "~1" & pe$lhs %in% lavNames(fits$scalar, "lv")]
  out$scalar_loadings <- pe$est[pe$op == "=~" & pe$group == 1]
  out
}
hs_model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
bfi <- read.csv("bfi_report_data.csv")
ac_model <- "A =~ A1 + A2 + A3 + A4 + A5\n C =~ C1 + C2 + C3 + C4 + C5"
ref <- list(versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            hs_school = run(hs_model, HolzingerSwineford1939, "school"),
            bfi_gender = run(ac_model, bfi, "gender"))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "invariance_reference.json")
