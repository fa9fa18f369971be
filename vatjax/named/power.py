"""Power and sample size of a VAT study, by simulation: :func:`power`.

Example:
    >>> import vatjax
    >>> ds = vatjax.power([40, 400], strength=0.5, gain=0.3, n_studies=200, check=False)
    >>> ds["power_tax"].dims, [str(t) for t in ds["test"].values]
    (('n',), ['tax', 'gain_difference'])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import numpy as np
import xarray as xr

from vatjax.core.grid_ranks import fits_grid, grid_bounds
from vatjax.core.power import detection_power, n_for_power
from vatjax.core.shift_model import observed_tax
from vatjax.engine.studies import DEFAULT_MEMORY, gain_rejections, tax_draws
from vatjax.named.power_inputs import Design, design
from vatjax.named.validate import check_resampling
from vatjax.taxonomy import SCHWARTZ

__all__ = ["power"]

_STREAMS = {"tax": 0, "null": 1, "gain": 2, "check_tax": 3, "check_null": 4, "check_gain": 5}
"""Each random stream is fold_in(key(seed), stream); study i of it is split(stream, S)[i]."""

CHECK_FACTOR = 4
"""The check at n_for_power simulates this many times n_studies (one n: cheap)."""


def power(
    n: Sequence[int] | int,
    *,
    strength: float | None = None,
    nvat: float | None = None,
    omega=None,
    gain: float | None = None,
    gain_b: float | None = None,
    paired_correlation: float | None = None,
    noise: float | None = None,
    shift_sd: float | None = None,
    step: float = 0.25,
    pilot: xr.DataArray | None = None,
    alpha: float = 0.05,
    n_studies: int = 1000,
    seed: int = 0,
    target_power: float = 0.8,
    check: bool = True,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> xr.Dataset:
    """The power of a study of n samples to detect the tax and a gain difference, and the n
    needed for ``target_power``, from ``n_studies`` simulated studies per n.

    The simulated cell is :mod:`vatjax.core.shift_model`'s: per sample, true shifts
    N(mean, shift_sd^2 Omega), plus rating noise of sd ``noise``, on a grid of ``step``
    (ties). A study detects the tax when its nVAT exceeds the noise floor: the 1 - alpha
    quantile of nVAT over as many null studies (Omega = I, the same n and marginals; what
    :func:`vatjax.noise_floor`'s permutations give on real data). The gain test is a
    two-sided t-test at ``alpha`` of gain_a - gain_b on the same samples (paired), or of
    gain_a against no change when ``gain_b`` is None.

    Args:
        n: the sample sizes (each >= 4).
        strength: the circumplex strength c of Omega (0 to 1).
        nvat: instead, the observed-scale nVAT (the debiased figure on infinitely many
            samples), calibrated to c with
            :func:`~vatjax.core.shift_model.strength_for_nvat`.
        omega: instead, the noise-free coupling Omega itself (a correlation matrix).
        gain: strategy a's gain, the target's mean shift (phi scale); None: no gain test.
        gain_b: strategy b's gain, on the same samples.
        paired_correlation: the correlation of the two strategies' observed target shifts
            on the same sample (default 0).
        noise: the sd of the rating noise (default 0.5).
        shift_sd: the sd of the true shifts (default 0.5).
        step: the grid of the shifts (0.25; 0: continuous).
        pilot: instead of strength/nvat/omega, gain, gain_b, shift_sd: value-level shifts
            of one model x intervention (or two: strategies a and b) from
            :func:`vatjax.shifts`; its debiased nVAT, gains, shift sd (split evenly between
            true shifts and rating noise unless ``noise`` is given) and paired correlation
            set the design.
        alpha: the level of both tests.
        n_studies: simulated studies per n (and as many null studies).
        seed: seed of the JAX PRNG key; each random stream is ``fold_in(key, stream)``.
        target_power: the power ``n_for_power`` aims at.
        check: simulate again at each ``n_for_power`` with fresh random numbers.
        devices, max_memory: the devices to shard the studies over (default: all) and the
            working memory per device, in bytes.

    Returns:
        Dataset over ``n``: ``power_tax``, ``power_gain_difference``, their Monte Carlo
        ``*_se``, ``floor_nvat``, ``mean_nvat``, ``mean_nvat_debiased``; over ``test``:
        ``n_for_power`` (the power curve crossing ``target_power``, interpolated in log
        n; NaN with ``n_for_power_status`` saying why), ``power_check`` and its se (the
        power at that n in a fresh simulation); ``omega``; the design in attrs.

    Example:
        >>> import vatjax
        >>> ds = vatjax.power([30, 300], strength=0.6, n_studies=200, check=False)
        >>> bool(ds["power_tax"].sel(n=300) > ds["power_tax"].sel(n=30))
        True
    """
    d = design(n, strength=strength, nvat=nvat, omega=omega, gain=gain, gain_b=gain_b,
               paired_correlation=paired_correlation, noise=noise, shift_sd=shift_sd,
               step=step, pilot=pilot, alpha=alpha, n_studies=n_studies, seed=seed,
               target_power=target_power)  # fmt: skip
    check_resampling(max_memory, devices)
    return _simulate(d, check, {"devices": devices, "max_memory": int(max_memory)})


def _simulate(d: Design, check: bool, run: dict) -> xr.Dataset:
    """The curves, the n for the target power and its check, as the Dataset."""
    curves = _tax_curves(d, d.ns, "tax", "null", run, d.n_studies)
    if d.gains is not None:
        p, se = _gain_curve(d, d.ns, "gain", run, d.n_studies)
        curves |= {"power_gain_difference": p, "power_gain_difference_se": se}
    tests = ["tax"] + (["gain_difference"] if d.gains is not None else [])
    sizes = {
        t: n_for_power(np.array(d.ns), curves[f"power_{t}"], d.target_power, d.alpha, d.n_studies)
        for t in tests
    }
    checked = {t: _check(d, t, sizes[t][0], run) if check else (math.nan, math.nan)
               for t in tests}  # fmt: skip
    return _dataset(d, curves, tests, sizes, checked, check)


def _key(d: Design, stream: str):
    return jax.random.fold_in(jax.random.key(d.seed), _STREAMS[stream])


def _keys(d: Design, stream: str, count: int):
    return jax.random.split(_key(d, stream), count)


def _tax_curves(d: Design, ns, stream: str, null_stream: str, run, count: int) -> dict:
    """power_tax, its se, floor_nvat, mean_nvat and mean_nvat_debiased over ``ns`` from
    ``count`` studies (and as many null studies)."""
    sd = math.hypot(d.shift_sd, d.noise)
    grid = grid_bounds(0.0, sd, d.step) if fits_grid(sd, d.step) else None
    common = dict(ns=ns, shift_sd=d.shift_sd, noise=d.noise, step=d.step, grid=grid, **run)
    alt = tax_draws(_keys(d, stream, count), d.omega, **common)
    null = tax_draws(_keys(d, null_stream, count), np.eye(d.omega.shape[0]), **common)[..., 0]
    floor, p, se = detection_power(alt[..., 0], null, d.alpha)
    return {
        "power_tax": p,
        "power_tax_se": se,
        "floor_nvat": floor,
        "mean_nvat": np.nanmean(alt[..., 0], axis=0),
        "mean_nvat_debiased": np.nanmean(alt[..., 2], axis=0),
    }


def _gain_curve(d: Design, ns: tuple[int, ...], stream: str, run, count: int):
    rejects = gain_rejections(_keys(d, stream, count), d.gain_cov, np.array(d.gains), ns=ns,
                              step=d.step, alpha=d.alpha, paired=d.paired, **run)  # fmt: skip
    p = rejects.mean(axis=0)
    return p, np.sqrt(p * (1 - p) / rejects.shape[0])


def _check(d: Design, test: str, n_star: float, run) -> tuple[float, float]:
    """(power, se) at n_star in a fresh simulation: its own random streams, CHECK_FACTOR
    times the studies."""
    if not math.isfinite(n_star):
        return math.nan, math.nan
    ns, count = (int(n_star),), CHECK_FACTOR * d.n_studies
    if test == "tax":
        c = _tax_curves(d, ns, "check_tax", "check_null", run, count)
        return float(c["power_tax"][0]), float(c["power_tax_se"][0])
    p, se = _gain_curve(d, ns, "check_gain", run, count)
    return float(p[0]), float(se[0])


def _var(values, dims, long_name, units, **attrs) -> xr.DataArray:
    return xr.DataArray(values, dims=dims, attrs={"long_name": long_name, "units": units, **attrs})


def _dataset(d: Design, curves: dict, tests: list, sizes: dict, checked: dict, check: bool):
    a = f"{d.alpha:g}"
    names = {
        "power_tax": ("power to detect the tax: share of studies whose nVAT exceeds the "
                      "noise floor", "1"),
        "power_tax_se": ("Monte Carlo se of power_tax (binomial and the floor's own noise)",
                         "1"),
        "floor_nvat": (f"noise floor: the {1 - d.alpha:g} quantile of nVAT of simulated null "
                       "studies (Omega = I, same n and marginals)", "1"),
        "mean_nvat": ("mean nVAT of the simulated studies (biased upward by sampling noise)",
                      "1"),
        "mean_nvat_debiased": ("mean debiased nVAT of the simulated studies", "1"),
        "power_gain_difference": (f"power of the two-sided t-test at {a} of the gain "
                                  "difference", "1"),
        "power_gain_difference_se": ("Monte Carlo se of power_gain_difference (binomial)",
                                     "1"),
    }  # fmt: skip
    ds = xr.Dataset(coords={"n": ("n", np.array(d.ns, np.int64), {"long_name": "samples "
                            "per study", "units": "samples"}), "test": list(tests)})  # fmt: skip
    for name, values in curves.items():
        ds[name] = _var(np.asarray(values, np.float64), ("n",), *names[name])
    ds["n_for_power"] = _var(
        np.array([sizes[t][0] for t in tests]), ("test",),
        f"samples per study for power {d.target_power:g} (interpolated in log n)", "samples",
        target_power=d.target_power,
    )  # fmt: skip
    ds["n_for_power_status"] = _var(np.array([sizes[t][1] for t in tests]), ("test",),
                                    "how n_for_power was found", "")  # fmt: skip
    how = f"{CHECK_FACTOR} x n_studies fresh studies" if check else "not run (check=False)"
    ds["power_check"] = _var(np.array([checked[t][0] for t in tests]), ("test",),
                             f"power at n_for_power in a new simulation: {how}", "1")  # fmt: skip
    ds["power_check_se"] = _var(np.array([checked[t][1] for t in tests]), ("test",),
                                "Monte Carlo se of power_check", "1")  # fmt: skip
    values = _value_names(d.omega.shape[0])
    ds["omega"] = xr.DataArray(d.omega, dims=("value", "value2"),
                               coords={"value": values, "value2": values},
                               attrs={"long_name": "noise-free coupling Omega of the true "
                                      "shifts", "units": "1"})  # fmt: skip
    ds.attrs = _attrs(d, tests)
    return ds


def _value_names(v: int) -> list[str]:
    return list(SCHWARTZ.values) if v == len(SCHWARTZ.values) else [f"v{i}" for i in range(v)]


@functools.lru_cache(maxsize=64)
def _observed_scale(omega: bytes, v: int, shift_sd: float, noise: float, step: float) -> float:
    """The design's observed-scale nVAT (400,000 simulated samples), remembered."""
    om = np.frombuffer(omega).reshape(v, v)
    return observed_tax(om, shift_sd=shift_sd, noise=noise, step=step)[0]


def _attrs(d: Design, tests: list) -> dict:
    om = np.ascontiguousarray(d.omega, np.float64)
    scale = _observed_scale(om.tobytes(), om.shape[0], d.shift_sd, d.noise, d.step)
    attrs = {
        "coupling_from": d.source,
        "strength": d.strength,
        "nvat": d.target_nvat,
        "observed_scale_nvat": scale,
        "shift_sd": d.shift_sd,
        "noise": d.noise,
        "step": d.step,
        "alpha": d.alpha,
        "target_power": d.target_power,
        "n_studies": d.n_studies,
        "seed": d.seed,
        "include_diagonal": 0,
        "tax_test": "nVAT above the 1 - alpha quantile of as many simulated null studies",
        "prng": "threefry2x32; stream s: fold_in(key(seed), s), study i: split(stream, "
        "n_studies)[i]; streams " + ", ".join(f"{k}={v}" for k, v in _STREAMS.items()),
        "nesting": "each study is drawn at the largest n; a smaller n takes its first samples",
        "model": "per sample: true shifts N(0, shift_sd^2 Omega) + rating noise N(0, noise^2 I), "
        "rounded to a multiple of step (vatjax.core.shift_model)",
        "observed_scale_nvat_is": "the debiased nVAT of the model on 400,000 samples",
        "undefined_studies": "a study with a constant value (tiny n on a coarse grid) has no "
        "nVAT: it never detects the tax and is left out of the means",
    }
    if "gain_difference" in tests:
        sd_a, sd_b = np.sqrt(np.diag(d.gain_cov))
        attrs |= {
            "gain": d.gains[0],
            "gain_b": d.gains[1] if d.paired else "none",
            "gain_test": "paired t-test of a - b" if d.paired else "one-sample t-test of a",
            "paired_correlation": d.paired_correlation,
            "gain_sd": [float(sd_a), float(sd_b)],
        }
    attrs |= {f"pilot_{k}": v for k, v in d.pilot.items()}
    return attrs
