"""Computerized adaptive testing (CAT) engine: pure functions, no storage, no web.

A :class:`Bank` holds calibrated items. For one respondent the answers so far are a
sequence of ``(item_id, code)`` pairs; :func:`next_item` returns the item to ask next (or
``None`` when the test should stop) and :func:`estimate` the current theta and SE. The
same vectorised selection runs for one respondent and for many simulees at once
(:func:`run_batch`, used by ``cat-sim``), so a simulation tests the live engine.

* Theta: EAP over a 61-node grid on [-6, 6] with a N(0, ``prior_sd``) prior; the
  first item is chosen at ``start_theta``.
* Selection: ``max_info`` (Fisher information at the current EAP) or ``kl`` (posterior-
  weighted Kullback-Leibler information, Chang & Ying 1996; van der Linden 1998).
* Exposure: ``randomesque`` picks at random among the ``randomesque_k`` best items
  (Kingsbury & Zara 1989); ``none`` always takes the best.
* Stopping: ``max_items`` reached, or at least ``min_items`` answered and SE <= ``stop_se``,
  or no item left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from scoring.irt.models import TINY, ItemSet
from scoring.irt.quadrature import normal_grid

Select = Literal["max_info", "kl"]
Exposure = Literal["none", "randomesque"]


@dataclass(frozen=True)
class CatSettings:
    """Adaptive administration rules (the protocol's ``adaptive:`` block)."""

    start_theta: float = 0.0
    select: Select = "max_info"
    stop_se: float = 0.3
    max_items: int = 12
    min_items: int = 4
    exposure: Exposure = "randomesque"
    randomesque_k: int = 5
    prior_sd: float = 1.0

    def __post_init__(self) -> None:
        if self.select not in ("max_info", "kl"):
            raise ValueError(f"select must be 'max_info' or 'kl', not {self.select!r}")
        if self.exposure not in ("none", "randomesque"):
            raise ValueError(f"exposure must be 'none' or 'randomesque', not {self.exposure!r}")
        if not 1 <= self.min_items <= self.max_items:
            raise ValueError("need 1 <= min_items <= max_items")
        if self.stop_se <= 0 or self.prior_sd <= 0 or self.randomesque_k < 1:
            raise ValueError("stop_se, prior_sd and randomesque_k must be positive")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CatSettings:
        """Settings from a mapping (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown adaptive settings {unknown}; known: {sorted(known)}")
        return cls(**dict(data))


@dataclass(frozen=True, eq=False)
class Bank:
    """Calibrated items: ids, parameters and the answer codes of each category."""

    item_ids: tuple[str, ...]
    items: ItemSet
    codes: tuple[tuple[int, ...], ...]
    nodes: np.ndarray = field(default_factory=lambda: normal_grid()[0], repr=False)
    log_probs: np.ndarray = field(init=False, repr=False)  # (I, K, Q)

    def __post_init__(self) -> None:
        if len(self.item_ids) != self.items.n_items or len(self.codes) != self.items.n_items:
            raise ValueError("item ids, codes and parameters must describe the same items")
        for iid, codes, k in zip(self.item_ids, self.codes, self.items.n_categories, strict=True):
            if len(codes) != k:
                raise ValueError(f"item {iid!r}: {len(codes)} codes but {k} categories")
        logp = self.items.log_probs(self.nodes)
        object.__setattr__(self, "log_probs", np.where(np.isfinite(logp), logp, np.log(TINY)))
        object.__setattr__(self, "_position", {iid: i for i, iid in enumerate(self.item_ids)})

    def position(self, item_id: str) -> int:
        """Index of ``item_id``; KeyError naming the bank's items when unknown."""
        try:
            return self._position[item_id]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(f"item {item_id!r} is not in the bank") from None

    def category(self, item_id: str, code: int) -> int:
        """Category index of answer ``code`` to ``item_id``; ValueError when not an option."""
        codes = self.codes[self.position(item_id)]
        if code not in codes:
            raise ValueError(f"item {item_id!r}: {code!r} is not one of its codes {list(codes)}")
        return codes.index(code)


@dataclass(frozen=True)
class Estimate:
    """Current EAP theta, its posterior SD and the number of answers it rests on."""

    theta: float
    se: float
    n_items: int


def _log_posterior(bank: Bank, answers: Sequence[tuple[str, int]], prior_sd: float) -> np.ndarray:
    log_post = -0.5 * (bank.nodes / prior_sd) ** 2
    for item_id, code in answers:
        log_post = log_post + bank.log_probs[bank.position(item_id), bank.category(item_id, code)]
    return log_post


def _eap(log_post: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EAP and posterior SD for each row of log-posteriors (m, Q)."""
    w = np.exp(log_post - log_post.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    mean = w @ nodes
    sd = np.sqrt(np.maximum(w @ nodes**2 - mean**2, 0.0))
    return mean, sd


def _check_answers(bank: Bank, answers: Sequence[tuple[str, int]]) -> None:
    seen: set[str] = set()
    for item_id, code in answers:
        bank.category(item_id, code)
        if item_id in seen:
            raise ValueError(f"item {item_id!r} answered twice")
        seen.add(item_id)


def estimate(
    bank: Bank, answers: Sequence[tuple[str, int]], settings: CatSettings | None = None
) -> Estimate:
    """EAP theta and SE after ``answers`` (item id, answer code) pairs."""
    settings = settings or CatSettings()
    _check_answers(bank, answers)
    mean, sd = _eap(_log_posterior(bank, answers, settings.prior_sd)[None, :], bank.nodes)
    return Estimate(float(mean[0]), float(sd[0]), len(answers))


def criteria(bank: Bank, theta: np.ndarray, log_post: np.ndarray, select: Select) -> np.ndarray:
    """Selection criterion of every item for each row, (m, I): larger is better."""
    if select == "max_info":
        return bank.items.information(theta).T
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    p_hat = bank.items.probs(theta)  # (I, K, m)
    logp_hat = np.log(np.maximum(p_hat, TINY))
    n_items, width, n_nodes = bank.log_probs.shape
    expected_logp = (post @ bank.log_probs.reshape(n_items * width, n_nodes).T).reshape(
        -1, n_items, width
    )  # (m, I, K): posterior mean of log P_ic(theta)
    p_hat_m = np.transpose(p_hat, (2, 0, 1))
    return (p_hat_m * (np.transpose(logp_hat, (2, 0, 1)) - expected_logp)).sum(axis=2)


def choose(
    crit: np.ndarray, available: np.ndarray, settings: CatSettings, rng: np.random.Generator
) -> np.ndarray:
    """Item index for each row: the best available, or a random one of the k best."""
    crit = np.where(available, crit, -np.inf)
    if settings.exposure == "none" or settings.randomesque_k == 1:
        return np.argmax(crit, axis=1)
    k = min(settings.randomesque_k, crit.shape[1])
    top = np.argpartition(-crit, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(crit, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    k_row = np.minimum(k, available.sum(axis=1))
    pick = np.floor(rng.random(crit.shape[0]) * k_row).astype(int)
    return top[np.arange(crit.shape[0]), pick]


def should_stop(n_answered: int, se: float, n_left: int, settings: CatSettings) -> bool:
    """The stopping rule."""
    if n_left == 0 or n_answered >= settings.max_items:
        return True
    return n_answered >= settings.min_items and se <= settings.stop_se


def next_item(
    bank: Bank,
    answers: Sequence[tuple[str, int]],
    rng: np.random.Generator,
    settings: CatSettings | None = None,
) -> str | None:
    """The id of the item to ask next, or ``None`` when the test is complete."""
    settings = settings or CatSettings()
    _check_answers(bank, answers)
    log_post = _log_posterior(bank, answers, settings.prior_sd)[None, :]
    theta, se = _eap(log_post, bank.nodes)
    available = np.ones((1, bank.items.n_items), dtype=bool)
    for item_id, _ in answers:
        available[0, bank.position(item_id)] = False
    if should_stop(len(answers), float(se[0]), int(available.sum()), settings):
        return None
    if not answers:
        theta = np.array([settings.start_theta])
    crit = criteria(bank, theta, log_post, settings.select)
    return bank.item_ids[int(choose(crit, available, settings, rng)[0])]


def update(
    bank: Bank,
    answers: Sequence[tuple[str, int]],
    item_id: str,
    code: int,
    settings: CatSettings | None = None,
) -> tuple[tuple[tuple[str, int], ...], Estimate]:
    """Record one answer: the new answer sequence and the updated estimate."""
    new = (*tuple(answers), (item_id, code))
    return new, estimate(bank, new, settings)


@dataclass(frozen=True)
class BatchResult:
    """Outcome of :func:`run_batch`: final theta/SE, items used and the order given."""

    theta: np.ndarray
    se: np.ndarray
    n_items: np.ndarray
    administered: np.ndarray  # (m, max_items) item indices, -1 after the stop


def run_batch(
    bank: Bank,
    categories: np.ndarray,
    settings: CatSettings,
    rng: np.random.Generator,
) -> BatchResult:
    """Adaptive tests for many respondents whose answer to every item is known.

    ``categories``: (m, I) category index each respondent would give to each item. Each
    step selects, for every respondent still testing, exactly as :func:`next_item`.
    """
    m, n_items = categories.shape
    log_post = np.tile(-0.5 * (bank.nodes / settings.prior_sd) ** 2, (m, 1))
    available = np.ones((m, n_items), dtype=bool)
    active = np.ones(m, dtype=bool)
    count = np.zeros(m, dtype=int)
    order = np.full((m, settings.max_items), -1, dtype=int)
    theta = np.full(m, settings.start_theta, dtype=float)
    se = np.full(m, settings.prior_sd, dtype=float)
    rows = np.arange(m)
    for step in range(min(settings.max_items, n_items)):
        idx = rows[active]
        if idx.size == 0:
            break
        t = theta[idx] if step > 0 else np.full(idx.size, settings.start_theta)
        crit = criteria(bank, t, log_post[idx], settings.select)
        pick = choose(crit, available[idx], settings, rng)
        cats = categories[idx, pick]
        log_post[idx] += bank.log_probs[pick, cats]
        available[idx, pick] = False
        order[idx, step] = pick
        count[idx] += 1
        theta[idx], se[idx] = _eap(log_post[idx], bank.nodes)
        left = available[idx].sum(axis=1)
        stop = (left == 0) | (count[idx] >= settings.max_items)
        stop |= (count[idx] >= settings.min_items) & (se[idx] <= settings.stop_se)
        active[idx[stop]] = False
    return BatchResult(theta, se, count, order)
