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
    ['agreements', 'ci', 'disagreements', 'p_value', 'ties']
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
from vatjax.errors import VatInputError
from vatjax.taxonomy import taxonomy_of

__all__ = ["circle_angles", "circumplex"]

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
        raise VatInputError("give order= or angles=, not both")
    if order is not None:
        order = [str(v) for v in order]
        if sorted(order) != sorted(values):
            missing = sorted(set(values) - set(order))
            extra = sorted(set(order) - set(values))
            twice = sorted({v for v in order if order.count(v) > 1})
            raise VatInputError(
                f"order= must name every value once; missing {missing}, unknown {extra}, "
                f"repeated {twice} (the values: {values})"
            )
        step = 2 * np.pi / len(order)
        return np.array([order.index(v) * step for v in values])
    if angles is not None:
        if isinstance(angles, Mapping):
            absent = [v for v in values if v not in angles]
            if absent:
                raise VatInputError(f"angles= has no angle for {absent}; give one per value")
            return np.array([float(angles[v]) for v in values])
        if len(angles) != len(values):
            raise VatInputError(
                f"angles= has {len(angles)} angles for {len(values)} values; give one per "
                f"value, in the order {values}"
            )
        return np.asarray(angles, dtype=np.float64)
    tax = taxonomy
    if any(v not in tax.values for v in values):
        raise VatInputError(
            f"values {values} are not all in the {tax.name} taxonomy; give order= or angles="
        )
    return np.array([tax.angles[tax.values.index(v)] for v in values])


def circumplex(
    x: xr.DataArray,
    *,
    order: Sequence[str] | None = None,
    angles: Sequence[float] | Mapping[str, float] | None = None,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> xr.Dataset:
    """The correspondence index CI of the circular order hypothesis and its permutation
    p-value, per cell.

    Args:
        x: a coupling (dims ``..., value, value2``) or shifts (``..., scenario, value``).
        order: the values around the circle (equal spacing); or
        angles: one angle (radians) per value; default the taxonomy's circle.
        n_permutations: relabellings of the values for ``p_value`` (0: CI only); all V!
            of them when V! is no more (exact), else this many drawn plus the identity.
        seed: the drawn relabellings' seed.

    Returns:
        ``ci`` (in [-1, 1]), ``p_value`` (share of relabellings with at least the observed
        agreements, identity counted, as RTHOR), ``agreements``, ``disagreements``, ``ties``; NaN CI
        where a coupling entry is NaN.
    """
    if n_permutations < 0:
        raise VatInputError(f"n_permutations must be 0 (CI only) or more; got {n_permutations}")
    coupling = _coupling(x)
    values = coupling["value"].values
    theta = circle_angles(values, order=order, angles=angles, taxonomy=taxonomy_of(x))
    dist = circular_distances(theta)
    iu, ju = pair_index(len(values))
    h = hypothesis(dist[iu, ju])
    lead = coupling.shape[:-2]
    pairs = coupling.values[..., iu, ju].reshape(-1, len(iu)).astype(np.float32)
    perms, exact = relabellings(len(values), n_permutations, seed)
    counts, num_perm = [], []
    for start in range(0, max(len(pairs), 1), CELL_BLOCK):
        block = pairs[start : start + CELL_BLOCK]
        counts.append(np.stack([np.asarray(c) for c in order_counts(block, h)], -1))
        if n_permutations:  # every cell meets the same relabellings
            num_perm.append(np.asarray(permuted_agreements(block, dist, perms)))
    agree, disagree, ties = np.concatenate(counts).T
    n_pred = int(h.sum())
    bad = np.isnan(pairs).any(-1)
    ci = np.where(bad, np.nan, (agree - disagree) / max(n_pred, 1))
    p = np.full(len(pairs), np.nan)
    if n_permutations:
        at_least = np.concatenate(num_perm) >= agree[:, None] - 0.5  # integer counts
        p = at_least.mean(-1)  # the identity (first) counts: p >= 1 / K
        p = np.where(bad, np.nan, p)
    dims = coupling.dims[:-2]
    coords = {d: coupling[d] for d in dims if d in coupling.coords}
    out = xr.Dataset(coords=coords)
    fields = {"ci": (ci, "correspondence index (agreements - disagreements) / predictions"),
              "p_value": (p, "permutation p-value (values relabelled; RTHOR's: agreements)"),
              "agreements": (agree, "predictions the coupling agrees with"),
              "disagreements": (disagree, "predictions the coupling contradicts"),
              "ties": (ties, "predictions with equal correlations (denominator only)")}  # fmt: skip
    for name, (data, long_name) in fields.items():
        out[name] = xr.DataArray(data.reshape(lead), dims=dims, attrs={"long_name": long_name})
    out.attrs = {"predictions": n_pred, "n_permutations": len(perms) if n_permutations else 0,
                 "exact_test": int(exact), "seed": seed,
                 "values": [str(v) for v in values], "angles": theta.tolist(),
                 "method": "RTHOR (Hubert and Arabie 1987): nearer values correlate more"}  # fmt: skip
    return out
