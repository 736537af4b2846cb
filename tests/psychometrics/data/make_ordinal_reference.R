# Regenerates the R reference values of tests/psychometrics/test_polychoric.py and
# test_cfa_wlsmv.py. Run from this folder: Rscript make_ordinal_reference.R
# R 4.2.2, psych 2.2.9, lavaan 0.6-14 , psychTools 2.2.9 (Debian r-cran-psych, r-cran-psychtools, r-cran-lavaan).
# Data: psych::bfi (Revelle, Wilt & Rosenthal 2010; bfi25.csv, written by make_bfi_reference.R)
# and psychTools::ability (ICAR, Revelle et al.; 1525 x 16 dichotomous items, ability16.csv).
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(psych); library(psychTools); library(lavaan); library(jsonlite)})
b <- bfi[, 1:25]
ab <- as.data.frame(ability)
write.csv(ab, "ability16.csv", row.names = FALSE, na = "")
num <- function(x) unname(as.numeric(unlist(x)))

poly_ref <- function(d, correct = 0) {
  p <- polychoric(d, correct = correct, smooth = FALSE)
  list(rho = unname(p$rho), tau = unname(p$tau))
}
tetra_ref <- function(d, correct) {
  p <- tetrachoric(d, correct = correct, smooth = FALSE)
  list(rho = unname(p$rho), tau = num(p$tau))
}

fit_ref <- function(fit) {
  fm <- fitMeasures(fit)
  keep <- c("chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
            "chisq.scaling.factor", "chisq.shift.parameters", "baseline.chisq",
            "baseline.df", "baseline.chisq.scaled", "baseline.chisq.scaling.factor",
            "baseline.chisq.shift.parameters", "cfi", "tli", "rmsea", "cfi.scaled",
            "tli.scaled", "rmsea.scaled", "srmr", "rmsea.ci.lower", "rmsea.ci.upper",
            "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled")
  keep <- intersect(keep, names(fm))
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  lo <- pe$op == "=~"; cv <- pe$op == "~~" & pe$lhs != pe$rhs
  th <- pe$op == "|"
  list(fit = as.list(fm[keep]), n = lavInspect(fit, "nobs"),
       loadings = list(factor = pe$lhs[lo], item = pe$rhs[lo], est = pe$est[lo], se = pe$se[lo],
                       std_all = ss$est.std[ss$op == "=~"]),
       covariances = list(lhs = pe$lhs[cv], rhs = pe$rhs[cv], est = pe$est[cv], se = pe$se[cv],
                          std_all = ss$est.std[ss$op == "~~" & ss$lhs != ss$rhs]),
       thresholds = list(item = pe$lhs[th], est = pe$est[th], se = pe$se[th]))
}

bfi15 <- b[, c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5))]
m3 <- "A =~ A1 + A2 + A3 + A4 + A5
       C =~ C1 + C2 + C3 + C4 + C5
       E =~ E1 + E2 + E3 + E4 + E5"
wlsmv3 <- cfa(m3, data = bfi15, ordered = names(bfi15), std.lv = TRUE)
nacov <- lavInspect(wlsmv3, "gamma")
wlsmv3rc <- cfa(paste(m3, "\n E1 ~~ E2\n A4 ~~ C1"), data = bfi15, ordered = names(bfi15),
                std.lv = TRUE)
m1 <- "N =~ N1 + N2 + N3 + N4 + N5"
wlsmv1 <- cfa(m1, data = b, ordered = paste0("N", 1:5), std.lv = TRUE)

# a 2 x 2 table with an empty cell (x = 1, y = 0): psych replaces it by `correct`
zero <- data.frame(x = c(rep(0, 40), rep(1, 60)), y = c(rep(0, 25), rep(1, 15), rep(1, 60)),
                   z = c(rep(0, 10), rep(1, 30), rep(0, 20), rep(1, 40)))
# PoliticalDemocracy (Bollen 1989), measurement model with correlated residuals
write.csv(PoliticalDemocracy, "political_democracy.csv", row.names = FALSE)
pd_model <- "ind60 =~ x1 + x2 + x3
             dem60 =~ y1 + y2 + y3 + y4
             dem65 =~ y5 + y6 + y7 + y8
             y1 ~~ y5
             y2 ~~ y4 + y6
             y3 ~~ y7
             y4 ~~ y8
             y6 ~~ y8"
pd_ml <- cfa(pd_model, data = PoliticalDemocracy, std.lv = TRUE)

ref <- list(
  versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                  lavaan = as.character(packageVersion("lavaan"))),
  polychoric = list(bfi25_pairwise = poly_ref(b), bfi25_listwise = poly_ref(na.omit(b)),
                    bfi25_correct05 = poly_ref(b, 0.5)),
  tetrachoric = list(ability_correct0 = tetra_ref(ab, 0), ability_correct05 = tetra_ref(ab, 0.5),
                     zero_data = as.list(zero), zero_correct0 = tetra_ref(zero, 0),
                     zero_correct05 = tetra_ref(zero, 0.5)),
  ml = list(political_democracy = fit_ref(pd_ml)),
  wlsmv = list(bfi_ACE = fit_ref(wlsmv3), bfi_N = fit_ref(wlsmv1), bfi_ACE_rc = fit_ref(wlsmv3rc),
               bfi_ACE_gamma_diag = num(diag(nacov)),
               bfi_ACE_gamma_first = num(nacov[1:40, 1:40]))
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "ordinal_reference.json")
