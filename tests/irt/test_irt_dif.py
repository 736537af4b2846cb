"""lordif-style IRT DIF (Choi, Gibbons & Crane 2011, J Stat Softw 39(8))."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.irt.dif import irt_dif
from scoring.irt.models import ItemSet
from scoring.irt.simulate import draw_categories, random_items


def _two_groups(
    shift: float, seed: int, n: int = 900, impact: float = 0.0
) -> tuple[pd.DataFrame, pd.Series]:
    """8 GRM items; in group 'b' item3's thresholds are ``shift`` higher (uniform DIF)
    and the trait mean is ``impact`` lower."""
    rng = np.random.default_rng(seed)
    items = random_items(8, 4, rng)
    theta_a = rng.standard_normal(n)
    theta_b = rng.standard_normal(n) - impact
    b_dif = items.b.copy()
    b_dif[2] += shift
    items_b = ItemSet.from_irt("grm", items.a, b_dif)
    x = np.vstack([draw_categories(items, theta_a, rng), draw_categories(items_b, theta_b, rng)])
    data = pd.DataFrame(x.astype(float), columns=[f"item{i + 1}" for i in range(8)])
    return data, pd.Series(["a"] * n + ["b"] * n)


def test_item_with_uniform_dif_is_flagged_and_purified():
    # Choi et al. (2011): the item simulated with DIF is flagged, purification re-runs
    # the tests with group-specific parameters for it and stops when the set is stable.
    # Three replications: item3 is always flagged, and of the 21 tests of items without
    # DIF (chi-square criterion, three tests per item at p < .01) at most one is a
    # false flag (seed 3 flags item4 for non-uniform DIF, p = .0001).
    false_flags = 0
    for seed in (3, 4, 5):
        data, group = _two_groups(shift=0.9, seed=seed)
        result = irt_dif(data, group)
        assert "item3" in result.flagged
        assert result.converged and result.iterations >= 2  # purification ran
        row = result.result.table.set_index("item").loc["item3"]
        assert row["uniform_dif"] and row["p_uniform"] < 1e-6
        false_flags += len(result.flagged) - 1
    assert false_flags <= 1


def test_r2_criterion_with_impact():
    # Group b is 0.5 SD lower (impact). The effect-size criterion (McFadden R2 change
    # >= .02, lordif's "R2" option) flags only the DIF item; the purified theta keeps
    # most of the impact (EAP shrinks it towards the pooled mean).
    data, group = _two_groups(shift=0.9, seed=3, impact=0.5)
    result = irt_dif(data, group, criterion="r2")
    assert result.flagged == ["item3"]
    gap = result.theta[group == "a"].mean() - result.theta[group == "b"].mean()
    assert 0.3 < gap < 0.6


def test_no_dif_flags_nothing():
    data, group = _two_groups(shift=0.0, seed=8)
    result = irt_dif(data, group, criterion="r2")
    assert result.flagged == []
    assert result.iterations == 1
    assert set(result.to_dict()) >= {"items", "flagged", "iterations", "history"}


def test_bad_input():
    data, group = _two_groups(shift=0.0, seed=1, n=50)
    with pytest.raises(ValueError, match="two groups"):
        irt_dif(data, pd.Series(["a"] * 100))
    with pytest.raises(ValueError, match="criterion"):
        irt_dif(data, group, criterion="bic")
