"""Benchmark: BCa bootstrap of the full VAT suite at paper scale, against scipy and numpy.

One paper-scale cell (9,002 samples x 10 values, simulated Likert shifts), 10,000
resamples, every metric (gain, gain_raw, GND, coupling, VAT, nVAT, centralization) with
BCa intervals, timed in one run against

(a) ``scipy.stats.bootstrap`` (paired, BCa) with a statistic built on
    ``scipy.stats.spearmanr``: timed on fewer resamples and extrapolated linearly to
    10,000 resamples + the 9,002 leave-one-out jackknife evaluations BCa needs;
(b) a numpy implementation that gathers the resampled rows (batched ``X[idx]``,
    ``scipy.stats.rankdata``, an einsum for the correlations), likewise extrapolated.

vatjax runs in a fresh subprocess (its peak RSS is the whole process: Python, JAX, the
data and the bootstrap), once cold (compilation included) and once warm. Then a scaling
sweep over samples (1,000 to 100,000; rows of the paper-scale cell drawn with
replacement, so the tie structure stays that of Likert shifts) and resamples (1,000 to
100,000). Prints Markdown tables for ``benchmarks/RESULTS.md``.

With ``--against REF`` it times only vatjax, on this tree and on the git commit REF (a
temporary worktree imported through PYTHONPATH), alternating runs in the same session, and
prints both with their ratio: the check that a change of structure kept the speed.

Usage:
    .venv/bin/python benchmarks/bench_bootstrap.py              # everything (~15 min)
    .venv/bin/python benchmarks/bench_bootstrap.py --devices 2 --against b29603e
    .venv/bin/python benchmarks/bench_bootstrap.py --quick      # smaller sweep
    .venv/bin/python benchmarks/bench_bootstrap.py --devices 2  # shard over 2 host devices
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import machine, peak_rss, tree_at
from benchlib import run_worker as run_worker_process

N_PAPER = 9002
B_PAPER = 10_000


# --------------------------------------------------------------------------------------
# data


def paper_cell(path: Path) -> Path:
    """Simulate the paper-scale cell once and save its shifts (netCDF)."""
    import vatjax

    if path.exists():
        return path
    study = vatjax.simulate_study(
        seed=0,
        n_models=1,
        n_scenarios=N_PAPER,
        targets=[("Security", 1)],
        strategies=["prompt-4shot"],
        effects=(0.9,),
        coupling=0.075,
    )
    vatjax.save(vatjax.shifts(vatjax.load_judgments(study.table)), path)
    return path


def resized(shifts, n: int, seed: int = 0):
    """n scenarios drawn with replacement from the cell's (keeps the tie structure)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, shifts.sizes["scenario"], n)
    out = shifts.isel(scenario=idx)
    return out.assign_coords(scenario=[f"s{i}" for i in range(n)])


# --------------------------------------------------------------------------------------
# vatjax (runs in a worker subprocess)


def worker(args) -> None:
    import jax

    import vatjax

    shifts = _as_array(vatjax.load(args.data))
    out: dict = {"devices": len(jax.devices()), "platform": jax.devices()[0].platform}
    if args.task == "paper":
        kw = dict(n_resamples=B_PAPER, interval="bca", seed=0, quiet=True)
        rss0 = peak_rss()
        t = time.perf_counter()
        ds = vatjax.bootstrap(shifts, **kw)
        out["cold_s"] = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        ds = vatjax.bootstrap(shifts, **kw)
        out["warm_s"] = time.perf_counter() - t
        out["warm_cpu_s"] = time.process_time() - c
        out["peak_rss"] = peak_rss()
        out["rss_before"] = rss0
        out["jackknife_groups"] = ds.attrs["jackknife_groups"]
        out["engine"] = ds.attrs["coupling_engine"]
        full = dict(kw, jackknife=N_PAPER)
        vatjax.bootstrap(shifts, **dict(full, n_resamples=2))  # compile is shared; warm-up
        t = time.perf_counter()
        ds_full = vatjax.bootstrap(shifts, **full)
        out["warm_full_jackknife_s"] = time.perf_counter() - t
        out["full_jackknife_groups"] = ds_full.attrs["jackknife_groups"]
        out["peak_rss_all"] = peak_rss()
        out["nvat"] = [ds["nvat"].sel(stat=s).item() for s in ("estimate", "lower", "upper", "se")]
        out["gain"] = [ds["gain"].sel(stat=s).item() for s in ("estimate", "lower", "upper", "se")]
        out["groups"] = _groups(shifts)
    else:  # one scaling point: n samples, b resamples
        sh = resized(shifts, args.n) if args.n != shifts.sizes["scenario"] else shifts
        kw = dict(interval="bca", seed=0, quiet=True)
        vatjax.bootstrap(sh, n_resamples=2, **kw)  # compile (shapes do not depend on b)
        t, c = time.perf_counter(), time.process_time()
        ds = vatjax.bootstrap(sh, n_resamples=args.b, **kw)
        out["warm_s"] = time.perf_counter() - t
        out["warm_cpu_s"] = time.process_time() - c
        out["jackknife_groups"] = ds.attrs["jackknife_groups"]
        out["peak_rss"] = peak_rss()
        out["groups"] = _groups(sh)
    print("RESULT " + json.dumps(out))


def _as_array(obj):
    import xarray as xr

    return obj[next(iter(obj.data_vars))] if isinstance(obj, xr.Dataset) else obj


def _groups(shifts) -> int:
    x = shifts.transpose(..., "scenario", "value").values.reshape(-1, *shifts.shape[-2:])[0]
    k = sum(len(np.unique(c[~np.isnan(c)])) for c in x.T)
    return int(-(-k // 64) * 64)


def run_worker(
    data: Path, devices: int, task: str, n: int = 0, b: int = 0, source: Path | None = None
) -> dict:
    """One worker in a fresh process; ``source`` imports vatjax from that tree instead."""
    args = ["--worker", task, "--data", str(data), "--n", str(n), "--b", str(b)]
    return run_worker_process(__file__, args, devices, source)


def against(data: Path, devices: int, ref: str, repeats: int) -> None:
    """This tree against commit ``ref``, alternating fresh processes; prints a table."""
    sha, tree = tree_at(ref)
    runs: dict[str, list[dict]] = {"this tree": [], sha: []}
    for _ in range(repeats):
        runs["this tree"].append(run_worker(data, devices, "paper"))
        runs[sha].append(run_worker(data, devices, "paper", source=tree))
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n### Bootstrap engine: this tree against {sha}, {date}\n")
    print(f"Command: `.venv/bin/python benchmarks/bench_bootstrap.py --devices {devices} "
          f"--against {ref} --repeats {repeats}`  ")  # fmt: skip
    print(f"Machine: {machine()}; load average at the end: {os.getloadavg()[0]:.1f}.  ")
    print(f"One cell, {N_PAPER:,} x 10, {B_PAPER:,} resamples, BCa (1,000 jackknife groups), "
          f"every metric; fresh processes alternating, {repeats} of each.\n")  # fmt: skip
    print("| code | warm runs (s) | median warm (s) | median cold (s) | peak RSS (GiB) |")
    print("|---|---|---:|---:|---:|")
    med = {}
    for name, rs in runs.items():
        med[name] = float(np.median([r["warm_s"] for r in rs]))
        warm = ", ".join(f"{r['warm_s']:.2f}" for r in rs)
        cold = float(np.median([r["cold_s"] for r in rs]))
        rss = max(r["peak_rss"] for r in rs) / 1024**3
        print(f"| {name} | {warm} | {med[name]:.2f} | {cold:.2f} | {rss:.2f} |")
    pairs = list(zip(runs["this tree"], runs[sha], strict=True))
    same = all(a[k][0] == b[k][0] for a, b in pairs for k in ("nvat", "gain"))
    bounds = max(abs(x - y) for a, b in pairs for k in ("nvat", "gain") for x, y in
                 zip(a[k][1:3], b[k][1:3], strict=True))  # fmt: skip
    print(f"\nThis tree / {sha}: {med['this tree'] / med[sha]:.3f} (median warm time). "
          f"Estimates identical: {same}; largest difference of an interval bound "
          f"(nVAT, gain): {bounds:.2g} (the BCa jackknife groups are random draws).")  # fmt: skip


# --------------------------------------------------------------------------------------
# baselines


def suite_numpy(x: np.ndarray, target: int, direction: float) -> np.ndarray:
    """The full VAT suite of one resample, numpy + scipy.stats.spearmanr (baseline a)."""
    import scipy.stats

    r = scipy.stats.spearmanr(x).statistic
    gain_raw = x[:, target].mean()
    gain = direction * gain_raw
    gnd = x.mean(0) / abs(gain)
    gnd[target] = np.sign(gain)
    sq = r.copy()
    np.fill_diagonal(sq, 0.0)
    vat = np.sqrt((sq**2).sum(1))
    nvat = np.sqrt((sq**2).sum() / len(vat))
    gini = np.abs(vat[:, None] - vat[None]).sum() / (2 * len(vat) ** 2 * vat.mean())
    return np.concatenate([[gain, gain_raw], gnd, r.ravel(), vat, [nvat, gini]])


def baseline_scipy(x: np.ndarray, target: int, direction: float, b_small: int) -> dict:
    """scipy.stats.bootstrap, paired, statistic on spearmanr: time per evaluation."""
    import scipy.stats

    def stat(*cols):
        return suite_numpy(np.column_stack(cols), target, direction)

    t, c = time.perf_counter(), time.process_time()
    scipy.stats.bootstrap(
        tuple(x.T), stat, n_resamples=b_small, paired=True, vectorized=False,
        method="percentile", rng=np.random.default_rng(0),
    )  # fmt: skip
    per = (time.perf_counter() - t) / b_small
    per_cpu = (time.process_time() - c) / b_small
    # BCa adds n leave-one-out evaluations of the same statistic (n - 1 rows each)
    t = time.perf_counter()
    for i in range(min(50, len(x))):
        stat(*np.delete(x, i, axis=0).T)
    per_jack = (time.perf_counter() - t) / min(50, len(x))
    return {"per_resample": per, "per_jackknife": per_jack, "b_measured": b_small,
            "per_cpu": per_cpu}  # fmt: skip


def _suite_batched(xb: np.ndarray, target: int, direction: float) -> np.ndarray:
    """Baseline (b) on a batch of materialised resamples xb (C, n, V)."""
    import scipy.stats

    ranks = scipy.stats.rankdata(xb, axis=1)
    rc = ranks - ranks.mean(1, keepdims=True)
    cov = np.einsum("cnv,cnw->cvw", rc, rc)
    sd = np.sqrt(np.einsum("cvv->cv", cov))
    r = cov / (sd[:, :, None] * sd[:, None, :])
    gain_raw = xb[:, :, target].mean(1)
    gain = direction * gain_raw
    gnd = xb.mean(1) / np.abs(gain)[:, None]
    gnd[:, target] = np.sign(gain)
    sq = r.copy()
    sq[:, np.arange(r.shape[1]), np.arange(r.shape[1])] = 0
    vat = np.sqrt((sq**2).sum(2))
    nvat = np.sqrt((sq**2).sum((1, 2)) / vat.shape[1])
    gini = np.abs(vat[:, :, None] - vat[:, None]).sum((1, 2)) / (
        2 * vat.shape[1] ** 2 * vat.mean(1)
    )
    return np.concatenate(
        [gain[:, None], gain_raw[:, None], gnd, r.reshape(len(r), -1), vat, nvat[:, None],
         gini[:, None]], axis=1,
    )  # fmt: skip


def baseline_numpy(x: np.ndarray, target: int, direction: float, b_small: int) -> dict:
    """Gathers resampled rows in batches of 32: time per resample and per jackknife."""
    rng = np.random.default_rng(0)
    n = len(x)
    t, c = time.perf_counter(), time.process_time()
    for start in range(0, b_small, 32):
        idx = rng.integers(0, n, (min(32, b_small - start), n))
        _suite_batched(x[idx], target, direction)
    per = (time.perf_counter() - t) / b_small
    per_cpu = (time.process_time() - c) / b_small
    t = time.perf_counter()
    keep = np.ones((32, n), bool)
    keep[np.arange(32), np.arange(32)] = False
    idx = np.nonzero(keep)[1].reshape(32, n - 1)
    _suite_batched(x[idx], target, direction)
    per_jack = (time.perf_counter() - t) / 32
    return {"per_resample": per, "per_jackknife": per_jack, "b_measured": b_small,
            "per_cpu": per_cpu}  # fmt: skip


def gemm_peak() -> dict:
    """Measured matrix-multiply peak of this machine (JAX, 2048^3, best of 5), op/s."""
    import jax
    import jax.numpy as jnp

    out = {}
    for name, dt, acc in (
        ("f32", jnp.float32, jnp.float32),
        ("bf16", jnp.bfloat16, jnp.float32),
        ("int8", jnp.int8, jnp.int32),
    ):
        a = jnp.ones((2048, 2048), dt)
        f = jax.jit(lambda a, acc=acc: jnp.dot(a, a, preferred_element_type=acc))
        f(a).block_until_ready()
        best = min(_timed(lambda f=f, a=a: f(a).block_until_ready()) for _ in range(5))
        out[name] = 2 * 2048**3 / best
    return out


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --------------------------------------------------------------------------------------


def flops_per_evaluation(n: int, v: int, groups: int) -> float:
    """FLOPs of one weight vector in spearman_many + gain_gnd (products only)."""
    return 2 * n * groups + 2 * n * v * v + 2 * n * (2 * v + 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller scaling sweep")
    ap.add_argument("--devices", type=int, default=1, help="host devices to shard over")
    ap.add_argument("--against", default=None, help="git ref: time vatjax here and there only")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each with --against")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--b", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.task = args.worker
        return worker(args)

    import vatjax

    tmp = Path(tempfile.gettempdir()) / "vatjax-bench"
    tmp.mkdir(exist_ok=True)
    t = time.perf_counter()
    data = paper_cell(tmp / f"paper-cell-{N_PAPER}.nc")
    print(f"# data ready in {time.perf_counter() - t:.0f} s: {data}", file=sys.stderr)
    if args.against:
        return against(data, args.devices, args.against, args.repeats)
    shifts = _as_array(vatjax.load(data))
    x = shifts.values[0, 0].astype(np.float64)
    target = list(shifts["value"].values).index(str(shifts["target"].values[0]))
    direction = float(shifts["direction"].values[0])

    print("# vatjax (subprocess)", file=sys.stderr)
    ours = run_worker(data, args.devices, "paper")
    print("# baselines", file=sys.stderr)
    peak = gemm_peak()
    a = baseline_scipy(x, target, direction, b_small=100 if not args.quick else 30)
    b = baseline_numpy(x, target, direction, b_small=320 if not args.quick else 64)

    evals = B_PAPER + N_PAPER  # BCa: resamples + leave-one-out jackknife
    t_a = B_PAPER * a["per_resample"] + N_PAPER * a["per_jackknife"]
    t_b = B_PAPER * b["per_resample"] + N_PAPER * b["per_jackknife"]
    cpu_a = evals * a["per_cpu"]  # single-threaded: CPU time ~ wall time
    v = x.shape[1]
    f_ours = flops_per_evaluation(N_PAPER, v, ours["groups"])
    n_eval = B_PAPER + ours["jackknife_groups"] + 1
    n_eval_full = B_PAPER + ours["full_jackknife_groups"] + 1
    gib = 1024**3

    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n### Bootstrap of the full VAT suite (issue 3), {date}\n")
    print(f"Command: `.venv/bin/python benchmarks/bench_bootstrap.py"
          f"{' --quick' if args.quick else ''} --devices {args.devices}`  ")  # fmt: skip
    print(f"Machine: {machine()}; vatjax sharded over {ours['devices']} host device(s).  ")
    print(f"Load average at the start: {os.getloadavg()[0]:.1f} (the machine is shared).\n")
    print(f"One cell, {N_PAPER:,} samples x {v} values (simulated Likert shifts, "
          f"{ours['groups']} tie groups after padding), {B_PAPER:,} resamples, BCa, every "
          f"metric.\n")  # fmt: skip
    print("| implementation | jackknife for BCa | time (s) | vs (a) | how timed |")
    print("|---|---|---:|---:|---|")
    print(f"| vatjax.bootstrap, warm | {ours['jackknife_groups']:,} groups | "
          f"{ours['warm_s']:.2f} | {t_a / ours['warm_s']:.0f}x | measured (CPU time "
          f"{ours['warm_cpu_s']:.1f} s: {cpu_a / ours['warm_cpu_s']:.0f}x less than (a)) |")  # fmt: skip
    print(f"| vatjax.bootstrap, cold (incl. compile) | {ours['jackknife_groups']:,} groups | "
          f"{ours['cold_s']:.2f} | {t_a / ours['cold_s']:.0f}x | measured |")  # fmt: skip
    print(f"| vatjax.bootstrap, warm | leave-one-out ({ours['full_jackknife_groups']:,}) | "
          f"{ours['warm_full_jackknife_s']:.2f} | {t_a / ours['warm_full_jackknife_s']:.0f}x "
          f"| measured |")  # fmt: skip
    print(f"| (a) scipy.stats.bootstrap + spearmanr | leave-one-out ({N_PAPER:,}) | "
          f"{t_a:.0f} | 1x | {a['b_measured']} resamples + 50 jackknife evaluations timed, "
          f"x {evals:,} evaluations |")  # fmt: skip
    print(f"| (b) numpy, gathered rows (batches of 32) | leave-one-out ({N_PAPER:,}) | "
          f"{t_b:.0f} | {t_a / t_b:.1f}x | {b['b_measured']} resamples + 32 jackknife "
          f"evaluations timed, extrapolated |")  # fmt: skip
    print()
    print(f"Peak memory (RSS of the whole vatjax process: Python, JAX, data, bootstrap): "
          f"{ours['peak_rss'] / gib:.2f} GiB after the 10,000-resample runs "
          f"({ours['rss_before'] / gib:.2f} GiB before them); "
          f"{ours['peak_rss_all'] / gib:.2f} GiB after the leave-one-out run.  ")  # fmt: skip
    achieved = f_ours * n_eval / ours["warm_s"]
    achieved_full = f_ours * n_eval_full / ours["warm_full_jackknife_s"]
    rank_ops = 2 * N_PAPER * ours["groups"]
    print(f"Arithmetic: {f_ours / 1e6:.1f} MFLOP per weight vector (rank GEMM 2NK = "
          f"{rank_ops / 1e6:.1f} M int8 ops with int32 sums; covariance 2NV^2 and gain "
          f"2N(2V+2) in float32), {n_eval:,} weight vectors: {achieved / 1e9:.1f} G op/s "
          f"achieved ({achieved_full / 1e9:.1f} with the leave-one-out jackknife), against "
          f"a measured matrix-multiply peak of {peak['f32'] / 1e9:.0f} GFLOP/s (float32), "
          f"{peak['bf16'] / 1e9:.0f} (bfloat16) and {peak['int8'] / 1e9:.0f} G op/s (int8) "
          f"on this machine ({achieved / peak['f32']:.0%} of the float32 peak). The rest "
          f"of the time is the rank gathers, the PRNG and the per-resample reductions, "
          f"which are memory-bound, not FLOPs.  ")  # fmt: skip
    print(f"Estimates: nVAT {ours['nvat'][0]:.3f} [{ours['nvat'][1]:.3f}, "
          f"{ours['nvat'][2]:.3f}] se {ours['nvat'][3]:.4f}; gain {ours['gain'][0]:.3f} "
          f"[{ours['gain'][1]:.3f}, {ours['gain'][2]:.3f}] se {ours['gain'][3]:.4f}.\n")  # fmt: skip

    print("Scaling (warm, BCa, every metric; jackknife: leave-one-out up to 2,000 samples, "
          "1,000 groups above):\n")  # fmt: skip
    print("| samples | resamples | tie groups | time (s) | CPU (s) | us per weight vector "
          "| peak RSS (GiB) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    ns = [1000, 3000, 10_000, 30_000, 100_000] if not args.quick else [1000, 10_000]
    bs = [1000, 10_000, 100_000] if not args.quick else [1000, 10_000]
    grid = [(n, 1000) for n in ns] + [(N_PAPER, bb) for bb in bs]
    for n, bb in grid:
        res = run_worker(data, args.devices, "scale", n=n, b=bb)
        evals_n = bb + res["jackknife_groups"] + 1
        print(f"| {n:,} | {bb:,} | {res['groups']} | {res['warm_s']:.2f} | "
              f"{res['warm_cpu_s']:.1f} | {1e6 * res['warm_s'] / evals_n:.0f} | "
              f"{res['peak_rss'] / gib:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
