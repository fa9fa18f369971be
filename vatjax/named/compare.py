"""Paired comparisons: the difference in Gain and in the debiased tax between two
interventions of a model (or two models under an intervention), on the samples both
have, with a paired bootstrap interval, a paired permutation (swap) test, BH q-values over
the pairs, and HELM-style tie groups.

- **Interval** (``stat``: estimate, lower, upper, se): a paired bootstrap, one weight
  vector per resample for both sides (:func:`vatjax.bootstrap`'s shared weights: the
  counts of a multinomial draw over the scenarios, each side keeping those of the shared
  samples), so what the two share cancels in the difference. A replicate's squared
  correlations carry the sampling noise once more than the sample's (E*[r*^2] ~ r^2 +
  Var(r)), so the replicates of a tax sit above the estimate by about that noise, an
  amount that differs between the sides; their raw percentiles would centre the interval
  on that shifted figure, not on the estimate (and the basic interval, 2 estimate - q,
  would move it as far the other way). The replicates are therefore debiased for the
  sample's noise and their own, and the interval is re-centred: the percentiles of the
  replicate differences moved so their mean sits on the estimated difference (the spread
  and shape are the bootstrap's, the centre the debiased estimate's). ``se`` is their sd.
- **p** (``<metric>_p``): a paired permutation test (:mod:`vatjax.core.compare`): per
  sample, a's and b's shift vectors are swapped with probability 1/2 (for the tax each
  side is centred per value on the shared samples first; for Gain it is a sign flip of the
  paired per-sample gains); p = (1 + #{|T*| >= |T|}) / (1 + P), with T the observed
  difference and T* a swap's, computed the same way (the arms' own midranks). Where
  both arms' debiased tax is clipped at 0, T* = 0, so the test is conservative there.
- **q** (``<metric>_q``): Benjamini-Hochberg over the pairs of each model (by
  intervention) or intervention (by model), per metric (and per value for VAT(u)). With m
  pairs, a lone difference needs p <= alpha / m, so n_permutations >= m / alpha (1,320 for
  the 66 pairs of 12 interventions at alpha 0.05) to be found at all.
- **Tie groups** (``rank``, ``tie_group``): within each model (intervention), the items
  are ranked by their debiased nVAT on all their samples (rank 1: the lowest tax).
  Walking down the ranking, an item joins the group of the group's best item unless
  their difference in debiased nVAT has q < alpha; then it starts a new group
  (HELM-style). -1 where an item has no data.

Cost (``benchmarks/bench_compare.py``): the bootstrap is the engine's, per side and
resample; a permutation costs, per pair, a share of an int8 product for the level counts,
two gathers of V x N midranks and two V x V covariance products: about 0.2 ms of CPU at
9,002 samples and 10 values, so the 66 pairs of 12 interventions take about 13 s of CPU
for 1,000 permutations (V^2 times more at the micro-value level). Shifts with NaN inside
samples (pairwise deletion) or with few ties take an exact but far slower path that ranks
every arm (about 80 ms per pair and permutation at 9,002 samples): lower n_permutations,
or compare fewer pairs, there.

Example:
    >>> import numpy as np, vatjax
    >>> from vatjax.named.simulated import shifts_array
    >>> x = np.random.default_rng(0).integers(-2, 3, (2, 30, 10)) / 2
    >>> ds = vatjax.compare(shifts_array(x), n_resamples=50, n_permutations=50, quiet=True)
    >>> ds["nvat_debiased"].dims, ds["pair"].values.tolist()
    (('stat', 'model', 'pair'), ['study-0 - study-1'])
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.core.intervals import bh
from vatjax.engine import DEFAULT_MAX_MEMORY, Cells
from vatjax.errors import VatInputError, plain
from vatjax.named.compare_run import paired_bootstrap, paired_swaps, side_blocks
from vatjax.named.progress import progress_bar
from vatjax.named.schema import conventions
from vatjax.named.validate import check_confidence, check_count, check_resampling, shift_cells

__all__ = ["compare", "pairs_table"]

STATS = ("estimate", "lower", "upper", "se")
METRICS = {  # name: (long name of the difference a - b, units)
    "gain": ("Gain(a) - Gain(b): difference in oriented target shift", "phi"),
    "nvat_debiased": ("nVAT(a) - nVAT(b), debiased (observed-scale tax)", "1"),
    "vat_debiased": ("VAT(u)(a) - VAT(u)(b), debiased (observed-scale tax)", "1"),
    "centralization_debiased": ("Gini of the debiased VAT(u): a - b", "1"),
}
_OTHER = {"intervention": "model", "model": "intervention"}


class Pairs(NamedTuple):
    """The comparisons: group g, pair p, sides (cell, samples) of a and b."""

    group_dim: str
    groups: np.ndarray  # names along the group dim
    items: list[str]  # the compared items (along ``by``)
    pairs: list[tuple[str, str]]
    cell_a: np.ndarray  # (G, P) flat cell numbers
    cell_b: np.ndarray
    item_cell: np.ndarray  # (G, I) the cells of the compared items
    n_shared: np.ndarray  # (G, P)
    note: np.ndarray  # (G, P) why a comparison is missing ('' where it exists)


def compare(
    shifts: xr.DataArray,
    a: str | None = None,
    b: str | None = None,
    *,
    by: str = "intervention",
    n_resamples: int = 2_000,
    n_permutations: int = 1_000,
    level: float = 0.95,
    alpha: float = 0.05,
    seed: int = 0,
    include_diagonal: bool = False,
    max_nan_fraction: float = 0.05,
    max_memory: int = DEFAULT_MAX_MEMORY,
    devices: Sequence | None = None,
    quiet: bool = False,
) -> xr.Dataset:
    """Differences a - b in Gain, debiased nVAT, VAT(u) and centralization, paired.

    ``by="intervention"`` compares two interventions of each model, ``by="model"`` two
    models under each intervention; with ``a`` and ``b`` omitted, every pair of the table
    (dim ``pair``, coords ``a`` and ``b``). Each comparison uses only the samples both
    sides have. The interval, the permutation test, the q-values and the tie groups are
    described in the module docstring (:mod:`vatjax.named.compare`).

    Args:
        shifts: from :func:`vatjax.shifts` (value or micro_value level).
        a, b: the two items (interventions, or models with ``by="model"``); both or neither.
        by: ``intervention`` or ``model``.
        n_resamples: paired bootstrap resamples (>= 1; 1 gives no interval).
        n_permutations: swaps of the permutation test (>= 1).
        level: confidence level of the intervals.
        alpha: significance level of the tie groups.
        seed: seed of the JAX PRNG key: resample b uses ``fold_in(key, b)`` (both sides),
            permutation p ``fold_in(fold_in(key, 2^32 - 2), p)`` (every pair).
        include_diagonal: as in :func:`vatjax.vat`.
        max_nan_fraction: as in :func:`vatjax.bootstrap`.
        max_memory, devices, quiet: as in :func:`vatjax.bootstrap`.

    Returns:
        Dataset with ``gain``, ``nvat_debiased``, ``centralization_debiased`` (stat, group,
        pair) and ``vat_debiased`` (+ value), each with ``_p`` and ``_q`` (no stat dim);
        ``n_shared`` and ``note`` (why a pair has no figures) per group and pair;
        ``item_nvat_debiased``, ``rank`` and ``tie_group`` per group and item. attrs
        record by, seed, n_resamples, n_permutations, confidence_level, alpha.

    Example:
        >>> import numpy as np, vatjax
        >>> from vatjax.named.simulated import shifts_array
        >>> x = np.random.default_rng(1).integers(-2, 3, (2, 30, 10)) / 2
        >>> ds = vatjax.compare(shifts_array(x), "study-0", "study-1", n_resamples=50,
        ...                     n_permutations=50, quiet=True)
        >>> float(ds["gain_p"].squeeze()) <= 1
        True
    """
    _check_arguments(by, n_resamples, n_permutations, level, alpha, max_nan_fraction)
    check_resampling(max_memory, devices)
    sc = shift_cells(shifts)
    pairs = _pairs(sc.layout, sc.cells, a, b, by)
    ok = pairs.note == ""
    side_of, sides = _sides(pairs, sc.cells, ok)
    blocks = len(side_blocks(sides, n_resamples, sc.cells.x.shape[-1], int(max_memory)))
    bar, advance = progress_bar(quiet, blocks * n_resamples + n_permutations + 1,
                                f"compare: {len(pairs.pairs)} pair(s)")  # fmt: skip
    opts = dict(include_diagonal=include_diagonal, max_memory=int(max_memory), devices=devices)
    with bar:
        est, reps = paired_bootstrap(sc.cells, sides, n_resamples, seed, advance=advance, **opts)
        comp = np.argwhere(ok)
        sa = np.array([side_of[(pairs.cell_a[g, p], g, p)] for g, p in comp], np.int64)
        sb = np.array([side_of[(pairs.cell_b[g, p], g, p)] for g, p in comp], np.int64)
        null = paired_swaps(sc.cells, sides, np.stack([sa, sb], -1).reshape(-1, 2),
                            n_permutations, seed, advance=advance, **opts)  # fmt: skip
    table = _tables(est, reps, null, sa, sb, level, max_nan_fraction)
    score = np.full(pairs.item_cell.shape, np.nan)
    for (g, i), _ in np.ndenumerate(score):
        if ("item", g, i) in side_of:
            score[g, i] = est[side_of[("item", g, i)], 1]  # debiased nVAT on all its samples
    ds = _dataset(sc.layout, pairs, comp, table, alpha, score)
    ds.attrs = _attrs(shifts, by, seed, n_resamples, n_permutations, level, alpha, include_diagonal)
    return ds


def _check_arguments(by, n_resamples, n_permutations, level, alpha, max_nan_fraction) -> None:
    if by not in _OTHER:
        raise VatInputError(
            f"by must be 'intervention' (compare the interventions of each model) or 'model' "
            f"(compare the models under each intervention), got {by!r}"
        )
    check_count("n_resamples", n_resamples, 1)
    check_count("n_permutations", n_permutations, 1)
    check_confidence(level)
    if not 0 < alpha < 1:
        raise VatInputError(f"alpha must lie in (0, 1), e.g. 0.05; got {plain(alpha)}")
    if not 0 <= max_nan_fraction <= 1:
        raise VatInputError(f"max_nan_fraction must lie in [0, 1], got {plain(max_nan_fraction)}")


def _check_item(name, items: list[str], by: str, which: str) -> str:
    if name in items:
        return name
    close = difflib.get_close_matches(str(name), items, n=3)
    hint = f" (did you mean {close}?)" if close else ""
    raise VatInputError(f"{which}={name!r} is not among the {by}s of these shifts{hint}; they are: "
                        f"{items}")  # fmt: skip


def _pairs(layout: xr.DataArray, cells: Cells, a, b, by: str) -> Pairs:
    """Which cells each comparison sets against each other, and on how many samples."""
    group_dim = _OTHER[by]
    items = [str(v) for v in layout[by].values]
    if len(items) < 2:
        raise VatInputError(
            f"only {len(items)} {by} ({items}): a comparison needs at least 2; "
            f"compare by {group_dim!r} instead, or add {by}s"
        )
    if (a is None) != (b is None):
        raise VatInputError("give both a and b (the two to compare), or neither (every pair)")
    if a is None:
        chosen, pairs = items, list(itertools.combinations(items, 2))
    else:
        a, b = _check_item(a, items, by, "a"), _check_item(b, items, by, "b")
        if a == b:
            raise VatInputError(f"a and b are both {a!r}: name two different {by}s")
        chosen, pairs = [a, b], [(a, b)]
    cell_dims = layout.dims[:-2]
    number = xr.DataArray(np.arange(cells.x.shape[0]).reshape(layout.shape[:-2]), dims=cell_dims,
                          coords={d: layout[d].values for d in cell_dims})  # fmt: skip
    number = number.transpose(group_dim, by)
    index = {name: i for i, name in enumerate(items)}
    cell_a = number.values[:, [index[p] for p, _ in pairs]]
    cell_b = number.values[:, [index[q] for _, q in pairs]]
    n_shared = (cells.present[cell_a] & cells.present[cell_b]).sum(-1)
    note = np.where(n_shared < 4, np.char.add(
        "only ", np.char.add(n_shared.astype(str), " shared samples: a comparison needs 4")), "")  # fmt: skip
    note = np.where(n_shared == 0, "no shared samples", note).astype(object)
    if (n_shared < 4).all():
        where = f"{pairs[0][0]!r} and {pairs[0][1]!r}" if a is not None else f"any two {by}s"
        raise VatInputError(
            f"{where} share no samples (at most {int(n_shared.max())} scenario(s) judged under "
            f"both, and a comparison needs 4): compare {by}s judged on the same scenarios"
        )
    item_cell = number.values[:, [index[name] for name in chosen]]
    return Pairs(group_dim, layout[group_dim].values, chosen, pairs, cell_a, cell_b, item_cell,
                 n_shared, note)  # fmt: skip


def _sides(pairs: Pairs, cells: Cells, ok: np.ndarray):
    """The distinct (cell, samples) of the comparisons: a cell compared on the same samples
    in several pairs is one side, bootstrapped and counted once. Each item on all its
    samples is a side too (its estimate ranks it; usually it is a pair's side already)."""
    side_of, sides, known = {}, [], {}

    def add(cell, mask, name):
        key = (int(cell), mask.tobytes())
        if key not in known:
            known[key] = len(sides)
            sides.append((int(cell), mask))
        side_of[name] = known[key]

    for g, p in np.argwhere(ok):
        ca, cb = pairs.cell_a[g, p], pairs.cell_b[g, p]
        mask = cells.present[ca] & cells.present[cb]
        add(ca, mask, (ca, g, p))
        add(cb, mask, (cb, g, p))
    for (g, i), cell in np.ndenumerate(pairs.item_cell):
        if cells.present[cell].sum() >= 4:
            add(cell, cells.present[cell], ("item", g, i))
    return side_of, sides


def _tables(est, reps, null, sa, sb, level, max_nan_fraction) -> dict:
    """Per comparison and stat (gain, nvat, vat(V), centralization): the interval table
    (4, C, S), the p-values (C, S)."""
    from vatjax.core.compare import recentred_interval, swap_p_value

    diff = est[sa] - est[sb]
    rep = reps[:, sa] - reps[:, sb]
    shape = diff.shape
    table = recentred_interval(diff.reshape(-1), rep.reshape(len(rep), -1), level,
                               max_nan_fraction).reshape(4, *shape)  # fmt: skip
    return {"table": table, "p": swap_p_value(null[0], null[1:])}


def _dataset(layout, pairs: Pairs, comp, table, alpha, score) -> xr.Dataset:
    level = layout.dims[-1]
    n_values = layout.shape[-1]
    n_groups, n_pairs = pairs.cell_a.shape
    full = np.full((4, n_groups, n_pairs, n_values + 3), np.nan)
    full[:, comp[:, 0], comp[:, 1]] = table["table"]
    p = np.full((n_groups, n_pairs, n_values + 3), np.nan)
    p[comp[:, 0], comp[:, 1]] = table["p"]
    q = np.moveaxis(bh(np.moveaxis(p, 1, -1)), -1, 1)
    g, by = pairs.group_dim, _OTHER[pairs.group_dim]
    dims = {"gain": (), "nvat_debiased": (), "vat_debiased": (level,), "centralization_debiased": ()}
    cols = {"gain": 0, "nvat_debiased": 1, "vat_debiased": slice(2, 2 + n_values),
            "centralization_debiased": -1}  # fmt: skip
    data = {}
    for name, (long_name, units) in METRICS.items():
        core = (g, "pair", *dims[name])
        data[name] = (("stat", *core), full[..., cols[name]], {"long_name": long_name, "units": units})
        data[f"{name}_p"] = (core, p[..., cols[name]], {
            "long_name": f"paired permutation p-value of {name} (a - b), two-sided", "units": "1"})
        data[f"{name}_q"] = (core, q[..., cols[name]], {
            "long_name": f"Benjamini-Hochberg q-value of {name} over the pairs of each {g}",
            "units": "1"})  # fmt: skip
    data["n_shared"] = ((g, "pair"), pairs.n_shared.astype(np.int64),
                        {"long_name": "samples both a and b have", "units": "count"})  # fmt: skip
    data["note"] = ((g, "pair"), pairs.note,
                    {"long_name": "why a pair has no figures ('' where it has)", "units": ""})  # fmt: skip
    data.update(_ranking(score, pairs, q[..., 1], alpha))
    pair_coords = {"pair": [f"{x} - {y}" for x, y in pairs.pairs],
                   "a": ("pair", [x for x, _ in pairs.pairs]),
                   "b": ("pair", [y for _, y in pairs.pairs])}  # fmt: skip
    ds = xr.Dataset(data, coords={"stat": list(STATS), **pair_coords, level: layout[level].values})
    for c, v in layout.coords.items():  # per-group and per-item coords (target, strategy, ...)
        if v.dims == (g,):
            ds = ds.assign_coords({c: v})
        elif v.dims == (by,):
            ds = ds.assign_coords({c: v.sel({by: pairs.items})})
    return ds


def _ranking(score: np.ndarray, pairs: Pairs, q_nvat: np.ndarray, alpha: float) -> dict:
    """Each item's debiased nVAT (its own samples), rank and tie group, per group."""
    from vatjax.core.compare import tie_groups

    g, by = pairs.group_dim, _OTHER[pairs.group_dim]
    index = {name: i for i, name in enumerate(pairs.items)}
    rank = np.full(score.shape, -1)
    group = np.full(score.shape, -1)
    for i in range(score.shape[0]):
        qm = np.full((len(pairs.items),) * 2, np.nan)
        for p, (x, y) in enumerate(pairs.pairs):
            qm[index[x], index[y]] = qm[index[y], index[x]] = q_nvat[i, p]
        rank[i], group[i] = tie_groups(score[i], qm, alpha)
    return {
        "item_nvat_debiased": ((g, by), score, {
            "long_name": "debiased nVAT of each item on all its samples (the ranking key)",
            "units": "1"}),
        "rank": ((g, by), rank, {"long_name": "rank by debiased nVAT (1: lowest tax; -1: no "
                                              "data)", "units": ""}),
        "tie_group": ((g, by), group, {"long_name": f"tie group: not significantly different "
                      f"(q >= {alpha:g}) from the group's best item; -1: no data", "units": ""}),
    }  # fmt: skip


def _attrs(shifts, by, seed, n_resamples, n_permutations, level, alpha, include_diagonal):
    attrs = conventions(shifts.attrs, shifts.dims[-1], include_diagonal=include_diagonal, eps=0)
    del attrs["eps"], attrs["gnd_convention"]
    return {
        **attrs,
        "by": by,
        "difference": "a - b on the samples both have",
        "seed": int(seed),
        "n_resamples": int(n_resamples),
        "n_permutations": int(n_permutations),
        "confidence_level": float(level),
        "alpha": float(alpha),
        "interval": "paired bootstrap (one weight vector for both sides), replicates debiased "
        "for their own noise too, percentiles re-centred on the estimated difference",
        "test": "paired permutation: per sample a's and b's shift vectors swapped with "
        "probability 1/2 (tax: each side centred per value first; Gain: sign flip of the "
        "paired per-sample gains); p = (1 + #{|T*| >= |T|}) / (1 + P)",
        "q_convention": "Benjamini-Hochberg over the pairs of each " + _OTHER[by],
        "tie_groups": "ranked by debiased nVAT (1: lowest); an item joins the group of the "
        "group's best item unless their difference has q < alpha",
        "prng": "threefry2x32 from key(seed): resample b fold_in(key, b), shared by both "
        "sides; permutation p fold_in(fold_in(key, 2^32 - 2), p), shared by every pair",
    }


def pairs_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per group and pair of a :func:`compare` result: the differences, their
    intervals, p and q (scalar metrics), and n_shared.

    Example:
        >>> import numpy as np, vatjax
        >>> from vatjax.named.simulated import shifts_array
        >>> x = np.random.default_rng(2).integers(-2, 3, (2, 30, 10)) / 2
        >>> t = pairs_table(vatjax.compare(shifts_array(x), n_resamples=50, n_permutations=50,
        ...                                quiet=True))
        >>> list(t.columns[:4])
        ['model', 'a', 'b', 'n_shared']
    """
    g = ds["n_shared"].dims[0]
    rows = []
    for gi, pi in itertools.product(range(ds.sizes[g]), range(ds.sizes["pair"])):
        at = {g: gi, "pair": pi}
        row = {g: str(ds[g].values[gi]), "a": str(ds["a"].values[pi]),
               "b": str(ds["b"].values[pi]), "n_shared": int(ds["n_shared"][at])}  # fmt: skip
        for name in ("gain", "nvat_debiased", "centralization_debiased"):
            for stat in STATS:
                row[f"{name}_{stat}"] = float(ds[name].sel(stat=stat)[at])
            row[f"{name}_p"] = float(ds[f"{name}_p"][at])
            row[f"{name}_q"] = float(ds[f"{name}_q"][at])
        rows.append(row)
    return pd.DataFrame(rows)
