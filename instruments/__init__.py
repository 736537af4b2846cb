"""Instrument definitions: YAML files, their schema, a loader and FHIR conversion.

This package is part of the domain core: it never imports Flask, SQLAlchemy or ``webapp``.
"""

from instruments.loader import InstrumentError, Problem, load, load_all, load_file, parse
from instruments.model import LANGUAGES, Instrument, Item, Option, Page, Scale, Text

__all__ = [
    "LANGUAGES",
    "Instrument",
    "InstrumentError",
    "Item",
    "Option",
    "Page",
    "Problem",
    "Scale",
    "Text",
    "load",
    "load_all",
    "load_file",
    "parse",
]
