"""IRT benchmarks, recovery study and the synthetic bank (run: ``python bench/irt.py CMD``).

Commands (all data simulated with fixed seeds, or published):

* ``speed``    GRM calibration of 10,000 x 20 items x 5 categories (ours, with and without
               standard errors, beside girth's ``grm_mml`` on the same data: ratio), and
               the CAT next-item step on a 100-item bank beside a naive per-item loop.
* ``recovery`` bias and RMSE of a, b and theta (EAP) for n = 1,000 / 3,000 / 10,000 and
               10 / 30 items with 5 categories (GRM), girth's estimates side by side
               (RMSE, the log-likelihood of each program's estimates under our likelihood,
               time). ``--quick`` runs only n = 1,000. Markdown on stdout (docs/irt.md).
* ``published`` LSAT-7 2PL and LSAT-6 2PL / Rasch beside the mirt and ltm estimates
               cited in docs/irt.md.
* ``girth``    GPCM (girth's ``pcm_mml``, which estimates a slope per item) and the LSAT-7
               2PL (``twopl_mml``) beside ours.
* ``bank``     recalibrate the synthetic demonstration bank
               (instruments/banks/demo-physical-function.yaml): draw generating parameters,
               simulate 3,000 respondents, fit the GRM, rewrite the ``params:`` block.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoring.irt import fit  # noqa: E402
from scoring.irt.calibrate import marginal_loglik  # noqa: E402
from scoring.irt.cat import Bank, CatSettings, next_item, update  # noqa: E402
from scoring.irt.models import ItemSet  # noqa: E402
from scoring.irt.simulate import random_items, simulate  # noqa: E402

BANK_FILE = ROOT / "instruments" / "banks" / "demo-physical-function.yaml"


def _girth():
    try:
        import girth
    except ImportError:
        return None
    return girth


def _girth_grm(data) -> tuple[ItemSet, float]:
    girth = _girth()
    start = time.perf_counter()
    out = girth.grm_mml((data.to_numpy().T + 1).astype(int))
    seconds = time.perf_counter() - start
    return ItemSet.from_irt("grm", out["Discrimination"], out["Difficulty"]), seconds


def speed(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(20261205)
    truth = random_items(20, 5, rng)
    data, _ = simulate(truth, 10_000, rng)
    print("GRM calibration, 10,000 respondents x 20 items x 5 categories")
    start = time.perf_counter()
    no_se = fit(data, "grm", se=False)
    t_fit = time.perf_counter() - start
    start = time.perf_counter()
    fit(data, "grm")
    t_se = time.perf_counter() - start
    print(f"  openprom fit (no SE)      {t_fit:7.2f} s  ({no_se.iterations} iterations)")
    print(f"  openprom fit (with SE)    {t_se:7.2f} s")
    if _girth() is not None:
        girth_items, t_girth = _girth_grm(data)
        ll_girth = marginal_loglik(girth_items, data)
        print(f"  girth grm_mml (no SE)     {t_girth:7.2f} s")
        print(f"  ratio girth / openprom    {t_girth / t_fit:7.2f}  (same data, same run)")
        print(f"  logLik openprom {no_se.loglik:.2f}, girth {ll_girth:.2f} (our likelihood)")
    else:
        print("  girth not installed: pip install -r requirements-dev.txt")

    items = random_items(100, 5, rng)
    bank = Bank(tuple(f"q{i:03d}" for i in range(100)), items, ((1, 2, 3, 4, 5),) * 100)
    print("CAT step (next_item + update) on a 100-item, 5-category bank, 12 items per test")
    for select in ("max_info", "kl"):
        settings = CatSettings(select=select, max_items=12, min_items=12)
        steps, start = 0, time.perf_counter()
        for _ in range(args.tests):
            answers: tuple = ()
            while (item := next_item(bank, answers, rng, settings)) is not None:
                answers, _est = update(bank, answers, item, int(rng.integers(1, 6)), settings)
                steps += 1
        per_step = (time.perf_counter() - start) / steps * 1000
        print(f"  {select:8s} {per_step:6.3f} ms per step ({steps} steps)")
    # naive baseline: information item by item in a Python loop (no vectorisation)
    start = time.perf_counter()
    chosen = []
    for _ in range(args.tests * 12):
        best, best_info = -1, -1.0
        for i in range(items.n_items):
            info = items.subset(np.array([i])).information(np.array([0.1]))[0, 0]
            if info > best_info:
                best, best_info = i, info
        chosen.append(best)
    naive = (time.perf_counter() - start) / (args.tests * 12) * 1000
    print(f"  naive per-item loop (selection only) {naive:6.3f} ms per step")


def _recovery_row(n: int, n_items: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    truth = random_items(n_items, 5, rng)
    data, theta = simulate(truth, n, rng)
    start = time.perf_counter()
    result = fit(data, "grm", se=False)
    t_ours = time.perf_counter() - start
    est_theta = result.theta(data)["theta"].to_numpy()
    row = {
        "n": n,
        "items": n_items,
        "bias_a": float(np.mean(result.items.a - truth.a)),
        "rmse_a": float(np.sqrt(np.mean((result.items.a - truth.a) ** 2))),
        "bias_b": float(np.mean(result.items.b - truth.b)),
        "rmse_b": float(np.sqrt(np.mean((result.items.b - truth.b) ** 2))),
        "bias_theta": float(np.mean(est_theta - theta)),
        "rmse_theta": float(np.sqrt(np.mean((est_theta - theta) ** 2))),
        "ll": result.loglik,
        "time": t_ours,
    }
    if _girth() is not None:
        g_items, t_girth = _girth_grm(data)
        row["girth_rmse_a"] = float(np.sqrt(np.mean((g_items.a - truth.a) ** 2)))
        row["girth_rmse_b"] = float(np.sqrt(np.mean((g_items.b - truth.b) ** 2)))
        row["girth_ll"] = marginal_loglik(g_items, data)
        row["girth_time"] = t_girth
    return row


def recovery(args: argparse.Namespace) -> None:
    sizes = [1000] if args.quick else [1000, 3000, 10_000]
    rows = [_recovery_row(n, k, seed=1000 * k + n // 1000) for n in sizes for k in (10, 30)]
    print("| n | items | bias a | RMSE a | bias b | RMSE b | bias θ | RMSE θ (EAP) | time s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['items']} | {r['bias_a']:+.3f} | {r['rmse_a']:.3f} | "
            f"{r['bias_b']:+.3f} | {r['rmse_b']:.3f} | {r['bias_theta']:+.3f} | "
            f"{r['rmse_theta']:.3f} | {r['time']:.1f} |"
        )
    if "girth_ll" in rows[0]:
        print()
        print(
            "| n | items | RMSE a: openprom / girth | RMSE b: openprom / girth "
            "| logLik openprom | logLik girth | time s: openprom / girth |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['n']:,} | {r['items']} | {r['rmse_a']:.3f} / {r['girth_rmse_a']:.3f} | "
                f"{r['rmse_b']:.3f} / {r['girth_rmse_b']:.3f} | {r['ll']:.1f} | "
                f"{r['girth_ll']:.1f} | {r['time']:.1f} / {r['girth_time']:.1f} |"
            )


def published(_args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "irt"))
    from conftest import lsat6_frame, lsat7_frame  # the published pattern tables

    from scoring.irt.checks import sx2

    lsat7 = lsat7_frame()
    seven = fit(lsat7, "2pl")
    mirt_a = [0.988, 1.081, 1.706, 0.7651, 0.7358]
    mirt_d = [1.8561, 0.808, 1.8043, 0.486, 1.8545]
    mirt_sx2 = [4.749440, 14.451071, 1.270381, 5.237400, 0.941125]
    item_fit = sx2(seven, lsat7)
    print("LSAT-7 2PL: openprom vs mirt(expand.table(LSAT7), 1) (a, d, SE.type BL, S-X2)")
    print("| item | a | a mirt | d | d mirt | SE a | SE d | S-X2 | S-X2 mirt |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, item in enumerate(seven.params.index):
        print(
            f"| {item} | {seven.intercepts['a'].iloc[i]:.4f} | {mirt_a[i]:.4f} | "
            f"{seven.intercepts['d'].iloc[i]:.4f} | {mirt_d[i]:.4f} | "
            f"{seven.se_intercepts['a'].iloc[i]:.4f} | {seven.se_intercepts['d'].iloc[i]:.4f} | "
            f"{item_fit['S_X2'].iloc[i]:.3f} | {mirt_sx2[i]:.3f} |"
        )
    print(f"logLik {seven.loglik:.3f} (mirt -2658.805)")

    data = lsat6_frame()
    two = fit(data, "2pl")
    ltm_a = [0.8253715, 0.7229499, 0.8904748, 0.6885502, 0.6574516]
    ltm_b = [-3.3597341, -1.3696497, -0.2798983, -1.8659189, -3.1235725]
    print("LSAT-6 2PL: openprom vs ltm::ltm(LSAT ~ z1)")
    print("| item | a openprom | a ltm | b openprom | b ltm | SE a | SE b |")
    print("|---|---|---|---|---|---|---|")
    for i, item in enumerate(two.params.index):
        print(
            f"| {item} | {two.params['a'].iloc[i]:.4f} | {ltm_a[i]:.4f} | "
            f"{two.params['b'].iloc[i]:.4f} | {ltm_b[i]:.4f} | {two.se['a'].iloc[i]:.4f} | "
            f"{two.se['b'].iloc[i]:.4f} |"
        )
    print(f"logLik {two.loglik:.3f}, AIC {two.aic:.2f}, BIC {two.bic:.2f}")
    rasch = fit(data, "rasch")
    mirt_d = [2.73, 0.999, 0.24, 1.306, 2.099]
    print(
        "LSAT-6 Rasch (common slope): openprom vs mirt itemtype='Rasch' (d, latent variance 0.57)"
    )
    print("| item | d openprom | d mirt | SE d |")
    print("|---|---|---|---|")
    for i, item in enumerate(rasch.params.index):
        print(
            f"| {item} | {rasch.intercepts['d'].iloc[i]:.3f} | {mirt_d[i]:.3f} | "
            f"{rasch.se_intercepts['d'].iloc[i]:.4f} |"
        )
    print(f"latent variance (slope^2) {rasch.items.a[0] ** 2:.3f}; logLik {rasch.loglik:.3f}")


def girth_models(_args: argparse.Namespace) -> None:
    """GPCM and 2PL beside girth (pcm_mml estimates a slope per item: the GPCM)."""
    girth = _girth()
    if girth is None:
        raise SystemExit("girth not installed: pip install -r requirements-dev.txt")
    rng = np.random.default_rng(5)
    truth = random_items(10, 5, rng, "gpcm")
    data, _ = simulate(truth, 3000, rng)
    start = time.perf_counter()
    ours = fit(data, "gpcm", se=False)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    out = girth.pcm_mml((data.to_numpy().T + 1).astype(int))
    t_girth = time.perf_counter() - start
    theirs = ItemSet.from_irt("gpcm", out["Discrimination"], out["Difficulty"])

    def rmse(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.sqrt(np.nanmean((x - y) ** 2)))

    print(
        "| model / data | RMSE a: openprom / girth | RMSE b: openprom / girth "
        "| logLik openprom | logLik girth | time s: openprom / girth |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| GPCM, 3,000 x 10 items x 5 categories | {rmse(ours.items.a, truth.a):.3f} / "
        f"{rmse(theirs.a, truth.a):.3f} | {rmse(ours.items.b, truth.b):.3f} / "
        f"{rmse(theirs.b, truth.b):.3f} | {ours.loglik:.1f} | "
        f"{marginal_loglik(theirs, data):.1f} | {t_ours:.1f} / {t_girth:.1f} |"
    )
    sys.path.insert(0, str(ROOT / "tests" / "irt"))
    from conftest import lsat7_frame

    lsat7 = lsat7_frame()
    start = time.perf_counter()
    ours = fit(lsat7, "2pl", se=False)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    out = girth.twopl_mml(lsat7.to_numpy().T.astype(int))
    t_girth = time.perf_counter() - start
    theirs = ItemSet.from_irt("grm", out["Discrimination"], np.asarray(out["Difficulty"])[:, None])
    print(
        f"| 2PL, LSAT-7 (max abs difference a / b) | {np.max(np.abs(ours.items.a - theirs.a)):.3f}"
        f" | {np.nanmax(np.abs(ours.items.b - theirs.b)):.3f} | {ours.loglik:.3f} | "
        f"{marginal_loglik(theirs, lsat7):.3f} | {t_ours:.2f} / {t_girth:.2f} |"
    )


def _format_params(result) -> list[str]:
    lines = []
    for item, row in result.params.iterrows():
        b = ", ".join(f"{v:.3f}" for v in row.iloc[1:].to_numpy())
        lines.append(f"    {item}: {{a: {row['a']:.3f}, b: [{b}]}}")
    return lines


def bank(args: argparse.Namespace) -> None:
    text = BANK_FILE.read_text(encoding="utf-8")
    head, marker, _ = text.partition("\n  params:\n")
    if not marker:
        raise SystemExit(f"{BANK_FILE}: no '  params:' block")
    rng = np.random.default_rng(args.seed)
    n_items = sum(1 for line in text.splitlines() if line.startswith("  - id: pf"))
    # generating parameters: strong slopes as in physical-function banks, items ordered
    # from easy (getting out of bed) to hard (running, skiing)
    a = rng.uniform(1.4, 3.2, n_items)
    location = np.linspace(-2.4, 1.2, n_items) + rng.normal(0, 0.25, n_items)
    b = location[:, None] + np.array([-1.3, -0.6, 0.0, 0.7])[None, :]
    b = np.sort(b + rng.normal(0, 0.1, b.shape), axis=1)
    truth = ItemSet.from_irt("grm", a, b)
    ids = [f"pf{k:02d}" for k in range(1, n_items + 1)]
    data, _ = simulate(truth, args.n, rng, item_ids=ids)
    data = data + 1  # option codes 1..5
    result = fit(data, "grm", categories={i: [1, 2, 3, 4, 5] for i in ids}, se=False)
    head = "\n".join(
        f"    n: {args.n}" if line.startswith("    n: ") else line for line in head.splitlines()
    )
    BANK_FILE.write_text(head + marker + "\n".join(_format_params(result)) + "\n", encoding="utf-8")
    print(f"wrote {BANK_FILE} ({n_items} items, n = {args.n}, logLik {result.loglik:.1f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/irt.py", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("speed", help="calibration and CAT-step timings")
    sp.add_argument("--tests", type=int, default=30, help="adaptive tests per selection rule")
    sp.set_defaults(run=speed)
    rc = sub.add_parser("recovery", help="parameter recovery table (markdown)")
    rc.add_argument("--quick", action="store_true", help="only n = 1,000")
    rc.set_defaults(run=recovery)
    pb = sub.add_parser("published", help="LSAT-6 against ltm and mirt")
    pb.set_defaults(run=published)
    gm = sub.add_parser("girth", help="GPCM and 2PL beside girth")
    gm.set_defaults(run=girth_models)
    bk = sub.add_parser("bank", help="recalibrate the synthetic demonstration bank")
    bk.add_argument("--n", type=int, default=3000)
    bk.add_argument("--seed", type=int, default=14)
    bk.set_defaults(run=bank)
    args = parser.parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
