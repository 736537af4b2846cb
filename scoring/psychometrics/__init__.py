"""Psychometric validation: reliability, agreement, validity, factor analysis, DIF, report.

Functions take pandas DataFrames (rows = respondents, columns = items or scores) and
return small result objects (estimate, confidence interval, n). Names are imported
lazily so that ``import scoring`` stays light.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_EXPORTS: dict[str, str] = {
    "Estimate": "scoring.psychometrics.results",
    "item_analysis": "scoring.psychometrics.items",
    "cronbach_alpha": "scoring.psychometrics.reliability",
    "omega": "scoring.psychometrics.reliability",
    "ordinal_alpha": "scoring.psychometrics.reliability",
    "icc": "scoring.psychometrics.agreement",
    "kappa": "scoring.psychometrics.rater_agreement",
    "bland_altman": "scoring.psychometrics.rater_agreement",
    "sem": "scoring.psychometrics.agreement",
    "sdc": "scoring.psychometrics.agreement",
    "efa": "scoring.psychometrics.factor",
    "parallel_analysis": "scoring.psychometrics.factor",
    "cfa": "scoring.psychometrics.cfa",
    "invariance": "scoring.psychometrics.invariance",
    "polychoric": "scoring.psychometrics.polychoric",
    "tetrachoric": "scoring.psychometrics.polychoric",
    "hypotheses": "scoring.psychometrics.validity",
    "responsiveness": "scoring.psychometrics.responsiveness",
    "dif": "scoring.psychometrics.dif",
    "build_report": "scoring.psychometrics.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


class _Package(types.ModuleType):
    """Exported names win over submodules of the same name (``cfa``, ``dif``).

    Importing ``scoring.psychometrics.cfa`` sets the package attribute ``cfa`` to the
    submodule; without this, ``from scoring.psychometrics import cfa`` would then return
    the module instead of the function.
    """

    def __getattribute__(self, name: str) -> Any:
        if name in _EXPORTS:
            return getattr(importlib.import_module(_EXPORTS[name]), name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package
