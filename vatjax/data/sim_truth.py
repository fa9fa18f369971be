"""The simulator's ground truth: the latent coupling, the noise-free coupling and the
observed-scale coupling, each with its VAT, nVAT and centralization (diagonal excluded).

- **latent**: Omega, the correlation of the latent shifts Delta (logit scale).
- **noise-free**: the coupling of the expected value-score shifts,
  E[delta[s] | theta, Delta, sigma] with the rating noise integrated out (the expected
  phi of each judgment from the ordered-logistic probabilities). This is what the
  Spearman figure converges to with unlimited judgments per sample; computed by Monte
  Carlo over fresh latent draws, on the Pearson and the Spearman scale.
- **observed**: the Spearman coupling of noisy value-score shifts (one rating per
  judgment slot, no missing ratings) on the same fresh draws: the paper's figure on an
  unlimited number of samples.

Example:
    >>> import vatjax
    >>> truth = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3).truth
    >>> bool((truth["nvat_observed"] < truth["nvat_noise_free_spearman"]).all())
    True
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.stats import rankdata

from vatjax.core.debias import debiased_tax
from vatjax.core.metrics import vat_from_coupling
from vatjax.data.scoring import phi
from vatjax.data.sim_model import (
    Design,
    expected_phi,
    latent,
    linear_predictor,
    ordered_logistic,
    value_scores,
)
from vatjax.taxonomy import Taxonomy

__all__ = ["monte_carlo_truth", "truth_dataset"]

_TIE_DECIMALS = 10


def _corr(x: np.ndarray) -> np.ndarray:
    """Pearson correlation of the columns of x (sample, value) x (..., value, value2)."""
    x = x - x.mean(-2, keepdims=True)
    cov = np.swapaxes(x, -1, -2) @ x
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / (sd[..., :, None] * sd[..., None, :])


def _spearman(x: np.ndarray) -> np.ndarray:
    """Spearman correlation over the sample axis (-2), ties at average ranks."""
    return _corr(rankdata(x, axis=-2))


def monte_carlo_truth(rng, d: Design, n: int) -> dict[str, np.ndarray]:
    """Noise-free and observed shifts of n fresh samples per model, reduced to couplings.

    Returns:
        ``noise_free`` and ``noise_free_spearman`` (model, intervention, value, value2),
        ``observed`` (Spearman of noisy shifts, same dims) and ``gain`` (model,
        intervention): the oriented mean noise-free shift of the target value (phi).
    """
    theta, delta, sigma = latent(rng, d, n)
    targets = [list(d.values).index(tv) for _, _, tv, _, _ in d.interventions]
    directions = np.array([dr for _, _, _, dr, _ in d.interventions], float)
    out: dict[str, list] = {"noise_free": [], "noise_free_spearman": [], "observed": []}
    gain = []
    for m in range(len(d.models)):
        eta = linear_predictor(d, theta[m], delta[m], sigma)
        k = len(d.cuts[m]) + 1
        ephi = value_scores(d, sigma * expected_phi(eta.astype(np.float32), d.cuts[m]))
        ratings = ordered_logistic(rng, eta, d.cuts[m])
        noisy = value_scores(d, sigma * phi(ratings, 1, k))
        nf_shift = ephi[1:] - ephi[0]  # (intervention, sample, value)
        obs_shift = np.round(noisy[1:] - noisy[0], _TIE_DECIMALS)
        out["noise_free"].append(_corr(nf_shift))
        out["noise_free_spearman"].append(_spearman(nf_shift))
        out["observed"].append(_spearman(obs_shift))
        target_shift = nf_shift[np.arange(len(targets)), :, targets].mean(-1)
        gain.append(directions * target_shift)
    return {**{k: np.stack(v) for k, v in out.items()}, "gain": np.stack(gain)}


def _metric_vars(name: str, coupling: np.ndarray, dims: tuple, what: str, n: int = 0) -> dict:
    """coupling, vat, nvat and centralization variables of one coupling, with attrs; a
    coupling from ``n`` > 0 samples has the tax debiased for them (vatjax.core.debias)."""
    if n:
        d = debiased_tax(coupling.astype(np.float32), np.full(coupling.shape, float(n), np.float32))
        vat, nvat, gini = np.asarray(d.vat), np.asarray(d.nvat), np.asarray(d.centralization)
        what = f"{what}, debiased for {n:,} samples"
    else:
        vat, nvat, gini = (np.asarray(a) for a in vat_from_coupling(coupling))
    sfx = name and f"_{name}"
    attrs = {"units": "correlation", "scale": what}
    return {
        f"coupling{sfx}": ((*dims, "value", "value2"), coupling, {**attrs, "long_name":
            f"coupling matrix ({what})"}),
        f"vat{sfx}": ((*dims, "value"), vat, {**attrs, "long_name": f"VAT(u) ({what})"}),
        f"nvat{sfx}": (dims, nvat, {**attrs, "long_name": f"nVAT ({what})"}),
        f"centralization{sfx}": (dims, gini, {**attrs, "long_name":
            f"Gini of VAT ({what})"}),
    }  # fmt: skip


def truth_dataset(d: Design, mc: dict, seed: int, taxonomy: Taxonomy, n: int) -> xr.Dataset:
    """The ground truth as a Dataset: the latent, noise-free and observed couplings with
    their VAT (diagonal excluded), the gain, and the parameters behind them."""
    iv, miv = ("intervention",), ("model", "intervention")
    latent_sp = 6 / np.pi * np.arcsin(d.omega / 2)
    data = {
        "shift_mean": (("model", *iv, "value"), d.mu, {"units": "logit (latent)"}),
        "shift_sd": ((), d.shift_sd, {"units": "logit (latent)"}),
        **_metric_vars("", d.omega, iv, "latent shifts, Pearson"),
        **_metric_vars("spearman", latent_sp, iv, "latent shifts, Spearman"),
        **_metric_vars("noise_free", mc["noise_free"], miv, "noise-free shifts, Pearson", n),
        **_metric_vars(
            "noise_free_spearman", mc["noise_free_spearman"], miv, "noise-free shifts, Spearman",
            n,
        ),
        **_metric_vars("observed", mc["observed"], miv, "observed shifts, Spearman", n),
        "gain": (miv, mc["gain"], {"units": "phi", "long_name": "oriented gain"}),
        "cutpoints": (("model", "cutpoint"), d.cuts),
        "item_effect": (("micro_value",), d.beta),
    }
    return xr.Dataset(
        data,
        coords={
            "model": d.models,
            "intervention": [c[0] for c in d.interventions],
            "strategy": (iv, [c[1] for c in d.interventions]),
            "target": (iv, [c[2] for c in d.interventions]),
            "direction": (iv, [c[3] for c in d.interventions]),
            "value": list(d.values),
            "value2": list(d.values),
            "micro_value": list(d.micro),
        },
        attrs={"seed": seed, "include_diagonal": 0, "taxonomy": taxonomy.to_json(),
               "n_truth_draws": n},
    )  # fmt: skip
