"""Minimal important differences: every row cites a source; values as published.

CAT 2 points: Kon et al. 2014 Lancet Respir Med 2:195. ODI 10 points / 30 %: Ostelo et al.
2008 Spine 33:90. EQ-5D-3L 0.074: Walters & Brazier 2005 Qual Life Res 14:1523.
"""

import pytest

from scoring.mid import all_mids, mid


def test_published_values():
    assert mid("cat", "total").value == 2 and mid("cat", "total").better == "lower"
    odi = mid("odi", "total")
    assert (odi.value, odi.relative_percent, odi.better) == (10, 30, "lower")
    assert mid("eq5d3l", "index").value == pytest.approx(0.074)
    assert mid("eq5d5l", "index").upper == pytest.approx(0.069)


def test_every_row_has_source_and_direction():
    mids = all_mids()
    assert {(m.instrument_id, m.score) for m in mids} >= {
        ("rand36", s) for s in ("PF", "RP", "BP", "GH", "VT", "SF", "RE", "MH", "PCS", "MCS")
    }
    for m in mids:
        assert m.source and m.method and m.better in ("higher", "lower") and m.value > 0


def test_unknown_is_none_and_improvement_direction():
    assert mid("odi", "band") is None
    cat = mid("cat", "total")
    assert cat.is_important_improvement(20, 18) and not cat.is_important_improvement(20, 19)
