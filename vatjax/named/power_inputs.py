"""The inputs of :func:`vatjax.power`, checked and resolved into one :class:`Design`.

Every bad input is a :class:`~vatjax.errors.VatInputError` that names the parameter and
the fix. Its message is built from a template with the parameters as ``{name}`` fields
(kept on the error as ``template`` and ``fields``), so the command line can say the same
in its flag words (:func:`render`).

Example:
    >>> try:
    ...     design(n=[80], noise=-1.0)
    ... except VatInputError as err:
    ...     print(err)
    ...     print(render(err, {"noise": "--noise"}))
    noise must be >= 0, got -1.0: it is the sd of the rating noise on the phi scale
    --noise must be >= 0, got -1.0: it is the sd of the rating noise on the phi scale
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from vatjax.core.shift_model import circumplex_coupling, strength_for_nvat
from vatjax.errors import VatInputError
from vatjax.named.vat import vat
from vatjax.taxonomy import SCHWARTZ

__all__ = ["MAX_N", "PARAMETERS", "Design", "design", "input_error", "pilot_figures", "render"]

PARAMETERS = (
    "n", "strength", "nvat", "omega", "gain", "gain_b", "paired_correlation", "noise",
    "shift_sd", "step", "pilot", "alpha", "n_studies", "seed", "target_power",
)  # fmt: skip


MAX_N = 1_000_000
"""The largest sample size simulated (a study of that size is drawn whole in memory)."""


def input_error(template: str, **fields) -> VatInputError:
    """A VatInputError from a message template whose ``{parameter}`` fields name
    parameters; ``fields`` fill in the rest."""
    err = VatInputError(template.format(**{p: p for p in PARAMETERS}, **fields))
    err.template, err.fields = template, fields  # type: ignore[attr-defined]
    return err


def render(err: VatInputError, names: dict[str, str]) -> str:
    """The message of ``err`` with parameters named by ``names`` (e.g. CLI flags)."""
    template = getattr(err, "template", None)
    if template is None:
        return str(err)
    return template.format(**{p: names.get(p, p) for p in PARAMETERS}, **err.fields)


def _p(name: str) -> str:
    """The template field of a parameter."""
    return "{" + name + "}"


class Design(NamedTuple):
    """A study design to simulate, every input resolved (see :func:`vatjax.power`)."""

    ns: tuple[int, ...]
    omega: np.ndarray  # the noise-free coupling Omega (value, value2)
    strength: float  # circumplex strength (NaN for a user's omega)
    target_nvat: float  # the observed-scale nVAT asked for (NaN if none)
    shift_sd: float
    noise: float
    step: float
    gains: tuple[float, float] | None  # (gain_a, gain_b); None: no gain test
    paired: bool  # a paired test of a - b (else the one-sample test of a)
    gain_cov: np.ndarray  # covariance of the two strategies' observed target shifts
    paired_correlation: float
    alpha: float
    target_power: float
    n_studies: int
    seed: int
    source: str  # what set the coupling: strength, nvat, omega, pilot or none
    pilot: dict  # the figures read from the pilot ({} without one)


def _number(name, value, lo=-math.inf, hi=math.inf, *, lo_open=False, hi_open=False, why=""):
    """Check lo <(=) value <(=) hi; return it as a float."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise input_error(_p(name) + " must be a number, got {got}", got=repr(value)) from None
    bad_lo = x <= lo if lo_open else x < lo
    bad_hi = x >= hi if hi_open else x > hi
    if math.isnan(x) or bad_lo or bad_hi:
        if math.isinf(hi):
            rule = f"> {lo:g}" if lo_open else f">= {lo:g}"
        else:
            rule = "in " + ("(" if lo_open else "[") + f"{lo:g}, {hi:g}" + (")" if hi_open else "]")
        raise input_error(_p(name) + " must be {rule}, got {got}{why}", rule=rule, got=x, why=why)
    return x


def _integer(name, value, lo, why=""):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        template = _p(name) + " must be an integer >= {lo}, got {got}{why}"
        raise input_error(template, lo=lo, got=repr(value), why=why)
    return int(value)


def _sample_sizes(n) -> tuple[int, ...]:
    scalar = isinstance(n, str | int | float | np.number)
    values = [v.item() if isinstance(v, np.generic) else v for v in ([n] if scalar else list(n))]
    if not values:
        raise input_error("{n} must list at least one sample size")
    why = ": a rank correlation and a t-test need at least 4 samples"
    sizes = set()
    for v in values:
        whole = isinstance(v, int | float | np.number) and float(v).is_integer()
        sizes.add(_integer("n", int(v) if whole else v, 4, why))
    if max(sizes) > MAX_N:
        raise input_error("{n} must be at most {top:,} samples per study, got {got:,}",
                          top=MAX_N, got=max(sizes))  # fmt: skip
    return tuple(sorted(sizes))


def _check_omega(omega) -> np.ndarray:
    fix = (": pass a symmetric positive semi-definite matrix with unit diagonal, e.g. "
           "vatjax.core.shift_model.circumplex_coupling(10, 0.2)")  # fmt: skip
    om = np.asarray(omega, np.float64)
    if om.ndim != 2 or om.shape[0] != om.shape[1] or om.shape[0] < 2:
        problem = f"has shape {om.shape}, not (V, V) with V >= 2"
    elif not np.isfinite(om).all():
        problem = "has non-finite entries"
    elif not np.allclose(om, om.T, atol=1e-6):
        problem = "is not symmetric"
    elif not np.allclose(np.diag(om), 1.0, atol=1e-6):
        problem = "has a diagonal other than 1"
    elif np.linalg.eigvalsh(om).min() < -1e-6:
        problem = f"is not positive semi-definite (eigenvalue {np.linalg.eigvalsh(om).min():.3g})"
    else:
        return om
    raise input_error("{omega} is not a correlation matrix: it {problem}{fix}",
                      problem=problem, fix=fix)  # fmt: skip


def _spread(pilot_figs, shift_sd, noise, step):
    """(shift_sd, noise): the defaults, or the pilot's sd split between them."""
    if not pilot_figs:
        return (0.5 if shift_sd is None else shift_sd), (0.5 if noise is None else noise)
    total = max(pilot_figs["sd"] ** 2 - step**2 / 12, 0.0)  # less the grid's own variance
    if noise is None:
        return math.sqrt(total / 2), math.sqrt(total / 2)
    if noise**2 >= total:
        raise input_error(
            "{noise} {got} leaves nothing of the pilot's shift sd {sd:.3f} to true shifts: "
            "pass a smaller {noise} (or none: the pilot's sd is then split evenly)",
            got=noise, sd=pilot_figs["sd"],
        )  # fmt: skip
    return math.sqrt(total - noise**2), noise


@functools.lru_cache(maxsize=64)
def _strength(nvat: float, v: int, shift_sd: float, noise: float, step: float) -> float:
    """strength_for_nvat, remembered (it simulates 400,000 samples some 19 times)."""
    return strength_for_nvat(nvat, v, shift_sd=shift_sd, noise=noise, step=step)


def _coupling(strength, nvat, omega, pilot_figs, shift_sd, noise, step):
    """(omega, strength, target nVAT, source)."""
    v = len(SCHWARTZ.values) if not pilot_figs else pilot_figs["n_values"]
    if omega is not None:
        return _check_omega(omega), math.nan, math.nan, "omega"
    if pilot_figs:
        nvat = pilot_figs["nvat_debiased"]
    if nvat is not None:
        top = math.sqrt(v - 1)
        nvat = _number("nvat", nvat, 0, top, why=f": with {v} values nVAT is at most "
                       f"sqrt(V - 1) = {top:.3f} (every pair perfectly coupled)")  # fmt: skip
        try:
            c = _strength(nvat, v, shift_sd, noise, step)
        except ValueError as exc:
            top = str(exc).rsplit(" ", 1)[-1]
            raise input_error(
                "{nvat} {got} is out of reach: with {shift_sd} {sd:g} and {noise} {noise_v:g} "
                "the strongest circumplex coupling gives an observed-scale nVAT of {top}; "
                "lower {nvat} or {noise}, or raise {shift_sd}",
                got=nvat, sd=shift_sd, noise_v=noise, top=top,
            ) from None  # fmt: skip
        return circumplex_coupling(v, c), c, nvat, "pilot" if pilot_figs else "nvat"
    c = _number("strength", 0.0 if strength is None else strength, 0, 1,
                why=": the circumplex strength runs from 0 (none) to 1")  # fmt: skip
    return circumplex_coupling(v, c), c, math.nan, "none" if strength is None else "strength"


def _gains(gain, gain_b, paired_correlation, pilot_figs, shift_sd, noise, step):
    """((gain_a, gain_b) or None, paired, the 2 x 2 covariance of the observed target
    shifts, their correlation)."""
    if pilot_figs:
        gain, gain_b = pilot_figs["gain_a"], pilot_figs.get("gain_b")
        if paired_correlation is None:
            paired_correlation = pilot_figs.get("paired_correlation")
    if gain is None:
        if gain_b is not None or paired_correlation is not None:
            raise input_error("{gain_b} and {paired_correlation} need {gain} (strategy a's gain)")
        return None, False, np.eye(2), 0.0
    gain = _number("gain", gain, why=": the target's mean shift on the phi scale")
    if gain_b is None and paired_correlation is not None:
        raise input_error("{paired_correlation} needs {gain_b}, the second strategy's gain")
    rho = _number("paired_correlation", 0.0 if paired_correlation is None else paired_correlation,
                  -1, 1)  # fmt: skip
    sd = math.hypot(shift_sd, noise)
    sd_a = sd_b = sd
    if pilot_figs:  # the observed sds, less the grid's variance (it adds it back)
        sd_a, sd_b = (math.sqrt(max(pilot_figs[k] ** 2 - step**2 / 12, 0.0))
                      for k in ("sd_a", "sd_b"))  # fmt: skip
    cov = np.array([[sd_a**2, rho * sd_a * sd_b], [rho * sd_a * sd_b, sd_b**2]])
    if gain_b is None:
        return (gain, 0.0), False, cov, rho
    return (gain, _number("gain_b", gain_b)), True, cov, rho


def pilot_figures(pilot) -> dict:
    """nVAT (debiased), gains, the shifts' sds and the paired correlation of a pilot: a
    value-level shifts DataArray of one model x intervention cell, or two (strategy a,
    then b)."""
    if not isinstance(pilot, xr.DataArray) or "value" not in pilot.dims:
        raise input_error(
            "{pilot} must be value-level shifts from vatjax.shifts (dims model, intervention, "
            "scenario, value), got {got}", got=type(pilot).__name__,
        )  # fmt: skip
    res = vat(pilot)
    x = pilot.transpose("model", "intervention", "scenario", "value")
    res = res.transpose("model", "intervention", ...)
    cells = [tuple(int(i) for i in c) for c in np.argwhere(res["n_samples"].values > 0)]
    if len(cells) not in (1, 2):
        raise input_error(
            "{pilot} has {k} model x intervention cells with samples; select one (or two, "
            "strategy a then b, for the gain difference), e.g. "
            "pilot.isel(model=[0], intervention=[0, 1])", k=len(cells),
        )  # fmt: skip
    targets = []
    for m, i in cells:
        cell = x.isel(model=m, intervention=i)
        target = str(cell["target"].values)
        targets.append(float(cell["direction"].values) * cell.sel(value=target).values)
    a, b = targets[0], targets[-1]
    m, i = cells[0]
    first = x.isel(model=m, intervention=i).values
    both = ~(np.isnan(a) | np.isnan(b))
    figs = {
        "cells": ", ".join(
            f"{x['model'].values[m]}/{x['intervention'].values[i]}" for m, i in cells
        ),
        "n_samples": int(res["n_samples"].values[m, i]),
        "n_values": first.shape[-1],
        "nvat_debiased": float(res["nvat_debiased"].values[m, i]),
        "gain_a": float(res["gain"].values[m, i]),
        "sd": float(np.sqrt(np.nanmean(np.nanvar(first, axis=0, ddof=1)))),
        "sd_a": float(np.nanstd(a, ddof=1)),
        "sd_b": float(np.nanstd(b, ddof=1)),
    }
    if len(cells) == 2:
        figs["gain_b"] = float(res["gain"].values[cells[1]])
        figs["paired_correlation"] = float(np.corrcoef(a[both], b[both])[0, 1])
    if not all(math.isfinite(v) for v in figs.values() if isinstance(v, float)):
        raise input_error("{pilot} gives undefined figures ({got}): it needs varying shifts "
                          "in every value and the target", got=figs)  # fmt: skip
    return figs


def design(
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
) -> Design:
    """Check every input of :func:`vatjax.power` and resolve it (see there)."""
    ns = _sample_sizes(n)
    alpha = _number("alpha", alpha, 0, 1, lo_open=True, hi_open=True)
    target_power = _number("target_power", target_power, 0, 1, lo_open=True, hi_open=True)
    n_studies = _integer("n_studies", n_studies, 100, ": fewer studies give too rough a power")
    seed = _integer("seed", seed, 0)
    step = _number("step", step, 0, why=": the rating resolution of a shift (0: continuous)")
    for name, value in (("noise", noise), ("shift_sd", shift_sd)):
        if value is not None:
            what = "rating noise" if name == "noise" else "true shifts"
            _number(name, value, 0, why=f": it is the sd of the {what} on the phi scale")
    given = [k for k, v in (("strength", strength), ("nvat", nvat), ("omega", omega),
                            ("pilot", pilot)) if v is not None]  # fmt: skip
    if len(given) > 1:
        both = " and ".join(_p(g) for g in given)
        raise input_error("give one of {strength}, {nvat}, {omega} or {pilot}, not " + both)
    figs = pilot_figures(pilot) if pilot is not None else {}
    if figs and (shift_sd is not None or gain is not None or gain_b is not None):
        raise input_error("{pilot} sets {gain}, {gain_b} and {shift_sd}; leave them out")
    shift_sd, noise = _spread(figs, shift_sd, noise, step)
    if shift_sd == 0 and noise == 0:
        raise input_error("{shift_sd} and {noise} are both 0: every shift would be equal")
    om, c, target, source = _coupling(strength, nvat, omega, figs, shift_sd, noise, step)
    gains, paired, cov, rho = _gains(gain, gain_b, paired_correlation, figs, shift_sd, noise, step)
    return Design(ns, om, c, target, shift_sd, noise, step, gains, paired, cov, rho, alpha,
                  target_power, n_studies, seed, source, figs)  # fmt: skip
