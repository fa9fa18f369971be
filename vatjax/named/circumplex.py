"""Does the coupling follow the circle? The RTHOR correspondence index per cell, named.

:func:`circumplex` runs :mod:`vatjax.core.circumplex` over every cell of a coupling
DataArray (dims ``(..., value, value2)``: a VAT result's, a bootstrap's
``coupling_replicates`` or a posterior's ``vat`` group) or of a shifts DataArray (its
coupling computed first). On replicates or draws, ``n_permutations=0`` gives CI alone:
its spread over replicates is CI's interval, over draws its posterior.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=40)
    >>> delta = vatjax.shifts(vatjax.load_judgments(s.table))
    >>> res = circumplex(delta, n_permutations=200, seed=0)
    >>> sorted(res.data_vars)
    ['agreements', 'ci', 'cosine', 'cosine_r2', 'disagreements', 'p_value', 'ties']
    >>> res.attrs["predictions"]
    800
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from vatjax.core.circumplex import (
    circular_distances,
    hypothesis,
    order_counts,
    pair_index,
    permuted_agreements,
    relabellings,
)
from vatjax.core.cosine import cosine_fit, cosine_fit_free
from vatjax.errors import VatInputError, option
from vatjax.taxonomy import taxonomy_of

__all__ = ["circle_angles", "circumplex", "circumplex_intervals"]

CELL_BLOCK = 2048
"""Cells per call: bounds the (cell, pair, pair) sign array (2048 x 45 x 45 floats)."""


def _coupling(x: xr.DataArray) -> xr.DataArray:
    if "value2" in x.dims:
        if "value" not in x.dims or x.sizes["value"] != x.sizes["value2"]:
            raise VatInputError(
                f"the coupling must be square over value x value2; got dims {dict(x.sizes)}: "
                "pass a coupling (a VAT result's 'coupling') or the shifts"
            )
        if not np.array_equal(x["value"].values, x["value2"].values):
            raise VatInputError("the coupling's value and value2 labels differ; they must match")
        return x.transpose(..., "value", "value2")
    if "value" in x.dims and "scenario" in x.dims:
        from vatjax.named.vat import vat

        return vat(x)["coupling"]
    raise VatInputError(
        f"circumplex needs a coupling (dims ..., value, value2) or shifts (dims ..., scenario, "
        f"value); got dims {list(x.dims)}"
    )


def circle_angles(
    values: Sequence[str],
    *,
    order: Sequence[str] | None = None,
    angles: Sequence[float] | Mapping[str, float] | None = None,
    taxonomy=None,
) -> np.ndarray:
    """Each value's angle (radians): equal spacing in ``order``, or ``angles`` (a sequence
    in the order of ``values`` or a value -> angle mapping), else the taxonomy's.

    Example:
        >>> circle_angles(["a", "b", "c", "d"], order=["a", "c", "b", "d"]).round(2).tolist()
        [0.0, 3.14, 1.57, 4.71]
    """
    values = [str(v) for v in values]
    if order is not None and angles is not None:
        raise VatInputError(
            f"give {option('order', bare=True)} or {option('angles', bare=True)}, not both"
        )
    if order is not None:
        order = [str(v) for v in order]
        if sorted(order) != sorted(values):
            missing = sorted(set(values) - set(order))
            extra = sorted(set(order) - set(values))
            twice = sorted({v for v in order if order.count(v) > 1})
            raise VatInputError(
                f"{option('order', bare=True)} must name every value once; missing {missing}, "
                f"unknown {extra}, repeated {twice} (the values: {', '.join(values)})"
            )
        step = 2 * np.pi / len(order)
        return np.array([order.index(v) * step for v in values])
    if angles is not None:
        if isinstance(angles, Mapping):
            absent = [v for v in values if v not in angles]
            if absent:
                raise VatInputError(
                    f"{option('angles', bare=True)} has no angle for {absent}; give one per value"
                )
            return np.array([float(angles[v]) for v in values])
        if len(angles) != len(values):
            raise VatInputError(
                f"{option('angles', bare=True)} has {len(angles)} angles for {len(values)} "
                f"values; give one per value, in the order {', '.join(values)}"
            )
        return np.asarray(angles, dtype=np.float64)
    tax = taxonomy
    if any(v not in tax.values for v in values):
        raise VatInputError(
            f"values {values} are not all in the {tax.name} taxonomy; give "
            f"{option('order', bare=True)} or {option('angles', bare=True)}"
        )
    return np.array([tax.angles[tax.values.index(v)] for v in values])


def circumplex(
    x: xr.DataArray,
    *,
    order: Sequence[str] | None = None,
    angles: Sequence[float] | Mapping[str, float] | None = None,
    n_permutations: int = 10_000,
    seed: int = 0,
    harmonics: int = 2,
    free_angles: bool = False,
) -> xr.Dataset:
    """The correspondence index CI of the circular order hypothesis, its permutation
    p-value, and the cosine model of the coupling against angular distance, per cell.

    Args:
        x: a coupling (dims ``..., value, value2``) or shifts (``..., scenario, value``).
        order: the values around the circle (equal spacing); or
        angles: one angle (radians) per value; default the taxonomy's circle.
        n_permutations: relabellings of the values for ``p_value`` (0: CI only); all V!
            of them when V! is no more (exact), else this many drawn plus the identity.
        seed: the drawn relabellings' seed.
        harmonics: K of the cosine model R_uw ~ b0 + sum_k b_k cos(k (theta_u - theta_w))
            (:mod:`vatjax.core.cosine`).
        free_angles: fit the angles too (``angle``; the first value's held), else fixed.

    Returns:
        ``ci`` (in [-1, 1]), ``p_value`` (share of relabellings with at least the observed
        agreements, identity counted, as RTHOR), ``agreements``, ``disagreements``,
        ``ties``, ``cosine`` (b0..bK along ``harmonic``), ``cosine_r2`` (share of the
        off-diagonal variance explained), and with ``free_angles`` ``angle``; NaN where a
        coupling entry is NaN.
    """
    if n_permutations < 0:
        raise VatInputError(
            f"{option('n_permutations', n_permutations)}: give 0 (CI only) or more relabellings"
        )
    if harmonics < 1:
        raise VatInputError(f"{option('harmonics', harmonics)}: give 1 or more harmonics")
    coupling = _coupling(x)
    values = coupling["value"].values
    theta = circle_angles(values, order=order, angles=angles, taxonomy=taxonomy_of(x))
    iu, ju = pair_index(len(values))
    pairs = coupling.values[..., iu, ju].reshape(-1, len(iu)).astype(np.float32)
    bad = np.isnan(pairs).any(-1)
    fields, attrs = _order_test(pairs, bad, theta, n_permutations, seed)
    fields |= _cosine(pairs, bad, theta, harmonics, free_angles)
    dims = coupling.dims[:-2]
    out = xr.Dataset(coords={d: coupling[d] for d in dims if d in coupling.coords})
    for name, (data, extra, long_name) in fields.items():
        out[name] = xr.DataArray(data.reshape(tuple(coupling.shape[:-2]) + data.shape[1:]),
                                 dims=(*dims, *extra), attrs={"long_name": long_name})  # fmt: skip
    if free_angles:
        out = out.assign_coords(value=values)
    out.attrs = attrs | {"values": [str(v) for v in values], "angles": theta.tolist(),
                         "harmonics": harmonics, "free_angles": int(free_angles)}  # fmt: skip
    return out


def _order_test(pairs, bad, theta, n_permutations, seed) -> tuple[dict, dict]:
    """CI, its p-value and counts per cell (RTHOR), and the test's attrs."""
    dist = circular_distances(theta)
    iu, ju = pair_index(len(theta))
    h = hypothesis(dist[iu, ju])
    perms, exact = relabellings(len(theta), n_permutations, seed)
    counts, agree_perm = [], []
    for start in range(0, max(len(pairs), 1), CELL_BLOCK):
        block = pairs[start : start + CELL_BLOCK]
        counts.append(np.stack([np.asarray(c) for c in order_counts(block, h)], -1))
        if n_permutations:  # every cell meets the same relabellings
            agree_perm.append(np.asarray(permuted_agreements(block, dist, perms)))
    agree, disagree, ties = np.concatenate(counts).T
    n_pred = int(h.sum())
    p = np.full(len(pairs), np.nan)
    if n_permutations:  # the identity (first) counts, so p >= 1 / K; counts are integers
        p = np.where(bad, np.nan, (np.concatenate(agree_perm) >= agree[:, None] - 0.5).mean(-1))
    fields = {
        "ci": (np.where(bad, np.nan, (agree - disagree) / max(n_pred, 1)), (),
               "correspondence index (agreements - disagreements) / predictions"),
        "p_value": (p, (), "permutation p-value (values relabelled; RTHOR's: agreements)"),
        "agreements": (agree, (), "predictions the coupling agrees with"),
        "disagreements": (disagree, (), "predictions the coupling contradicts"),
        "ties": (ties, (), "predictions with equal correlations (denominator only)"),
    }  # fmt: skip
    attrs = {"predictions": n_pred, "n_permutations": (len(perms) if exact else n_permutations) if n_permutations else 0,
             "exact_test": int(exact), "seed": seed,
             "method": "RTHOR (Hubert and Arabie 1987): nearer values correlate more"}  # fmt: skip
    return fields, attrs


def _cosine(pairs, bad, theta, harmonics, free_angles) -> dict:
    """The cosine model per cell: coefficients, r2, and the angles when free."""
    iu, ju = pair_index(len(theta))
    clean = np.where(bad[:, None], 0.0, pairs)
    if free_angles:
        angle, coef, r2 = (np.asarray(a, np.float64) for a in
                           cosine_fit_free(clean, np.asarray(theta, np.float32), harmonics))  # fmt: skip
    else:
        coef, r2 = (np.asarray(a, np.float64) for a in
                    cosine_fit(clean, np.asarray(theta[iu] - theta[ju], np.float32), harmonics))  # fmt: skip
    fields = {
        "cosine": (np.where(bad[:, None], np.nan, coef), ("harmonic",),
                   "b_k of R_uw ~ sum_k b_k cos(k (theta_u - theta_w)), k = 0..K"),
        "cosine_r2": (np.where(bad, np.nan, r2), (),
                      "share of the off-diagonal coupling variance the cosine model explains"),
    }  # fmt: skip
    if free_angles:
        fields["angle"] = (np.where(bad[:, None], np.nan, angle), ("value",),
                           "fitted angle on the circle (radians; the first value's held)")  # fmt: skip
    return fields


def circumplex_intervals(
    result: xr.Dataset, replicates: xr.DataArray, *, level: float = 0.95
) -> xr.Dataset:
    """``result`` with percentile intervals of CI and the cosine model's r2 from coupling
    replicates (a bootstrap's ``coupling_replicates``, dim ``resample``).

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=40)
        >>> delta = vatjax.shifts(vatjax.load_judgments(s.table))
        >>> boot = vatjax.bootstrap(delta, n_resamples=30, keep_replicates=True, quiet=True)
        >>> res = circumplex_intervals(circumplex(delta, n_permutations=0),
        ...                            boot["coupling_replicates"], level=0.9)
        >>> bool((res["ci_lower"] <= res["ci_upper"]).all())
        True
    """
    if not 0 < level < 1:
        raise VatInputError(f"level must lie strictly between 0 and 1, e.g. 0.95; got {level}")
    settings = {k: result.attrs[k] for k in ("harmonics",)}
    angles = dict(zip(result.attrs["values"], result.attrs["angles"], strict=True))
    reps = circumplex(replicates, angles=angles, n_permutations=0, **settings)
    tail = (1 - level) / 2
    out = result.copy()
    for name in ("ci", "cosine_r2"):
        bounds = reps[name].quantile([tail, 1 - tail], dim="resample", skipna=True)
        out[f"{name}_lower"] = bounds.isel(quantile=0, drop=True).assign_attrs(
            long_name=f"{level:.0%} percentile interval of {name} over the replicates: lower"
        )
        out[f"{name}_upper"] = bounds.isel(quantile=1, drop=True).assign_attrs(
            long_name=f"{level:.0%} percentile interval of {name} over the replicates: upper"
        )
    out.attrs["interval_level"] = level
    out.attrs["interval_replicates"] = replicates.sizes["resample"]
    return out
