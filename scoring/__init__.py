"""Scoring of PROM/PREM instruments: pure, vectorised numpy functions.

Public entry points: :func:`score` and :func:`score_table`; ``python -m scoring`` on the
command line. Part of the domain core: never imports Flask, SQLAlchemy or ``webapp``.
"""

from scoring.core import CellError, ScoringInputError, score, score_table
from scoring.registry import Algorithm, ValueSet, get, instrument_ids

__all__ = [
    "Algorithm",
    "CellError",
    "ScoringInputError",
    "ValueSet",
    "get",
    "instrument_ids",
    "score",
    "score_table",
]
