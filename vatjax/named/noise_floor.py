"""The permutation noise floor of the coupling, VAT(u), nVAT and centralization: what pure
noise gives at this sample size, with p-values and Benjamini-Hochberg q-values.

Example:
    >>> import vatjax
    >>> s = vatjax.simulate_study(seed=3, n_models=1, n_scenarios=30)
    >>> nf = vatjax.noise_floor(vatjax.shifts(vatjax.load_judgments(s.table)),
    ...                         n_permutations=20, quiet=True)
    >>> nf["null_nvat"].dims, nf.attrs["n_permutations"]
    (('permutation', 'model', 'intervention'), 20)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from vatjax.core.intervals import bh, permutation_floor, permutation_p_value
from vatjax.core.metrics import NULL_METRICS, unpack
from vatjax.engine import DEFAULT_MAX_MEMORY, evaluate, prepare
from vatjax.errors import VatInputError, option, plain
from vatjax.named.progress import progress_bar
from vatjax.named.schema import SCHEMA, conventions, core_dims
from vatjax.named.validate import ShiftCells, check_count, check_resampling, shift_cells

__all__ = ["check_noise_floor_arguments", "noise_floor"]


def noise_floor(
    shifts: xr.DataArray,
    *,
    n_permutations: int = 1_000,
    seed: int = 0,
    q: float = 0.05,
    floor_level: float = 0.95,
    include_diagonal: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY,
    devices: Sequence | None = None,
    quiet: bool = False,
) -> xr.Dataset:
    """The coupling, VAT(u) and nVAT that pure noise gives at this sample size.

    A permutation null: each value's shifts are shuffled across the cell's scenarios
    independently (which keeps every value's distribution, NaNs included, and breaks the
    co-movement between values). Gain and GND do not change under it.

    Args:
        shifts: from :func:`vatjax.shifts`.
        n_permutations: draws of the null.
        seed: seed of the JAX PRNG key; permutation p uses ``fold_in(key, p)``.
        q: false discovery rate for the Benjamini-Hochberg test of the V(V-1)/2 pairs.
        floor_level: the noise floor is this quantile of the null (of |R| for the coupling).
        include_diagonal: as in :func:`vatjax.vat`.
        max_memory, devices, quiet: as in :func:`bootstrap`.

    Returns:
        Dataset with the observed ``coupling, vat, nvat, centralization``; their null
        draws ``null_*`` along ``permutation``; ``floor_*`` (the floor_level quantile);
        p-values ``p_*`` ((1 + #{null >= observed}) / (1 + n_permutations); two-sided,
        on |R|, for the coupling); ``q_coupling`` (BH over the pairs of each cell),
        ``significant`` (q_coupling <= q) and ``n_significant`` per cell.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=3, n_models=1, n_scenarios=30)
        >>> nf = vatjax.noise_floor(vatjax.shifts(vatjax.load_judgments(s.table)),
        ...                         n_permutations=50, quiet=True)
        >>> float(nf["p_nvat"].min()) >= 1 / 51
        True
    """
    check_noise_floor_arguments(n_permutations, q, floor_level)
    check_resampling(max_memory, devices)
    sc = shift_cells(shifts)
    # cells judged on the same scenarios share each permutation (one sort for all of them);
    # every cell's null is still a uniform permutation of its own data
    shared = bool((sc.cells.present == sc.cells.present[:1]).all())
    engine = prepare(
        sc.cells,
        seed=seed,
        n_reps_total=n_permutations + 1,
        permute=True,
        shared=shared,
        include_diagonal=include_diagonal,
        max_memory=int(max_memory),
        devices=devices,
    )
    bar, advance = progress_bar(quiet, n_permutations + 1, f"permutations x {n_permutations:,}")
    with bar:
        stats = evaluate(
            engine, "permute", np.arange(-1, n_permutations), eps=0.0, on_progress=advance
        )
    parts = unpack(stats, sc.cells.x.shape[-1], NULL_METRICS)
    ds = _null_dataset(sc, parts, q=q, floor_level=floor_level)
    ds = ds.assign_coords(permutation=np.arange(n_permutations))
    ds.attrs = _attrs(shifts, include_diagonal, n_permutations, seed, q, floor_level, shared)
    return ds


def check_noise_floor_arguments(n_permutations, q=0.05, floor_level=0.95) -> None:
    """Raise :class:`~vatjax.VatInputError` for an argument :func:`noise_floor` rejects,
    among them too few permutations to reach the test's level: with N permutations the
    smallest p-value is 1/(N+1), and it must reach both q and 1 - floor_level.

    Example:
        >>> check_noise_floor_arguments(1)
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: n_permutations=1 is too few permutations: ...
    """
    check_count("n_permutations", n_permutations, 1)
    if not 0 < q < 1:
        raise VatInputError(f"q (the false discovery rate) must lie in (0, 1), got {plain(q)}")
    if not 0 < floor_level < 1:
        raise VatInputError(f"floor_level must lie in (0, 1), got {plain(floor_level)}")
    alpha = min(q, 1 - floor_level)
    least = math.ceil(1 / alpha - 1 - 1e-9)  # the smallest N with 1 / (N + 1) <= alpha
    if n_permutations < least:
        raise VatInputError(
            f"{option('n_permutations', n_permutations)} is too few permutations: with N "
            f"permutations the smallest p-value is 1/(N+1), here {plain(1 / (n_permutations + 1))},"
            f" which never reaches {plain(alpha)} (the level of the floor and of the false "
            f"discovery rate); use at least {least}, and 1000 or more for p-values to 3 decimals"
        )


def _attrs(shifts, include_diagonal, n_permutations, seed, q, floor_level, shared) -> dict:
    prng = "threefry2x32; permutation p of cell c: fold_in(fold_in(key(seed), p), c)"
    if shared:
        prng = (
            "threefry2x32; permutation p: fold_in(fold_in(key(seed), p), 0), shared by "
            "cells judged on the same scenarios"
        )
    attrs = conventions(shifts.attrs, shifts.dims[-1], include_diagonal=include_diagonal, eps=0)
    del attrs["eps"]
    return {
        **attrs,
        "null": "each value's shifts shuffled across the cell's scenarios independently",
        "n_permutations": int(n_permutations),
        "seed": int(seed),
        "q": float(q),
        "floor_level": float(floor_level),
        "p_value_convention": "(1 + #{null >= observed}) / (1 + n_permutations); coupling on |R|",
        "fdr": "Benjamini-Hochberg over the V(V-1)/2 pairs of each cell",
        "prng": prng,
        "null_values_shuffled": "values 1..V-1 (value 0 fixed: R is unchanged by a common "
        "permutation)",
    }


def _pair_q_values(p_coupling: np.ndarray) -> np.ndarray:
    """BH q-values over the V(V-1)/2 pairs of each cell, mirrored; NaN on the diagonal."""
    n_values = p_coupling.shape[-1]
    iu = np.triu_indices(n_values, 1)
    q_pairs = bh(p_coupling[:, iu[0], iu[1]])
    q_coupling = np.full(p_coupling.shape, np.nan)
    q_coupling[:, iu[0], iu[1]] = q_pairs
    q_coupling[:, iu[1], iu[0]] = q_pairs
    return q_coupling


def _null_dataset(sc: ShiftCells, parts: dict, *, q: float, floor_level: float) -> xr.Dataset:
    """Observed figures, null draws, floors, p-values and q-values with named dims."""
    observed = {k: v[0] for k, v in parts.items()}
    null = {k: v[1:] for k, v in parts.items()}
    n_values = sc.cells.x.shape[-1]
    eye = np.eye(n_values, dtype=bool)
    p = {k: permutation_p_value(observed[k], null[k], k == "coupling") for k in parts}
    p["coupling"] = np.where(eye, np.nan, p["coupling"])
    q_coupling = _pair_q_values(p["coupling"])
    significant = q_coupling <= q
    floor = {
        k: permutation_floor(np.abs(v) if k == "coupling" else v, floor_level)
        for k, v in null.items()
    }
    floor["coupling"] = np.where(eye, np.nan, floor["coupling"])
    named = _namer(sc)
    ds = xr.Dataset()
    for name in parts:
        long = SCHEMA[name].long_name
        on_r = name == "coupling"
        ds[name] = named(name, observed[name])
        ds[f"null_{name}"] = named(
            name, null[name], ("permutation",), long_name=f"permutation null of {long}"
        )
        ds[f"floor_{name}"] = named(
            name,
            floor[name],
            long_name=f"noise floor: {floor_level:g} quantile of the null" + (" of |R|" * on_r),
        )
        ds[f"p_{name}"] = named(
            name,
            p[name],
            units="1",
            long_name="permutation p-value" + (", two-sided on |R|" * on_r),
        )
    ds["q_coupling"] = named(
        "coupling",
        q_coupling,
        units="1",
        long_name="Benjamini-Hochberg q-value over the value pairs",
    )
    ds["significant"] = named(
        "coupling", significant, units="", long_name=f"pair coupled beyond the noise (q <= {q:g})"
    )
    iu = np.triu_indices(n_values, 1)
    ds["n_significant"] = named(
        "nvat",
        significant[:, iu[0], iu[1]].sum(-1),
        units="count",
        long_name=f"value pairs with q <= {q:g}",
    )
    return ds


def _namer(sc: ShiftCells):
    """name(metric, array (*lead, cell, core...), lead dims, **attrs) -> DataArray."""
    layout = sc.layout
    level = layout.dims[-1]
    cell_dims = layout.dims[:-2]
    keep = [c for c, v in layout.coords.items() if set(v.dims) <= set(cell_dims)]
    coords = {
        **{c: layout.coords[c] for c in keep},
        level: layout[level].values,
        f"{level}2": layout[level].values,
    }

    def named(name, arr, lead=(), **attrs):
        arr = sc.unflatten(np.asarray(arr), len(lead))
        dims = (*lead, *cell_dims, *core_dims(name, level))
        meta = {"long_name": SCHEMA[name].long_name, "units": SCHEMA[name].units, **attrs}
        return xr.DataArray(
            arr,
            dims=dims,
            coords={k: v for k, v in coords.items() if set(getattr(v, "dims", (k,))) <= set(dims)},
            attrs=meta,
        )

    return named
