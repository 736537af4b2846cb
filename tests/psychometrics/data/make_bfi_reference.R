# Regenerates the psych reference values used by tests/psychometrics/test_{reliability,items,factor}.py
# Run from this folder: Rscript make_bfi_reference.R
# Data: psych::bfi (Revelle, Wilt & Rosenthal 2010; SAPA project), 2800 respondents, 25 items.
# Development-only cross-check; R is not a runtime or CI dependency of openprom.
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
b <- bfi[, 1:25]
write.csv(b, "bfi25.csv", row.names = FALSE, na = "")
A <- b[, paste0("A", 1:5)]; A$A1 <- 7 - A$A1
C <- b[, paste0("C", 1:5)]; C$C4 <- 7 - C$C4; C$C5 <- 7 - C$C5
num <- function(x) unname(as.numeric(unlist(x)))
alpha_ref <- function(d) {
  a <- alpha(d)
  list(n_rows = nrow(d), raw_alpha = a$total$raw_alpha,
       feldt_lower = num(a$feldt$lower.ci), feldt_upper = num(a$feldt$upper.ci),
       alpha_if_deleted = num(a$alpha.drop$raw_alpha), r_drop = num(a$item.stats$r.drop),
       n = num(a$item.stats$n), mean = num(a$item.stats$mean), sd = num(a$item.stats$sd))
}
omega_ref <- function(d, nf) {
  o <- omega(d, nfactors = nf, plot = FALSE)
  list(omega_h = o$omega_h, omega_tot = o$omega.tot, alpha = o$alpha,
       g = num(o$schmid$sl[, 1]), key = num(o$key))
}
fa_ref <- function(d, nf) {
  f <- fa(d, nfactors = nf, fm = "minres", rotate = "oblimin")
  list(loadings = unclass(f$loadings), communality = num(f$communality),
       phi = f$Phi, ss_loadings = num(f$Vaccounted[1, ]), factor_names = colnames(f$loadings))
}
ref <- list(
  versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                  GPArotation = as.character(packageVersion("GPArotation"))),
  alpha = list(A_pairwise = alpha_ref(A), A_listwise = alpha_ref(na.omit(A)),
               C_pairwise = alpha_ref(C), C_listwise = alpha_ref(na.omit(C))),
  omega = list(ACE_pairwise = omega_ref(b[, 1:15], 3), ACE_listwise = omega_ref(na.omit(b[, 1:15]), 3),
               all25_listwise_5 = omega_ref(na.omit(b), 5),
               A_pairwise_1 = suppressWarnings(omega_ref(b[, paste0("A", 1:5)], 1)),
               A_pairwise_2 = omega_ref(b[, paste0("A", 1:5)], 2),
               A_pairwise_3 = omega_ref(b[, paste0("A", 1:5)], 3),
               C_pairwise_1 = suppressWarnings(omega_ref(b[, paste0("C", 1:5)], 1)),
               C_pairwise_2 = omega_ref(b[, paste0("C", 1:5)], 2),
               C_pairwise_3 = omega_ref(b[, paste0("C", 1:5)], 3)),
  fa = list(listwise_5 = fa_ref(na.omit(b), 5), pairwise_5 = fa_ref(b, 5)),
  kmo = list(listwise = {k <- KMO(na.omit(b)); list(overall = k$MSA, items = num(k$MSAi))},
             pairwise = {k <- KMO(b); list(overall = k$MSA, items = num(k$MSAi))}),
  bartlett = list(listwise = {bt <- cortest.bartlett(cor(na.omit(b)), n = nrow(na.omit(b)));
                              list(chisq = bt$chisq, df = bt$df, p = bt$p.value, n = nrow(na.omit(b)))}),
  parallel = {set.seed(1); p <- fa.parallel(na.omit(b), fa = "both", plot = FALSE);
              list(nfact = p$nfact, ncomp = p$ncomp, fa_values = num(p$fa.values),
                   pc_values = num(p$pc.values), sim_fa = num(p$fa.sim), sim_pc = num(p$pc.sim))}
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "bfi_psych_reference.json")
