# psych reference values for the simulated data sets (see make_simulated_psychometrics.py).
# Run from this folder: Rscript make_simulated_reference.R
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
x <- read.csv("simulated_items.csv"); rt <- read.csv("simulated_retest.csv")
num <- function(v) unname(as.numeric(unlist(v)))
a_pw <- alpha(x); a_lw <- alpha(na.omit(x))
o_lw <- omega(na.omit(x), nfactors = 3, plot = FALSE)
o_pw <- omega(x, nfactors = 3, plot = FALSE)
f <- fa(na.omit(x), nfactors = 3, fm = "minres", rotate = "oblimin")
fv <- fa(na.omit(x), nfactors = 3, fm = "minres", rotate = "varimax")
fml <- fa(na.omit(x), nfactors = 3, fm = "ml", rotate = "oblimin")
fpro <- fa(na.omit(x), nfactors = 3, fm = "minres", rotate = "promax")
fgeo <- fa(na.omit(x), nfactors = 3, fm = "minres", rotate = "geominQ")
o1 <- suppressWarnings(omega(na.omit(x), nfactors = 1, plot = FALSE))
o2 <- omega(na.omit(x), nfactors = 2, plot = FALSE)
k <- KMO(na.omit(x)); bt <- cortest.bartlett(cor(na.omit(x)), n = nrow(na.omit(x)))
ic <- ICC(na.omit(rt), lmer = FALSE)$results
ic2 <- ICC(na.omit(rt[, 1:2]), lmer = FALSE)$results
pair <- na.omit(rt[, 1:2])
sd_pooled <- sqrt(mean(apply(pair, 2, var)))
sem_icc <- sd_pooled * sqrt(1 - ic2$ICC[2])
ms_err <- summary(aov(score ~ factor(subj) + factor(occ),
  data = data.frame(score = c(pair[, 1], pair[, 2]), subj = rep(seq_len(nrow(pair)), 2),
                    occ = rep(1:2, each = nrow(pair)))))[[1]][3, "Mean Sq"]
ref <- list(
  versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                  GPArotation = as.character(packageVersion("GPArotation"))),
  alpha_pairwise = list(value = a_pw$total$raw_alpha, lower = num(a_pw$feldt$lower.ci),
                        upper = num(a_pw$feldt$upper.ci), r_drop = num(a_pw$item.stats$r.drop),
                        alpha_if_deleted = num(a_pw$alpha.drop$raw_alpha)),
  alpha_listwise = list(value = a_lw$total$raw_alpha, lower = num(a_lw$feldt$lower.ci),
                        upper = num(a_lw$feldt$upper.ci), n = nrow(na.omit(x))),
  omega_listwise = list(omega_h = o_lw$omega_h, omega_tot = o_lw$omega.tot),
  omega_pairwise = list(omega_h = o_pw$omega_h, omega_tot = o_pw$omega.tot),
  omega_listwise_1 = list(omega_h = o1$omega_h, omega_tot = o1$omega.tot),
  omega_listwise_2 = list(omega_h = o2$omega_h, omega_tot = o2$omega.tot),
  fa_varimax_3 = list(loadings = unclass(fv$loadings), communality = num(fv$communality)),
  fa_ml_oblimin_3 = list(loadings = unclass(fml$loadings), phi = fml$Phi),
  fa_promax_3 = list(loadings = unclass(fpro$loadings), phi = fpro$Phi),
  fa_geominq_3 = list(loadings = unclass(fgeo$loadings), phi = fgeo$Phi),
  fa_listwise_3 = list(loadings = unclass(f$loadings), phi = f$Phi,
                       communality = num(f$communality)),
  kmo = list(overall = k$MSA, items = num(k$MSAi)),
  bartlett = list(chisq = bt$chisq, df = bt$df, p = bt$p.value),
  icc3 = list(icc = ic$ICC, lower = ic[["lower bound"]], upper = ic[["upper bound"]], F = ic$F,
              n = nrow(na.omit(rt))),
  icc_t1t2 = list(icc = ic2$ICC, lower = ic2[["lower bound"]], upper = ic2[["upper bound"]]),
  sem_t1t2 = list(sd_pooled = sd_pooled, sem_icc2 = sem_icc, sem_anova = sqrt(ms_err),
                  sdc = 1.96 * sqrt(2) * sem_icc)
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE), "simulated_psych_reference.json")
