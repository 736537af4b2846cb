# Regenerates the lavaan reference values of tests/psychometrics/test_invariance_wlsmv.py.
# Run from this folder: Rscript make_invariance_wlsmv_reference.R
# R 4.2.2, lavaan 0.6-14 (Debian r-cran-lavaan). Data: psych::bfi (Revelle, Wilt &
# Rosenthal 2010) as written to bfi_report_data.csv by make_report_reference.R.
# Ordinal multi-group CFA: cfa(..., ordered = items, group = ..., std.lv = TRUE,
# group.equal = ...) with lavaan's defaults (estimator WLSMV, parameterization "delta",
# test "scaled.shifted"); difference tests lavTestLRT (method "satorra.2000", scaled and
# shifted for WLSMV). Development-only cross-check; R is not a runtime or CI dependency.
suppressMessages({library(lavaan); library(jsonlite)})
levels <- list(configural = character(0), metric = c("loadings"),
               scalar = c("loadings", "thresholds"))
keep <- c("chisq", "df", "pvalue", "chisq.scaled", "pvalue.scaled", "chisq.scaling.factor",
          "cfi", "tli", "rmsea", "cfi.scaled", "tli.scaled", "rmsea.scaled",
          "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "srmr",
          "baseline.chisq", "baseline.df", "baseline.chisq.scaled")
run <- function(model, data, items, group) {
  d <- na.omit(data[, c(items, group)])
  fits <- lapply(levels, function(eq) {
    if (length(eq) == 0) cfa(model, data = d, ordered = items, group = group, std.lv = TRUE)
    else cfa(model, data = d, ordered = items, group = group, std.lv = TRUE, group.equal = eq)
  })
  out <- lapply(fits, function(f) as.list(fitMeasures(f)[keep]))
  out$n <- nrow(d)
  out$groups <- as.list(table(factor(d[[group]], levels = unique(d[[group]]))))
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  out$lrt <- list(chisq_diff = as.numeric(lrt[["Chisq diff"]][-1]),
                  df_diff = as.numeric(lrt[["Df diff"]][-1]),
                  p = as.numeric(lrt[["Pr(>Chisq)"]][-1]))
  pe <- parameterEstimates(fits$scalar)
  lv <- lavNames(fits$scalar, "lv")
  out$scalar_estimates <- list(
    loadings = pe$est[pe$op == "=~" & pe$group == 1],
    thresholds = pe$est[pe$op == "|" & pe$group == 1],
    latent_means = pe$est[pe$op == "~1" & pe$lhs %in% lv & pe$group > 1],
    scale_factors = pe$est[pe$op == "~*~" & pe$group > 1],
    factor_variances = pe$est[pe$op == "~~" & pe$lhs %in% lv & pe$lhs == pe$rhs & pe$group > 1])
  pm <- parameterEstimates(fits$metric)
  out$metric_estimates <- c(list(
    loadings = pm$est[pm$op == "=~" & pm$group == 1],
    factor_variances = pm$est[pm$op == "~~" & pm$lhs %in% lv & pm$lhs == pm$rhs & pm$group > 1]))
  out
}
bfi <- read.csv("bfi_report_data.csv")
ac_items <- c(paste0("A", 1:5), paste0("C", 1:5))
ac_model <- "A =~ A1 + A2 + A3 + A4 + A5\n C =~ C1 + C2 + C3 + C4 + C5"
bfi$age_group <- cut(bfi$age, c(0, 20, 30, 100), labels = c("le20", "21-30", "gt30"))
bfi$age_group <- as.character(bfi$age_group)
n_items <- paste0("N", 1:5)
# the five 5-item scales of bfi25_instrument.yaml (the report's CFA model; test_report_invariance)
big5_items <- unlist(lapply(c("A", "C", "E", "N", "O"), function(f) paste0(f, 1:5)))
big5_model <- paste(sapply(c("A", "C", "E", "N", "O"), function(f)
  paste0(f, " =~ ", paste0(f, 1:5, collapse = " + "))), collapse = "\n")
ref <- list(versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            bfi_gender = run(ac_model, bfi, ac_items, "gender"),
            bfi_age3 = run("N =~ N1 + N2 + N3 + N4 + N5", bfi, n_items, "age_group"),
            bfi25_gender = run(big5_model, bfi, big5_items, "gender"))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "invariance_wlsmv_reference.json")
