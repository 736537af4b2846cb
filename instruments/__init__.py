"""Instrument definitions: YAML files, their schema, a loader and FHIR conversion.

This package is part of the domain core: it never imports Flask, SQLAlchemy or ``webapp``.
"""

from instruments.loader import InstrumentError, Problem, load, load_all, load_file, parse
from instruments.model import (
    ITEM_TYPES,
    LANGUAGES,
    AnswerError,
    Coding,
    EnableWhen,
    FhirMeta,
    FrozenMap,
    Identifier,
    Instrument,
    Item,
    Licence,
    Option,
    Page,
    Scale,
    Scoring,
    Text,
)

__all__ = [
    "ITEM_TYPES",
    "LANGUAGES",
    "AnswerError",
    "Coding",
    "EnableWhen",
    "FhirMeta",
    "FrozenMap",
    "Identifier",
    "Instrument",
    "InstrumentError",
    "Item",
    "Licence",
    "Option",
    "Page",
    "Problem",
    "Scale",
    "Scoring",
    "Text",
    "load",
    "load_all",
    "load_file",
    "parse",
]
