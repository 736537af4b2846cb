"""Command line: ``python -m scoring.psychometrics report DATA.csv --instrument ID ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd


def _read_table(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"error: file not found: {p}")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if suffix == ".sav":  # SPSS (the register export writes one): codes, not value labels
        return pd.read_spss(p, convert_categoricals=False)
    if suffix == ".dta":  # Stata
        return pd.read_stata(p, convert_categoricals=False)
    return pd.read_csv(p)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.psychometrics",
        description="Psychometric validation of PROM/PREM data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report",
        help="COSMIN measurement-property report (self-contained HTML, optional JSON)",
    )
    rep.add_argument(
        "data",
        help="CSV, Parquet, SPSS .sav or Stata .dta: one row per respondent with the item ids as "
        "columns, or a register export file (flask --app wsgi export: items "
        "<instrument>_<item>, one row per response and time point)",
    )
    rep.add_argument(
        "--instrument",
        required=True,
        help="instrument id (e.g. rand36) or path to a definition .yaml",
    )
    rep.add_argument("--retest", help="CSV of the retest; rows matched on the id column")
    rep.add_argument(
        "--id-column",
        help="column matching test and retest rows (default: 'id', 'respondent' or 'pseudonym')",
    )
    rep.add_argument(
        "--time-point",
        help="analyse the rows of this time point (data with a "
        "time_point column; default: the earliest)",
    )
    rep.add_argument(
        "--retest-time-point",
        help="retest = the rows of this time point "
        "(of --retest, or of DATA when --retest is not given)",
    )
    rep.add_argument(
        "--followup",
        help="CSV of a later measurement of the same respondents "
        "(responsiveness: mean change, effect size, SRM)",
    )
    rep.add_argument(
        "--followup-time-point",
        help="follow-up = the rows of this time point "
        "(of --followup, or of DATA when --followup is not given)",
    )
    rep.add_argument(
        "--item-prefix",
        help="item columns are named PREFIX + item id "
        "(default: the item ids, else '<instrument>_' as in the export)",
    )
    rep.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="FILE",
        help="add the columns of FILE (e.g. another instrument's export file) for "
        "hypotheses, matched on the id column at the analysed time point; repeatable",
    )
    rep.add_argument("--groups", help="column of DATA defining groups for DIF")
    rep.add_argument("--hypotheses", help="YAML/JSON file of construct-validity hypotheses")
    rep.add_argument("--value-set", help="value set for scoring (EQ-5D)")
    rep.add_argument("-o", "--output", required=True, help="HTML file to write")
    rep.add_argument("--json", help="also write the numbers as JSON to this file")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    rep.add_argument(
        "--cfa-estimator",
        choices=("auto", "ML", "WLSMV"),
        default="auto",
        help="CFA estimator: auto (default) = WLSMV when all items have <= 7 categories, else ML",
    )
    rep.add_argument(
        "--structural-rule",
        choices=("cosmin2018", "strict"),
        default="cosmin2018",
        help="rating rule for structural validity: cosmin2018 (CFI or TLI > .95, or RMSEA < .06, "
        "or SRMR < .08; default) or strict (CFI > .95 and RMSEA < .06)",
    )
    from scoring.irt.cli import add_cat_sim_parser, add_irt_parser

    add_cat_sim_parser(sub)
    add_irt_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "cat-sim":
        from scoring.irt.cli import run_cat_sim

        return run_cat_sim(args)
    if args.command == "irt":
        from scoring.irt.cli import run_irt

        return run_irt(args)
    from scoring.psychometrics.report import build_report

    data = _read_table(args.data)
    retest = _read_table(args.retest) if args.retest else None
    followup = _read_table(args.followup) if args.followup else None
    merge = [_read_table(path) for path in args.merge]
    try:
        report = build_report(
            data,
            args.instrument,
            retest=retest,
            groups=args.groups,
            hypotheses=args.hypotheses,
            id_column=args.id_column,
            value_set=args.value_set,
            time_point=args.time_point,
            retest_time_point=args.retest_time_point,
            followup=followup,
            followup_time_point=args.followup_time_point,
            item_prefix=args.item_prefix,
            merge=merge,
            progress=not args.no_progress,
            cfa_estimator=args.cfa_estimator,
            structural_rule=args.structural_rule,
        )
    except (ValueError, KeyError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2
    Path(args.output).write_text(report.to_html(), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(
            json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"
        )
    for note in report.notes():
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {args.output}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
