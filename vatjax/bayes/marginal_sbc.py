"""Simulation-based calibration (Talts et al. 2018) of the ``mvn-marginal`` model.

Each replicate draws gamma, tau and Omega from the preset's prior, shift vectors
``d_s = Delta_s + e_s`` from the model itself (Delta_s ~ MVN(gamma, diag(tau) Omega
diag(tau)), e_s ~ N(0, D) with D known, two noise patterns), and fits them with the same
per-cell NUTS as :func:`vatjax.fit`: the replicates are the cells of one vmapped run. The
rank of each true value among the thinned posterior draws is uniform on 0..L when the
inference is calibrated. Checked: a shift mean, a shift sd, one Omega entry and the
noise-free nVAT.

Example:
    >>> ranks = marginal_sbc(replicates=4, n_samples=30, n_values=3, draws=40, thin=4)
    >>> ranks.columns.tolist()[:3], int(ranks["L"].iloc[0])
    (['shift mean', 'shift sd', 'Omega[0, 1]'], 20)
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pandas as pd
from scipy import stats

from vatjax.bayes.cellwise import sample_cells
from vatjax.bayes.marginal import coupling_of, marginal_model, prior_coupling
from vatjax.bayes.marginal_data import from_shifts
from vatjax.bayes.presets import load_preset
from vatjax.core.metrics import vat_from_coupling

__all__ = ["marginal_sbc", "uniformity"]

NOISE = (0.02, 0.06)  # the rating-noise variance D of each of the two noise patterns


def _prior_draws(priors: dict, replicates: int, n_values: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    _, omega = prior_coupling(jax.random.key(seed), priors, n_values, replicates)
    omega = np.asarray(omega, np.float64)
    gamma = rng.normal(0, priors["shift_mean_sd"], (replicates, n_values))
    tau = np.abs(rng.normal(0, priors["shift_sd"], (replicates, n_values)))
    return {"gamma": gamma, "tau": tau, "omega": omega,
            "nvat": np.asarray(vat_from_coupling(omega)[1], np.float64)}  # fmt: skip


def _shifts(truth: dict, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """d (1, replicate, sample, value) and its noise variances D, from the model."""
    rng = np.random.default_rng([seed, 1])
    reps, n_values = truth["gamma"].shape
    cov = truth["omega"] * truth["tau"][:, :, None] * truth["tau"][:, None, :]
    z = rng.standard_normal((reps, n_samples, n_values))
    delta = truth["gamma"][:, None] + np.einsum("rvw,rsw->rsv", np.linalg.cholesky(cov), z)
    noise = np.asarray(NOISE)[rng.integers(0, len(NOISE), (reps, n_samples))][..., None]
    noise = np.broadcast_to(noise, delta.shape)
    d = delta + np.sqrt(noise) * rng.standard_normal(delta.shape)
    return d[None], noise[None]


def marginal_sbc(
    *,
    replicates: int = 200,
    n_samples: int = 200,
    n_values: int = 4,
    chains: int = 2,
    draws: int = 500,
    thin: int = 10,
    seed: int = 2026,
    preset: str = "mvn-marginal",
) -> pd.DataFrame:
    """Ranks of the true values among the thinned posterior draws, one row per replicate
    (columns: the quantities, ``L`` the number of draws ranked against, ``divergences``)."""
    p = load_preset(preset)
    truth = _prior_draws(p.priors, replicates, n_values, seed)
    d, noise = _shifts(truth, n_samples, seed)
    data = from_shifts(d, noise)
    cells = {k: v.reshape(-1, 1, 1, *v.shape[2:]) for k, v in data.arrays().items()}
    model = functools.partial(marginal_model, priors=p.priors)
    out = sample_cells(model, cells, chains=chains, warmup=draws, draws=draws,
                       key=jax.random.key(seed), target_accept=p.sampler["target_accept"],
                       max_tree_depth=p.sampler["max_tree_depth"])  # fmt: skip
    s = out.samples  # (chain, draw, replicate, 1, 1, ...)
    omega = np.asarray(coupling_of(s["coupling_chol"][..., 0, 0, :, :]))
    post = {
        "shift mean": s["shift_mean"][..., 0, 0, 0],
        "shift sd": s["shift_sd"][..., 0, 0, 0],
        "Omega[0, 1]": omega[..., 0, 1],
        "nVAT": np.asarray(vat_from_coupling(omega)[1]),
    }
    true = {"shift mean": truth["gamma"][:, 0], "shift sd": truth["tau"][:, 0],
            "Omega[0, 1]": truth["omega"][:, 0, 1], "nVAT": truth["nvat"]}  # fmt: skip
    ranks = {k: (v[:, ::thin] < true[k]).sum((0, 1)) for k, v in post.items()}
    n_kept = post["nVAT"][:, ::thin].shape[:2]
    return pd.DataFrame({**ranks, "L": int(np.prod(n_kept)),
                         "divergences": out.stats["diverging"].sum((0, 1))})  # fmt: skip


def uniformity(ranks: pd.DataFrame, bins: int = 10, seed: int = 1) -> pd.DataFrame:
    """Chi-square test of the binned ranks and a KS test of the jittered ranks, per
    quantity (every column but ``L``, ``divergences`` and ``replicate``).

    Example:
        >>> r = pd.DataFrame({"x": np.arange(100) % 21, "L": 20})
        >>> float(uniformity(r)["chi2_p"].iloc[0]) > 0.5
        True
    """
    n_ranks = int(ranks["L"].iloc[0]) + 1
    rng = np.random.default_rng(seed)
    out = []
    for name in ranks.columns.drop(["L", "divergences", "replicate"], errors="ignore"):
        r = ranks[name].to_numpy()
        counts = np.bincount(r * bins // n_ranks, minlength=bins)
        ks = stats.kstest((r + rng.uniform(size=r.size)) / n_ranks, "uniform")
        out.append({"quantity": name, "replicates": r.size, "bins": bins,
                    "counts": " ".join(map(str, counts)),
                    "chi2_p": stats.chisquare(counts).pvalue, "ks_p": ks.pvalue})  # fmt: skip
    return pd.DataFrame(out)
