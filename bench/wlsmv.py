"""Benchmark of the ordinal CFA (WLSMV) on 10,000 x 36 items (run: ``python bench/wlsmv.py``).

Also times the whole report on 100,000 simulated RAND-36 responses with a language column
(nb / nn / en), i.e. with the default WLSMV CFA and invariance across the three languages
(``--report-n``, ``--skip-report``). CPU seconds are printed beside the wall clock: the
machine is shared, so the wall clock depends on the load.

Times ``polychoric`` and ``cfa(..., ordered=True)`` (thresholds, polychorics, their
asymptotic covariance, DWLS, robust SEs, scaled-shifted test) on simulated 5-category
items (6 correlated factors, seeded), next to semopy 2.3.11 in the same run:

* semopy has no WLSMV (no categorical CFA): its ``DWLS`` objective fits covariances of the
  item codes treated as continuous, with weights from their fourth moments. That is the
  nearest semopy estimator, timed as a baseline, not the same model.
* semopy's polychoric correlations (``semopy.polycorr``) cannot run with the pinned
  scipy/numpy (they call ``scipy.stats.mvn.mvnun``, removed in scipy 1.17), so there is
  no semopy polychoric to compare with.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _time(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, float, Any]:
    """Best wall-clock seconds of ``repeat`` runs, with the CPU seconds of that run."""
    best, cpu, out = float("inf"), float("nan"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu, out


def _report(n: int, bench_psy: Any) -> None:
    """The whole COSMIN report on n simulated RAND-36 responses in three languages."""
    import numpy as np

    from scoring.psychometrics.report import build_report

    data = bench_psy.simulate_rand36(n, seed=36)
    rng = np.random.default_rng(1)
    data["language"] = rng.choice(["nb", "nn", "en"], size=n, p=[0.6, 0.3, 0.1])
    t, cpu, rep = _time(lambda: build_report(data, "rand36"), 1)
    js = rep.to_dict()
    sv, inv = js["structural_validity"], js["invariance"].get("language", {})
    print(f"report RAND-36 {n:,}, invariance across 3 languages  {t:7.2f} s (cpu {cpu:.2f})")
    print(
        f"    CFA {sv.get('estimator')}: scaled CFI {sv.get('cfi_scaled')}, rating "
        f"{sv.get('rating')} ({sv.get('rule')}); invariance levels "
        f"{[m['level'] for m in inv.get('models', [])]}, Chen all steps "
        f"{inv.get('chen2007_all_steps')}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-semopy", action="store_true")
    parser.add_argument(
        "--report-n", type=int, default=100_000, help="RAND-36 respondents for the report run"
    )
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args(argv)

    import importlib.util
    import os

    from scoring.psychometrics import cfa, polychoric

    spec = importlib.util.spec_from_file_location("bench_psy", ROOT / "bench" / "psychometrics.py")
    bench_psy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_psy)
    simulate_items = bench_psy.simulate_items

    load = os.getloadavg()
    print(f"{os.cpu_count()} CPU(s); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    data = simulate_items(args.n, seed=2)
    model = {f"F{j + 1}": [f"i{6 * j + k + 1:02d}" for k in range(6)] for j in range(6)}

    t_pc, c_pc, _ = _time(lambda: polychoric(data), args.repeat)
    print(f"polychoric {args.n:,} x 36 (630 pairs)         {t_pc:7.2f} s (cpu {c_pc:.2f})")
    t_w, c_w, fit = _time(lambda: cfa(data, model, ordered=True), args.repeat)
    print(f"cfa WLSMV {args.n:,} x 36, 6 factors          {t_w:7.2f} s (cpu {c_w:.2f})")
    print(
        f"    chi2 {fit.chi2:.3f}, scaled {fit.chi2_scaled:.3f} (df {fit.df}); CFI "
        f"{fit.cfi_scaled:.4f}, RMSEA {fit.rmsea_scaled:.4f} (scaled)"
    )
    t_ml, c_ml, _ = _time(lambda: cfa(data, model), args.repeat)
    print(f"cfa ML (same data, continuous)            {t_ml:7.2f} s (cpu {c_ml:.2f})")
    if not args.skip_report:
        _report(args.report_n, bench_psy)
    if args.skip_semopy:
        return 0
    import semopy

    desc = "\n".join(f"{f} =~ " + " + ".join(items) for f, items in model.items())

    def semopy_dwls():
        m = semopy.Model(desc)
        m.fit(data, obj="DWLS")
        return semopy.calc_stats(m)

    t_s, c_s, _ = _time(semopy_dwls, args.repeat)
    print(
        f"semopy DWLS (continuous) {args.n:,} x 36       {t_s:7.2f} s (cpu {c_s:.2f}); "
        f"ours WLSMV / semopy DWLS {t_w / t_s:.2f}"
    )
    print(
        "semopy polychoric: not timed (semopy 2.3.11's polycorr calls scipy.stats.mvn.mvnun, "
        "removed in scipy 1.17, and np.ma.corrcoef(bias=...), removed in numpy 2)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
