"""Pseudonymised register export: completed responses and scores, one file set per instrument.

Layout of the output directory (see ``docs/export.md``): ``<instrument>.csv``,
``<instrument>.parquet``, ``<instrument>.sav``, ``<instrument>.dta`` (the chosen formats) plus
``codebook.md`` and ``codebook.json``, and ``adaptive_steps.<format>`` when the register has
adaptive (item-bank) responses (:mod:`webapp.services.export_steps`). One row per completed
response. The export never holds a national ID: patients appear as ``pseudonym`` =
HMAC-SHA256(register ID, ``OPENPROM_PSEUDONYM_KEY``). Dates: index year + days since the
index date, completion month (YYYY-MM), never an exact calendar date.

CSV and Parquet are written incrementally from chunks of ``CHUNK_SIZE`` responses (flat
memory). SPSS/Stata files need one DataFrame per instrument (pyreadstat writes whole
frames), so their memory grows with the number of rows; they are built from the Parquet
file after it is finished.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from flask import current_app
from sqlalchemy import select

import instruments
import scoring.registry as scoring_registry
from webapp.crypto import pseudonym, register_pseudonym_key
from webapp.extensions import db
from webapp.models import (
    Enrolment,
    Invitation,
    Patient,
    Protocol,
    Register,
    Response,
    Score,
    TimePoint,
    Unit,
)
from webapp.services import export_values
from webapp.services.adaptive import SCORE_NAMES
from webapp.services.patients import cipher
from webapp.services.withdrawal import withdrawn_patients

CHUNK_SIZE = 5000
FORMATS = ("csv", "parquet", "sav", "dta")
# on request only: QuestionnaireResponse.ndjson + Observation.ndjson (FHIR R4)
EXTRA_FORMATS = ("fhir",)
LANGUAGES = ("nb", "nn", "en")
PSEUDONYM_METHOD = (
    "HMAC-SHA256 of the national ID (fødselsnummer/D-number) under the register's own "
    "secret pseudonym key (HKDF-SHA256 of OPENPROM_PSEUDONYM_KEY with the register name as "
    "info; never exported), base32, first 20 characters. The same patient gets the same "
    "pseudonym in every export of this register; another register's exports use another "
    "key, so linking them needs the key holder (docs/register-operations.md)."
)

META_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("pseudonym", "string", "Patient pseudonym (keyed HMAC of the national ID)"),
    ("response_id", "int", "Internal response number (stable across exports)"),
    ("unit", "string", "Unit name"),
    ("protocol", "string", "Protocol name"),
    ("time_point", "string", "Time point name"),
    ("index_year", "int", "Year of the index date"),
    ("days_from_index", "int", "Days from the index date to completion"),
    ("completed_month", "string", "Month of completion (YYYY-MM)"),
    ("instrument_version", "string", "Instrument version answered"),
    ("language", "string", "Language of the form"),
    ("mode", "string", "Mode of answering (self, proxy, paper, helsenorge, external)"),
)


class ExportError(ValueError):
    """Bad export request (unknown register, format, language, unwritable directory)."""


@dataclass
class ExportResult:
    """What an export wrote: file paths and rows per instrument."""

    out: Path
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    free_text: bool = False  # free-text answers exported (the register allows it)


@dataclass(frozen=True)
class InstrumentColumns:
    """The item and score columns of one instrument in the export."""

    instrument_id: str
    items: tuple[str, ...]
    scores: tuple[str, ...]
    text_scores: frozenset[str]
    text_items: frozenset[str] = frozenset()  # text codes, dates (export_values.py)
    free_text_items: frozenset[str] = frozenset()  # exported patient's own words

    def item_column(self, item: str) -> str:
        return f"{self.instrument_id}_{item}"

    def score_column(self, scale: str) -> str:
        return f"{self.instrument_id}_{scale}"

    @property
    def names(self) -> list[str]:
        meta = [name for name, _, _ in META_COLUMNS]
        return (
            meta
            + [self.item_column(i) for i in self.items]
            + [self.score_column(s) for s in self.scores]
        )

    def arrow_schema(self) -> pa.Schema:
        fields = []
        for name, kind, _ in META_COLUMNS:
            fields.append(pa.field(name, pa.int64() if kind == "int" else pa.string()))
        fields += [
            pa.field(self.item_column(i), pa.string() if i in self.text_items else pa.float64())
            for i in self.items
        ]
        for s in self.scores:
            kind = pa.string() if s in self.text_scores else pa.float64()
            fields.append(pa.field(self.score_column(s), kind))
        return pa.schema(fields)


def instrument_columns(instrument_id: str, *, free_text: bool = False) -> InstrumentColumns:
    """Item ids (answerable items of the definition) and score names of an instrument;
    free-text items have a column only with ``free_text``."""
    definition = instruments.load(instrument_id)
    items = export_values.exported_items(definition, free_text=free_text)
    try:
        algorithm = scoring_registry.get(instrument_id)
        scores, text_scores = algorithm.scores, frozenset(algorithm.text_scores)
    except KeyError:  # an item bank: its adaptive scores; else raw answers only
        scores = SCORE_NAMES if definition.kind == "item-bank" else ()
        text_scores = frozenset()
    return InstrumentColumns(
        instrument_id,
        items,
        scores,
        text_scores,
        export_values.text_items(definition, free_text=free_text),
        export_values.free_text_items(definition) if free_text else frozenset(),
    )


def register_exports_free_text(register: Register) -> bool:
    """Whether the register allows free-text answers in its exports (default no).

    The register file's ``export: {free_text: true}``, stored as ``register.export_free_text``.
    """
    return bool(register.export_free_text)


def find_register(name: str) -> Register:
    """The register called ``name``; ExportError lists known names when missing."""
    register = db.session.scalar(select(Register).where(Register.name == name))
    if register is None:
        known = ", ".join(db.session.scalars(select(Register.name).order_by(Register.name)))
        raise ExportError(f"unknown register {name!r} (known: {known or 'none'})")
    return register


def pseudonym_key(register: Register) -> bytes:
    """The register's own pseudonym key (derived from ``OPENPROM_PSEUDONYM_KEY``)."""
    return register_pseudonym_key(current_app.config["OPENPROM_PSEUDONYM_KEY"], register.name)


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"csv,parquet"`` → ("csv", "parquet"); ExportError on an unknown format."""
    if not text:
        return FORMATS
    chosen = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    known = FORMATS + EXTRA_FORMATS
    unknown = [f for f in chosen if f not in known]
    if unknown or not chosen:
        raise ExportError(f"unknown format {', '.join(unknown)} (choose from {', '.join(known)})")
    return chosen


def _check_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create output directory {out}: {exc.strerror}") from exc
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"output directory {out} is not writable")


def _instrument_ids(register_id: int) -> list[str]:
    query = (
        select(Response.instrument_id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
        .join(Unit, Enrolment.unit_id == Unit.id)
        .where(
            Unit.register_id == register_id,
            Response.status == "complete",
            Enrolment.patient_id.not_in(withdrawn_patients(register_id)),
        )
        .distinct()
    )
    return sorted(db.session.scalars(query))


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _rows(
    register_id: int, instrument_id: str, key: bytes, *, free_text: bool = False
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of export rows (dicts) for one instrument, read with a server-side cursor."""
    columns = instrument_columns(instrument_id, free_text=free_text)
    by_id = {i.id: i for i in instruments.load(instrument_id).items}
    query = (
        select(
            Response.id,
            Response.answers,
            Response.instrument_version,
            Response.language,
            Response.mode,
            Response.completed_at,
            Enrolment.index_date,
            Unit.name,
            Protocol.name,
            TimePoint.name,
            Patient.national_id_encrypted,
        )
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
        .join(Unit, Enrolment.unit_id == Unit.id)
        .join(Protocol, Enrolment.protocol_id == Protocol.id)
        .join(TimePoint, Invitation.time_point_id == TimePoint.id)
        .join(Patient, Enrolment.patient_id == Patient.id)
        .where(
            Unit.register_id == register_id,
            Response.instrument_id == instrument_id,
            Response.status == "complete",
            Enrolment.patient_id.not_in(withdrawn_patients(register_id)),
        )
        .order_by(Response.id)
        .execution_options(stream_results=True, yield_per=CHUNK_SIZE)
    )
    id_cipher = cipher()
    pseudonyms: dict[bytes, str] = {}
    result = db.session.execute(query)
    for partition in result.partitions(CHUNK_SIZE):
        ids = [r[0] for r in partition]
        scores = _scores(ids)
        chunk = []
        for (
            rid,
            answers,
            version,
            language,
            mode,
            completed,
            index_date,
            unit,
            protocol,
            time_point,
            encrypted,
        ) in partition:
            # decryption is the slow part: cache per encrypted value (few patients, many rows)
            alias = pseudonyms.get(encrypted)
            if alias is None:
                alias = pseudonym(id_cipher.decrypt(encrypted), key)
                pseudonyms[encrypted] = alias
            row: dict[str, Any] = {
                "pseudonym": alias,
                "response_id": rid,
                "unit": unit,
                "protocol": protocol,
                "time_point": time_point,
                "index_year": index_date.year,
                "days_from_index": (completed.date() - index_date).days if completed else None,
                "completed_month": completed.strftime("%Y-%m") if completed else None,
                "instrument_version": version,
                "language": language,
                "mode": mode,
            }
            answers = answers or {}
            for item in columns.items:
                value = answers.get(item)
                if type(value) is not int:  # the bundled instruments: int codes
                    value = export_values.cell(by_id[item], value, free_text=free_text)
                row[columns.item_column(item)] = value if isinstance(value, str) else _number(value)
            own = scores.get(rid, {})
            for scale in columns.scores:
                value = own.get(scale)
                if scale in columns.text_scores:
                    row[columns.score_column(scale)] = value
                else:
                    row[columns.score_column(scale)] = _number(value)
            chunk.append(row)
        if len(pseudonyms) > 100_000:
            pseudonyms.clear()
        yield chunk


def _scores(response_ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    if not response_ids:
        return found
    query = select(Score.response_id, Score.scale, Score.value, Score.text_value).where(
        Score.response_id.in_(response_ids)
    )
    for rid, scale, value, text_value in db.session.execute(query):
        found.setdefault(rid, {})[scale] = text_value if text_value is not None else value
    return found


def _score_metadata(register_id: int, instrument_id: str) -> dict[str, list[str]]:
    """Distinct algorithm versions and value sets of the exported scores."""
    query = (
        select(Score.algorithm_version, Score.value_set)
        .join(Response, Score.response_id == Response.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
        .join(Unit, Enrolment.unit_id == Unit.id)
        .where(
            Unit.register_id == register_id,
            Response.instrument_id == instrument_id,
            Response.status == "complete",
            Enrolment.patient_id.not_in(withdrawn_patients(register_id)),
        )
        .distinct()
    )
    versions, value_sets = set(), set()
    for version, value_set in db.session.execute(query):
        versions.add(version)
        if value_set:
            value_sets.add(value_set)
    return {"algorithm_versions": sorted(versions), "value_sets": sorted(value_sets)}


def _response_versions(register_id: int, instrument_id: str) -> list[dict[str, str]]:
    query = (
        select(Response.instrument_version, Response.instrument_hash)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Enrolment, Invitation.enrolment_id == Enrolment.id)
        .join(Unit, Enrolment.unit_id == Unit.id)
        .where(
            Unit.register_id == register_id,
            Response.instrument_id == instrument_id,
            Response.status == "complete",
            Enrolment.patient_id.not_in(withdrawn_patients(register_id)),
        )
        .distinct()
    )
    return [{"version": v, "content_hash": h} for v, h in db.session.execute(query)]


def value_labels(instrument_id: str, lang: str) -> dict[str, dict[int, str]]:
    """Option code → label in ``lang`` for each choice item column of the instrument."""
    definition = instruments.load(instrument_id)
    labels: dict[str, dict[int, str]] = {}
    for item in definition.items:
        if item.options:
            labels[f"{instrument_id}_{item.id}"] = {o.code: o.label[lang] for o in item.options}
    return labels


def variable_labels(instrument_id: str, lang: str) -> dict[str, str]:
    """Column name → label (item text in ``lang``, score names, meta descriptions)."""
    definition = instruments.load(instrument_id)
    columns = instrument_columns(instrument_id)
    labels = {name: text for name, _, text in META_COLUMNS}
    for item in definition.items:
        if item.type != "display":
            labels[columns.item_column(item.id)] = " ".join(item.text[lang].split())[:250]
    for scale in columns.scores:
        labels[columns.score_column(scale)] = f"{instrument_id} score {scale}"
    return labels


SPSS_NAME_LIMIT = 64
STATA_NAME_LIMIT = 32
# Reserved words (IBM SPSS Statistics Command Syntax Reference, "Variable names"; Stata
# manual [U] 11.3 "Naming conventions"); names starting with "_" are mangled anyway.
RESERVED_NAMES = {
    "sav": frozenset(
        {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"}
    ),
    "dta": frozenset(
        {"byte", "double", "float", "if", "in", "int", "long", "str", "strl", "using", "with"}
    ),
}
NAME_LIMITS = {"sav": SPSS_NAME_LIMIT, "dta": STATA_NAME_LIMIT}
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def _valid_stats_name(name: str, fmt: str, limit: int | None = None) -> bool:
    return (
        len(name) <= (NAME_LIMITS[fmt] if limit is None else limit)
        and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) is not None
        and name.lower() not in RESERVED_NAMES[fmt]
    )


def _name_limit(column: str, fmt: str, labelled: Collection[str]) -> int:
    """The length limit of one column's name. pyreadstat names a Stata value-label set
    after its variable plus a running number (label names have the same 32-character
    limit), so a value-labelled Stata variable leaves room for that number."""
    if fmt == "dta" and column in labelled:
        return NAME_LIMITS[fmt] - len(str(len(labelled)))
    return NAME_LIMITS[fmt]


def stats_names(columns: list[str], fmt: str, *, labelled: Collection[str] = ()) -> dict[str, str]:
    """Column -> SPSS (``fmt`` "sav") or Stata ("dta") variable name: ASCII letters,
    digits and ``_``, starting with a letter, within the length limit, no reserved word,
    unique ignoring case. Valid names stay; others are mangled (``-`` and other characters
    become ``_``, cut to the limit, ``_2``, ``_3`` ... on a clash). Stata columns in
    ``labelled`` (those written with value labels) get a limit shorter by the digits of
    ``len(labelled)`` (see :func:`_name_limit`)."""
    labelled = frozenset(labelled)
    names = {c: c for c in columns if _valid_stats_name(c, fmt, _name_limit(c, fmt, labelled))}
    taken = {n.lower() for n in names.values()}
    if len(taken) < len(names):  # same name but for case: keep only the first
        seen: set[str] = set()
        for column in list(names):
            if column.lower() in seen:
                del names[column]
            seen.add(column.lower())
        taken = seen
    for column in columns:
        if column in names:
            continue
        base = _INVALID_NAME_CHARS.sub("_", column)
        if not base[:1].isalpha():
            base = "v" + base
        if base.lower() in RESERVED_NAMES[fmt]:
            base += "_"
        limit = _name_limit(column, fmt, labelled)
        candidate, number = base[:limit], 1
        while candidate.lower() in taken:
            number += 1
            suffix = f"_{number}"
            candidate = base[: limit - len(suffix)] + suffix
        names[column] = candidate
        taken.add(candidate.lower())
    return {c: names[c] for c in columns}


def stats_labelled(labels: dict[str, dict[Any, str]], columns: InstrumentColumns) -> frozenset[str]:
    """The columns the SPSS/Stata files give value labels: integer codes on a number
    column (a text-coded or free-text column is a string variable without labels); the
    same columns :func:`_write_stats_files` labels."""
    numeric = {columns.item_column(i) for i in columns.items if i not in columns.text_items}
    return frozenset(
        column
        for column, codes in labels.items()
        if column in numeric and all(isinstance(c, int) for c in codes)
    )


FREE_TEXT_NOTE = {
    False: "not exported (string and text items have no column; open-choice columns hold "
    "only option codes)",
    True: "exported, decrypted (the register's setting export.free_text): string and text "
    "items have text columns, open-choice columns hold the code or the patient's words. "
    "Free text may identify the patient: handle the files accordingly.",
}


def codebook(
    register: Register,
    instrument_ids: list[str],
    lang: str,
    rows: dict[str, int],
    *,
    free_text: bool = False,
) -> dict[str, Any]:
    """The codebook as a JSON-ready dict (no key, no identifiers)."""
    book: dict[str, Any] = {
        "register": register.name,
        "language_of_labels": lang,
        "pseudonymisation": PSEUDONYM_METHOD,
        "dates": "index_year + days_from_index and completed_month (YYYY-MM); "
        "no exact calendar dates are exported.",
        "free_text": FREE_TEXT_NOTE[free_text],
        "instruments": {},
    }
    for iid in instrument_ids:
        definition = instruments.load(iid)
        columns = instrument_columns(iid, free_text=free_text)
        vlabels = value_labels(iid, lang)
        vars_ = variable_labels(iid, lang)
        variables = []
        for name, kind, text in META_COLUMNS:
            variables.append({"name": name, "type": kind, "label": text})
        for item in columns.items:
            col = columns.item_column(item)
            kind = "string" if item in columns.text_items else "number"
            entry: dict[str, Any] = {"name": col, "type": kind, "label": vars_[col]}
            if col in vlabels:
                entry["codes"] = {str(k): v for k, v in vlabels[col].items()}
            if item in columns.free_text_items:
                entry["free_text"] = True
            variables.append(entry)
        for scale in columns.scores:
            col = columns.score_column(scale)
            kind = "string" if scale in columns.text_scores else "number"
            variables.append({"name": col, "type": kind, "label": vars_[col]})
        labelled = stats_labelled(vlabels, columns)
        renamed = {fmt: stats_names(columns.names, fmt, labelled=labelled) for fmt in NAME_LIMITS}
        for variable in variables:
            for fmt, key in (("sav", "spss_name"), ("dta", "stata_name")):
                if renamed[fmt][variable["name"]] != variable["name"]:
                    variable[key] = renamed[fmt][variable["name"]]
        book["instruments"][iid] = {
            "title": definition.title[lang],
            "current_version": definition.version,
            "current_content_hash": definition.content_hash,
            "versions_in_data": _response_versions(register.id, iid),
            **_score_metadata(register.id, iid),
            "rows": rows.get(iid, 0),
            "files": [f"{iid}.{fmt}" for fmt in FORMATS],
            "variables": variables,
        }
    return book


def codebook_markdown(book: dict[str, Any]) -> str:
    """Human-readable rendering of :func:`codebook`."""
    lines = [
        f"# Codebook: register {book['register']}",
        "",
        f"Pseudonymisation: {book['pseudonymisation']}",
        "",
        f"Dates: {book['dates']}",
        "",
        f"Free text: {book['free_text']}",
        "",
        f"Labels in language: {book['language_of_labels']}",
        "",
    ]
    for iid, info in book["instruments"].items():
        lines += [
            f"## {iid}: {info['title']}",
            "",
            f"- rows: {info['rows']}",
            f"- current version: {info['current_version']} "
            f"(content hash `{info['current_content_hash']}`)",
        ]
        for v in info["versions_in_data"]:
            lines.append(f"- version in data: {v['version']} (content hash `{v['content_hash']}`)")
        algorithms = ", ".join(info["algorithm_versions"]) or "-"
        lines.append(f"- scoring algorithm versions: {algorithms}")
        lines.append(f"- value sets: {', '.join(info['value_sets']) or '-'}")
        lines += ["", "| variable | type | label | codes |", "|---|---|---|---|"]
        for var in info["variables"]:
            codes = "; ".join(f"{k} = {v}" for k, v in var.get("codes", {}).items())
            label = var["label"].replace("|", "\\|")
            if var.get("free_text"):
                label += " (free text)"
            name = f"`{var['name']}`"
            for key, program in (("spss_name", "SPSS"), ("stata_name", "Stata")):
                if key in var:
                    name += f" ({program}: `{var[key]}`)"
            lines.append(f"| {name} | {var['type']} | {label} | {codes} |")
        lines.append("")
    if "adaptive_steps" in book:
        from webapp.services.export_steps import codebook_markdown as steps_markdown

        lines += steps_markdown(book["adaptive_steps"])
    return "\n".join(lines)


def _write_stats_files(
    parquet_path: Path, iid: str, lang: str, formats: tuple[str, ...], out: Path
) -> list[Path]:
    """SPSS/Stata files from the finished Parquet file (whole frame in memory)."""
    frame = pq.read_table(parquet_path).to_pandas()
    vlabels = {
        k: {float(c): v for c, v in codes.items()}
        for k, codes in value_labels(iid, lang).items()
        if all(isinstance(c, int) for c in codes)  # text codes: a text column, no labels
        and k in frame.columns
        and frame[k].dtype.kind == "f"  # an open-choice column with free text is text
    }
    vars_ = variable_labels(iid, lang)
    columns = list(frame.columns)
    written = []
    for fmt in ("sav", "dta"):
        if fmt not in formats:
            continue
        names = stats_names(columns, fmt, labelled=vlabels)
        path = out / f"{iid}.{fmt}"
        write_stats_file(frame, path, fmt, names, vars_, vlabels)
        written.append(path)
    return written


def write_stats_file(
    frame: Any,
    path: Path,
    fmt: str,
    names: Mapping[str, str],
    texts: Mapping[str, str],
    value_labels: Mapping[str, Mapping[float, str]],
) -> None:
    """One SPSS (``sav``) or Stata (``dta``) file of a pandas ``frame``: columns renamed by
    ``names`` (:func:`stats_names`), variable labels from ``texts`` (a renamed variable's
    label starts with its export column name), ``value_labels`` by export column. Stata
    value labels are integers and Stata labels at most 80 characters."""
    import pyreadstat

    labels = [
        texts.get(c, c) if names[c] == c else f"{c}: {texts.get(c, c)}" for c in frame.columns
    ]
    renamed = frame.rename(columns=names)
    coded = {names[k]: codes for k, codes in value_labels.items()}
    if fmt == "sav":
        pyreadstat.write_sav(renamed, str(path), column_labels=labels, variable_value_labels=coded)
    else:
        pyreadstat.write_dta(
            renamed,
            str(path),
            column_labels=[x[:80] for x in labels],
            variable_value_labels={
                k: {int(c): v[:80] for c, v in codes.items()} for k, codes in coded.items()
            },
            version=15,
        )


def export_register(
    register_name: str, out: str | Path, *, formats: tuple[str, ...] = FORMATS, lang: str = "nb"
) -> ExportResult:
    """Write the pseudonymised export of ``register_name`` into ``out``; see module docs."""
    if lang not in LANGUAGES:
        raise ExportError(f"unknown language {lang!r} (choose from {', '.join(LANGUAGES)})")
    register = find_register(register_name)
    out = Path(out)
    _check_out_dir(out)
    key = pseudonym_key(register)
    free_text = register_exports_free_text(register)
    result = ExportResult(out=out, free_text=free_text)
    ids = _instrument_ids(register.id)
    for iid in ids:
        if not set(formats) & set(FORMATS):  # FHIR only: no per-instrument files
            break
        columns = instrument_columns(iid, free_text=free_text)
        schema = columns.arrow_schema()
        parquet_path = out / f"{iid}.parquet"
        needs_parquet = bool({"parquet", "sav", "dta"} & set(formats))
        with contextlib.ExitStack() as stack:
            writer = None
            if needs_parquet:
                writer = stack.enter_context(pq.ParquetWriter(parquet_path, schema))
            csv_writer = None
            if "csv" in formats:
                csv_file = stack.enter_context(
                    open(out / f"{iid}.csv", "w", newline="", encoding="utf-8")
                )
                csv_writer = csv.DictWriter(csv_file, fieldnames=columns.names)
                csv_writer.writeheader()
            count = 0
            for chunk in _rows(register.id, iid, key, free_text=free_text):
                count += len(chunk)
                if csv_writer is not None:
                    csv_writer.writerows(chunk)
                if writer is not None:
                    writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
        result.rows[iid] = count
        if "csv" in formats:
            result.files.append(out / f"{iid}.csv")
        if {"sav", "dta"} & set(formats):
            result.files += _write_stats_files(parquet_path, iid, lang, formats, out)
        if "parquet" in formats:
            result.files.append(parquet_path)
        elif parquet_path.exists():
            parquet_path.unlink()
    if "fhir" in formats:
        from webapp.services.fhir_responses import write_ndjson

        fhir = write_ndjson(register.id, out, key, free_text=free_text)
        result.files += fhir.files
        for iid, count in fhir.rows.items():
            result.rows.setdefault(iid, count)
    # the steps of adaptive (item-bank) responses, in each chosen format, when there are any
    from webapp.services import export_steps

    steps = export_steps.write_steps(register.id, out, formats, lang)
    result.files += steps.files
    book = codebook(register, ids, lang, result.rows, free_text=free_text)
    for entry in book["instruments"].values():
        entry["files"] = [f for f in entry["files"] if f.rsplit(".", 1)[1] in formats]
    if steps.rows:
        book["adaptive_steps"] = export_steps.codebook_entry(register.id, steps, formats, lang)
    (out / "codebook.json").write_text(json.dumps(book, ensure_ascii=False, indent=2), "utf-8")
    (out / "codebook.md").write_text(codebook_markdown(book), "utf-8")
    result.files += [out / "codebook.json", out / "codebook.md"]
    return result
