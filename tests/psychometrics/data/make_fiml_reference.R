# Regenerates the lavaan reference values of tests/psychometrics/test_cfa_fiml.py.
# Run from this folder: Rscript make_fiml_reference.R
# R 4.2.2, lavaan 0.6-14. Data: HolzingerSwineford1939 (lavaan) x1-x9 with 10 % of the
# values deleted completely at random (set.seed(2026), written to
# holzinger_swineford_mcar.csv); fitted with cfa(..., missing = "ml", std.lv = TRUE).
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(lavaan); library(jsonlite)})
hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
set.seed(2026)
holes <- matrix(runif(nrow(hs) * 9) < 0.10, nrow(hs))
hs[holes] <- NA
hs <- hs[rowSums(is.na(hs)) < 9, ]
write.csv(hs, "holzinger_swineford_mcar.csv", row.names = FALSE, na = "")
m <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
fit <- cfa(m, data = hs, missing = "ml", std.lv = TRUE)
fm <- fitMeasures(fit)
keep <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
          "srmr", "baseline.chisq", "baseline.df", "logl", "unrestricted.logl")
pe <- parameterEstimates(fit); ss <- standardizedSolution(fit)
ref <- list(versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            n = lavInspect(fit, "nobs"), fit = as.list(fm[keep]),
            loadings = list(item = pe$rhs[pe$op == "=~"], est = pe$est[pe$op == "=~"],
                            std_all = ss$est.std[ss$op == "=~"]),
            intercepts = pe$est[pe$op == "~1" & pe$lhs %in% paste0("x", 1:9)],
            phi = pe$est[pe$op == "~~" & pe$lhs != pe$rhs])
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "fiml_reference.json")
