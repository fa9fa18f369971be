"""The two resampling runs of :func:`vatjax.compare`: the paired bootstrap (the engine with
one weight vector for both sides) and the paired permutation test (the kernels of
:mod:`vatjax.core.compare`, in chunks of permutations sharded over the devices).

A *side* is a cell restricted to the samples of the pairs it is in (cell, mask); both
sides of a pair have the same mask.

Example:
    >>> import numpy as np
    >>> from vatjax.engine import Cells
    >>> x = np.random.default_rng(0).integers(-2, 3, (2, 30, 10)) / 2
    >>> cells = Cells.from_arrays(x, np.eye(10, dtype=bool)[:2], np.ones(2))
    >>> sides = [(0, cells.present[0]), (1, cells.present[1])]
    >>> est, reps = paired_bootstrap(cells, sides, 50, 0)
    >>> est.shape, reps.shape  # gain, nvat, vat(10), centralization
    ((2, 13), (50, 2, 13))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from vatjax.core.compare import (
    gain_tables,
    level_tables,
    pooled_codes,
    sample_gains,
    swap_bits,
    swap_gain,
    swap_tax_generic,
    swap_tax_levels,
)
from vatjax.core.debias import debiased_tax, pair_counts
from vatjax.core.metrics import FLOAT_METRICS, stat_size, unpack
from vatjax.engine import Cells, evaluate, prepare
from vatjax.engine.budget import MAX_CHUNK

__all__ = ["paired_bootstrap", "paired_swaps", "side_blocks"]

CHUNK = 32  # permutations per device and call


def _restricted(cells: Cells, side_list) -> Cells:
    """The sides as cells: each cell's shifts NaN outside its side's samples."""
    x = np.stack([np.where(m[:, None], cells.x[c], np.nan) for c, m in side_list])
    idx = [c for c, _ in side_list]
    return Cells.from_arrays(x, cells.mask[idx], cells.direction[idx])


def _enough(devices, n_draws: int, chunk: int) -> list:
    """No more devices than chunks of draws (a device computes whole chunks; the draws do
    not depend on the number of devices)."""
    devices = list(devices) if devices is not None else jax.devices()
    return devices[: max(1, -(-n_draws // chunk))]


def _bucket(count: int) -> int:
    """A size >= count that recurs between calls, so a compiled program serves again:
    1, 2, 4, 8, then multiples of 4 up to 32; larger counts as they are (the padding
    would cost more than a compilation)."""
    if count <= 8:
        return 1 << max(count - 1, 0).bit_length()
    return -(-count // 4) * 4 if count <= 32 else count


def side_blocks(sides, n_resamples: int, n_values: int, max_memory: int) -> list[list[int]]:
    """Sides in blocks for the bootstrap, at most half the memory bound of replicates each."""
    per_side = (n_resamples + 1) * stat_size(FLOAT_METRICS, n_values) * 4 * 3
    size = max(1, (max_memory // 2) // per_side)
    return [list(range(j, min(j + size, len(sides)))) for j in range(0, len(sides), size)]


def _debiased(gain, coupling, n_pair, include_diagonal):
    d = debiased_tax(jnp.asarray(coupling), jnp.asarray(n_pair), include_diagonal=include_diagonal)
    return np.concatenate([np.asarray(gain)[..., None], np.asarray(d.nvat)[..., None],
                           np.asarray(d.vat), np.asarray(d.centralization)[..., None]], -1)  # fmt: skip


def paired_bootstrap(cells: Cells, sides, n_resamples: int, seed: int, *, include_diagonal=False,
                     max_memory: int = 2 << 30, devices: Sequence | None = None,
                     advance: Callable[[int], object] | None = None):  # fmt: skip
    """Each side's estimate (S, V + 3) and bootstrap replicates (B, S, V + 3): gain, then
    debiased nVAT, VAT(u) and centralization. Resample b draws one weight vector (counts)
    over the scenarios any side has, ``fold_in(key(seed), b)``, for every side (the
    engine's shared weights): both sides of a pair, restricted to the same samples, get
    the same weights. Where every side has the same samples this is the multinomial
    bootstrap of those samples. Replicates are debiased for the sample's noise and their
    own (twice 1 / (n - 1) per squared correlation)."""
    n_values = cells.x.shape[-1]
    devices = _enough(devices, n_resamples + 1, MAX_CHUNK)
    est = np.full((len(sides), n_values + 3), np.nan)
    reps = np.full((n_resamples, len(sides), n_values + 3), np.nan, np.float32)
    blocks = side_blocks(sides, n_resamples, n_values, max_memory)
    union = np.any([m for _, m in sides], axis=0)
    width = _bucket(len(blocks[0]))  # one shape for every block: one compiled program
    for block in blocks:
        padded = block + block[:1] * (width - len(block))  # repeats: dropped
        sub = _restricted(cells, [sides[i] for i in padded])
        engine = prepare(sub, seed=seed, n_reps_total=n_resamples + 1, shared=True,
                         union=union, include_diagonal=include_diagonal,
                         groups=np.where(sub.present, 0, -1), max_memory=max_memory,
                         devices=devices)  # fmt: skip
        point = evaluate(engine, "jackknife", np.array([-1]))
        rep = evaluate(engine, "bootstrap", np.arange(n_resamples), on_progress=advance)
        both = unpack(np.concatenate([point, rep]), n_values)
        n_pair = np.asarray(pair_counts(jnp.asarray(sub.x)))
        # the estimate less the sample's noise 1 / (n - 1) per squared correlation; a
        # replicate less that and its own: 2 / (n - 1) = 1 / (n' - 1), n' = 1 + (n - 1) / 2
        factor = np.where(np.arange(n_resamples + 1) == 0, 1.0, 0.5)[:, None, None, None]
        n_eff = 1 + (jnp.asarray(n_pair)[None] - 1) * jnp.asarray(factor, jnp.float32)
        out = _debiased(both["gain"], both["coupling"], n_eff, include_diagonal)
        est[block] = out[0, : len(block)]
        reps[:, block] = out[1:, : len(block)]
    return est, reps


def _uses_levels(x: np.ndarray) -> bool:
    """Whether the tie-level kernel serves these sides (no NaN inside, and ties are the
    rule: at most max(512, N V / 4) levels per side, as the engine's tie-group rule)."""
    present = ~np.isnan(x).all(-1)
    if np.isnan(x[present]).any():
        return False
    n, n_values = x.shape[1:]
    most = max(sum(len(np.unique(col[m])) for col in cell.T) for cell, m in zip(x, present, strict=True))
    return most <= max(512, n * n_values // 4)


def paired_swaps(cells: Cells, sides, pair_sides: np.ndarray, n_permutations: int, seed: int, *,
                 include_diagonal=False, max_memory: int = 2 << 30,
                 devices: Sequence | None = None,
                 advance: Callable[[int], object] | None = None) -> np.ndarray:  # fmt: skip
    """(1 + P, C, V + 3) differences of the arms of every permutation (row 0: the data)
    and comparison (pair of sides): gain, then debiased nVAT, VAT(u), centralization."""
    sub = _restricted(cells, sides)
    n, n_values = sub.x.shape[1:]
    out = np.full((n_permutations + 1, len(pair_sides), n_values + 3), np.nan, np.float32)
    if len(pair_sides) == 0:
        return out
    gains = [sample_gains(x, m, d) for x, m, d in zip(sub.x, sub.mask, sub.direction, strict=True)]
    g = np.stack([gv[0] for gv in gains])
    v = np.stack([gv[1] for gv in gains]) & sub.present
    levels = _uses_levels(sub.x)
    per_pair = 2 * n_values * n * (2 if levels else 4 * CHUNK)
    size = max(1, (max_memory // 8) // per_pair)
    devices = _enough(devices, n_permutations + 1, CHUNK)
    for start in range(0, len(pair_sides), size):
        block = pair_sides[start : start + size]
        real = len(block)
        block = np.concatenate([block, np.repeat(block[:1], _bucket(real) - real, 0)])
        a, b = block[:, 0], block[:, 1]
        cols, base = gain_tables(g[a], v[a], g[b], v[b])
        uniq = np.unique(block)
        used = np.concatenate([uniq, np.repeat(uniq[:1], _bucket(len(uniq)) - len(uniq))])
        tables = level_tables if levels else pooled_codes
        tax = tables(sub.x, used, sub.present[used], np.searchsorted(uniq, block))
        run = _runner(levels, bool(np.isnan(sub.x[sub.present]).any()), bool(include_diagonal),
                      tuple(d.id for d in devices))  # fmt: skip
        out[:, start : start + real] = _permute(
            run, (cols, base, tax), n_permutations, seed, devices,
            advance if start == 0 else None,
        )[:, :real]  # fmt: skip
    return out


@functools.lru_cache(maxsize=16)
def _runner(levels: bool, pairwise: bool, include_diagonal: bool, device_ids: tuple[int, ...]):
    """The jitted chunk (swap bits, gain, tax) sharded over the devices along permutations."""
    by_id = {d.id: d for d in jax.devices()}
    mesh = Mesh(np.array([by_id[i] for i in device_ids]), ("perm",))

    def body(idx, key, cols, base, tax):
        k = swap_bits(key, idx, cols.shape[0])
        gain = swap_gain(k, cols, base)
        if levels:
            diff = swap_tax_levels(tax, k, include_diagonal=include_diagonal)
        else:
            diff = swap_tax_generic(*tax, k, pairwise=pairwise, include_diagonal=include_diagonal)
        return jnp.concatenate([gain[..., None], diff], axis=-1)

    sharded = jax.shard_map(body, mesh=mesh, in_specs=(P("perm"), P(), P(), P(), P()),
                            out_specs=P("perm"), check_vma=False)  # fmt: skip
    return jax.jit(sharded), mesh


def _permute(run, args, n_permutations: int, seed: int, devices, advance) -> np.ndarray:
    """Permutations -1 (the data), 0, ..., P - 1 in chunks; the next chunk is dispatched
    before the last one is read back."""
    fn, mesh = run
    args = jax.device_put(args, NamedSharding(mesh, P()))
    key = jax.device_put(jax.random.key(seed, impl="threefry2x32"), NamedSharding(mesh, P()))
    spread = NamedSharding(mesh, P("perm"))
    indices = np.arange(-1, n_permutations, dtype=np.int32)
    step = CHUNK * len(devices)
    out, pending = [], None
    for start in range(0, len(indices), step):
        idx = indices[start : start + step]
        padded = np.concatenate([idx, np.full(step - len(idx), idx[-1], np.int32)])
        res = fn(jax.device_put(padded, spread), key, *args)
        if pending is not None:
            out.append(np.asarray(pending[0])[: pending[1]])
            if advance is not None:
                advance(pending[1])
        pending = (res, len(idx))
    out.append(np.asarray(pending[0])[: pending[1]])
    if advance is not None:
        advance(pending[1])
    return np.concatenate(out, axis=0)
