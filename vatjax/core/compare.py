"""Paired comparisons of two cells judged on the same samples: the swap (paired
permutation) test of a difference in Gain and in the debiased tax, and its maths.

Under H0 the two sides a and b of a pair are exchangeable within each sample. A
permutation draws a bit k_s per sample: arm A' takes a's shift vector where k_s = 1 and
b's where k_s = 0, arm B' the other one. The statistic of a permutation is the difference
of the metric between the arms, computed exactly as on the data: with k = 1 everywhere
(index -1) it is the observed difference.

- **Gain**: a sign-flip test of the paired per-sample gains (oriented target shifts).
  Arm A''s gain is sum_s [k_s g_a(s) + (1 - k_s) g_b(s)] / (its valid samples): linear in
  k, so every permutation of every pair is one matrix product.
- **Tax** (debiased nVAT, VAT(u), centralization): each side's shifts are centred per
  value first (the mean over the shared samples), so a difference in gains does not
  couple the values of a mixed arm. The arm's Spearman correlation ranks its own n
  shift vectors: on the pooled 2n vectors [a; b] that is the weighted midrank with 0/1
  weights [k, 1 - k], which needs no sort per permutation. Where the shifts tie (Likert
  value scores), :func:`swap_tax_levels` goes further: a side's level counts among the
  kept samples are one int8 product ``k @ onehot`` per side (shared by every pair the
  side is in); a pair merges its sides' counts on the pooled levels into the arm's
  midrank of every level; each sample takes its level's midrank (one gather) and the
  covariances are one product. :func:`swap_tax_generic` materialises the arms and ranks
  them (NaN inside samples, or shifts with few ties).

Example:
    >>> import jax
    >>> k = swap_bits(jax.random.key(0), jax.numpy.array([-1, 0]), 6)
    >>> [int(v) for v in k[0]]  # index -1: the observed data
    [1, 1, 1, 1, 1, 1]
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from vatjax.core.debias import debiased_tax, pair_counts
from vatjax.core.intervals import intervals
from vatjax.core.random import random_words
from vatjax.core.ranks import correlation_from_cross, spearman

__all__ = [
    "SWAP_FOLD",
    "LevelTables",
    "gain_tables",
    "level_tables",
    "pooled_codes",
    "recentred_interval",
    "sample_gains",
    "swap_bits",
    "swap_gain",
    "swap_p_value",
    "swap_tax_generic",
    "swap_tax_levels",
    "tie_groups",
]

SWAP_FOLD = 0xFFFFFFFE  # permutation p: fold_in(fold_in(key, SWAP_FOLD), p)


def swap_bits(key, indices: Int[Array, " m"], n: int) -> Int[Array, "m n"]:
    """The swap bits (int8 0/1, 1 keeps a in arm A') of the permutations ``indices``
    over n samples; index -1 is the observed data (all ones).

    Example:
        >>> import jax
        >>> swap_bits(jax.random.key(1), jax.numpy.arange(3), 5).shape
        (3, 5)
    """
    pkey = jax.random.fold_in(key, SWAP_FOLD)

    def one(i):
        bits = random_words(jax.random.fold_in(pkey, jnp.maximum(i, 0)), (n,)) >> 31
        return jnp.where(i < 0, 1, bits).astype(jnp.int8)

    return jax.vmap(one)(indices)


# --- Gain: a sign-flip test, linear in the swap bits --------------------------------------


def sample_gains(x: np.ndarray, target_mask: np.ndarray, direction: float):
    """Per sample, the oriented target shift g(s) and whether it exists (host numpy);
    Gain = sum g v / sum v, as :func:`vatjax.core.metrics.gain_gnd` computes it.

    Example:
        >>> g, v = sample_gains(np.array([[0.5, 1.0], [np.nan, 0.0]]), np.array([True, False]), -1)
        >>> [float(a) for a in g], [bool(b) for b in v]
        ([-0.5, 0.0], [True, False])
    """
    valid = ~np.isnan(x)
    mask = np.asarray(target_mask, np.float64)
    count = valid @ mask
    total = np.where(valid, x, 0.0).astype(np.float64) @ mask
    has = count > 0
    return np.where(has, direction * total / np.maximum(count, 1), 0.0), has


def gain_tables(ga, va, gb, vb):
    """The linear pieces of the arms' gains for pairs (P, n) inputs: ``cols`` (n, 2P) and
    ``base`` (4, P), for :func:`swap_gain`."""
    ga, gb = np.where(va, ga, 0.0), np.where(vb, gb, 0.0)
    va, vb = va.astype(np.float64), vb.astype(np.float64)
    cols = np.concatenate([(ga - gb).T, (va - vb).T], axis=1).astype(np.float32)
    base = np.stack([ga.sum(-1), gb.sum(-1), va.sum(-1), vb.sum(-1)]).astype(np.float32)
    return cols, base


@jax.jit
def swap_gain(k, cols: Float[Array, "n pair2"], base: Float[Array, "4 pair"]):
    """Gain(A') - Gain(B') for every permutation (row of k) and pair: (m, P)."""
    lin = k.astype(jnp.float32) @ cols
    n_pairs = base.shape[-1]
    num_a = base[1] + lin[:, :n_pairs]
    den_a = base[3] + lin[:, n_pairs:]
    num_b = base[0] + base[1] - num_a
    den_b = base[2] + base[3] - den_a
    return num_a / den_a - num_b / den_b


# --- the tax: tie levels ------------------------------------------------------------------


class LevelTables(NamedTuple):
    """What :func:`swap_tax_levels` needs (arrays; S sides, P pairs, K1 columns per side).

    ``onehot`` (n, S K1) int8: sample s at side level column (a side's last column is a
    zero dummy); ``counts`` (S, K1) those columns' totals; per pair: ``side`` (P, 2),
    ``src`` (P, 2, Kp) the side column of each pooled level (the dummy where a side lacks
    it), ``start`` (P, Kp) the first pooled level of each level's value, ``index``
    (P, 2, V, n) each sample's pooled level (Kp, a zero slot, outside the pair's samples),
    ``n_shared`` (P,).
    """

    onehot: np.ndarray
    counts: np.ndarray
    side: np.ndarray
    src: np.ndarray
    start: np.ndarray
    index: np.ndarray
    n_shared: np.ndarray


def _side_levels(x: np.ndarray, mask: np.ndarray):
    """Per value: the sorted levels of x[mask] (NaN left out), each sample's level number
    (-1 where absent), and the count and sum of the values (the centring)."""
    levels, number, count, total = [], [], [], []
    for col in x.T:
        ok = mask & ~np.isnan(col)
        lev, inv = np.unique(col[ok], return_inverse=True)
        num = np.full(len(col), -1, np.int64)
        num[ok] = inv
        levels.append(lev.astype(np.float64))
        number.append(num)
        count.append(ok.sum())
        total.append(col[ok].astype(np.float64).sum())  # exact for float32 data
    return levels, np.stack(number), np.array(count, np.float64), np.array(total)


def _pooled(sides, a: int, b: int, n_values: int):
    """One pair's pooled levels of the centred shifts, per value: the pool size and, per
    side, each own level's pooled position. Ties across the sides are decided exactly:
    a level l of a side with n values summing to S is centred as l - S / n, compared as
    (n l - S) n' with n' the other side's count (float64, exact for float32 shifts)."""
    out = []
    for v in range(n_values):
        (la, _, na, sa), (lb, _, nb, sb) = ((s[0][v], None, s[2][v], s[3][v]) for s in (sides[a], sides[b]))
        keys = [(na * la - sa) * nb, (nb * lb - sb) * na]
        pool = np.unique(np.concatenate(keys))
        out.append((len(pool), [np.searchsorted(pool, k) for k in keys]))
    return out


def _codes(sides, a: int, b: int, n: int, n_values: int):
    """Each sample's pooled level (2, V, n), counted over the values in turn (-1 where
    absent), and the pooled levels' first index per value."""
    index = np.full((2, n_values, n), -1, np.int64)
    start, at = [], 0
    for v, (size, pos) in enumerate(_pooled(sides, a, b, n_values)):
        for j, s in enumerate((a, b)):
            num = sides[s][1][v]
            index[j, v] = np.where(num >= 0, at + pos[j][np.maximum(num, 0)], -1)
        start.append(np.full(size, at))
        at += size
    return index, np.concatenate(start), at


def pooled_codes(x: np.ndarray, side_cell, side_mask, pairs) -> tuple[np.ndarray, np.ndarray]:
    """The sides of each pair as pooled level codes (P, n, V) float32, NaN where absent:
    the centred shifts' order and ties, exactly (see :func:`level_tables`)."""
    n, n_values = x.shape[1:]
    sides = [_side_levels(x[c], m) for c, m in zip(side_cell, side_mask, strict=True)]
    codes = np.full((len(pairs), 2, n, n_values), np.nan, np.float32)
    for p, (a, b) in enumerate(pairs):
        index = _codes(sides, a, b, n, n_values)[0]
        codes[p] = np.where(index >= 0, index, np.nan).transpose(0, 2, 1)
    return codes[:, 0], codes[:, 1]


def level_tables(x: np.ndarray, side_cell, side_mask, pairs) -> LevelTables:
    """The tables of :func:`swap_tax_levels` (host numpy).

    Args:
        x: (cell, n, V) shifts, no NaN in the samples a side uses.
        side_cell, side_mask: a side is cell ``side_cell[i]`` on the samples
            ``side_mask[i]`` (n,) (the samples of the pairs it is in).
        pairs: (P, 2) side numbers (a, b); both sides of a pair have the same mask.
    """
    n, n_values = x.shape[1:]
    sides = [_side_levels(x[c], m) for c, m in zip(side_cell, side_mask, strict=True)]
    offsets = [np.concatenate([[0], np.cumsum([len(v) for v in s[0]])]) for s in sides]
    k1 = -(-(max(int(off[-1]) for off in offsets) + 1) // 64) * 64  # the last column: 0
    onehot = np.zeros((n, len(sides), k1), np.int8)
    for i, (s, off) in enumerate(zip(sides, offsets, strict=True)):
        rows = np.flatnonzero(side_mask[i])
        for v in range(n_values):
            onehot[rows, i, off[v] + s[1][v, rows]] = 1
    merged = [_codes(sides, a, b, n, n_values) for a, b in pairs]
    kp = -(-max(m[2] for m in merged) // 64) * 64  # padded: shapes that recur
    src = np.full((len(pairs), 2, kp), k1 - 1, np.int32)  # the dummy column: count 0
    start = np.tile(np.arange(kp, dtype=np.int32), (len(pairs), 1))  # padding: its own value
    dtype = np.int16 if kp < np.iinfo(np.int16).max else np.int32
    index = np.full((len(pairs), 2, n_values, n), kp, dtype)
    for p, ((a, b), (idx, st, size)) in enumerate(zip(pairs, merged, strict=True)):
        for j, s in enumerate((a, b)):  # pooled level -> the side's column
            own = idx[j] >= 0
            cols = offsets[s][:-1, None] + sides[s][1]
            src[p, j, idx[j][own]] = cols[own]
        start[p, :size] = st
        index[p] = np.where(idx < 0, kp, idx)  # outside the pair's samples: the zero slot
    n_shared = np.array([side_mask[a].sum() for a, _ in pairs], np.float32)
    counts = onehot.sum(0, dtype=np.int64).astype(np.float32)
    return LevelTables(onehot.reshape(n, -1), counts, np.asarray(pairs, np.int32), src, start,
                       index, n_shared)  # fmt: skip


def _midranks(h, start, n_shared):
    """Centred midranks (weight below + half the weight tied - n/2) of pooled levels
    from their counts h (m, Kp), per value; a zero slot appended."""
    ex = jnp.concatenate([jnp.zeros_like(h[:, :1]), jnp.cumsum(h, axis=-1)], axis=-1)
    below = ex[:, :-1] - jnp.take(ex, start, axis=-1)
    mid = below + 0.5 * h - 0.5 * n_shared
    return jnp.concatenate([mid, jnp.zeros_like(mid[:, :1])], axis=-1)


def _tax(cross, n_pair, include_diagonal):
    """Debiased nVAT, VAT(u) and centralization, as one vector (V + 2), from the
    cross-products of centred ranks."""
    d = debiased_tax(correlation_from_cross(cross), n_pair, include_diagonal=include_diagonal)
    return jnp.concatenate([d.nvat[..., None], d.vat, d.centralization[..., None]], axis=-1)


@partial(jax.jit, static_argnames=("include_diagonal", "batch"))
def swap_tax_levels(
    t: LevelTables, k: Int[Array, "m n"], *, include_diagonal: bool = False, batch: int = 8
) -> Float[Array, "m pair stat"]:
    """Tax(A') - Tax(B') of every permutation (row of k) and pair: debiased nVAT, VAT(u)
    (V) and centralization; exact (the arms' own midranks, ties averaged)."""
    m = k.shape[0]
    n_sides, k1 = t.counts.shape
    hist = jnp.dot(k, t.onehot, preferred_element_type=jnp.int32)
    hist = hist.astype(jnp.float32).reshape(m, n_sides, k1)
    n_values = t.index.shape[2]

    def pair(args):
        side, src, start, index, n_shared = args
        kept = hist[:, side]  # (m, 2, K1): the kept samples' level counts of a and b
        left = t.counts[side] - kept
        take = partial(jnp.take, axis=-1)
        arm_a = _midranks(take(kept[:, 0], src[0]) + take(left[:, 1], src[1]), start, n_shared)
        arm_b = _midranks(take(left[:, 0], src[0]) + take(kept[:, 1], src[1]), start, n_shared)
        n_pair = jnp.full((n_values, n_values), n_shared)

        def perm(args):
            ta, tb, bits = args
            keep = bits > 0
            ia = jnp.where(keep, index[0], index[1]).astype(jnp.int32)
            ib = jnp.where(keep, index[1], index[0]).astype(jnp.int32)
            # the barriers keep XLA from fusing the gathers into the products
            ya = jax.lax.optimization_barrier(jnp.take(ta, ia))
            yb = jax.lax.optimization_barrier(jnp.take(tb, ib))
            return ya @ ya.T, yb @ yb.T

        cross_a, cross_b = jax.lax.map(perm, (arm_a, arm_b, k), batch_size=batch)
        return _tax(cross_a, n_pair, include_diagonal) - _tax(cross_b, n_pair, include_diagonal)

    out = jax.lax.map(pair, (t.side, t.src, t.start, t.index, t.n_shared))
    return jnp.swapaxes(out, 0, 1)


@partial(jax.jit, static_argnames=("pairwise", "include_diagonal"))
def swap_tax_generic(
    xa: Float[Array, "pair n value"],
    xb: Float[Array, "pair n value"],
    k: Int[Array, "m n"],
    *,
    pairwise: bool,
    include_diagonal: bool = False,
) -> Float[Array, "m pair stat"]:
    """:func:`swap_tax_levels` by materialising and ranking each arm (any shifts): xa, xb
    are the sides' centred shifts or their :func:`pooled_codes` (the same order and ties,
    exactly), NaN outside the pair's samples and where missing."""

    def arm(x):
        w = (~jnp.all(jnp.isnan(x), axis=-1)).astype(jnp.float32)
        r = spearman(x, w, pairwise=pairwise)
        d = debiased_tax(r, pair_counts(x), include_diagonal=include_diagonal)
        return jnp.concatenate([d.nvat[None], d.vat, d.centralization[None]])

    def pair(args):
        a, b = args

        def perm(bits):
            keep = (bits > 0)[:, None]
            return arm(jnp.where(keep, a, b)) - arm(jnp.where(keep, b, a))

        return jax.lax.map(perm, k)

    return jnp.swapaxes(jax.lax.map(pair, (xa, xb)), 0, 1)


# --- p-values, intervals, tie groups (host numpy) -----------------------------------------


def swap_p_value(observed: np.ndarray, null: np.ndarray, rtol: float = 1e-5) -> np.ndarray:
    """Two-sided (1 + #{|T*| >= |T|}) / (1 + #{T* defined}) per column of null (draw, ...).

    |T*| within ``rtol`` |T| (+ 1e-7) of |T| counts as reaching it: a swap that leaves
    the statistic unchanged can differ from it in the last float32 bits. NaN draws (an
    arm with a constant value) are left out; NaN where T is NaN.

    Example:
        >>> float(swap_p_value(np.array(0.5), np.array([0.1, -0.6, 0.2])))
        0.5
    """
    observed = np.abs(np.asarray(observed, np.float64))
    null = np.abs(np.asarray(null, np.float64))
    ok = ~np.isnan(null)
    with np.errstate(invalid="ignore"):
        hits = (ok & (null >= observed * (1 - rtol) - 1e-7)).sum(0)
    p = (1.0 + hits) / (1.0 + ok.sum(0))
    return np.where(np.isnan(observed), np.nan, p)


def recentred_interval(est: np.ndarray, reps: np.ndarray, level: float,
                       max_nan_fraction: float = 0.05) -> np.ndarray:  # fmt: skip
    """(estimate, lower, upper, se) per column: percentiles of the replicates (replicate,
    column) moved so their mean sits on the estimate (NaN replicates left out).

    Example:
        >>> reps = np.arange(1.0, 102.0)[:, None]  # mean 51
        >>> [round(float(v), 1) for v in recentred_interval(np.array([1.0]), reps, 0.9)[:3, 0]]
        [1.0, -44.0, 46.0]
    """
    est = np.asarray(est, np.float64)
    reps = np.asarray(reps, np.float64)
    ok = ~np.isnan(reps)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(ok, reps, 0.0).sum(0) / ok.sum(0)
    moved = reps - centre + est
    table, _ = intervals(est, moved, None, interval="percentile", level=level,
                         scale=np.ones(est.shape), max_nan_fraction=max_nan_fraction)  # fmt: skip
    return table[:4]


def tie_groups(score: np.ndarray, q: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Rank (1 = lowest score) and tie group of items; ``q`` (item, item) the q-values of
    their differences (NaN: not tested). Walking down the ranking, an item joins the
    group of the current group's best item (its leader) unless they differ significantly
    (q < alpha); then it leads a new group. Items with a NaN score get -1 for both.

    Example:
        >>> q = np.array([[np.nan, 0.5, 0.01], [0.5, np.nan, 0.2], [0.01, 0.2, np.nan]])
        >>> tie_groups(np.array([0.1, 0.2, 0.3]), q, 0.05)
        (array([1, 2, 3]), array([1, 1, 2]))
    """
    score = np.asarray(score, np.float64)
    rank = np.full(score.shape, -1)
    group = np.full(score.shape, -1)
    order = [i for i in np.argsort(score, kind="stable") if not np.isnan(score[i])]
    leader, current = None, 0
    for r, i in enumerate(order, start=1):
        rank[i] = r
        if leader is None or q[leader, i] < alpha:
            leader, current = i, current + 1
        group[i] = current
    return rank, group
