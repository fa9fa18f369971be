"""vatjax (NumPyro NUTS) against the same model in PyMC (nutpie, else PyMC's NUTS).

Both fit ``ordinal-lkj`` (same parameterisation, same priors, same data) in the same run;
the posterior VAT quantities of both are computed by the same code
(``vatjax.bayes.posterior.draw_quantities``) from their draws. Reported: the bulk ESS of
the slowest VAT quantity per second of sampling, for each, and their ratio; also the
wall time of the default demo fit (``vatjax.fit`` of ``demo_subset``, preset settings).

PyMC and nutpie are benchmark-only: install them beside vatjax, e.g.
``pip install pymc nutpie`` (or ``pip install --target DIR`` and ``PYTHONPATH=DIR``).

Run:
    .venv/bin/python benchmarks/bench_bayes.py                   # both benchmarks
    .venv/bin/python benchmarks/bench_bayes.py --skip-demo --scenarios 40 --interventions 2
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import jax
import numpy as np
import xarray as xr

import vatjax
from vatjax.bayes import demo_subset, load_preset
from vatjax.bayes.data import prepare
from vatjax.bayes.diagnostics import constant_entries, convergence_stats
from vatjax.bayes.model import model_arrays
from vatjax.bayes.posterior import draw_quantities


def slowest_ess(vat: xr.Dataset) -> tuple[float, str]:
    """Lowest bulk ESS over every non-constant entry of every VAT quantity."""
    ess = convergence_stats(vat, "ess_bulk").where(~constant_entries(vat))
    worst = {name: float(np.nanmin(ess[name].values)) for name in ess.data_vars}
    name = min(worst, key=worst.get)
    return worst[name], name


def pymc_model(data, preset):
    """ordinal-lkj in PyMC: the parameterisation and priors of vatjax/bayes/model.py."""
    import pymc as pm
    import pytensor.tensor as pt

    pr = preset.priors
    sizes = data.sizes
    m_, i_, s_, v_ = (sizes[k] for k in ("model", "intervention", "scenario", "value"))
    mm, cc, ss, jj = np.nonzero(data.mask)
    with pm.Model() as model:
        state_mean = pm.Normal("value_state_mean", 0.0, pr["profile_sd"], shape=(m_, v_))
        state_sd = pm.HalfNormal("value_state_sd", pr["scenario_sd"], shape=(m_, v_))
        state_z = pm.Normal("value_state_z", 0.0, 1.0, shape=(m_, s_, v_))
        shift_mean = pm.Normal("shift_mean", 0.0, pr["shift_mean_sd"], shape=(m_, i_, v_))
        shift_z = pm.Normal("shift_z", 0.0, 1.0, shape=(m_, i_, s_, v_))
        chols = []
        for i in range(i_):  # LKJ on the correlation, HalfNormal on the sds, as in vatjax
            chol, _, _ = pm.LKJCholeskyCov(
                f"shift_cov_{i}", n=v_, eta=pr["lkj_concentration"],
                sd_dist=pm.HalfNormal.dist(pr["shift_sd"], shape=v_), compute_corr=True,
            )  # fmt: skip
            chols.append(chol)
        chol = pt.stack(chols)  # (I, V, V) = diag(tau) L
        state = state_mean[:, None, :] + state_sd[:, None, :] * state_z
        shift = shift_mean[:, :, None, :] + pt.einsum("ivw,misw->misv", chol, shift_z)
        latent = state[:, None] + pt.concatenate([pt.zeros((m_, 1, s_, v_)), shift], axis=1)
        center = pm.Normal("cutpoint_center", 0.0, pr["cutpoint_center_sd"], shape=m_)
        log_gap = pm.Normal(
            "cutpoint_log_gap", pr["cutpoint_log_gap_mean"], pr["cutpoint_log_gap_sd"],
            shape=(m_, sizes["category"] - 2),
        )  # fmt: skip
        steps = pt.cumsum(pt.exp(log_gap), axis=-1)
        offsets = pt.concatenate([pt.zeros((m_, 1)), steps], axis=-1)
        cuts = center[:, None] + offsets - offsets.mean(axis=-1, keepdims=True)
        item_sd = pm.HalfNormal("item_sd", pr["item_sd"])
        item = pm.ZeroSumNormal("item_effect", sigma=item_sd, shape=sizes["micro_value"])
        eta = (
            data.slot_sign[jj] * latent[mm, cc, ss, data.slot_value[jj]] + item[data.slot_micro[jj]]
        )
        pm.OrderedLogistic(
            "rating",
            eta=eta,
            cutpoints=cuts[mm],
            observed=data.rating[mm, cc, ss, jj],
            compute_p=False,
        )
    return model


def pymc_draws_to_vatjax(idata, data) -> dict:
    """PyMC's posterior as the sites vatjax's read-out expects (chain, draw, ...)."""
    post = idata.posterior
    out = {k: post[k].values.astype(np.float32) for k in (
        "value_state_mean", "value_state_sd", "value_state_z", "shift_mean", "shift_z",
        "cutpoint_center", "cutpoint_log_gap", "item_effect")}  # fmt: skip
    tau = np.stack(
        [post[f"shift_cov_{i}_stds"].values for i in range(data.sizes["intervention"])], 2
    )
    corr = np.stack(
        [post[f"shift_cov_{i}_corr"].values for i in range(data.sizes["intervention"])], 2
    )
    out["shift_sd"] = tau.astype(np.float32)
    out["coupling_chol"] = np.linalg.cholesky(corr).astype(np.float32)
    return out


def run_pymc(data, preset, chains, draws, warmup, seed):
    import pymc as pm

    model = pymc_model(data, preset)
    start = time.perf_counter()
    try:
        import nutpie

        compiled = nutpie.compile_pymc_model(model, backend="numba")
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        idata = nutpie.sample(compiled, chains=chains, draws=draws, tune=warmup, seed=seed,
                              progress_bar=False, cores=os.cpu_count())  # fmt: skip
        sampler = f"nutpie {nutpie.__version__} (numba backend)"
    except ImportError:
        compile_s = 0.0
        with model:
            idata = pm.sample(draws=draws, tune=warmup, chains=chains, random_seed=seed,
                              progressbar=False, target_accept=preset.sampler["target_accept"])  # fmt: skip
        sampler = f"PyMC {pm.__version__} NUTS"
    return idata, time.perf_counter() - start, compile_s, sampler


def compare_samplers(args) -> None:
    study = vatjax.simulate_study(seed=args.seed, n_models=1, n_scenarios=args.scenarios)
    judgments = vatjax.load_judgments(study.table)
    ints = demo_subset(judgments)["interventions"][: args.interventions]
    data = prepare(judgments, models=["model-1"], interventions=ints)
    preset = load_preset("ordinal-lkj")
    d = model_arrays(data, preset)
    print(f"data: 1 model x {len(ints)} interventions x {args.scenarios} scenarios, "
          f"{int(data.mask.sum())} ratings; {args.chains} chains x {args.warmup} warmup + "
          f"{args.draws} draws each")  # fmt: skip

    start = time.perf_counter()
    tree = vatjax.fit(judgments, chains=args.chains, draws=args.draws, warmup=args.warmup,
                      seed=args.seed, models=["model-1"], interventions=ints, progress=False,
                      predictive_draws=0)  # fmt: skip
    total = time.perf_counter() - start
    ess_v, name_v = slowest_ess(tree["vat"].to_dataset())
    t_v = tree.attrs["sampling_time_s"]
    steps_v = float(tree["sample_stats"]["n_steps"].mean())

    idata, t_p, compile_p, sampler = run_pymc(
        data, preset, args.chains, args.draws, args.warmup, args.seed
    )
    vat_p, _ = draw_quantities(
        {k: jax.numpy.asarray(v) for k, v in pymc_draws_to_vatjax(idata, data).items()},
        d,
        data,
        preset,
    )
    ess_p, name_p = slowest_ess(vat_p)
    div_p = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else -1
    steps_p = (
        float(idata.sample_stats["n_steps"].mean())
        if "n_steps" in idata.sample_stats
        else float("nan")
    )

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"jax {jax.__version__}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(
        "| sampler | sampling s | compile + other s | leapfrogs/iter | divergences | slowest VAT quantity | its bulk ESS | ESS/s |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    print(f"| vatjax (NumPyro NUTS) | {t_v:.1f} | {total - t_v:.1f} | {steps_v:.0f} | "
          f"{tree['diagnostics'].attrs['divergences']} | {name_v} | {ess_v:.0f} | {ess_v / t_v:.2f} |")  # fmt: skip
    print(f"| {sampler} | {t_p:.1f} | {compile_p:.1f} | {steps_p:.0f} | {div_p} | {name_p} | "
          f"{ess_p:.0f} | {ess_p / t_p:.2f} |")  # fmt: skip
    print(f"\nESS/s of the slowest VAT quantity, vatjax over {sampler}: "
          f"{(ess_v / t_v) / (ess_p / t_p):.2f}x")  # fmt: skip


def demo_fit(args) -> None:
    judgments = vatjax.load_judgments(vatjax.simulate_study(seed=0).table)
    start = time.perf_counter()
    tree = vatjax.fit(judgments, seed=args.seed, progress=False, **demo_subset(judgments))
    wall = time.perf_counter() - start
    diag = tree["diagnostics"].attrs
    a = tree.attrs
    print(f"\ndefault demo fit: {a['chains']} chains x {a['warmup']} warmup + {a['draws']} draws; "
          f"wall {wall:.0f} s (sampling {a['sampling_time_s']:.0f} s, posterior VAT + LOO "
          f"{a['posterior_vat_time_s']:.0f} s, export {a['export_time_s']:.0f} s); "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"max R-hat {diag['max_rhat']:.4f}, min bulk ESS {diag['min_ess_bulk']:.0f}, "
          f"min tail ESS {diag['min_ess_tail']:.0f}, divergences {diag['divergences']}, "
          f"verdict: {'ok' if diag['ok'] else diag['problems']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", type=int, default=40)
    parser.add_argument("--interventions", type=int, default=2)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-pymc", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    if not args.skip_pymc:
        compare_samplers(args)
    if not args.skip_demo:
        demo_fit(args)


if __name__ == "__main__":
    main()
