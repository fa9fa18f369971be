"""Uncertainty of the VAT metrics: bootstrap intervals and the permutation noise floor.

Every resample is a weight vector over scenarios (:mod:`vatjax.weights`); the kernels take
``(shifts, weights)`` and never build the resampled data. For Likert shifts (ties are the
rule) the coupling of a whole chunk of resamples is two matrix products
(:func:`vatjax.kernels.spearman_many`); data with many distinct levels fall back to the
per-weight-vector :func:`vatjax.kernels.spearman`. Chunks of resamples are sized by a
memory bound and sharded over all devices along a ``resample`` mesh axis; resample b
always uses ``fold_in(key, b)``, so results do not depend on the chunking or on the
number of devices.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=30, targets=[("Power", -1)],
    ...                               strategies=["prompt"], effects=(1.0,), coupling=0.1)
    >>> ds = vatjax.bootstrap(vatjax.shifts(vatjax.load_judgments(study.table)),
    ...                       n_resamples=200, quiet=True)
    >>> ds["nvat"].sel(stat=["estimate", "lower", "upper"]).dims
    ('stat', 'model', 'intervention')
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from vatjax.errors import VatInputError
from vatjax.kernels import (
    GroupPlan,
    VatMetrics,
    centred_midranks,
    correlation_from_cross,
    gain_gnd,
    group_plan,
    spearman,
    spearman_many,
    vat_from_coupling,
)
from vatjax.metrics import conventions, kernel_inputs, metrics_dataset
from vatjax.weights import (
    SCHEMES,
    check_scheme,
    draw_chunk,
    jackknife_groups,
    jackknife_weights,
    present_first,
    random_words,
)

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "bootstrap",
    "noise_floor",
    "results_dataset",
    "uncertainty_table",
]

DEFAULT_MAX_MEMORY = 1 << 30  # bytes: working set of the resampling chunks and replicates
INTERVALS = ("bca", "percentile")
STATS = ("estimate", "lower", "upper", "se", "replicate_sd")
FLOAT_METRICS = ("gain", "gain_raw", "gnd", "coupling", "vat", "nvat", "centralization")
_MAX_CHUNK = 128  # resamples per device and chunk: one rank GEMM reads the plan once
_CHUNKS_PER_CALL = 4  # chunks per device in one compiled call (a loop on the device)
_MAX_GATHER_SLICE = 32  # resamples whose gathered ranks (V N floats each) exist at once
_normal = NormalDist()


# ---------------------------------------------------------------------------------------
# The data, as the engine sees it


class _Cells(NamedTuple):
    """Shifts flattened to cells (model x intervention) for the engine, plus the layout."""

    x: np.ndarray  # (cell, scenario, value) float32
    mask: np.ndarray  # (cell, value) bool: the target's entries
    direction: np.ndarray  # (cell,) float32
    present: np.ndarray  # (cell, scenario) bool
    has_nan: bool  # NaN inside a cell's present scenarios
    layout: xr.DataArray  # the transposed shifts: dims (*cells, scenario, value)


def _cells(shifts: xr.DataArray) -> _Cells:
    x, mask, direction, has_nan = kernel_inputs(shifts)
    values = np.asarray(x.values, np.float32)
    n, v = values.shape[-2:]
    flat = values.reshape(-1, n, v)
    cell_shape = values.shape[:-2]
    mask = np.broadcast_to(mask, (*cell_shape, v)).reshape(-1, v)
    direction = np.broadcast_to(direction, cell_shape).reshape(-1).astype(np.float32)
    present = ~np.all(np.isnan(flat), axis=-1)
    # absent scenarios weigh 0 in every resample: only NaN inside a cell's scenarios needs
    # Spearman pair by pair
    has_nan = has_nan and bool(np.isnan(flat[present]).any())
    return _Cells(flat, mask, direction, present, has_nan, x)


def _subset(cells: _Cells, sel: np.ndarray) -> _Cells:
    """The cells numbered ``sel`` (flat), same layout."""
    return cells._replace(
        x=cells.x[sel], mask=cells.mask[sel], direction=cells.direction[sel],
        present=cells.present[sel],
    )  # fmt: skip


def _n_stats(n_values: int) -> int:
    return 4 + 2 * n_values + n_values * n_values


def _stat_vector(gain, gain_raw, gnd, coupling, vat, nvat, central):
    """(..., S): gain, gain_raw, gnd (V), coupling (V*V), vat (V), nvat, centralization."""
    lead = gain.shape
    return jnp.concatenate(
        [
            gain[..., None],
            gain_raw[..., None],
            gnd,
            coupling.reshape(*lead, -1),
            vat,
            nvat[..., None],
            central[..., None],
        ],
        axis=-1,
    )


def _unstack(stats: np.ndarray, n_values: int) -> dict[str, np.ndarray]:
    """Inverse of :func:`_stat_vector` along the last axis."""
    v = n_values
    sizes = {
        "gain": 1,
        "gain_raw": 1,
        "gnd": v,
        "coupling": v * v,
        "vat": v,
        "nvat": 1,
        "centralization": 1,
    }
    out, at = {}, 0
    for name in ("gain", "gain_raw", "gnd", "coupling", "vat", "nvat", "centralization"):
        part = stats[..., at : at + sizes[name]]
        at += sizes[name]
        if name == "coupling":
            part = part.reshape(*stats.shape[:-1], v, v)
        elif sizes[name] == 1:
            part = part[..., 0]
        out[name] = part
    return out


# ---------------------------------------------------------------------------------------
# The engine: one jitted, sharded function per configuration, cached across calls


class _Config(NamedTuple):
    """What is compiled: one program serves the jackknife and every scheme (a switch)."""

    permute: bool
    shared: bool
    grouped: bool
    pairwise: bool
    include_diagonal: bool
    gather_slice: int  # weight vectors per slice of gathered ranks (spearman_many)


_BRANCHES = ("jackknife", *SCHEMES)  # the weight generator of a chunk, by number


def _metrics(cfg: _Config, x, plan, w, mask, direction, eps):
    """Stat vectors (chunk, cell, S) of the weights w (chunk, cell, scenario)."""
    gain, gain_raw, _, gnd = gain_gnd(x, w, mask, direction, eps)
    if cfg.grouped:
        coupling = jnp.swapaxes(
            spearman_many(
                plan, jnp.swapaxes(w, 0, 1), pairwise=cfg.pairwise, slice_size=cfg.gather_slice
            ),
            0,
            1,
        )
    else:
        coupling = jax.lax.map(lambda wi: spearman(x, wi, pairwise=cfg.pairwise), w)
    vat, nvat, central = vat_from_coupling(coupling, include_diagonal=cfg.include_diagonal)
    return _stat_vector(gain, gain_raw, gnd, coupling, vat, nvat, central)


def _sources(key, index, present, inverse, n_values):
    """(cell, value, scenario): the scenario whose shift each slot takes in permutation
    ``index``: each value shuffled across the cell's present scenarios, absent ones in
    place; index -1 is the observed data."""
    n_cells, n = present.shape
    pkey = jax.random.fold_in(key, jnp.maximum(index, 0))
    iota = jnp.arange(n, dtype=jnp.uint32)

    def one_cell(c, pc, inv):
        bits = random_words(jax.random.fold_in(pkey, c), (n_values, n))
        # present scenarios in random order first, then the absent ones (all-NaN rows,
        # interchangeable); one sort key. Equal keys among the present ones (probability
        # ~n^2 / 2^33 per value) keep the order the sort gives them.
        keys = jnp.where(pc, jnp.minimum(bits, jnp.uint32(0xFFFFFFFE)), jnp.uint32(0xFFFFFFFF))
        _, perm = jax.lax.sort((keys, jnp.broadcast_to(iota, bits.shape)), num_keys=1)
        return jnp.take(perm, inv, axis=-1).astype(jnp.int32)

    src = jax.vmap(one_cell)(jnp.arange(n_cells), present, inverse)
    return jnp.where(index < 0, jnp.arange(n, dtype=jnp.int32), src)


def _permuted_metrics(cfg: _Config, key, idx, x, present, inverse):
    """(chunk, cell, V*V + V + 2): coupling, vat, nvat, centralization of permuted data."""
    w = present.astype(jnp.float32)
    n_values = x.shape[-1]

    def stats(coupling):
        vat, nvat, central = vat_from_coupling(coupling, include_diagonal=cfg.include_diagonal)
        flat = coupling.reshape(*coupling.shape[:-2], -1)
        return jnp.concatenate([flat, vat, nvat[..., None], central[..., None]], axis=-1)

    if cfg.pairwise:  # NaN inside scenarios: rank every permuted data set pair by pair

        def one(i):
            src = jnp.swapaxes(_sources(key, i, present, inverse, n_values), 1, 2)
            return stats(spearman(jnp.take_along_axis(x, src, axis=1), w, pairwise=True))

        return jax.lax.map(one, idx)
    # a value's midranks move with its shifts: rank once, permute the ranks
    scaled = jax.vmap(centred_midranks)(x, w) * jnp.sqrt(w)[:, None, :]

    def one(i):
        y = jnp.take_along_axis(scaled, _sources(key, i, present, inverse, n_values), axis=-1)
        return stats(correlation_from_cross(y @ jnp.swapaxes(y, -1, -2)))

    return jax.vmap(one)(idx)


def _chunk_body(cfg: _Config):
    def chunk(idx, order, branch, fraction, key, first_cell, union, present, groups, inverse,
              x, ops, gidx, valid, mask, direction, eps):  # fmt: skip
        if cfg.permute:
            return _permuted_metrics(cfg, key, idx, x, present, inverse)
        generators = [jax.vmap(lambda i: jackknife_weights(groups, i))] + [
            functools.partial(
                draw_chunk, key, present=present, scheme=scheme, fraction=fraction,
                shared=cfg.shared, first_cell=first_cell, union=union, order=order,
            )
            for scheme in SCHEMES
        ]  # fmt: skip
        w = jax.lax.switch(branch, generators, idx)
        return _metrics(cfg, x, GroupPlan(ops, gidx, valid), w, mask, direction, eps)

    def body(idx, n_chunks, branch, fraction, key, first_cell, union, present, *rest):
        """The first n_chunks of this device's _CHUNKS_PER_CALL chunks, in one call."""
        idx = idx.reshape(_CHUNKS_PER_CALL, -1)
        args = (branch, fraction, key, first_cell, union, present, *rest)
        order = present_first(union if cfg.shared else present)  # one sort, not one per chunk
        shape = jax.eval_shape(lambda i: chunk(i, order, *args), idx[0])
        out = jnp.zeros((_CHUNKS_PER_CALL, *shape.shape), shape.dtype)
        step = lambda j, out: out.at[j].set(chunk(idx[j], order, *args))  # noqa: E731
        out = jax.lax.fori_loop(0, n_chunks, step, out)
        return out.reshape(-1, *shape.shape[1:])

    return body


@functools.lru_cache(maxsize=64)
def _mesh(device_ids: tuple[int, ...]) -> Mesh:
    by_id = {d.id: d for d in jax.devices()}
    return Mesh(np.array([by_id[i] for i in device_ids]), ("resample",))


@functools.lru_cache(maxsize=64)
def _compiled(cfg: _Config, device_ids: tuple[int, ...]) -> Callable:
    """The jitted chunk function, sharded over the devices along ``resample``; cached."""
    mesh = _mesh(device_ids)
    body = _chunk_body(cfg)
    spec = (P("resample"),) + (P(),) * 16
    sharded = jax.shard_map(
        body, mesh=mesh, in_specs=spec, out_specs=P("resample"), check_vma=False
    )
    return jax.jit(sharded)


def _use_groups(levels: int, n: int, n_values: int, plan_bytes: int, max_memory: int) -> bool:
    """Whether the tie-group kernel (spearman_many) runs the coupling.

    K tie groups cost 2 N K flops per resample and an N x K plan: a win where ties are the
    rule (Likert shifts), not where nearly every level is distinct (continuous shifts),
    which go to the per-vector sort-based :func:`vatjax.kernels.spearman`.
    """
    return levels <= max(512, n * n_values // 4) and plan_bytes <= max_memory // 4


class _Engine:
    """Runs chunks of resamples (or permutations) of the cells under the memory bound."""

    def __init__(
        self,
        cells: _Cells,
        *,
        seed: int,
        max_memory: int,
        devices: Sequence | None,
        n_reps_total: int,
        shared: bool = False,
        include_diagonal: bool = False,
        fraction: float = 0.8,
        float_weights: bool = False,
        permute: bool = False,
        first_cell: int = 0,
        union: np.ndarray | None = None,
    ):
        self.devices = list(devices) if devices is not None else jax.devices()
        n_cells, n, n_values = cells.x.shape
        self.key = jax.random.key(seed, impl="threefry2x32")
        self.fraction = jnp.float32(fraction)
        self.float_weights = float_weights
        plan_bytes = 0
        grouped = False
        if not permute and n * n_values > 0:
            levels = max(
                sum(len(np.unique(col[~np.isnan(col)])) for col in cell.T) for cell in cells.x
            )
            plan_bytes = n_cells * n * (-(-max(levels, 1) // 64) * 64) * 2
            grouped = _use_groups(levels, n, n_values, plan_bytes, max_memory)
        # integer weights (counts, 0/1): the rank product is an exact int8 GEMM
        dtype = jnp.float32 if float_weights else jnp.int8
        if grouped:
            plan = group_plan(cells.x, dtype)
            plan_bytes = plan.ops.size * plan.ops.dtype.itemsize
        else:
            plan = GroupPlan(
                jnp.zeros((n_cells, 1, 1), dtype),
                jnp.zeros((n_cells, n_values, 1), jnp.int32),
                jnp.zeros((n_cells, 1, n_values), jnp.float32),
            )
        self.grouped = grouped
        # bytes per resample and cell: weights and draws, and the gathered ranks and their
        # products (x V with pairwise NaN); without NaN the gathered ranks exist for one
        # slice of resamples at a time, which takes at most a quarter of a device's budget
        sliced = grouped and not cells.has_nan
        if sliced:
            per = n * 4 * 4
        elif grouped:
            per = n * 4 * (4 + 3 * n_values) * n_values
        else:
            per = n * 4 * 12 * n_values * (2 if cells.has_nan else 1)
        reps = n_reps_total * n_cells * _n_stats(n_values) * 4
        n_dev = len(self.devices)  # each device holds its own copy of the plan
        budget = max(max_memory - n_dev * plan_bytes - reps, max_memory // 4) // n_dev
        gather_slice = 1
        if sliced:
            gathered = n * 4 * 2 * n_values * n_cells  # per resample of the slice
            gather_slice = int(np.clip(budget // 4 // gathered, 1, _MAX_GATHER_SLICE))
            budget -= gather_slice * gathered
        self.chunk = int(min(max(budget // (2 * per * n_cells), 1), _MAX_CHUNK))
        self.cfg = _Config(
            permute, bool(shared), grouped, cells.has_nan, bool(include_diagonal), gather_slice
        )
        # the fixed arguments live on every device (one copy each), placed once
        self.mesh = _mesh(tuple(d.id for d in self.devices))
        self.replicated = NamedSharding(self.mesh, P())
        self.args = jax.device_put(
            [
                np.int32(first_cell),
                cells.present.any(0) if union is None else union,
                cells.present,
                np.zeros((n_cells, n), np.int32),  # jackknife groups
                np.tile(np.arange(n, dtype=np.int32), (n_cells, 1)),  # see _sources
                cells.x,
                *plan,
                cells.mask,
                cells.direction,
            ],
            self.replicated,
        )

    def set_groups(self, groups: np.ndarray) -> None:
        self.args[3] = jax.device_put(np.asarray(groups, np.int32), self.replicated)

    def set_inverse(self, inverse: np.ndarray) -> None:
        self.args[4] = jax.device_put(np.asarray(inverse, np.int32), self.replicated)

    def function(self) -> Callable:
        return _compiled(self.cfg, tuple(d.id for d in self.devices))

    def run(self, what: str, indices: np.ndarray, eps: float, progress=None, task=None):
        """Stats (len(indices), cell, S) of resamples, jackknife groups or permutations.

        ``what`` is a scheme, ``jackknife`` (index -1: the full sample) or ``permute``
        (index -1: the observed data).
        """
        if what == "bayesian" and not self.float_weights:
            raise ValueError("the engine was built for integer weights")
        fn = self.function()
        branch = jnp.int32(_BRANCHES.index(what) if what in _BRANCHES else 0)
        n_dev = len(self.devices)
        scalars = jax.device_put((branch, self.fraction, self.key), self.replicated)
        fixed = (*scalars, *self.args, jax.device_put(np.float32(eps), self.replicated))
        spread = NamedSharding(self.mesh, P("resample"))
        step = self.chunk * n_dev * _CHUNKS_PER_CALL
        out, pending = [], None

        def collect(pending):
            res, n_chunks, count = pending
            res = np.asarray(res).reshape(n_dev, _CHUNKS_PER_CALL, self.chunk, *res.shape[1:])
            out.append(res[:, :n_chunks].reshape(-1, *res.shape[3:])[:count])
            if progress is not None:
                progress.advance(task, count)

        for start in range(0, len(indices), step):
            idx = indices[start : start + step]
            # device d runs chunks 0..n_chunks-1 of its slot; the rest of the slot is idle
            n_chunks = -(-len(idx) // (self.chunk * n_dev))
            used = np.concatenate([idx, np.full(n_chunks * self.chunk * n_dev - len(idx), idx[-1])])
            slots = np.full((n_dev, _CHUNKS_PER_CALL, self.chunk), idx[-1], np.int32)
            slots[:, :n_chunks] = used.reshape(n_dev, n_chunks, self.chunk)
            res = fn(jax.device_put(slots.reshape(-1), spread), np.int32(n_chunks), *fixed)
            if pending is not None:  # the device works on this call while the host collects
                collect(pending)
            pending = (res, n_chunks, len(idx))
        collect(pending)
        return np.concatenate(out, axis=0)


def _progress(quiet: bool, total: int, what: str):
    progress = Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet,
    )
    return progress, progress.add_task(what, total=total)


# ---------------------------------------------------------------------------------------
# Intervals (numpy, float64)


def _ndtri(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, np.float64)
    out = np.full(p.shape, np.nan)
    inside = (p > 0) & (p < 1)
    out[inside] = [_normal.inv_cdf(v) for v in p[inside]]
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


def _ndtr(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    out = np.full(z.shape, np.nan)
    ok = ~np.isnan(z)
    out[ok] = [0.5 * math.erfc(-v / math.sqrt(2)) for v in z[ok]]
    return out


def _quantile(sorted_reps: np.ndarray, k: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles per column of column-sorted replicates (NaN last)."""
    with np.errstate(invalid="ignore"):
        pos = probs * (k - 1)
    ok = np.isfinite(pos) & (k > 0)
    pos = np.where(ok, np.clip(pos, 0, np.maximum(k - 1, 0)), 0.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
    a = np.take_along_axis(sorted_reps, lo[None], axis=0)[0]
    b = np.take_along_axis(sorted_reps, hi[None], axis=0)[0]
    return np.where(ok, a + (pos - lo) * (b - a), np.nan)


def _acceleration(jack: np.ndarray) -> np.ndarray:
    """BCa acceleration from jackknife values (group, column); NaN entries left out."""
    ok = ~np.isnan(jack)
    m = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, jack, 0.0).sum(0) / m
        d = np.where(ok, mean - jack, 0.0)
        num = (d**3).sum(0)
        den = (d**2).sum(0)
        return np.where(den > 0, num / (6 * den**1.5), 0.0)


def _intervals(
    est: np.ndarray,
    reps: np.ndarray,
    jack: np.ndarray | None,
    *,
    interval: str,
    level: float,
    scale: np.ndarray,
    max_nan_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(stat, column) estimate, lower, upper, se, replicate_sd and the NaN fraction.

    ``scale`` stretches the replicates about the estimate (the subsampling correction,
    1 for the bootstrap). NaN replicates are dropped; where more than
    ``max_nan_fraction`` of them are NaN the interval and se are NaN.
    """
    reps = reps.astype(np.float64)
    est = est.astype(np.float64)
    nan = np.isnan(reps)
    k = (~nan).sum(0)
    nan_fraction = nan.mean(0)
    raw_sd = np.nanstd(np.where(k > 1, reps, 0.0), axis=0, ddof=1) if len(reps) > 1 else 0 * est
    scaled = np.where(scale == 1, reps, est + scale * (reps - est))
    se = scale * raw_sd
    srt = np.sort(scaled, axis=0)
    alpha = (1 - level) / 2
    if interval == "percentile":
        p_lo = np.full(est.shape, alpha)
        p_hi = np.full(est.shape, 1 - alpha)
    else:
        below = (scaled < est).sum(0) + (scaled <= est).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z0 = _ndtri(below / (2.0 * k))
        a = _acceleration(jack) if jack is not None else np.zeros(est.shape)
        z = _normal.inv_cdf(alpha)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_lo = _ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
            p_hi = _ndtr(z0 + (z0 - z) / (1 - a * (z0 - z)))
    lower = _quantile(srt, k, p_lo)
    upper = _quantile(srt, k, p_hi)
    bad = (nan_fraction > max_nan_fraction) | (k < 2)
    lower, upper, se = (np.where(bad, np.nan, v) for v in (lower, upper, se))
    return np.stack([est, lower, upper, se, raw_sd]), nan_fraction


# ---------------------------------------------------------------------------------------
# Output


def _dataset(stacked: dict[str, np.ndarray], cells: _Cells, leading: tuple[str, ...]):
    """Named-dims Dataset from per-metric arrays (*leading, cell, ...)."""
    cell_shape = cells.layout.shape[:-2]
    lead = next(iter(stacked.values())).shape[: len(leading)]

    def shaped(a, core=()):
        return np.asarray(a).reshape(*lead, *cell_shape, *core)

    v = cells.x.shape[-1]
    any_present = cells.present.any(-1)
    n_samples = shaped(np.broadcast_to(cells.present.sum(-1), (*lead, len(any_present))))
    m = VatMetrics(
        gain=shaped(stacked["gain"]),
        gain_raw=shaped(stacked["gain_raw"]),
        gain_below_eps=np.zeros(n_samples.shape, bool),
        gnd=shaped(stacked["gnd"], (v,)),
        coupling=shaped(stacked["coupling"], (v, v)),
        vat=shaped(stacked["vat"], (v,)),
        nvat=shaped(stacked["nvat"]),
        centralization=shaped(stacked["centralization"]),
        n_samples=n_samples.astype(np.float32),
    )
    return metrics_dataset(m, cells.layout, leading)


def _check_common(max_memory: int, devices) -> None:
    if not isinstance(max_memory, int | np.integer) or max_memory < 1 << 20:
        raise VatInputError(f"max_memory must be at least 1 MiB (in bytes), got {max_memory!r}")
    if devices is not None and len(devices) == 0:
        raise VatInputError("devices must name at least one JAX device (or be None for all)")


def bootstrap(
    shifts: xr.DataArray,
    *,
    n_resamples: int = 10_000,
    scheme: str = "bootstrap",
    interval: str = "bca",
    level: float = 0.95,
    seed: int = 0,
    keep_replicates: bool = False,
    shared: bool = False,
    fraction: float = 0.8,
    jackknife: int | None = None,
    include_diagonal: bool = False,
    eps: float = 1e-3,
    max_nan_fraction: float = 0.05,
    max_memory: int = DEFAULT_MAX_MEMORY,
    devices: Sequence | None = None,
    quiet: bool = False,
) -> xr.Dataset:
    """Resampling intervals and standard errors of every VAT metric (VAT_SPEC section 4).

    Args:
        shifts: from :func:`vatjax.shifts`.
        n_resamples: number of resamples.
        scheme: ``bootstrap`` (multinomial over scenarios), ``subsample`` (m = fraction x n
            without replacement; the spread is rescaled by sqrt(m / (n - m)) to the
            full-sample scale, and ``replicate_sd`` keeps the raw spread, the paper's
            std(nVAT)) or ``bayesian`` (Dirichlet(1) weights).
        interval: ``bca`` (bias-corrected and accelerated, jackknife acceleration) or
            ``percentile``. BCa corrects the bias of nVAT and VAT (squared correlations
            are biased upward); where that bias is large against the spread (coupling at
            the noise floor) BCa can exclude the estimate and get narrow, and where the
            estimate lies outside every replicate its bias correction is infinite and the
            interval NaN: read such intervals with :func:`noise_floor`, or use percentile.
        level: confidence level in (0, 1).
        seed: seed of the JAX PRNG key; resample b uses ``fold_in(key, b)``.
        keep_replicates: also return every replicate along a ``resample`` dim.
        shared: the same scenario weights for every model x intervention (they must share
            scenarios): valid joint intervals for differences between cells.
        fraction: m / n for ``subsample``.
        jackknife: groups of the delete-a-group jackknife for the BCa acceleration;
            ``None`` is leave-one-out up to 2,000 samples and 1,000 random groups above.
        include_diagonal, eps: as in :func:`vatjax.vat`.
        max_nan_fraction: NaN replicates (e.g. a value constant in a resample, or
            |Gain| < eps) are dropped and counted in ``<metric>_nan_fraction``; above this
            fraction the interval and se are NaN.
        max_memory: bytes for the resampling chunks, plan and replicates (a bound on the
            working set, not counting the input).
        devices: JAX devices to shard the resamples over (default: all).
        quiet: no progress bar.

    Returns:
        The metrics Dataset of :func:`vatjax.vat` with a ``stat`` dim (estimate, lower,
        upper, se, replicate_sd) on every float metric, ``<metric>_nan_fraction``, and
        with ``keep_replicates`` the ``<metric>_replicates`` along ``resample``.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=2, n_models=1, n_scenarios=25)
        >>> ds = vatjax.bootstrap(vatjax.shifts(vatjax.load_judgments(s.table)),
        ...                       n_resamples=100, interval="percentile", quiet=True)
        >>> bool((ds["gain"].sel(stat="lower") <= ds["gain"].sel(stat="upper")).all())
        True
    """
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 2:
        raise VatInputError(f"n_resamples must be an integer >= 2, got {n_resamples!r}")
    check_scheme(scheme, fraction)
    if interval not in INTERVALS:
        raise VatInputError(f"unknown interval {interval!r}; use one of {list(INTERVALS)}")
    if not 0 < level < 1:
        raise VatInputError(f"level must lie in (0, 1), e.g. 0.95; got {level}")
    if not eps >= 0:
        raise VatInputError(f"eps must be >= 0, got {eps}")
    if not 0 <= max_nan_fraction <= 1:
        raise VatInputError(f"max_nan_fraction must lie in [0, 1], got {max_nan_fraction}")
    if jackknife is not None and jackknife < 2:
        raise VatInputError(f"jackknife needs at least 2 groups, got {jackknife}")
    _check_common(max_memory, devices)
    cells = _cells(shifts)
    n_cells, _, n_values = cells.x.shape
    n_present = cells.present.sum(-1)
    if jackknife is None:
        jackknife = None if n_present.max(initial=0) <= 2000 else 1000
    groups, n_groups = jackknife_groups(cells.present, jackknife, seed)
    use_jack = interval == "bca"
    union = cells.present.any(0)
    if scheme == "subsample":
        base = np.full(n_cells, union.sum()) if shared else n_present
        m = np.floor(fraction * base)
        scale = np.sqrt(np.where(base - m > 0, m / np.maximum(base - m, 1), np.nan))
    else:
        scale = np.ones(n_cells)
    s_count = _n_stats(n_values)
    n_reps = n_resamples + (n_groups if use_jack else 0) + 1
    # cells go in blocks whose replicates (float32, and float64 for the intervals) take at
    # most half the memory bound; cell c is always drawn with fold_in(., c)
    block = int(min(n_cells, max(1, (max_memory // 2) // (n_reps * s_count * 28))))
    table = np.full((len(STATS), n_cells, s_count), np.nan)
    nan_fraction = np.zeros((n_cells, s_count))
    est = np.zeros((n_cells, s_count), np.float32)
    kept = np.zeros((n_resamples, n_cells, s_count), np.float32) if keep_replicates else None
    engines = []
    starts = range(0, n_cells, block)
    progress, task = _progress(quiet, n_reps * len(starts), f"{scheme} x {n_resamples:,}")
    with progress:
        for start in starts:
            real = min(block, n_cells - start)
            sel = np.minimum(np.arange(start, start + block), n_cells - 1)  # pad: repeat
            engine = _Engine(
                _subset(cells, sel),
                seed=seed,
                max_memory=int(max_memory),
                devices=devices,
                n_reps_total=n_reps,
                shared=shared,
                include_diagonal=include_diagonal,
                fraction=fraction,
                float_weights=scheme == "bayesian",
                first_cell=start,
                union=union,
            )
            engines.append(engine.grouped)
            engine.set_groups(groups[sel])
            part = slice(start, start + real)
            est[part] = engine.run("jackknife", np.array([-1]), eps, progress, task)[0, :real]
            jack = None
            if use_jack:
                jack = engine.run("jackknife", np.arange(n_groups), eps, progress, task)[:, :real]
                # a group a cell does not have is no jackknife replicate
                sizes = np.stack([np.bincount(g[g >= 0], minlength=n_groups) for g in groups[part]])
                jack[sizes.T == 0] = np.nan
            reps = engine.run(scheme, np.arange(n_resamples), eps, progress, task)[:, :real]
            if kept is not None:
                kept[:, part] = reps
            cols = real * s_count
            out, nanf = _intervals(
                est[part].reshape(cols),
                reps.reshape(n_resamples, cols),
                None if jack is None else jack.reshape(n_groups, cols),
                interval=interval,
                level=level,
                scale=np.repeat(scale[part], s_count),
                max_nan_fraction=max_nan_fraction,
            )
            table[:, part] = out.reshape(len(STATS), real, s_count)
            nan_fraction[part] = nanf.reshape(real, s_count)

    ds = _dataset(_unstack(table, n_values), cells, ("stat",)).assign_coords(stat=list(STATS))
    point = _dataset(_unstack(est, n_values), cells, ())
    ds["gain_below_eps"] = point["gain_below_eps"].copy(data=~(np.abs(point["gain"].values) >= eps))
    ds["n_samples"] = point["n_samples"].astype(np.int64)
    nan_ds = _dataset(_unstack(nan_fraction.reshape(n_cells, s_count), n_values), cells, ())
    for name in FLOAT_METRICS:
        ds[f"{name}_nan_fraction"] = nan_ds[name].assign_attrs(
            long_name=f"fraction of the replicates of {name} that are NaN (dropped)", units="1"
        )
    if kept is not None:
        rep = _dataset(_unstack(kept, n_values), cells, ("resample",))
        for name in FLOAT_METRICS:
            ds[f"{name}_replicates"] = rep[name]
        ds = ds.assign_coords(resample=np.arange(n_resamples))
    ds.attrs = {
        **conventions(shifts, include_diagonal=include_diagonal, eps=eps),
        "resampling": "scenarios (a cluster bootstrap: one weight per scenario for all values)",
        "scheme": scheme,
        "interval": interval,
        "confidence_level": float(level),
        "seed": int(seed),
        "n_resamples": int(n_resamples),
        "shared_weights": int(shared),
        "fraction": float(fraction) if scheme == "subsample" else float("nan"),
        "jackknife_groups": int(n_groups) if use_jack else 0,
        "max_nan_fraction": float(max_nan_fraction),
        "se_convention": "sd of the replicates (ddof=1)"
        + (
            "; subsample: x sqrt(m / (n - m)), the full-sample scale"
            if scheme == "subsample"
            else ""
        ),
        "coupling_engine": "spearman_many (tie groups)"
        if all(engines)
        else ("spearman" if not any(engines) else "mixed"),
        "cell_blocks": len(starts),
        "prng": "threefry2x32; resample b of cell c: fold_in(fold_in(key(seed), b), c)",
    }
    return ds


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis (NaN p-values left out)."""
    q = np.full(p.shape, np.nan)
    for idx in np.ndindex(p.shape[:-1]):
        row = p[idx]
        ok = np.flatnonzero(~np.isnan(row))
        if len(ok) == 0:
            continue
        order = ok[np.argsort(row[ok], kind="stable")]
        m = len(order)
        adj = row[order] * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
        q[idx][order] = np.minimum(adj, 1.0)
    return q


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
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise VatInputError(f"n_permutations must be an integer >= 1, got {n_permutations!r}")
    if not 0 < q < 1:
        raise VatInputError(f"q (the false discovery rate) must lie in (0, 1), got {q}")
    if not 0 < floor_level < 1:
        raise VatInputError(f"floor_level must lie in (0, 1), got {floor_level}")
    _check_common(max_memory, devices)
    cells = _cells(shifts)
    n_cells, _, n_values = cells.x.shape
    engine = _Engine(
        cells,
        seed=seed,
        max_memory=int(max_memory),
        devices=devices,
        n_reps_total=n_permutations + 1,
        include_diagonal=include_diagonal,
        permute=True,
    )
    first = np.argsort(~cells.present, axis=-1, kind="stable")
    engine.set_inverse(np.argsort(first, axis=-1, kind="stable"))
    progress, task = _progress(quiet, n_permutations + 1, f"permutations x {n_permutations:,}")
    with progress:
        stats = engine.run("permute", np.arange(-1, n_permutations), 0.0, progress, task)
    v2 = n_values * n_values
    coupling = stats[..., :v2].reshape(*stats.shape[:-1], n_values, n_values)
    parts = {
        "coupling": coupling,
        "vat": stats[..., v2 : v2 + n_values],
        "nvat": stats[..., v2 + n_values],
        "centralization": stats[..., v2 + n_values + 1],
    }
    observed = {k: v[0] for k, v in parts.items()}
    null = {k: v[1:] for k, v in parts.items()}
    eye = np.eye(n_values, dtype=bool)

    def p_value(obs, draws, two_sided=False):
        if two_sided:
            obs, draws = np.abs(obs), np.abs(draws)
        with np.errstate(invalid="ignore"):
            p = (1 + (draws >= obs).sum(0)) / (1 + len(draws))
        return np.where(np.isnan(obs), np.nan, p)

    p = {k: p_value(observed[k], null[k], k == "coupling") for k in parts}
    p["coupling"] = np.where(eye, np.nan, p["coupling"])
    iu = np.triu_indices(n_values, 1)
    q_pairs = _bh(p["coupling"][:, iu[0], iu[1]])
    q_coupling = np.full(p["coupling"].shape, np.nan)
    q_coupling[:, iu[0], iu[1]] = q_pairs
    q_coupling[:, iu[1], iu[0]] = q_pairs
    significant = q_coupling <= q
    floor = {}
    for k, v in null.items():
        v = (np.abs(v) if k == "coupling" else v).astype(np.float64)
        flat = np.sort(v.reshape(len(v), -1), axis=0)
        count = (~np.isnan(flat)).sum(0)
        level_q = np.full(count.shape, floor_level)
        floor[k] = _quantile(flat, count, level_q).reshape(v.shape[1:])
    floor["coupling"] = np.where(eye, np.nan, floor["coupling"])

    zero = np.zeros((n_cells, _n_stats(n_values)))
    template = _dataset(_unstack(zero, n_values), cells, ())
    cell_shape = cells.layout.shape[:-2]

    def named(name, arr, lead=(), **attrs):
        base = template[name]
        arr = np.asarray(arr).reshape(
            *arr.shape[: len(lead)], *cell_shape, *base.shape[len(cell_shape) :]
        )
        return xr.DataArray(
            arr, dims=(*lead, *base.dims), coords=base.coords, attrs={**base.attrs, **attrs}
        )

    ds = xr.Dataset()
    for name in parts:
        long = template[name].attrs["long_name"]
        ds[name] = named(name, observed[name])
        ds[f"null_{name}"] = named(
            name, null[name], ("permutation",), long_name=f"permutation null of {long}"
        )
        ds[f"floor_{name}"] = named(
            name,
            floor[name],
            long_name=f"noise floor: {floor_level:g} quantile of the null"
            + (" of |R|" if name == "coupling" else ""),
        )
        ds[f"p_{name}"] = named(
            name,
            p[name],
            units="1",
            long_name="permutation p-value" + (", two-sided on |R|" if name == "coupling" else ""),
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
    n_sig = significant[:, iu[0], iu[1]].sum(-1)
    ds["n_significant"] = named(
        "nvat", n_sig, units="count", long_name=f"value pairs with q <= {q:g}"
    )
    ds = ds.assign_coords(permutation=np.arange(n_permutations))
    ds.attrs = {
        **conventions(shifts, include_diagonal=include_diagonal, eps=0.0),
        "null": "each value's shifts shuffled across the cell's scenarios independently",
        "n_permutations": int(n_permutations),
        "seed": int(seed),
        "q": float(q),
        "floor_level": float(floor_level),
        "p_value_convention": "(1 + #{null >= observed}) / (1 + n_permutations); coupling on |R|",
        "fdr": "Benjamini-Hochberg over the V(V-1)/2 pairs of each cell",
        "prng": "threefry2x32; permutation p of cell c: fold_in(fold_in(key(seed), p), c)",
    }
    del ds.attrs["eps"]
    return ds


def uncertainty_table(
    table: pd.DataFrame, boot: xr.Dataset | None = None, null: xr.Dataset | None = None
) -> pd.DataFrame:
    """Add interval, standard-error and noise-floor columns to :func:`vatjax.metrics_table`.

    Columns ``gain_lower, gain_upper, gain_se`` (and the same for nvat, centralization)
    from :func:`bootstrap`; ``nvat_p, nvat_floor, pairs_significant`` from
    :func:`noise_floor`.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
        >>> sh = vatjax.shifts(vatjax.load_judgments(s.table))
        >>> t = uncertainty_table(vatjax.metrics_table(vatjax.vat(sh)),
        ...                       null=noise_floor(sh, n_permutations=20, quiet=True))
        >>> list(t.columns[-3:])
        ['nvat_p', 'nvat_floor', 'pairs_significant']
    """
    key = ["model", "intervention"]
    columns: list[tuple[str, xr.DataArray]] = []
    if boot is not None:
        columns += [
            (f"{name}_{stat}", boot[name].sel(stat=stat, drop=True))
            for name in ("gain", "nvat", "centralization")
            for stat in ("lower", "upper", "se")
        ]
    if null is not None:
        columns += [
            ("nvat_p", null["p_nvat"]),
            ("nvat_floor", null["floor_nvat"]),
            ("pairs_significant", null["n_significant"]),
        ]
    out = table.copy()
    for col, da in columns:
        series = da.reset_coords(drop=True).to_series().rename(col).reset_index()
        out = out.merge(series[[*key, col]], on=key, how="left")
    return out


def results_dataset(
    result: xr.Dataset, boot: xr.Dataset | None = None, null: xr.Dataset | None = None
) -> xr.Dataset:
    """One Dataset for saving: the bootstrap's (or the point estimates) and the null's.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
        >>> sh = vatjax.shifts(vatjax.load_judgments(s.table))
        >>> ds = results_dataset(vatjax.vat(sh), null=noise_floor(sh, n_permutations=20, quiet=True))
        >>> "p_nvat" in ds and "nvat" in ds
        True
    """
    ds = boot if boot is not None else result
    if null is not None:
        extra = null.drop_vars([v for v in null.data_vars if v in ds.data_vars])
        ds = xr.merge([ds, extra], compat="override", join="outer", combine_attrs="drop_conflicts")
        ds.attrs.update({f"null_{k}": null.attrs[k] for k in ("n_permutations", "q", "seed")})
    return ds
