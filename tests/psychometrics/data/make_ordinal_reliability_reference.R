# Regenerates the psych reference values of tests/psychometrics/test_ordinal_reliability.py.
# Run from this folder: Rscript make_ordinal_reliability_reference.R
# R 4.2.2, psych 2.2.9, GPArotation. Data: psych::bfi items (bfi25.csv): ordinal alpha =
# alpha of the polychoric matrix (Zumbo, Gadermann & Zeisser 2007), ordinal omega =
# omega(x, poly = TRUE).
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
b <- read.csv("bfi25.csv")
A <- b[, paste0("A", 1:5)]; C <- b[, paste0("C", 1:5)]
oa <- function(d) alpha(polychoric(d)$rho, check.keys = FALSE)$total$raw_alpha
oo <- function(d, nf) { o <- omega(d, nfactors = nf, poly = TRUE, plot = FALSE)
  list(omega_h = o$omega_h, omega_tot = o$omega.tot) }
A$A1 <- 7 - A$A1
C$C4 <- 7 - C$C4; C$C5 <- 7 - C$C5
ref <- list(versions = list(R = R.version.string, psych = as.character(packageVersion("psych"))),
            alpha_A = oa(A), alpha_C = oa(C), alpha_A_listwise = oa(na.omit(A)),
            omega_A_2 = oo(A, 2), omega_C_2 = oo(C, 2), omega_AC_2 = oo(cbind(A, C), 2))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "ordinal_reliability_reference.json")
