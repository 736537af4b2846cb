"""IRT item banks in instrument files (``kind: item-bank`` with an ``irt:`` block).

An item bank is an instrument file whose choice items carry calibrated IRT parameters::

    kind: item-bank
    irt:
      model: grm                 # grm | gpcm | 2pl | rasch
      synthetic: true            # demonstration parameters, not a real calibration
      calibration: {source: ..., sample: ..., n: 3000}
      transform: {name: T-score, intercept: 50, slope: 10}   # score = 50 + 10 * theta
      params:
        pf01: {a: 2.1, b: [-2.3, -1.4, -0.6, 0.4]}

An item's options are its categories in the order listed, from the lowest to the
highest trait level; ``b`` has one threshold fewer than the item has options. The block is
part of the definition and therefore of the content hash. This module has no
dependencies on the rest of :mod:`instruments`, so the model and the loader can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IRT_MODELS = ("grm", "gpcm", "2pl", "rasch")


@dataclass(frozen=True)
class IrtItem:
    """Parameters of one item: slope ``a`` and thresholds ``b``."""

    item: str
    a: float
    b: tuple[float, ...]


@dataclass(frozen=True)
class ItemBankIrt:
    """The ``irt:`` block of an item bank."""

    model: str
    params: tuple[IrtItem, ...]
    source: str
    sample: str
    n: int
    synthetic: bool = False
    transform_name: str = "T-score"
    intercept: float = 50.0
    slope: float = 10.0

    def item(self, item_id: str) -> IrtItem:
        """Parameters of ``item_id``; KeyError when the bank has none."""
        for p in self.params:
            if p.item == item_id:
                return p
        raise KeyError(f"no IRT parameters for item {item_id!r}")

    def transform(self, theta: float) -> float:
        """The reported score, ``intercept + slope * theta`` (e.g. T = 50 + 10 theta)."""
        return self.intercept + self.slope * theta

    def to_definition(self) -> dict[str, Any]:
        """The ``irt:`` mapping in canonical form."""
        data: dict[str, Any] = {"model": self.model}
        if self.synthetic:
            data["synthetic"] = True
        data["calibration"] = {"source": self.source, "sample": self.sample, "n": self.n}
        data["transform"] = {
            "name": self.transform_name,
            "intercept": self.intercept,
            "slope": self.slope,
        }
        data["params"] = {p.item: {"a": p.a, "b": list(p.b)} for p in self.params}
        return data


def build_irt(raw: Mapping[str, Any] | None) -> ItemBankIrt | None:
    """The typed ``irt:`` block of a checked definition (None when absent)."""
    if raw is None:
        return None
    cal = raw["calibration"]
    transform = raw.get("transform") or {}
    return ItemBankIrt(
        model=raw["model"],
        params=tuple(
            IrtItem(str(item), float(p["a"]), tuple(float(b) for b in p["b"]))
            for item, p in raw["params"].items()
        ),
        source=cal["source"],
        sample=cal["sample"],
        n=int(cal["n"]),
        synthetic=bool(raw.get("synthetic", False)),
        transform_name=transform.get("name", "T-score"),
        intercept=float(transform.get("intercept", 50.0)),
        slope=float(transform.get("slope", 10.0)),
    )


def check_irt(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Semantic problems of an item bank as (where, message) pairs.

    ``kind: item-bank`` needs an ``irt:`` block and vice versa; every choice item needs
    parameters, no parameters for unknown items, one threshold fewer than options,
    increasing thresholds for GRM/2PL/Rasch, positive slopes, one common slope for Rasch.
    """
    kind = data.get("kind")
    irt = data.get("irt")
    if kind != "item-bank":
        return [("irt", "only an item bank (kind: item-bank) has an irt block")] if irt else []
    if not isinstance(irt, Mapping):
        return [("-", "an item bank (kind: item-bank) needs an irt block")]
    params = irt.get("params")
    if not isinstance(params, Mapping):
        return []  # the schema reports it
    items = [i for i in data.get("items") or [] if isinstance(i, Mapping)]
    choice = {str(i.get("id")): i for i in items if i.get("type") == "choice" and i.get("options")}
    problems = []
    for item_id in choice:
        if item_id not in params:
            problems.append((item_id, "item bank item has no IRT parameters"))
    slopes = []
    for item_id, p in params.items():
        where = f"irt.params.{item_id}"
        if item_id not in choice:
            problems.append((where, "parameters for an item that is not a choice item of the bank"))
            continue
        if not isinstance(p, Mapping) or not isinstance(p.get("b"), list):
            continue  # the schema reports it
        n_options = len(choice[item_id]["options"])
        b = p["b"]
        if len(b) != n_options - 1:
            problems.append(
                (where, f"{len(b)} thresholds but {n_options} options (need {n_options - 1})")
            )
        if irt.get("model") != "gpcm" and any(x >= y for x, y in zip(b, b[1:], strict=False)):
            problems.append((where, "thresholds must increase (graded model)"))
        a = p.get("a")
        if isinstance(a, int | float) and a <= 0:
            problems.append((where, "slope a must be positive"))
        slopes.append(a)
    if irt.get("model") == "rasch" and len(set(slopes)) > 1:
        problems.append(("irt.params", "a Rasch bank has one common slope"))
    return problems
