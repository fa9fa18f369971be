"""The resampling engine: chunks of resamples (or permutations) of many cells, compiled
once per configuration, sharded over devices along a ``resample`` mesh axis, under a
memory bound.

The public pair is :func:`prepare` (cells in, placed on the devices, sized by the budget)
and :func:`evaluate` (resample, jackknife or permutation numbers in, stat vectors out).
Resample b always uses ``fold_in(key, b)``, so results do not depend on the chunking or
on the number of devices.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).integers(-2, 3, (1, 30, 3)) / 2.0
    >>> cells = Cells.from_arrays(x, np.array([[True, False, False]]), np.ones(1))
    >>> engine = prepare(cells, seed=0, n_reps_total=11)
    >>> evaluate(engine, "bootstrap", np.arange(10)).shape  # (resample, cell, stat)
    (10, 1, 19)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from vatjax.core.groups import GroupPlan, group_plan, n_levels, spearman_many
from vatjax.core.metrics import FLOAT_METRICS, NULL_METRICS, gain_gnd, pack, vat_from_coupling
from vatjax.core.permute import inverse_order, permutation_sources, permuted_stats
from vatjax.core.ranks import spearman
from vatjax.core.schemes import SCHEMES, draw_chunk, jackknife_weights, make_scheme, present_first
from vatjax.engine.budget import CHUNKS_PER_CALL, DEFAULT_MAX_MEMORY, size_chunks

__all__ = ["Cells", "Engine", "evaluate", "prepare"]

BRANCHES = ("jackknife", *SCHEMES)  # the weight generator of a chunk, by number


class Cells(eqx.Module):
    """The engine's input: shifts of many cells (model x intervention, flattened).

    ``x`` (cell, scenario, value) float32, NaN where missing; ``mask`` (cell, value) the
    target's entries; ``direction`` (cell,); ``present`` (cell, scenario) the samples a
    cell has; ``has_nan`` whether NaN occurs inside a cell's present samples (then the
    coupling drops NaN pair by pair).
    """

    x: np.ndarray
    mask: np.ndarray
    direction: np.ndarray
    present: np.ndarray
    has_nan: bool = eqx.field(static=True)

    @classmethod
    def from_arrays(cls, x, mask, direction) -> Cells:
        """Cells from (cell, scenario, value) shifts, target masks and directions."""
        x = np.asarray(x, np.float32)
        present = ~np.all(np.isnan(x), axis=-1)
        has_nan = bool(np.isnan(x[present]).any())
        mask = np.asarray(mask, bool)
        return cls(x, mask, np.asarray(direction, np.float32), present, has_nan)

    def subset(self, sel: np.ndarray) -> Cells:
        """The cells numbered ``sel`` (same ``has_nan``, so a block runs the same kernel)."""
        return Cells(
            self.x[sel], self.mask[sel], self.direction[sel], self.present[sel], self.has_nan
        )


class _Config(NamedTuple):
    """What is compiled: one program serves the jackknife and every scheme (a switch)."""

    permute: bool
    shared: bool
    grouped: bool
    pairwise: bool
    include_diagonal: bool
    gather_slice: int


class _Params(eqx.Module):
    branch: jax.Array
    fraction: jax.Array
    key: jax.Array
    eps: jax.Array


class _Data(eqx.Module):
    first_cell: jax.Array
    union: jax.Array
    present: jax.Array
    groups: jax.Array
    inverse: jax.Array
    x: jax.Array
    plan: GroupPlan
    mask: jax.Array
    direction: jax.Array


class Engine(eqx.Module):
    """Cells placed on the devices with a compiled configuration: :func:`prepare`'s result."""

    config: _Config = eqx.field(static=True)
    device_ids: tuple[int, ...] = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    float_weights: bool = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)  # the metrics of a stat vector
    key: jax.Array
    fraction: jax.Array
    data: _Data

    @property
    def grouped(self) -> bool:
        """Whether the tie-group kernel (spearman_many) runs the coupling."""
        return self.config.grouped


def _weighted_stats(cfg: _Config, data: _Data, w, eps):
    """Stat vectors (chunk, cell, S) of the weights w (chunk, cell, scenario)."""
    gain, gain_raw, _, gnd = gain_gnd(data.x, w, data.mask, data.direction, eps)
    if cfg.grouped:
        many = spearman_many(
            data.plan, jnp.swapaxes(w, 0, 1), pairwise=cfg.pairwise, slice_size=cfg.gather_slice
        )
        coupling = jnp.swapaxes(many, 0, 1)
    else:
        coupling = jax.lax.map(lambda wi: spearman(data.x, wi, pairwise=cfg.pairwise), w)
    vat, nvat, central = vat_from_coupling(coupling, include_diagonal=cfg.include_diagonal)
    fields = {
        "gain": gain,
        "gain_raw": gain_raw,
        "gnd": gnd,
        "coupling": coupling,
        "vat": vat,
        "nvat": nvat,
        "centralization": central,
    }
    return pack(fields, FLOAT_METRICS)


def _chunk(cfg: _Config, idx, order, params: _Params, data: _Data):
    """The stat vectors (chunk, cell, S) of one chunk of resample (or permutation) numbers,
    one cell at a time: a cell's temporaries (weights, ranks, products) stay in cache and
    the chunk size does not shrink with the number of cells."""
    if cfg.shared:  # one order, of the union of the scenarios
        order = jnp.broadcast_to(order, data.present.shape)
    per_cell = (data.x, data.plan, data.mask, data.direction, data.present, data.groups,
                data.inverse, order)  # fmt: skip
    cells = jnp.arange(data.x.shape[0], dtype=jnp.int32)
    n_values = data.x.shape[-1]
    shared_sources = None
    if cfg.permute and cfg.shared:  # every cell has the same scenarios: one permutation each
        shared_sources = _sources(params, idx, data.present[:1], data.inverse[:1], n_values, 0)

    def one_cell(args):
        c, x, plan, mask, direction, present, groups, inverse, order_c = args
        one = _Data(data.first_cell + c, data.union, present[None], groups[None],
                    inverse[None], x[None], GroupPlan(*(a[None] for a in plan)), mask[None],
                    direction[None])  # fmt: skip
        if cfg.permute:
            src = shared_sources
            if src is None:
                src = _sources(params, idx, one.present, one.inverse, n_values, one.first_cell)
            return permuted_stats(one.x, one.present, src, pairwise=cfg.pairwise,
                                  include_diagonal=cfg.include_diagonal)[:, 0]  # fmt: skip
        order_c = order_c if cfg.shared else order_c[None]
        return _cell_chunk(cfg, idx, order_c, params, one)[:, 0]

    return jnp.swapaxes(jax.lax.map(one_cell, (cells, *per_cell)), 0, 1)


def _sources(params: _Params, idx, present, inverse, n_values: int, first_cell):
    """The permutation sources (chunk, cell, value, scenario) of the numbers ``idx``."""
    return jax.vmap(
        lambda i: permutation_sources(params.key, i, present, inverse, n_values, first_cell)
    )(idx)


def _cell_chunk(cfg: _Config, idx, order, params: _Params, data: _Data):
    """The stat vectors (chunk, 1, S) of the resamples of the one cell in ``data``."""
    generators = [jax.vmap(lambda i: jackknife_weights(data.groups, i))] + [
        functools.partial(
            draw_chunk,
            params.key,
            present=data.present,
            scheme=make_scheme(name, params.fraction),
            shared=cfg.shared,
            first_cell=data.first_cell,
            union=data.union,
            order=order,
        )
        for name in SCHEMES
    ]
    w = jax.lax.switch(params.branch, generators, idx)
    return _weighted_stats(cfg, data, w, params.eps)


def _device_call(cfg: _Config):
    def body(idx, n_chunks, params: _Params, data: _Data):
        """The first n_chunks of this device's CHUNKS_PER_CALL chunks, in one call."""
        idx = idx.reshape(CHUNKS_PER_CALL, -1)
        # the present-first order of the draws: one sort per call, not one per chunk
        order = present_first(data.union if cfg.shared else data.present)
        one = functools.partial(_chunk, cfg, order=order, params=params, data=data)
        shape = jax.eval_shape(one, idx[0])
        out = jnp.zeros((CHUNKS_PER_CALL, *shape.shape), shape.dtype)
        out = jax.lax.fori_loop(0, n_chunks, lambda j, out: out.at[j].set(one(idx[j])), out)
        return out.reshape(-1, *shape.shape[1:])

    return body


@functools.lru_cache(maxsize=64)
def _mesh(device_ids: tuple[int, ...]) -> Mesh:
    by_id = {d.id: d for d in jax.devices()}
    return Mesh(np.array([by_id[i] for i in device_ids]), ("resample",))


@functools.lru_cache(maxsize=64)
def _compiled(cfg: _Config, device_ids: tuple[int, ...]) -> Callable:
    """The jitted device call, sharded over the devices along ``resample``; cached."""
    spec = (P("resample"), P(), P(), P())
    sharded = jax.shard_map(
        _device_call(cfg),
        mesh=_mesh(device_ids),
        in_specs=spec,
        out_specs=P("resample"),
        check_vma=False,
    )
    return jax.jit(sharded)


def _plan(cells: Cells, grouped: bool, float_weights: bool) -> GroupPlan:
    """The tie groups of the cells (an empty stand-in where the sort kernel runs).

    Integer weights (counts, 0/1) make the rank product an exact int8 GEMM.
    """
    n_cells, _, n_values = cells.x.shape
    dtype = jnp.float32 if float_weights else jnp.int8
    if grouped:
        return group_plan(cells.x, dtype)
    return GroupPlan(
        jnp.zeros((n_cells, 1, 1), dtype),
        jnp.zeros((n_cells, n_values, 1), jnp.int32),
        jnp.zeros((n_cells, 1, n_values), jnp.float32),
    )


def prepare(
    cells: Cells,
    *,
    seed: int = 0,
    n_reps_total: int,
    permute: bool = False,
    shared: bool = False,
    union: np.ndarray | None = None,
    first_cell: int = 0,
    include_diagonal: bool = False,
    fraction: float = 0.8,
    float_weights: bool = False,
    groups: np.ndarray | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    devices: Sequence | None = None,
    force_groups: bool | None = None,
) -> Engine:
    """Size, plan and place ``cells`` for :func:`evaluate`.

    Args:
        cells: the data (:class:`Cells`).
        seed: the JAX key ``key(seed)`` of every draw.
        n_reps_total: replicates the caller will keep (counted against ``max_memory``).
        permute: a permutation null instead of resampling.
        shared, union, first_cell, fraction: as in :func:`vatjax.core.schemes.draw_chunk`.
        include_diagonal: as in :func:`vatjax.vat`.
        float_weights: the weights may be fractional (the Bayesian bootstrap): no int8 GEMM.
        groups: jackknife groups (cell, scenario), -1 for absent samples.
        max_memory: the byte bound of the working set.
        devices: the devices to shard over (default: all).
        force_groups: run (True) or avoid (False) the tie-group kernel (default: budget).
    """
    devices = list(devices) if devices is not None else jax.devices()
    n_cells, n, n_values = cells.x.shape
    levels = n_levels(cells.x) if not permute and n * n_values > 0 else 0
    sizing = size_chunks(
        n_cells=n_cells,
        n=n,
        n_values=n_values,
        levels=levels,
        has_nan=cells.has_nan,
        permute=permute,
        float_weights=float_weights,
        n_reps_total=n_reps_total,
        n_devices=len(devices),
        max_memory=max_memory,
        force_groups=force_groups,
    )
    plan = _plan(cells, sizing.grouped, float_weights)
    config = _Config(permute, bool(shared), sizing.grouped, cells.has_nan,
                     bool(include_diagonal), sizing.gather_slice)  # fmt: skip
    device_ids = tuple(d.id for d in devices)
    inverse = inverse_order(cells.present) if permute else np.tile(np.arange(n), (n_cells, 1))
    data = _Data(
        np.int32(first_cell),
        cells.present.any(0) if union is None else union,
        cells.present,
        np.zeros((n_cells, n), np.int32) if groups is None else np.asarray(groups, np.int32),
        inverse.astype(np.int32),
        cells.x,
        plan,
        cells.mask,
        cells.direction,
    )
    # the fixed arguments live on every device (one copy each), placed once
    data = jax.device_put(data, NamedSharding(_mesh(device_ids), P()))
    return Engine(
        config,
        device_ids,
        sizing.chunk,
        bool(float_weights),
        NULL_METRICS if permute else FLOAT_METRICS,
        jax.random.key(seed, impl="threefry2x32"),
        jnp.float32(fraction),
        data,
    )


def evaluate(
    engine: Engine,
    what: str,
    indices: np.ndarray,
    *,
    eps: float = 1e-3,
    on_progress: Callable[[int], object] | None = None,
) -> np.ndarray:
    """Stat vectors (len(indices), cell, S) of resamples, jackknife groups or permutations.

    ``what`` is a scheme (``bootstrap``, ``subsample``, ``bayesian``), ``jackknife``
    (index -1: the full sample) or ``permute`` (index -1: the observed data) for an engine
    prepared with ``permute=True``. The stat vectors hold ``engine.names`` packed
    (:func:`vatjax.core.metrics.unpack` splits them). ``on_progress(count)`` is called as
    replicates arrive.
    """
    if what == "bayesian" and not engine.float_weights:
        raise ValueError("the engine was prepared for integer weights (float_weights=False)")
    if (what == "permute") != engine.config.permute:
        raise ValueError(f"{what!r} needs an engine prepared with permute={what == 'permute'}")
    fn = _compiled(engine.config, engine.device_ids)
    mesh, n_dev = _mesh(engine.device_ids), len(engine.device_ids)
    branch = jnp.int32(BRANCHES.index(what) if what in BRANCHES else 0)
    params = _Params(branch, engine.fraction, engine.key, jnp.float32(eps))
    params = jax.device_put(params, NamedSharding(mesh, P()))
    spread = NamedSharding(mesh, P("resample"))
    step = engine.chunk * n_dev * CHUNKS_PER_CALL
    out, pending = [], None

    def collect(pending):
        res, n_chunks, count = pending
        res = np.asarray(res).reshape(n_dev, CHUNKS_PER_CALL, engine.chunk, *res.shape[1:])
        out.append(res[:, :n_chunks].reshape(-1, *res.shape[3:])[:count])
        if on_progress is not None:
            on_progress(count)

    for start in range(0, len(indices), step):
        idx = np.asarray(indices[start : start + step])
        # device d runs chunks 0..n_chunks-1 of its slot; the rest of the slot is idle
        n_chunks = -(-len(idx) // (engine.chunk * n_dev))
        used = np.concatenate([idx, np.full(n_chunks * engine.chunk * n_dev - len(idx), idx[-1])])
        slots = np.full((n_dev, CHUNKS_PER_CALL, engine.chunk), idx[-1], np.int32)
        slots[:, :n_chunks] = used.reshape(n_dev, n_chunks, engine.chunk)
        res = fn(jax.device_put(slots.reshape(-1), spread), np.int32(n_chunks), params, engine.data)
        if pending is not None:  # the device works on this call while the host collects
            collect(pending)
        pending = (res, n_chunks, len(idx))
    collect(pending)
    return np.concatenate(out, axis=0)
