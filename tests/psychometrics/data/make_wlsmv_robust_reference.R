# Regenerates the lavaan reference values of tests/psychometrics/test_cfa_wlsmv_robust.py.
# Run from this folder: Rscript make_wlsmv_robust_reference.R
# R 4.2.2, lavaan 0.6-14 (Debian r-cran-lavaan). Data: psych::bfi (Revelle, Wilt &
# Rosenthal 2010) as written to bfi_report_data.csv by make_report_reference.R.
# lavaan's robust CFI/TLI/RMSEA for WLSMV (cfi.robust, tli.robust, rmsea.robust; the catML
# approach of Savalei 2021, lavaan's lav_fit_catml_dwls). Development-only cross-check.
suppressMessages({library(lavaan); library(jsonlite)})
bfi <- read.csv("bfi_report_data.csv")
keep <- c("chisq", "df", "cfi.scaled", "rmsea.scaled", "cfi.robust", "tli.robust",
          "rmsea.robust")
run <- function(model, items) {
  d <- na.omit(bfi[, items])
  f <- cfa(model, data = d, ordered = items, std.lv = TRUE)
  c(list(n = nrow(d)), as.list(unclass(fitMeasures(f, keep))))
}
ace <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5))
m3 <- "A =~ A1 + A2 + A3 + A4 + A5\n C =~ C1 + C2 + C3 + C4 + C5\n E =~ E1 + E2 + E3 + E4 + E5"
ref <- list(versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
            bfi_N = run("N =~ N1 + N2 + N3 + N4 + N5", paste0("N", 1:5)),
            bfi_ACE = run(m3, ace),
            bfi_ACE_rc = run(paste(m3, "\n E1 ~~ E2\n A4 ~~ C1"), ace))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "wlsmv_robust_reference.json")
