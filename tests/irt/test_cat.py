"""CAT engine: selection, EAP updating, stopping, exposure control, batch = single."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit
from scipy.stats import norm

from scoring.irt.cat import Bank, CatSettings, estimate, next_item, run_batch, update
from scoring.irt.models import ItemSet
from scoring.irt.simulate import draw_categories, random_items

# A 2PL bank whose information a^2 P (1 - P) (Birnbaum 1968) is easy to write down.
A = np.array([0.8, 1.2, 2.0, 1.5, 1.0, 2.2, 0.9, 1.7])
B = np.array([-2.0, -1.0, 0.3, 0.0, 1.0, -0.4, 2.0, 0.8])


def _binary_bank() -> Bank:
    items = ItemSet.from_irt("grm", A, B[:, None])
    return Bank(tuple(f"i{k}" for k in range(len(A))), items, ((0, 1),) * len(A))


def _poly_bank(n_items: int = 40, seed: int = 5) -> Bank:
    items = random_items(n_items, 5, np.random.default_rng(seed))
    return Bank(tuple(f"q{k:02d}" for k in range(n_items)), items, ((1, 2, 3, 4, 5),) * n_items)


def _info(theta: float) -> np.ndarray:
    p = expit(A * (theta - B))
    return A**2 * p * (1 - p)


def test_first_item_has_most_information_at_start_theta():
    bank = _binary_bank()
    rng = np.random.default_rng(0)
    for start in (-1.5, 0.0, 0.7):
        settings = CatSettings(start_theta=start, exposure="none")
        assert next_item(bank, [], rng, settings) == f"i{np.argmax(_info(start))}"


def test_next_item_uses_eap_after_answers_and_skips_answered():
    bank = _binary_bank()
    settings = CatSettings(exposure="none", max_items=8, min_items=8)
    answers = [("i2", 1), ("i3", 0)]
    est = estimate(bank, answers, settings)

    # EAP by direct integration (not the engine's grid)
    def lik(t):
        p2, p3 = expit(A[2] * (t - B[2])), expit(A[3] * (t - B[3]))
        return p2 * (1 - p3) * norm.pdf(t)

    z = integrate.quad(lik, -10, 10)[0]
    mean = integrate.quad(lambda t: t * lik(t), -10, 10)[0] / z
    sd = np.sqrt(integrate.quad(lambda t: t * t * lik(t), -10, 10)[0] / z - mean**2)
    assert est.theta == pytest.approx(mean, abs=1e-4)
    assert est.se == pytest.approx(sd, abs=1e-4)
    info = _info(mean)
    info[[2, 3]] = -1
    assert next_item(bank, answers, np.random.default_rng(0), settings) == f"i{np.argmax(info)}"


def test_kl_criterion_matches_direct_integration():
    # Posterior-weighted KL (van der Linden 1998): sum over categories of
    # P(theta_hat) log(P(theta_hat) / P(theta)) averaged over the posterior, recomputed by
    # adaptive integration for two items after one answer.
    from scoring.irt.cat import _log_posterior, criteria

    bank = _binary_bank()
    answers = [("i3", 1)]
    log_post = _log_posterior(bank, answers, 1.0)[None, :]
    est = estimate(bank, answers)
    crit = criteria(bank, np.array([est.theta]), log_post, "kl")[0]

    def post(t):
        return expit(A[3] * (t - B[3])) * norm.pdf(t)

    z = integrate.quad(post, -10, 10)[0]
    for i in (0, 5):
        ph = expit(A[i] * (est.theta - B[i]))

        def kl(t, i=i, ph=ph):
            p = expit(A[i] * (t - B[i]))
            return (ph * np.log(ph / p) + (1 - ph) * np.log((1 - ph) / (1 - p))) * post(t) / z

        # the engine integrates on 61 nodes over [-6, 6]; agreement to 1e-3
        assert crit[i] == pytest.approx(integrate.quad(kl, -6, 6)[0], abs=1e-3)


def test_stopping_rules():
    bank = _poly_bank()
    rng = np.random.default_rng(1)
    settings = CatSettings(stop_se=0.5, min_items=3, max_items=6, exposure="none")
    answers: tuple = ()
    n = 0
    while (item := next_item(bank, answers, rng, settings)) is not None:
        answers, est = update(bank, answers, item, 3, settings)
        n += 1
        assert n <= 6
    est = estimate(bank, answers, settings)
    assert len(answers) >= 3
    assert len(answers) == 6 or est.se <= 0.5
    if len(answers) > 3:  # it did not stop earlier although it could have
        assert estimate(bank, answers[:-1], settings).se > 0.5
    # a bank smaller than max_items ends when it runs out
    small = _binary_bank()
    everything = [(f"i{k}", 1) for k in range(8)]
    assert (
        next_item(small, everything, rng, CatSettings(max_items=20, min_items=1, stop_se=0.01))
        is None
    )


def test_randomesque_picks_among_the_k_best():
    # Kingsbury & Zara (1989): random choice among the k most informative items.
    bank = _binary_bank()
    rng = np.random.default_rng(2)
    settings = CatSettings(exposure="randomesque", randomesque_k=3)
    picks = {next_item(bank, [], rng, settings) for _ in range(300)}
    best3 = {f"i{k}" for k in np.argsort(-_info(0.0))[:3]}
    assert picks == best3


def test_batch_equals_single_respondent_engine():
    bank = _poly_bank()
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(25)
    cats = draw_categories(bank.items, theta, rng)
    for select in ("max_info", "kl"):
        settings = CatSettings(select=select, exposure="none", stop_se=0.35, max_items=10)
        batch = run_batch(bank, cats, settings, np.random.default_rng(4))
        for r in range(25):
            answers: tuple = ()
            while (item := next_item(bank, answers, rng, settings)) is not None:
                code = bank.codes[bank.position(item)][cats[r, bank.position(item)]]
                answers, est = update(bank, answers, item, code, settings)
            given = [bank.position(i) for i, _ in answers]
            assert given == list(batch.administered[r, : batch.n_items[r]])
            assert est.theta == pytest.approx(batch.theta[r], abs=1e-12)
            assert est.se == pytest.approx(batch.se[r], abs=1e-12)


def test_bad_answers_are_refused():
    bank = _binary_bank()
    rng = np.random.default_rng(0)
    with pytest.raises(KeyError, match="not in the bank"):
        next_item(bank, [("nope", 1)], rng)
    with pytest.raises(ValueError, match="not one of its codes"):
        update(bank, [], "i1", 7)
    with pytest.raises(ValueError, match="answered twice"):
        estimate(bank, [("i1", 1), ("i1", 0)])
    with pytest.raises(ValueError, match="unknown adaptive settings"):
        CatSettings.from_mapping({"stop_se": 0.3, "maxitems": 5})
    with pytest.raises(ValueError, match="min_items"):
        CatSettings(min_items=5, max_items=4)
