"""The adaptive steps table of a register export, in every export format, and its codebook.

One row per answered step of a completed item-bank response (patients who withdrew left
out), in the order asked: ``adaptive_steps.csv`` / ``.parquet`` / ``.sav`` / ``.dta`` for
the formats chosen. The columns are :data:`webapp.services.adaptive.STEP_COLUMNS` in
every format. No patient identifier and no date is in the table: ``response_id`` links a
step to its row in the bank's own export file, which holds the pseudonym and the export's
dates (index year, days from index, completion month). SPSS/Stata variable names go
through :func:`webapp.services.export.stats_names`; ``answer`` carries the option labels
as value labels when every bank in the table labels its codes the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

import instruments
from webapp.extensions import db
from webapp.models import Response
from webapp.services.adaptive import (
    ALGORITHM_VERSION,
    STEP_COLUMNS,
    exported_steps_query,
    write_steps_csv,
)
from webapp.services.export import NAME_LIMITS, stats_names, write_stats_file

STEPS_BASENAME = "adaptive_steps"
STEP_FORMATS = ("csv", "parquet", "sav", "dta")

# name -> (type in the codebook, arrow type, label); same order as STEP_COLUMNS
STEP_VARIABLES: dict[str, tuple[str, pa.DataType, str]] = {
    "response_id": (
        "int",
        pa.int64(),
        "Internal response number: the row of the item bank's own export file",
    ),
    "instrument_id": ("string", pa.string(), "Item bank asked (instrument id)"),
    "position": ("int", pa.int64(), "Order of the step in the test (0 = first item asked)"),
    "item_id": ("string", pa.string(), "Item of the bank asked at this step"),
    "answer": ("int", pa.int64(), "Option code answered (the item's codes in the bank file)"),
    "theta": (
        "number",
        pa.float64(),
        "EAP theta after this answer (all answers so far, the protocol's prior)",
    ),
    "se": ("number", pa.float64(), "Posterior SD (SE) of theta after this answer"),
}
assert tuple(STEP_VARIABLES) == STEP_COLUMNS


@dataclass
class StepsExport:
    """What the steps export wrote: files, rows and the banks in the table."""

    files: list[Path] = field(default_factory=list)
    rows: int = 0
    banks: list[str] = field(default_factory=list)


def _schema() -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, (_, kind, _) in STEP_VARIABLES.items()])


def answer_labels(bank_ids: list[str], lang: str) -> dict[int, str]:
    """Code -> label of ``answer`` in ``lang`` when every item of every bank in
    ``bank_ids`` has the same options; empty otherwise (then the codes are per item)."""
    found: set[tuple[tuple[int, str], ...]] = set()
    for bank_id in bank_ids:
        for item in instruments.load(bank_id).items:
            if item.options:
                found.add(tuple((o.code, o.label[lang]) for o in item.options))
    if len(found) != 1:
        return {}
    return dict(found.pop())


def _read_table(register_id: int) -> pa.Table:
    rows = db.session.execute(exported_steps_query(register_id)).all()
    columns = {name: [row[i] for row in rows] for i, name in enumerate(STEP_COLUMNS)}
    return pa.table(columns, schema=_schema())


def _write_stats(table: pa.Table, fmt: str, path: Path, labels: dict[int, str]) -> None:
    frame = table.to_pandas()
    texts = {c: STEP_VARIABLES[c][2] for c in frame.columns}
    codes = {"answer": {float(k): v for k, v in labels.items()}} if labels else {}
    write_stats_file(frame, path, fmt, stats_names(list(frame.columns), fmt), texts, codes)


def write_steps(register_id: int, out: Path, formats: tuple[str, ...], lang: str) -> StepsExport:
    """``adaptive_steps.<fmt>`` in ``out`` for each chosen format of :data:`STEP_FORMATS`;
    nothing when the register has no answered adaptive steps."""
    chosen = [f for f in STEP_FORMATS if f in formats]
    result = StepsExport()
    if not chosen:
        return result
    table = _read_table(register_id)
    result.rows = table.num_rows
    if not table.num_rows:
        return result
    result.banks = sorted(set(table.column("instrument_id").to_pylist()))
    labels = answer_labels(result.banks, lang)
    for fmt in chosen:
        path = Path(out) / f"{STEPS_BASENAME}.{fmt}"
        if fmt == "csv":
            result.files += write_steps_csv(register_id, Path(out))
            continue
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            _write_stats(table, fmt, path, labels)
        result.files.append(path)
    return result


def _bank_versions(register_id: int, bank_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Versions and content hashes of the exported responses that have steps, per bank."""
    response_ids = select(exported_steps_query(register_id).subquery().c.response_id)
    query = (
        select(Response.instrument_id, Response.instrument_version, Response.instrument_hash)
        .where(Response.id.in_(response_ids), Response.instrument_id.in_(bank_ids))
        .distinct()
        .order_by(Response.instrument_id, Response.instrument_version)
    )
    found: dict[str, list[dict[str, str]]] = {b: [] for b in bank_ids}
    for bank_id, version, content_hash in db.session.execute(query):
        found[bank_id].append({"version": version, "content_hash": content_hash})
    return found


def codebook_entry(
    register_id: int, steps: StepsExport, formats: tuple[str, ...], lang: str
) -> dict[str, Any]:
    """The codebook's ``adaptive_steps`` section: files, rows, banks and variables."""
    labels = answer_labels(steps.banks, lang)
    versions = _bank_versions(register_id, steps.banks)
    banks = {}
    for bank_id in steps.banks:
        bank = instruments.load(bank_id)
        codes = {
            item.id: {str(o.code): o.label[lang] for o in item.options}
            for item in bank.items
            if item.options
        }
        banks[bank_id] = {
            "title": bank.title[lang],
            "current_version": bank.version,
            "current_content_hash": bank.content_hash,
            "versions_in_data": versions[bank_id],
            "algorithm_version": ALGORITHM_VERSION,
            "synthetic": bool(bank.irt is not None and bank.irt.synthetic),
            "calibration": (
                {"model": bank.irt.model, "source": bank.irt.source, "sample": bank.irt.sample}
                if bank.irt is not None
                else None
            ),
            **({} if labels else {"answer_codes_per_item": codes}),
        }
    renamed = {fmt: stats_names(list(STEP_COLUMNS), fmt) for fmt in NAME_LIMITS}
    variables = []
    for name, (kind, _, text) in STEP_VARIABLES.items():
        entry: dict[str, Any] = {"name": name, "type": kind, "label": text}
        if name == "answer" and labels:
            entry["codes"] = {str(k): v for k, v in labels.items()}
        for fmt, key in (("sav", "spss_name"), ("dta", "stata_name")):
            if renamed[fmt][name] != name:
                entry[key] = renamed[fmt][name]
        variables.append(entry)
    return {
        "description": "One row per answered step of a completed adaptive (item-bank) "
        "response, in the order asked. No patient identifier and no date: response_id "
        "links a step to its row in the bank's own file (pseudonym, dates). theta and se "
        "are the values stored when the step was answered (verify-scores rechecks them).",
        "rows": steps.rows,
        "files": [f"{STEPS_BASENAME}.{fmt}" for fmt in STEP_FORMATS if fmt in formats],
        "banks": banks,
        "variables": variables,
    }


def codebook_markdown(entry: dict[str, Any]) -> list[str]:
    """Markdown lines of the codebook's ``adaptive_steps`` section."""
    lines = [
        f"## Adaptive steps: {', '.join(entry['files'])}",
        "",
        entry["description"],
        "",
        f"- rows: {entry['rows']}",
    ]
    for bank_id, info in entry["banks"].items():
        versions = ", ".join(
            f"{v['version']} (content hash `{v['content_hash']}`)" for v in info["versions_in_data"]
        )
        lines.append(
            f"- item bank `{bank_id}`: {info['title']}; version in data: {versions or '-'}; "
            f"current version {info['current_version']}; algorithm {info['algorithm_version']}"
            + ("; SYNTHETIC demonstration bank, not for measurement" if info["synthetic"] else "")
        )
        for item_id, codes in info.get("answer_codes_per_item", {}).items():
            text = "; ".join(f"{k} = {v}" for k, v in codes.items())
            lines.append(f"  - `{item_id}` codes: {text}")
    lines += ["", "| variable | type | label | codes |", "|---|---|---|---|"]
    for var in entry["variables"]:
        codes = "; ".join(f"{k} = {v}" for k, v in var.get("codes", {}).items())
        name = f"`{var['name']}`"
        for key, program in (("spss_name", "SPSS"), ("stata_name", "Stata")):
            if key in var:
                name += f" ({program}: `{var[key]}`)"
        label = var["label"].replace("|", "\\|")
        lines.append(f"| {name} | {var['type']} | {label} | {codes} |")
    lines.append("")
    return lines
