"""Command line: ``python -m scoring score INSTRUMENT IN.csv [--value-set NAME] [-o OUT.csv]``.

Also ``python -m scoring value-sets [INSTRUMENT]``. Exit status: 0 every row valid,
1 some row held an impossible answer (its scores are left empty, stderr names row and
column), 2 usage error (unknown instrument or value set, unreadable file, no item column).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from scoring.core import prepare
from scoring.registry import get, instrument_ids

EXIT_OK, EXIT_INVALID_ROWS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or the input file as a whole (exit status 2)."""


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else format(float(value), ".15g")
    return str(value)


def _read_csv(path: str) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise UsageError(f"{path} is empty (expected a header row)")
    header = [h.strip() for h in rows[0]]
    body = [r + [""] * (len(header) - len(r)) for r in rows[1:] if any(c.strip() for c in r)]
    for number, r in enumerate(body, start=2):
        if len(r) > len(header):
            raise UsageError(f"{path}: line {number} has more cells than the header")
    return header, body


def score_csv(
    instrument: str, path: str, value_set: str | None, out: TextIO, err: TextIO
) -> int:
    """Score a CSV file and write input columns plus score columns; returns the exit status."""
    try:
        algorithm = get(instrument)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from exc
    try:
        vs = algorithm.value_set(value_set)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    header, body = _read_csv(path)
    table = {
        name: np.array([r[i] for r in body], dtype=object)
        for i, name in enumerate(header)
        if name in algorithm.items
    }
    if not table:
        raise UsageError(
            f"{path}: no item column of {instrument} (expected: {', '.join(algorithm.items)})"
        )
    problems: list = []
    scores: dict[str, np.ndarray] = {name: np.array([]) for name in algorithm.scores}
    if body:
        columns, problems, bad_rows = prepare(algorithm, table)
        result = algorithm.compute(columns, vs)
        scores = {}
        for name in algorithm.scores:
            arr = result[name].astype(object)
            arr[bad_rows] = None
            scores[name] = arr
    for problem in problems:
        err.write(f"{path} (line {problem.row + 2}): {problem}\n")
    kept = [h for h in header if h not in algorithm.scores]
    keep_index = [i for i, h in enumerate(header) if h not in algorithm.scores]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(kept + list(algorithm.scores))
    for row_index, r in enumerate(body):
        writer.writerow(
            [r[i] for i in keep_index] + [_format(scores[n][row_index]) for n in algorithm.scores]
        )
    return EXIT_INVALID_ROWS if problems else EXIT_OK


def list_value_sets(instrument: str | None, out: TextIO, err: TextIO | None = None) -> int:
    """Print ``instrument<TAB>name<TAB>source`` per value set (default marked); for a named
    instrument that takes no value set, say so on ``err``."""
    ids = [instrument] if instrument else list(instrument_ids())
    for iid in ids:
        try:
            algorithm = get(iid)
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from exc
        except ImportError:
            if instrument:
                raise UsageError(f"scoring module of {iid} is not available") from None
            continue
        if instrument and not algorithm.value_sets and err is not None:
            err.write(f"{iid} is scored without a value set\n")
        for vs in algorithm.value_sets:
            default = " (default)" if vs.name == algorithm.default_value_set else ""
            out.write(f"{iid}\t{vs.name}{default}\t{vs.source}\n")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scoring", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score a CSV file (one column per item id)")
    score.add_argument("instrument", help=f"one of: {', '.join(instrument_ids())}")
    score.add_argument("input", help="CSV file; empty cell = not answered")
    score.add_argument("--value-set", default=None, help="value set name (EQ-5D)")
    score.add_argument("-o", "--output", default=None, help="output CSV (default: stdout)")
    sets = sub.add_parser("value-sets", help="list value sets and their sources")
    sets.add_argument("instrument", nargs="?", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    try:
        if args.command == "value-sets":
            return list_value_sets(args.instrument, sys.stdout, sys.stderr)
        if args.output is None:
            return score_csv(args.instrument, args.input, args.value_set, sys.stdout, sys.stderr)
        try:
            handle = open(args.output, "w", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc}") from exc
        with handle:
            return score_csv(args.instrument, args.input, args.value_set, handle, sys.stderr)
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
