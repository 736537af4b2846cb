"""Benchmark: vectorised ``score_table`` against a plain per-row Python implementation.

Run ``python bench/scoring.py [--rows N] [--baseline-rows M] [--repeats R]``. For each
instrument it scores N synthetic responses (default 1,000,000; about 2 % of cells
missing) with ``score_table`` (validation included; best of R runs, default 5), then the
same rows (or the first M) with the straightforward per-row Python implementation written
below, one dict per row. It prints responses per second for both (wall clock, and CPU
time, which other jobs on a shared machine disturb less), their ratio, the peak memory
(tracemalloc) of the vectorised run next to the size of the input arrays, checks that
both implementations agree on the first 10,000 rows, and prints the total wall time.
The baselines are deliberately independent of ``scoring/`` (only the published tables),
so tests also use them as a cross-check.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoring.core import score_table  # noqa: E402
from scoring.registry import get  # noqa: E402

Row = dict[str, float | None]

# ---------------------------------------------------------------- per-row baselines


def odi_row(row: Row) -> dict:
    """ODI 2.1a, Fairbank & Pynsent 2000: sum / (5 x answered) x 100, >= 8 answered."""
    answered = [v for v in row.values() if v is not None]
    if len(answered) < 8:
        return {"total": None, "band": None}
    total = sum(answered) / (5 * len(answered)) * 100
    for bound, name in ((20, "minimal"), (40, "moderate"), (60, "severe"), (80, "crippled")):
        if total <= bound:
            return {"total": total, "band": name}
    return {"total": total, "band": "bed-bound"}


def cat_row(row: Row) -> dict:
    """CAT: sum of 8 items; impact low < 10, medium 10-20, high 21-30, very high > 30."""
    if any(v is None for v in row.values()):
        return {"total": None, "impact": None}
    total = sum(row.values())
    if total < 10:
        level = "low"
    elif total <= 20:
        level = "medium"
    elif total <= 30:
        level = "high"
    else:
        level = "very high"
    return {"total": total, "impact": level}


# RAND scoring instructions, Table 1 (item number -> recode of codes 1..n) and Table 2.
_RAND_RECODE = {}
for _i in (1, 2, 20, 22, 34, 36):
    _RAND_RECODE[_i] = [100, 75, 50, 25, 0]
for _i in range(3, 13):
    _RAND_RECODE[_i] = [0, 50, 100]
for _i in range(13, 20):
    _RAND_RECODE[_i] = [0, 100]
for _i in (21, 23, 26, 27, 30):
    _RAND_RECODE[_i] = [100, 80, 60, 40, 20, 0]
for _i in (24, 25, 28, 29, 31):
    _RAND_RECODE[_i] = [0, 20, 40, 60, 80, 100]
for _i in (32, 33, 35):
    _RAND_RECODE[_i] = [0, 25, 50, 75, 100]
_RAND_SCALES = {
    "PF": list(range(3, 13)),
    "RP": [13, 14, 15, 16],
    "BP": [21, 22],
    "GH": [1, 33, 34, 35, 36],
    "VT": [23, 27, 29, 31],
    "SF": [20, 32],
    "RE": [17, 18, 19],
    "MH": [24, 25, 26, 28, 30],
}
# SF-36 v1 US 1990 norms: mean, SD, physical and mental coefficient (Ware et al. 1994).
_NORMS = {
    "PF": (84.52404, 22.89490, 0.42402, -0.22999),
    "RP": (81.19907, 33.79729, 0.35119, -0.12329),
    "BP": (75.49196, 23.55879, 0.31754, -0.09731),
    "GH": (72.21316, 20.16964, 0.24954, -0.01571),
    "VT": (61.05453, 20.86942, 0.02877, 0.23534),
    "SF": (83.59753, 22.37642, -0.00753, 0.26876),
    "RE": (81.29467, 33.02717, -0.19206, 0.43407),
    "MH": (74.84212, 18.01189, -0.22069, 0.48581),
}


def _mean_if_half(values: list[float | None]) -> float | None:
    answered = [v for v in values if v is not None]
    if 2 * len(answered) < len(values):
        return None
    return sum(answered) / len(answered)


def rand36_row(row: Row) -> dict:
    """RAND-36 1.0 (RAND scales, half rule) with PCS/MCS from NEMC-scored BP and GH."""
    code = {int(k[1:]): (None if v is None else int(v)) for k, v in row.items()}
    rec = {i: (None if c is None else _RAND_RECODE[i][c - 1]) for i, c in code.items()}
    out: dict = {
        name: _mean_if_half([rec[i] for i in items]) for name, items in _RAND_SCALES.items()
    }
    out["HT"] = rec[2]
    nemc = dict(out)
    c21, c22 = code[21], code[22]
    v21 = None if c21 is None else [6.0, 5.4, 4.2, 3.1, 2.2, 1.0][c21 - 1]
    if c22 is None:
        v22 = None
    elif c21 is None:
        v22 = [6.0, 4.75, 3.5, 2.25, 1.0][c22 - 1]
    elif c22 == 1 and c21 == 1:
        v22 = 6.0
    else:
        v22 = [5.0, 4.0, 3.0, 2.0, 1.0][c22 - 1]
    bp = _mean_if_half([v21, v22])
    nemc["BP"] = None if bp is None else (bp - 1) / 5 * 100
    gh_items = [
        None if code[1] is None else [5.0, 4.4, 3.4, 2.0, 1.0][code[1] - 1],
        code[33],
        None if code[34] is None else 6 - code[34],
        code[35],
        None if code[36] is None else 6 - code[36],
    ]
    gh = _mean_if_half(gh_items)
    nemc["GH"] = None if gh is None else (gh - 1) / 4 * 100
    if any(nemc[s] is None for s in _NORMS):
        out["PCS"] = out["MCS"] = None
    else:
        z = {s: (nemc[s] - m) / sd for s, (m, sd, _, _) in _NORMS.items()}
        out["PCS"] = 50 + 10 * sum(z[s] * _NORMS[s][2] for s in _NORMS)
        out["MCS"] = 50 + 10 * sum(z[s] * _NORMS[s][3] for s in _NORMS)
    return out


def _eq5d_coefficients() -> dict[tuple[str, str], dict[str, float]]:
    path = ROOT / "instruments" / "data" / "eq5d_value_sets.csv"
    table: dict[tuple[str, str], dict[str, float]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            table.setdefault((r["instrument"], r["value_set"]), {})[r["term"]] = float(
                r["coefficient"]
            )
    return table


def eq5d_row_scorer(instrument_id: str) -> Callable[[Row], dict]:
    """Per-row EQ-5D scorer: additive model read straight from the value-set CSV."""
    algorithm = get(instrument_id)
    terms = _eq5d_coefficients()[(instrument_id, algorithm.default_value_set)]
    dims = ("MO", "SC", "UA", "PD", "AD")

    def score_row(row: Row) -> dict:
        levels = [row[d] for d in dims]
        if any(v is None for v in levels):
            return {"index": None, "vas": row["VAS"], "profile": None}
        levels = [int(v) for v in levels]
        value = terms.get("start", 1.0)
        for d, lvl in zip(dims, levels, strict=True):
            if lvl > 1:  # main-effects term, or dimension x level weight (Norway 2024)
                key = f"{d}{lvl}"
                value += terms[key] if key in terms else terms[d] * terms[f"level{lvl}"]
        if any(lvl > 1 for lvl in levels):
            value += terms.get("any_problem", 0.0)
        if 3 in levels:
            value += terms.get("any_level3", 0.0)
        if 5 in levels:
            value += terms.get("any_level5", 0.0)
        return {"index": value, "vas": row["VAS"], "profile": "".join(map(str, levels))}

    return score_row


def gspeq_row(row: Row) -> dict:
    """GS-PEQ: item scores as answered; code 9 (not applicable) counts as missing."""
    return {k: (None if v is None or v == 9 else v) for k, v in row.items()}


def baseline(instrument_id: str) -> Callable[[Row], dict]:
    """The per-row baseline scorer of ``instrument_id``."""
    if instrument_id.startswith("eq5d"):
        return eq5d_row_scorer(instrument_id)
    return {"rand36": rand36_row, "odi": odi_row, "cat": cat_row, "gspeq": gspeq_row}[instrument_id]


# ---------------------------------------------------------------- synthetic data


def synthetic(instrument_id: str, n: int, seed: int = 1, missing: float = 0.02) -> dict:
    """Random valid codes per item (float64, ~``missing`` NaN), one array per item."""
    rng = np.random.default_rng(seed)
    algorithm = get(instrument_id)
    table = {}
    for item in algorithm.items:
        codes = np.array(sorted(algorithm.codes[item]), dtype=np.float64)
        col = codes[rng.integers(0, codes.size, n)]
        col[rng.random(n) < missing] = np.nan
        table[item] = col
    return table


def rows_of(table: dict, n: int) -> list[Row]:
    """The first ``n`` rows as dicts (None = missing), for the baseline."""
    return list(iter_rows(_column_lists(table, n)))


def _column_lists(table: dict, n: int) -> tuple[list[str], list[list]]:
    """Item ids and the first ``n`` cells of each column as Python lists of int codes
    (None = missing). Codes are small ints, which Python shares, so a million rows of
    RAND-36 take about 300 MB rather than gigabytes of float objects."""
    items = list(table)
    lists = []
    for item in items:
        col = table[item][:n]
        missing = np.isnan(col)
        top = int(np.max(col, initial=0, where=~missing))
        as_python = np.array([None, *range(top + 1)], dtype=object)  # position = code + 1
        lists.append(as_python[np.where(missing, 0, col + 1).astype(np.intp)].tolist())
    return items, lists


def iter_rows(columns: tuple[list[str], list[list]]):
    """One dict (item id -> code or None) per row, built as the rows are read."""
    items, lists = columns
    for values in zip(*lists, strict=True):
        yield dict(zip(items, values, strict=True))


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        a = None
    if isinstance(b, float) and math.isnan(b):
        b = None
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    return abs(a - b) <= 1e-9


def _best_of(repeats: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``repeats`` calls of ``fn``."""
    wall = cpu = math.inf
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def run(instrument_id: str, rows: int, baseline_rows: int, repeats: int = 5) -> dict:
    """Time one instrument; returns the measured numbers.

    The vectorised run is the best of ``repeats`` (the machine is shared); the baseline
    scores the first ``baseline_rows`` of the same rows once, building each row's dict
    as it goes. Both are also timed in CPU seconds (``time.process_time``), which other
    jobs on the machine disturb less than wall-clock time.
    """
    table = synthetic(instrument_id, rows)
    input_bytes = sum(col.nbytes for col in table.values())
    score_table(instrument_id, {k: v[:1000] for k, v in table.items()})  # warm caches
    vec_wall, vec_cpu = _best_of(repeats, lambda: score_table(instrument_id, table))
    tracemalloc.start()  # separate run: tracing slows allocation down
    result = score_table(instrument_id, table)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scorer = baseline(instrument_id)
    columns = _column_lists(table, baseline_rows)
    w0, c0 = time.perf_counter(), time.process_time()
    for row in iter_rows(columns):
        scorer(row)
    base_wall, base_cpu = time.perf_counter() - w0, time.process_time() - c0
    checked = min(baseline_rows, 10_000)  # both implementations agree on these rows
    disagree = 0
    for i, row in enumerate(iter_rows(_column_lists(table, checked))):
        expected = scorer(row)
        disagree += sum(not _same(result[name][i], value) for name, value in expected.items())
    return {
        "instrument": instrument_id,
        "rows": rows,
        "vectorised_per_s": rows / vec_wall,
        "vectorised_cpu_per_s": rows / vec_cpu,
        "baseline_rows": baseline_rows,
        "baseline_per_s": baseline_rows / base_wall,
        "baseline_cpu_per_s": baseline_rows / base_cpu,
        "ratio": (rows / vec_wall) / (baseline_rows / base_wall),
        "input_mb": input_bytes / 1e6,
        "peak_mb": peak / 1e6,
        "peak_over_input": peak / input_bytes,
        "checked_rows": checked,
        "disagreements": disagree,
    }


TARGETS = {"eq5d5l": 20e6, "eq5d3l": 20e6, "rand36": 2e6, "odi": 20e6, "cat": 20e6}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for every registered instrument and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-rows", type=int, default=None,
        help="rows for the per-row baseline (default: all of them, the same rows)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5, help="vectorised runs (best counts)")
    parser.add_argument(
        "--instruments", default="eq5d5l,eq5d3l,rand36,odi,cat,gspeq", help="comma-separated"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        f"{'instrument':<10} {'vectorised/s':>13} {'(CPU)':>13} {'baseline/s':>11} "
        f"{'(CPU)':>10} {'ratio':>6} {'peak MB':>8} {'input MB':>8} {'peak/in':>7}  target"
    )
    failed = False
    for iid in args.instruments.split(","):
        try:
            get(iid)
        except (KeyError, ImportError) as exc:
            print(f"{iid:<10} skipped: {exc}")
            continue
        base_rows = args.rows if args.baseline_rows is None else min(args.baseline_rows, args.rows)
        r = run(iid, args.rows, base_rows, args.repeats)
        target = TARGETS.get(iid)
        verdict = ""
        if target:
            ok = r["vectorised_per_s"] >= target
            verdict = f">= {target / 1e6:.0f} M/s " + ("ok" if ok else "MISSED")
        if r["disagreements"]:
            failed = True
            verdict += f"  {r['disagreements']} cells differ from the baseline!"
        print(
            f"{iid:<10} {r['vectorised_per_s']:>13,.0f} {r['vectorised_cpu_per_s']:>13,.0f} "
            f"{r['baseline_per_s']:>11,.0f} {r['baseline_cpu_per_s']:>10,.0f} "
            f"{r['ratio']:>6.0f} {r['peak_mb']:>8.1f} {r['input_mb']:>8.1f} "
            f"{r['peak_over_input']:>7.2f}  {verdict}",
            flush=True,
        )
    print(
        f"{args.rows:,} rows per instrument (baseline: "
        f"{'the same rows' if args.baseline_rows is None else f'first {base_rows:,}'}); "
        f"vectorised = best of {args.repeats}; wall time {time.perf_counter() - started:.1f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
