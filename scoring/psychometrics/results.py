"""Small result objects returned by the psychometrics functions."""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any


def _clean(value: Any) -> Any:
    """Make a value JSON-friendly (NaN -> None, numpy scalars -> Python)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class Estimate:
    """A point estimate with an optional confidence interval and the n it rests on."""

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95
    method: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ci(self) -> tuple[float | None, float | None]:
        """The confidence interval as (low, high)."""
        return (self.ci_low, self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return _clean(asdict(self))

    def __float__(self) -> float:
        return float(self.value)
