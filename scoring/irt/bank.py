"""Item banks from instrument files (``kind: item-bank``) as CAT banks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from instruments.loader import load_file
from instruments.model import Instrument
from scoring.irt.cat import Bank, CatSettings, estimate
from scoring.irt.models import ItemSet

BANKS_DIR = Path(__file__).resolve().parents[2] / "instruments" / "banks"


def bank_from_instrument(instrument: Instrument) -> Bank:
    """The CAT bank of an item-bank instrument; ValueError for any other instrument.

    An item's categories are its options in the order listed (lowest trait level first).
    """
    if instrument.kind != "item-bank" or instrument.irt is None:
        raise ValueError(f"{instrument.id} is not an item bank (kind: item-bank with irt:)")
    irt = instrument.irt
    ids = tuple(p.item for p in irt.params)
    width = max(len(p.b) for p in irt.params) + 1
    b = np.full((len(ids), width - 1), np.nan)
    for row, p in enumerate(irt.params):
        b[row, : len(p.b)] = p.b
    a = np.array([p.a for p in irt.params])
    items = ItemSet.from_irt("gpcm" if irt.model == "gpcm" else "grm", a, b)
    codes = tuple(tuple(int(o.code) for o in instrument.item(i).options) for i in ids)
    return Bank(ids, items, codes)


def load_bank(path: str | Path) -> tuple[Instrument, Bank]:
    """Load an item-bank file: (instrument, bank). InstrumentError/ValueError when invalid."""
    instrument = load_file(path)
    return instrument, bank_from_instrument(instrument)


def score_answers(
    instrument: Instrument, answers: Mapping[str, int], prior_sd: float = 1.0
) -> dict[str, float | int]:
    """Score an item-bank response: EAP ``theta``, ``se``, the transformed score and SE.

    ``answers`` maps item id to answer code (any subset of the bank, e.g. the items an
    adaptive test asked). Returns ``theta``, ``se``, ``score`` (e.g. the T-score),
    ``score_se`` and ``n_items``; the same numbers as the CAT engine's final estimate.
    """
    bank = bank_from_instrument(instrument)
    est = estimate(bank, list(answers.items()), CatSettings(prior_sd=prior_sd))
    irt = instrument.irt
    assert irt is not None  # bank_from_instrument checked it
    return {
        "theta": est.theta,
        "se": est.se,
        "score": irt.transform(est.theta),
        "score_se": irt.slope * est.se,
        "n_items": est.n_items,
    }
