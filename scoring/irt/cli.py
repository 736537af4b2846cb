"""IRT subcommands of ``python -m scoring.psychometrics``: ``cat-sim`` and ``irt``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_cat_sim_parser(sub: Any) -> None:
    """Register the ``cat-sim`` subcommand on an argparse subparsers object."""
    cs = sub.add_parser(
        "cat-sim",
        help="simulate computerized adaptive testing on an item bank (HTML, optional JSON)",
    )
    cs.add_argument(
        "bank",
        help="item-bank definition file (kind: item-bank), e.g. "
        "instruments/banks/demo-physical-function.yaml",
    )
    cs.add_argument("--n", type=int, default=10_000, help="simulees (default 10000)")
    cs.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    cs.add_argument("--select", choices=["max_info", "kl"], default="max_info")
    cs.add_argument("--stop-se", type=float, default=0.3)
    cs.add_argument("--max-items", type=int, default=12)
    cs.add_argument("--min-items", type=int, default=4)
    cs.add_argument("--start-theta", type=float, default=0.0)
    cs.add_argument("--exposure", choices=["randomesque", "none"], default="randomesque")
    cs.add_argument("--randomesque-k", type=int, default=5)
    cs.add_argument("-o", "--output", required=True, help="HTML file to write")
    cs.add_argument("--json", help="also write the numbers as JSON to this file")


def run_cat_sim(args: argparse.Namespace) -> int:
    """Run the simulation; exit code 2 with a message on bad input."""
    from instruments.loader import InstrumentError
    from scoring.irt.bank import load_bank
    from scoring.irt.cat import CatSettings
    from scoring.irt.catsim import simulate_cat

    try:
        settings = CatSettings(
            start_theta=args.start_theta,
            select=args.select,
            stop_se=args.stop_se,
            max_items=args.max_items,
            min_items=args.min_items,
            exposure=args.exposure,
            randomesque_k=args.randomesque_k,
        )
        if not Path(args.bank).is_file():
            raise ValueError(f"file not found: {args.bank}")
        instrument, bank = load_bank(args.bank)
        report = simulate_cat(bank, args.n, args.seed, settings, bank_name=instrument.id)
    except (InstrumentError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Path(args.output).write_text(report.to_html(), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    d = report.to_dict()
    print(
        f"items used: mean {d['items_used']['mean']:.2f}; vs full bank r = "
        f"{d['vs_full_bank']['correlation']:.3f}, RMSE {d['vs_full_bank']['rmse']:.3f}; "
        f"mean SE {d['se_reached']['mean']:.3f}; max exposure {d['exposure']['max']:.2f}",
        file=sys.stderr,
    )
    print(f"wrote {args.output}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    return 0


ID_COLUMNS = ("id", "respondent", "pseudonym", "time_point")


def add_irt_parser(sub: Any) -> None:
    """Register the ``irt`` subcommand (calibration report)."""
    ir = sub.add_parser("irt", help="IRT calibration report (HTML, optional JSON)")
    ir.add_argument("data", help="CSV: one row per respondent, one column per item")
    ir.add_argument("--model", choices=["grm", "gpcm", "2pl", "rasch"], default="grm")
    ir.add_argument(
        "--items",
        help="comma-separated item columns (default: every column but the groups "
        "column and id/respondent/pseudonym/time_point)",
    )
    ir.add_argument("--groups", help="column with the groups for IRT DIF (lordif-style)")
    ir.add_argument("--dif-criterion", choices=["r2", "chisqr"], default="r2")
    ir.add_argument("-o", "--output", required=True, help="HTML file to write")
    ir.add_argument("--json", help="also write the numbers as JSON to this file")


def run_irt(args: argparse.Namespace) -> int:
    """Calibrate and write the report; exit code 2 with a message on bad input."""
    import pandas as pd

    from scoring.irt.report import irt_report

    try:
        if not Path(args.data).is_file():
            raise ValueError(f"file not found: {args.data}")
        table = pd.read_csv(args.data)
        if args.items:
            columns = [c.strip() for c in args.items.split(",") if c.strip()]
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise ValueError(f"no such columns: {missing}")
        else:
            skip = {args.groups, *ID_COLUMNS}
            columns = [c for c in table.columns if c not in skip]
        if args.groups and args.groups not in table.columns:
            raise ValueError(f"no groups column {args.groups!r}")
        groups = table[args.groups] if args.groups else None
        report = irt_report(
            table[columns], args.model, groups=groups, dif_criterion=args.dif_criterion
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Path(args.output).write_text(report.to_html(), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    print(f"wrote {args.output}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    return 0
