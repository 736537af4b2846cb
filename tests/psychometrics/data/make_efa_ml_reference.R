# Regenerates the psych reference values of tests/psychometrics/test_efa_ml.py.
# Run from this folder: Rscript make_efa_ml_reference.R
# R 4.2.2, psych 2.2.9, psychTools 2.2.9, GPArotation (Debian r-cran-psych,
# r-cran-psychtools, r-cran-gparotation). Data: psychTools::epi.bfi (231 x 13; Revelle's
# EPI and BFI scales), written to epi_bfi.csv. This is the data set of issue 13 on which a
# single-start ML EFA stopped at a worse local optimum (psych's objective 1.4865).
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(psych); library(psychTools); library(GPArotation); library(jsonlite)})
write.csv(epi.bfi, "epi_bfi.csv", row.names = FALSE)
ml <- function(nf) {
  f <- fa(epi.bfi, nfactors = nf, fm = "ml", rotate = "oblimin")
  list(objective = f$objective, loadings = unclass(f$loadings), phi = f$Phi,
       communality = unname(f$communality), uniquenesses = unname(f$uniquenesses))
}
ref <- list(versions = list(R = R.version.string, psych = as.character(packageVersion("psych"))),
            ml3 = ml(3), ml2 = ml(2))
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "efa_ml_reference.json")
