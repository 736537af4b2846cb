"""Input tables for the report: the register export's layout and plain wide CSVs.

The report works on one row per respondent with the instrument's item ids as columns.
:func:`prepare_table` brings other layouts into that shape and says what it did:

* **Item columns.** Plain item ids (``q01``) are used as they are. Otherwise columns named
  ``<prefix><item>`` are renamed to the item ids: the prefix is ``item_prefix`` or, when
  not given, ``<instrument id>_`` as the register export writes them (``rand36_q01``).
* **Time points (long format).** The register export (``flask --app wsgi export``,
  ``docs/export.md``) has one row per completed response, so a patient appears once per
  time point. With a ``time_point`` column holding several values, the rows of one time
  point are kept: ``time_point`` if given, otherwise the earliest (smallest median
  ``days_from_index``; without that column the most frequent).
* **One row per respondent.** Within the chosen time point, a respondent (``pseudonym``
  or the id column) who answered more than once keeps the first response (lowest
  ``response_id``); the number of dropped rows is reported.
* **Instrument versions.** With an ``instrument_version`` column holding several versions,
  only the rows of the definition's version are kept (when there are any).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

TIME_POINT_COLUMN = "time_point"
ID_COLUMNS = ("id", "respondent", "pseudonym")


@dataclass
class Prepared:
    """A table in the report's shape and what was done to get there."""

    frame: pd.DataFrame
    n_input_rows: int
    item_prefix: str = ""
    time_point: str | None = None
    time_point_rule: str | None = None
    time_points: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    version_rows_dropped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (no data)."""
        return {
            "n_input_rows": self.n_input_rows,
            "n_rows": int(len(self.frame)),
            "item_prefix": self.item_prefix,
            "time_point": self.time_point,
            "time_point_rule": self.time_point_rule,
            "time_points": self.time_points,
            "duplicates_dropped": self.duplicates_dropped,
            "versions": self.versions,
            "version_rows_dropped": self.version_rows_dropped,
            "notes": list(self.notes),
        }


def find_id_column(frame: pd.DataFrame, id_column: str | None = None) -> str | None:
    """``id_column`` if given (it must exist), else the first of ``id``, ``respondent``,
    ``pseudonym`` present, else None."""
    if id_column is not None:
        if id_column not in frame.columns:
            raise ValueError(f"no column {id_column!r} to identify respondents")
        return id_column
    return next((c for c in ID_COLUMNS if c in frame.columns), None)


def _rename_items(
    frame: pd.DataFrame, items: list[str], instrument_id: str, item_prefix: str | None
) -> tuple[pd.DataFrame, str]:
    if item_prefix is None and all(i in frame.columns for i in items):
        return frame, ""
    prefixes = [item_prefix] if item_prefix is not None else [f"{instrument_id}_"]
    for prefix in prefixes:
        names = {f"{prefix}{i}": i for i in items}
        if all(c in frame.columns for c in names):
            clash = [i for i in items if i in frame.columns]
            frame = frame.drop(columns=clash).rename(columns=names)
            return frame, prefix
    missing = [i for i in items if i not in frame.columns]
    hint = f" (nor {prefixes[0]}{missing[0]} ...)" if missing else ""
    raise ValueError(f"data lacks item column(s) of {instrument_id}: {', '.join(missing)}{hint}")


def _pick_time_point(frame: pd.DataFrame) -> tuple[str, str]:
    tp = frame[TIME_POINT_COLUMN].astype(str)
    if "days_from_index" in frame.columns:
        days = pd.to_numeric(frame["days_from_index"], errors="coerce")
        medians = days.groupby(tp).median()
        if medians.notna().any():
            first = str(medians.idxmin())
            return first, (
                f"earliest time point (smallest median days_from_index, {medians.min():g})"
            )
    counts = tp.value_counts()
    return str(counts.index[0]), "most frequent time point"


def prepare_table(
    data: pd.DataFrame,
    instrument_id: str,
    items: list[str],
    *,
    version: str | None = None,
    time_point: str | None = None,
    item_prefix: str | None = None,
    id_column: str | None = None,
    what: str = "data",
) -> Prepared:
    """Bring ``data`` into the report's shape (see the module docstring)."""
    n_input = int(len(data))
    frame, prefix = _rename_items(data, items, instrument_id, item_prefix)
    out = Prepared(frame=frame, n_input_rows=n_input, item_prefix=prefix)
    if prefix:
        out.notes.append(f"{what}: item columns {prefix}<item> read as the item ids")

    if TIME_POINT_COLUMN in frame.columns:
        tp = frame[TIME_POINT_COLUMN].astype(str).where(frame[TIME_POINT_COLUMN].notna())
        out.time_points = {str(k): int(v) for k, v in tp.value_counts().items()}
        if time_point is not None:
            if str(time_point) not in out.time_points:
                known = ", ".join(out.time_points) or "none"
                raise ValueError(
                    f"{what}: no rows at time point {time_point!r} (time points: {known})"
                )
            out.time_point, out.time_point_rule = str(time_point), "chosen"
        elif len(out.time_points) > 1:
            out.time_point, out.time_point_rule = _pick_time_point(frame)
            out.notes.append(
                f"{what}: several time points ({', '.join(out.time_points)}); analysed "
                f"{out.time_point!r}, the {out.time_point_rule} (choose with --time-point)"
            )
        elif out.time_points:
            out.time_point, out.time_point_rule = next(iter(out.time_points)), "only one"
        if out.time_point is not None:
            frame = frame.loc[tp == out.time_point]
    elif time_point is not None:
        raise ValueError(f"{what}: --time-point given but there is no {TIME_POINT_COLUMN!r} column")

    if version is not None and "instrument_version" in frame.columns:
        versions = frame["instrument_version"].astype(str)
        out.versions = {str(k): int(v) for k, v in versions.value_counts().items()}
        if len(out.versions) > 1 and str(version) in out.versions:
            keep = versions == str(version)
            out.version_rows_dropped = int((~keep).sum())
            frame = frame.loc[keep]
            out.notes.append(
                f"{what}: {out.version_rows_dropped} row(s) of other instrument "
                f"versions left out; analysed version {version}"
            )
        elif str(version) not in out.versions:
            out.notes.append(
                f"{what}: the data hold version(s) {', '.join(out.versions)}, "
                f"the definition is version {version}"
            )

    if TIME_POINT_COLUMN in data.columns:
        key = find_id_column(frame, id_column)
        if key is not None:
            if "response_id" in frame.columns:
                frame = frame.sort_values("response_id", kind="stable")
            dup = frame[key].duplicated(keep="first") & frame[key].notna()
            if dup.any():
                out.duplicates_dropped = int(dup.sum())
                frame = frame.loc[~dup].sort_index()
                out.notes.append(
                    f"{what}: {out.duplicates_dropped} repeated response(s) of "
                    f"the same {key} left out (first response kept)"
                )
    out.frame = frame
    return out


META_COLUMNS = (
    "pseudonym",
    "response_id",
    "unit",
    "protocol",
    "time_point",
    "index_year",
    "days_from_index",
    "completed_month",
    "instrument_version",
    "language",
    "mode",
)
"""The register export's columns before the items (docs/export.md)."""


def merge_tables(
    frame: pd.DataFrame,
    others: list[pd.DataFrame],
    *,
    time_point: str | None,
    id_column: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Add the columns of ``others`` (e.g. other instruments' export files) to ``frame``.

    Rows are matched on the id column (``pseudonym`` in the export); an ``other`` with a
    ``time_point`` column contributes the rows of ``time_point`` (the one analysed), one
    per respondent (lowest ``response_id``). Columns already in ``frame`` and the export's
    meta columns are not added. Returns the merged frame and notes.
    """
    key = find_id_column(frame, id_column)
    if key is None:
        raise ValueError(
            "to merge other tables the data need an 'id', 'respondent' or "
            "'pseudonym' column (or --id-column)"
        )
    notes = []
    out = frame
    for k, other in enumerate(others, start=1):
        if key not in other.columns:
            raise ValueError(f"merged table {k} has no column {key!r}")
        rows = other
        if TIME_POINT_COLUMN in rows.columns and time_point is not None:
            rows = rows.loc[rows[TIME_POINT_COLUMN].astype(str) == str(time_point)]
        if "response_id" in rows.columns:
            rows = rows.sort_values("response_id", kind="stable")
        rows = rows.drop_duplicates(subset=key, keep="first")
        new = [c for c in rows.columns if c not in out.columns and c not in META_COLUMNS]
        if not new:
            notes.append(f"merged table {k}: no new columns")
            continue
        lookup = rows.set_index(rows[key].astype(str))[new]
        added = lookup.reindex(out[key].astype(str).to_numpy())
        added.index = out.index
        out = pd.concat([out, added], axis=1)
        matched = int(out[key].astype(str).isin(lookup.index).sum())
        notes.append(
            f"merged table {k}: {len(new)} column(s) ({', '.join(new[:4])}"
            f"{', ...' if len(new) > 4 else ''}), {matched} of {len(out)} rows matched"
            + (f" at time point {time_point!r}" if time_point is not None else "")
        )
    return out, notes
