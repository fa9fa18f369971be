"""Simulation-based calibration (Talts et al. 2018) of the ``ordinal-lkj`` model.

Each replicate draws every parameter from the prior and ratings from the model itself
(NumPyro ``Predictive`` on the same model function ``vatjax.fit`` samples), fits the
model to those ratings with NUTS, and records the rank of the true value among thinned
posterior draws. If the inference is calibrated the ranks are uniform on 0..L. Checked:
a shift mean (the target's), a scale (the target's shift sd tau) and one Omega entry.

The configuration is small so that 100+ fits finish in minutes on 2 cores: a 3-value
taxonomy with 2 micro-values each (12 ratings per scenario and condition), 1 model,
1 intervention, 20 scenarios, a 1..5 scale.

Run:
    .venv/bin/python benchmarks/sbc.py                      # 100 replicates
    .venv/bin/python benchmarks/sbc.py --replicates 200 --out sbc.csv
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro.infer import Predictive

import vatjax
from vatjax.bayes import load_preset
from vatjax.bayes.cellwise import chain_functions
from vatjax.bayes.data import prepare
from vatjax.bayes.marginal_sbc import uniformity
from vatjax.bayes.model import build_model, model_arrays

TAXONOMY = vatjax.Taxonomy(
    ("Alpha", "Beta", "Gamma"),
    {"a1": "Alpha", "a2": "Alpha", "b1": "Beta", "b2": "Beta", "g1": "Gamma", "g2": "Gamma"},
    name="sbc-3",
)
# (name, site, index into the site's value for one draw)
QUANTITIES = [
    ("shift mean (target)", "shift_mean", (0, 0, 0)),
    ("shift sd tau (target)", "shift_sd", (0, 0)),
    ("Omega[Alpha, Beta]", "coupling", (0, 0, 1)),
]


def setup(n_scenarios: int):
    template = vatjax.simulate_study(
        seed=0, n_models=1, n_scenarios=n_scenarios, targets=[("Alpha", 1)],
        strategies=["x"], effects=1.0, coupling=0.5, taxonomy=TAXONOMY,
    )  # fmt: skip
    data = prepare(vatjax.load_judgments(template.table, taxonomy=TAXONOMY))
    preset = load_preset("ordinal-lkj")
    model = build_model(preset, data.sizes)
    return model, model_arrays(data, preset)


def make_sampler(model, d, draws: int):
    """One jitted NUTS run (2 chains, vmapped) from ratings to constrained draws: compiled
    once, reused by every replicate (numpyro's MCMC re-initialises, and so recompiles, per
    dataset). The chain is :func:`vatjax.bayes.cellwise.chain_functions`'s."""
    settings = {"target_accept": 0.9, "max_tree_depth": 10, "dense_mass": False}
    one = {k: jnp.asarray(v)[None] for k, v in d.items()}
    init, advance, constrain = chain_functions(model, one, draws, settings, draws)

    def chain(key, args):
        state, _ = advance(init(key, args), args)  # warmup
        _, (zs, stats) = advance(state, args)
        return jax.vmap(constrain, in_axes=(0, None))(zs, args), stats["diverging"]

    @jax.jit
    def run(key, rating):
        args = {**d, "rating": rating}
        return jax.vmap(chain, in_axes=(0, None))(jax.random.split(key, 2), args)

    return run


def run(replicates: int, n_scenarios: int, draws: int, thin: int, seed: int) -> pd.DataFrame:
    model, d = setup(n_scenarios)
    prior = jax.jit(lambda k: Predictive(model, num_samples=1)(k, d, observe=False))
    with jax.numpy_dtype_promotion("standard"):
        sampler = make_sampler(model, d, draws)
    rows = []
    for r in range(replicates):
        k_prior, k_fit = jax.random.split(jax.random.fold_in(jax.random.key(seed), r))
        truth = {k: np.asarray(v[0]) for k, v in prior(k_prior).items()}
        start = time.perf_counter()
        post, diverging = jax.block_until_ready(sampler(k_fit, jnp.asarray(truth["rating"])))
        row = {"replicate": r, "seconds": time.perf_counter() - start,
               "divergences": int(np.sum(diverging))}  # fmt: skip
        for name, site, idx in QUANTITIES:
            chain_draws = np.asarray(post[site])[(slice(None), slice(None), *idx)]
            thinned = chain_draws[:, ::thin].ravel()
            row[name] = int(np.sum(thinned < truth[site][idx]))
        row["L"] = thinned.size
        rows.append(row)
        print(f"{r + 1}/{replicates} {row}", flush=True)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """A pandas table as a Markdown table (floats to 3 decimals)."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.values]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--draws", type=int, default=500, help="warmup and draws per chain")
    parser.add_argument("--thin", type=int, default=10)
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", default=None, help="CSV of the ranks")
    args = parser.parse_args()
    start = time.perf_counter()
    ranks = run(args.replicates, args.scenarios, args.draws, args.thin, args.seed)
    if args.out:
        ranks.to_csv(args.out, index=False)
    table = uniformity(ranks.drop(columns=["replicate", "seconds", "divergences"]), args.bins)
    print(f"\nSBC of ordinal-lkj: {args.replicates} replicates, 2 chains x {args.draws} draws "
          f"thinned by {args.thin} (L = {int(ranks['L'].iloc[0])}), "
          f"{time.perf_counter() - start:.0f} s, "
          f"{int((ranks['divergences'] > 0).sum())} replicate(s) with divergences")  # fmt: skip
    print(markdown(table))


if __name__ == "__main__":
    main()
