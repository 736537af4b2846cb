# R reference values for every number the COSMIN report prints, on two data sets:
#   rand36: rand36_reference.csv (+ _retest.csv), simulated RAND-36 answers
#           (make_report_reference_data.py), scored the RAND way (re-implemented below
#           from RAND's "Scoring Instructions for the 36-Item Short Form Survey").
#   bfi:    psych::bfi (Revelle, Wilt & Rosenthal 2010; SAPA project), 2800 respondents,
#           25 Big Five items, written to bfi_report_data.csv; scales are item sums.
# Writes report_reference_r.json, read by test_report_r_agreement.py.
# Run from this folder:  Rscript make_report_reference.R
# Development-only cross-check: R is not a runtime or CI dependency of openprom. Needs only
# the Debian packages r-cran-psych, r-cran-lavaan, r-cran-gparotation (and MASS, in R).
suppressMessages({library(psych); library(GPArotation); library(lavaan); library(MASS)})

# ---------------------------------------------------------------- a small JSON writer
js <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    if (!is.null(names(x))) {
      return(paste0("{", paste0('"', names(x), '":', vapply(x, js, ""), collapse = ","), "}"))
    }
    return(paste0("[", paste(vapply(x, js, ""), collapse = ","), "]"))
  }
  if (!is.null(names(x))) return(js(as.list(x)))
  if (length(x) != 1) return(paste0("[", paste(vapply(as.list(x), js, ""), collapse = ","), "]"))
  if (is.na(x)) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.numeric(x)) return(if (is.finite(x)) formatC(x, digits = 17, format = "g") else "null")
  paste0('"', gsub('"', '\\\\"', as.character(x)), '"')
}

# ---------------------------------------------------------------- report statistics
score_stats <- function(s, lo, hi) {
  v <- s[!is.na(s)]
  list(n = length(v), missing_pct = 100 * (1 - length(v) / length(s)), mean = mean(v),
       sd = sd(v), median = median(v), min_possible = lo, max_possible = hi,
       floor_pct = 100 * mean(abs(v - lo) < 1e-9), ceiling_pct = 100 * mean(abs(v - hi) < 1e-9))
}

item_stats <- function(keyed, lo, hi) {
  # psych::alpha on the keyed items with missing answers: r.drop and alpha.drop come from
  # the pairwise-complete covariances (psych's default); alpha itself on complete rows
  a_pw <- suppressWarnings(alpha(keyed, check.keys = FALSE))
  cc <- na.omit(keyed)
  a_lw <- alpha(cc, check.keys = FALSE)
  items <- list()
  for (j in seq_along(keyed)) {
    x <- keyed[[j]]; v <- x[!is.na(x)]
    items[[names(keyed)[j]]] <- list(
      n = length(v), missing_pct = 100 * (1 - length(v) / length(x)), mean = mean(v), sd = sd(v),
      floor_pct = 100 * mean(v == lo[j]), ceiling_pct = 100 * mean(v == hi[j]),
      item_total_r = a_pw$item.stats$r.drop[j],
      alpha_if_deleted = if (ncol(keyed) > 2) a_pw$alpha.drop$raw_alpha[j] else NA)
  }
  list(alpha = list(value = a_lw$total$raw_alpha, ci_low = a_lw$feldt$lower.ci[[1]],
                    ci_high = a_lw$feldt$upper.ci[[1]], n = nrow(cc)),
       items = items)
}

cfa_stats <- function(keyed_all, scales, ordered = FALSE) {
  model <- paste(vapply(names(scales), function(f) paste(f, "=~", paste(scales[[f]], collapse = " + ")),
                        ""), collapse = "\n")
  if (ordered) {  # WLSMV on polychorics (lavaan's defaults for ordered items), listwise
    fit <- cfa(model, data = keyed_all, std.lv = TRUE, ordered = unlist(scales))
  } else {
    fit <- cfa(model, data = keyed_all, std.lv = TRUE)  # ML, listwise deletion (lavaan defaults)
  }
  fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
                           "rmsea.ci.upper", "srmr"))
  scaled <- if (ordered) as.list(fitMeasures(fit, c("chisq.scaled", "pvalue.scaled", "cfi.scaled",
                                                   "tli.scaled", "rmsea.scaled")))
  pe <- parameterEstimates(fit); ss <- standardizedSolution(fit)
  load <- list()
  for (f in names(scales)) {
    load[[f]] <- list()
    for (i in scales[[f]]) {
      load[[f]][[i]] <- list(estimate = pe$est[pe$lhs == f & pe$op == "=~" & pe$rhs == i],
                             std_all = ss$est.std[ss$lhs == f & ss$op == "=~" & ss$rhs == i])
    }
  }
  phi <- lavInspect(fit, "cor.lv")
  list(n = lavInspect(fit, "nobs"), chi2 = fm[["chisq"]], df = fm[["df"]], p = fm[["pvalue"]],
       cfi = fm[["cfi"]], tli = fm[["tli"]], rmsea = fm[["rmsea"]],
       rmsea_ci_low = fm[["rmsea.ci.lower"]], rmsea_ci_high = fm[["rmsea.ci.upper"]],
       srmr = fm[["srmr"]], loadings = load, scaled = scaled,
       factor_correlations = lapply(setNames(colnames(phi), colnames(phi)),
                                    function(f) as.list(phi[, f])))
}

dimensionality <- function(keyed_all) {
  cc <- na.omit(keyed_all[, sort(names(keyed_all))])
  r <- cor(cc)
  bt <- cortest.bartlett(r, n = nrow(cc))
  list(n = nrow(cc), eigenvalues = eigen(r, only.values = TRUE)$values, kmo = KMO(r)$MSA,
       bartlett = list(chi2 = bt$chisq, df = bt$df, p = bt$p.value))
}

retest_stats <- function(test, retest) {
  pair <- na.omit(data.frame(test = test, retest = retest))
  n <- nrow(pair)
  ic <- ICC(pair, lmer = FALSE)$results  # Shrout & Fleiss forms; row 2 = ICC2 = ICC(A,1)
  long <- data.frame(y = c(pair$test, pair$retest), s = factor(rep(seq_len(n), 2)),
                     o = factor(rep(1:2, each = n)))
  tab <- summary(aov(y ~ s + o, data = long))[[1]]
  msj <- tab["o", "Mean Sq"]; mse <- tab["Residuals", "Mean Sq"]
  sem <- sqrt(max(0, (msj - mse) / n) + mse)  # agreement SEM (de Vet et al. 2006)
  list(n = n, icc = ic$ICC[2], ci_low = ic[["lower bound"]][2], ci_high = ic[["upper bound"]][2],
       sem = sem, sdc = 1.96 * sqrt(2) * sem)
}

responsiveness_stats <- function(base, follow) {
  ok <- !is.na(base) & !is.na(follow); b <- base[ok]; change <- follow[ok] - b
  t <- t.test(change)
  list(n = sum(ok), mean_change = mean(change), mean_change_low = t$conf.int[1],
       mean_change_high = t$conf.int[2], effect_size = mean(change) / sd(b),
       srm = mean(change) / sd(change), baseline_mean = mean(b), followup_mean = mean(follow[ok]),
       baseline_sd = sd(b), change_sd = sd(change))
}

dif_stats <- function(keyed, group) {
  ok <- complete.cases(keyed) & !is.na(group)
  x <- keyed[ok, , drop = FALSE]; g <- factor(group[ok]); total <- rowSums(x)
  out <- list()
  for (i in names(x)) {
    y <- factor(x[[i]], ordered = TRUE)
    # proportional-odds model (MASS::polr); with two categories it is the logistic
    # regression, fitted with glm since polr needs three or more levels
    fit <- function(f) {
      environment(f) <- environment()
      # polr's default optim tolerance (reltol 1.5e-8) stops early: chi-squares then differ
      # by up to ~0.01 from the maximum; with reltol 1e-14 the log-likelihoods are maximal
      m <- if (nlevels(y) > 2) {
        suppressWarnings(polr(f, method = "logistic", control = list(reltol = 1e-14, maxit = 5000)))
      } else {
        glm(f, family = binomial, control = list(epsilon = 1e-14, maxit = 100))
      }
      as.numeric(logLik(m))
    }
    ll0 <- fit(y ~ 1)
    ll1 <- fit(y ~ total); ll2 <- fit(y ~ total + g); ll3 <- fit(y ~ total + g + total:g)
    k <- nlevels(g) - 1
    out[[i]] <- list(n = nrow(x), chi2_uniform = 2 * (ll2 - ll1),
                     p_uniform = pchisq(2 * (ll2 - ll1), k, lower.tail = FALSE),
                     r2_mcfadden_uniform = (ll2 - ll1) / -ll0,
                     chi2_nonuniform = 2 * (ll3 - ll2),
                     p_nonuniform = pchisq(2 * (ll3 - ll2), k, lower.tail = FALSE),
                     r2_mcfadden_nonuniform = (ll3 - ll2) / -ll0)
  }
  out
}

spearman <- function(x, y) {  # Fisher z CI with SE sqrt(1.06 / (n - 3)) (Fieller et al. 1957)
  ok <- !is.na(x) & !is.na(y); n <- sum(ok)
  r <- cor(x[ok], y[ok], method = "spearman"); z <- atanh(r); h <- qnorm(0.975) * sqrt(1.06 / (n - 3))
  list(value = r, ci_low = tanh(z - h), ci_high = tanh(z + h), n = n)
}
pearson <- function(x, y) {
  t <- cor.test(x, y)
  list(value = unname(t$estimate), ci_low = t$conf.int[1], ci_high = t$conf.int[2],
       n = sum(!is.na(x) & !is.na(y)))
}
cohen_d <- function(lower, higher) {  # pooled SD; CI d +/- t * SE (Hedges & Olkin 1985)
  a <- lower[!is.na(lower)]; b <- higher[!is.na(higher)]; n1 <- length(a); n2 <- length(b)
  sp <- sqrt(((n1 - 1) * var(a) + (n2 - 1) * var(b)) / (n1 + n2 - 2)); d <- (mean(b) - mean(a)) / sp
  se <- sqrt((n1 + n2) / (n1 * n2) + d^2 / (2 * (n1 + n2))); h <- qt(0.975, n1 + n2 - 2) * se
  list(value = d, ci_low = d - h, ci_high = d + h, n = n1 + n2)
}
comparison <- function(x, y, x2, y2) {
  r1 <- spearman(x, y); r2 <- spearman(x2, y2)
  list(value = abs(r1$value) - abs(r2$value), n = min(r1$n, r2$n))
}

keyed_items <- function(d, items, reversed, lo, hi) {
  x <- d[, items, drop = FALSE]
  for (i in reversed) x[[i]] <- lo[[i]] + hi[[i]] - x[[i]]
  x
}

report_reference <- function(d, scales, reversed, lo, hi, scores, score_range, group,
                             retest = NULL, retest_scores = NULL) {
  all_items <- unique(unlist(scales))
  keyed_all <- d[, all_items]
  for (s in names(scales)) {
    keyed_all[, scales[[s]]] <- keyed_items(d, scales[[s]], reversed[[s]], lo, hi)
  }
  out <- list(n = nrow(d), scales = list())
  for (s in names(scales)) {
    items <- scales[[s]]; k <- keyed_all[, items, drop = FALSE]
    e <- list(reversed_items = as.list(reversed[[s]]),
              score = score_stats(scores[[s]], score_range[[s]][1], score_range[[s]][2]))
    e <- c(e, item_stats(k, unlist(lo[items]), unlist(hi[items])))
    if (length(items) >= 3) e$dif <- dif_stats(k, group)
    if (!is.null(retest)) {  # the retest doubles as the follow-up for responsiveness
      m <- match(as.character(d$id), as.character(retest$id))
      e$retest <- retest_stats(scores[[s]], retest_scores[[s]][m])
      e$responsiveness <- responsiveness_stats(scores[[s]], retest_scores[[s]][m])
    }
    out$scales[[s]] <- e
  }
  out$cfa <- cfa_stats(keyed_all, scales)
  out$cfa_wlsmv <- cfa_stats(keyed_all, scales, ordered = TRUE)
  out$dimensionality <- dimensionality(keyed_all)
  if (!is.null(retest)) out$retest_matched <- sum(!is.na(match(as.character(d$id), as.character(retest$id))))
  out
}

# ---------------------------------------------------------------- RAND-36
codes <- c(5, 5, rep(3, 10), rep(2, 7), 5, 6, 5, rep(6, 9), rep(5, 5))
names(codes) <- sprintf("q%02d", 1:36)
down <- sprintf("q%02d", c(1, 2, 20, 21, 22, 23, 26, 27, 30, 34, 36))  # RAND Table 1: 100 -> 0
rand_scales <- list(
  PF = sprintf("q%02d", 3:12), RP = sprintf("q%02d", 13:16), BP = c("q21", "q22"),
  GH = c("q01", "q33", "q34", "q35", "q36"), VT = c("q23", "q27", "q29", "q31"),
  SF = c("q20", "q32"), RE = c("q17", "q18", "q19"), MH = c("q24", "q25", "q26", "q28", "q30"))
rand_score <- function(d) {  # RAND recode to 0..100, mean of answered items if >= half answered
  lapply(rand_scales, function(items) {
    rec <- sapply(items, function(i) {
      k <- codes[[i]]; x <- d[[i]]
      if (i %in% down) 100 * (k - x) / (k - 1) else 100 * (x - 1) / (k - 1)
    })
    answered <- rowSums(!is.na(rec))
    ifelse(answered * 2 >= length(items), rowMeans(rec, na.rm = TRUE), NA)
  })
}
# keys: psych::alpha(check.keys = TRUE) (items with a negative loading on the first
# principal component are reversed); they must split each scale along the printed
# direction of the RAND form (items scored 100 -> 0 versus 0 -> 100)
rd <- read.csv("rand36_reference.csv"); rr <- read.csv("rand36_reference_retest.csv")
rand_reversed <- list()
for (s in names(rand_scales)) {
  items <- rand_scales[[s]]
  a <- suppressWarnings(alpha(rd[, items], check.keys = TRUE))
  keys <- unlist(a$keys)
  flipped <- sub("^-", "", keys[grepl("^-", keys)])
  dn <- items[items %in% down]
  stopifnot(length(flipped) == 0 && (length(dn) == 0 || length(dn) == length(items)) ||
              setequal(flipped, dn) || setequal(flipped, setdiff(items, dn)))
  rand_reversed[[s]] <- flipped
}
lo <- as.list(setNames(rep(1, 36), names(codes))); hi <- as.list(codes)
rand <- report_reference(rd, rand_scales, rand_reversed, lo, hi, rand_score(rd),
                         lapply(rand_scales, function(x) c(0, 100)), rd$sex, rr, rand_score(rr))
sc <- as.data.frame(rand_score(rd))
rand$hypotheses <- list(
  H1 = spearman(sc$PF, sc$RP), H2 = pearson(sc$PF, sc$MH),
  H3 = comparison(sc$MH, sc$RE, sc$MH, sc$PF),
  H4 = cohen_d(sc$PF[rd$chronic == "yes"], sc$PF[rd$chronic == "no"]),
  H5 = spearman(sc$GH, sc$VT))

# ---------------------------------------------------------------- psych::bfi
b <- bfi
bd <- data.frame(id = seq_len(nrow(b)), b[, 1:25], gender = ifelse(b$gender == 1, "male", "female"),
                 age = b$age)
write.csv(bd, "bfi_report_data.csv", row.names = FALSE, na = "")
bfi_scales <- lapply(setNames(c("A", "C", "E", "N", "O"), c("A", "C", "E", "N", "O")),
                     function(s) paste0(s, 1:5))
# psych's scoring keys for bfi (bfi.keys): A1, C4, C5, E1, E2, O2, O5 are reversed
bfi_reversed <- list(A = "A1", C = c("C4", "C5"), E = c("E1", "E2"), N = character(0),
                     O = c("O2", "O5"))
blo <- as.list(setNames(rep(1, 25), names(b)[1:25])); bhi <- as.list(setNames(rep(6, 25), names(b)[1:25]))
bsum <- lapply(bfi_scales, function(items) {  # sum of keyed items over complete responses
  k <- keyed_items(bd, items, bfi_reversed[[sub("[0-9]", "", items[1])]], blo, bhi)
  ifelse(complete.cases(k), rowSums(k), NA)
})
bfi_ref <- report_reference(bd, bfi_scales, bfi_reversed, blo, bhi, bsum,
                            lapply(bfi_scales, function(x) c(5, 30)), bd$gender)
bs <- as.data.frame(bsum)
bfi_ref$hypotheses <- list(
  H1 = cohen_d(bs$A[bd$gender == "male"], bs$A[bd$gender == "female"]),
  H2 = cohen_d(bs$N[bd$gender == "male"], bs$N[bd$gender == "female"]),
  H3 = spearman(bs$E, bs$A), H4 = pearson(bs$C, bs$N), H5 = spearman(bs$O, bd$age))

ref <- list(versions = list(R = R.version.string, psych = as.character(packageVersion("psych")),
                            lavaan = as.character(packageVersion("lavaan")),
                            GPArotation = as.character(packageVersion("GPArotation")),
                            MASS = as.character(packageVersion("MASS"))),
            rand36 = rand, bfi = bfi_ref)
writeLines(js(ref), "report_reference_r.json")
