"""Quality indicators of a register, defined in a config file with target levels.

One YAML file per register in ``webapp/registers/<register name>.yaml`` (or the folder in
``OPENPROM_REGISTER_CONFIG_DIR``). Each indicator is a share (0..1) with target levels,
like the national results portals show them: ``high`` (høy måloppnåelse), ``moderate``
(moderat) and below that ``low`` (lav). Kinds:

- ``response_rate``: answered / closed invitations of ``instrument`` at ``time_point``;
- ``improved``: share of patients whose ``scale`` improved by at least the minimal
  important difference between ``from`` and ``to`` (MIDs from :mod:`scoring.mid`);
- ``threshold``: share with ``scale`` ``at_most`` / ``at_least`` a value at ``time_point``.

``better: lower`` turns the targets around (value at most ``high`` is high).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from flask import current_app

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "registers"
LEVEL_TEXT = {
    "high": "Høy måloppnåelse",
    "moderate": "Moderat måloppnåelse",
    "low": "Lav måloppnåelse",
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["register", "indicators"],
    "additionalProperties": False,
    "properties": {
        "register": {"type": "string"},
        "title": {"type": "string"},
        "indicators": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "kind", "protocol", "instrument", "target"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "kind": {"enum": ["response_rate", "improved", "threshold"]},
                    "protocol": {"type": "string"},
                    "instrument": {"type": "string"},
                    "scale": {"type": "string"},
                    "time_point": {"type": "string"},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "at_most": {"type": "number"},
                    "at_least": {"type": "number"},
                    "better": {"enum": ["higher", "lower"]},
                    "target": {
                        "type": "object",
                        "required": ["high", "moderate"],
                        "additionalProperties": False,
                        "properties": {
                            "high": {"type": "number", "minimum": 0, "maximum": 1},
                            "moderate": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
            },
        },
    },
}


class IndicatorConfigError(ValueError):
    """A register's indicator file is invalid (the message names file and indicator)."""


@dataclass(frozen=True)
class Indicator:
    """One quality indicator: what it counts and its target levels."""

    id: str
    title: str
    description: str
    kind: Literal["response_rate", "improved", "threshold"]
    protocol: str
    instrument: str
    scale: str | None
    time_point: str | None
    from_time_point: str | None
    to_time_point: str | None
    at_most: float | None
    at_least: float | None
    better: Literal["higher", "lower"]
    high: float
    moderate: float

    def level(self, value: float) -> str:
        """``high``, ``moderate`` or ``low`` for a share ``value``."""
        if self.better == "higher":
            return "high" if value >= self.high else "moderate" if value >= self.moderate else "low"
        return "high" if value <= self.high else "moderate" if value <= self.moderate else "low"

    @property
    def target_text(self) -> str:
        """The targets in words, e.g. ``høy ≥ 70 %, moderat ≥ 55 %``."""
        sign = "≥" if self.better == "higher" else "≤"
        return f"høy {sign} {self.high:.0%}, moderat {sign} {self.moderate:.0%}".replace("%", " %")


def config_dir() -> Path:
    """Where register indicator files live."""
    configured = current_app.config.get("OPENPROM_REGISTER_CONFIG_DIR") or os.environ.get(
        "OPENPROM_REGISTER_CONFIG_DIR"
    )
    return Path(configured) if configured else DEFAULT_DIR


def _need(path: Path, spec: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key not in spec:
            raise IndicatorConfigError(f"{path}:{spec['id']}: kind {spec['kind']} needs {key!r}")


def _indicator(path: Path, spec: dict[str, Any]) -> Indicator:
    kind = spec["kind"]
    if kind == "response_rate":
        _need(path, spec, "time_point")
    elif kind == "improved":
        _need(path, spec, "scale", "from", "to")
        from scoring.mid import mid

        if mid(spec["instrument"], spec["scale"]) is None:
            raise IndicatorConfigError(
                f"{path}:{spec['id']}: no minimal important difference is recorded for "
                f"{spec['instrument']} {spec['scale']}"
            )
    else:
        _need(path, spec, "scale", "time_point")
        if ("at_most" in spec) == ("at_least" in spec):
            raise IndicatorConfigError(
                f"{path}:{spec['id']}: a threshold needs exactly one of at_most, at_least"
            )
    better = spec.get("better", "higher")
    high, moderate = spec["target"]["high"], spec["target"]["moderate"]
    if (better == "higher" and high < moderate) or (better == "lower" and high > moderate):
        raise IndicatorConfigError(
            f"{path}:{spec['id']}: target high must be {'above' if better == 'higher' else 'below'}"
            " moderate"
        )
    return Indicator(
        id=spec["id"],
        title=spec["title"],
        description=spec.get("description", ""),
        kind=kind,
        protocol=spec["protocol"],
        instrument=spec["instrument"],
        scale=spec.get("scale"),
        time_point=spec.get("time_point"),
        from_time_point=spec.get("from"),
        to_time_point=spec.get("to"),
        at_most=spec.get("at_most"),
        at_least=spec.get("at_least"),
        better=better,
        high=high,
        moderate=moderate,
    )


def load_file(path: Path) -> tuple[Indicator, ...]:
    """Indicators of one file; :class:`IndicatorConfigError` says what is wrong and where."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise IndicatorConfigError(f"{path}: not valid YAML ({exc})") from None
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise IndicatorConfigError(f"{path}:{where}: {errors[0].message}")
    ids = [spec["id"] for spec in data["indicators"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise IndicatorConfigError(f"{path}: duplicate indicator id {', '.join(duplicates)}")
    return tuple(_indicator(path, spec) for spec in data["indicators"])


@lru_cache(maxsize=64)
def _load_unchanged(path: Path, mtime_ns: int, size: int) -> tuple[Indicator, ...]:
    return load_file(path)


def for_register(register_name: str) -> tuple[Indicator, ...]:
    """The indicators of ``register_name`` (none when it has no file).

    The parsed file is kept until the file changes (modification time or size), so a page
    view does not parse YAML and a corrected file is used at once.
    """
    path = config_dir() / f"{register_name}.yaml"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ()
    return _load_unchanged(path, stat.st_mtime_ns, stat.st_size)
