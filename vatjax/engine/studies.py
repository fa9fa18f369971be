"""Many simulated studies of one cell (:mod:`vatjax.core.power`'s kernels), vmapped over
blocks of keys sized by a memory budget and sharded over devices.

Study i of a stream uses key ``split(stream, n_studies)[i]`` whatever the block size or
the number of devices, so the results are the same on one device or many.

- :func:`tax_draws`: each study's nVAT, its debiased square and debiased nVAT at every n.
- :func:`gain_rejections`: whether each study's t-test of the gain (difference) rejects.
- :func:`run_studies`: the loop they share.

Example:
    >>> import jax, numpy as np
    >>> keys = jax.random.split(jax.random.key(0), 8)
    >>> tax_draws(keys, np.eye(3), ns=(5, 20), shift_sd=0.5, noise=0.5, step=0.0,
    ...           grid=None).shape
    (8, 2, 3)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from vatjax.core.power import covariance_root, gain_study, tax_study

__all__ = ["DEFAULT_MEMORY", "gain_rejections", "run_studies", "tax_draws"]

DEFAULT_MEMORY = 256 << 20
"""Bytes of working memory the studies of one call may use on each device (about)."""


@functools.lru_cache(maxsize=32)
def _compiled(study: Callable, static: tuple, n_args: int, device_ids: tuple[int, ...]) -> Callable:
    """vmap(study) over a block of keys, sharded over the devices; one cache entry per
    study function, static keyword arguments and devices."""
    study = functools.partial(study, **dict(static))
    by_id = {d.id: d for d in jax.devices()}
    mesh = Mesh(np.array([by_id[i] for i in device_ids]), ("study",))
    batched = jax.vmap(study, in_axes=(0,) + (None,) * n_args)
    return jax.jit(
        jax.shard_map(
            batched,
            mesh=mesh,
            in_specs=(P("study"),) + (P(),) * n_args,
            out_specs=P("study"),
            check_vma=False,
        )
    )


def run_studies(
    study: Callable,
    keys,
    args: Sequence,
    static: dict,
    *,
    bytes_per_study: int,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> np.ndarray:
    """``study(key, *args, **static)`` for every key, in blocks sized by ``max_memory``,
    sharded over ``devices`` (default: all); the results stacked on a leading study axis,
    on the host. The compiled program is reused for the same ``study`` (a module-level
    function), ``static`` (hashable values) and devices.
    """
    devices = list(devices) if devices is not None else jax.devices()
    n_dev = len(devices)
    per_device = int(np.clip(max_memory // max(bytes_per_study, 1), 1, 256))
    n_keys = keys.shape[0]
    per_device = min(per_device, -(-n_keys // n_dev))
    block = per_device * n_dev
    run = _compiled(study, tuple(sorted(static.items())), len(args), tuple(d.id for d in devices))
    out = []
    for start in range(0, n_keys, block):
        chunk = keys[start : start + block]
        short = block - chunk.shape[0]
        if short:  # pad the last block with repeats (their results are dropped)
            chunk = jnp.concatenate([chunk, jnp.repeat(chunk[-1:], short, axis=0)])
        out.append(np.asarray(run(chunk, *args))[: block - short])
    return np.concatenate(out)


def tax_draws(
    keys,
    omega,
    *,
    ns: tuple[int, ...],
    shift_sd: float,
    noise: float,
    step: float,
    grid: tuple[np.ndarray, int] | None,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> np.ndarray:
    """(study, n, 3): nVAT, the debiased square nVAT_d^2 (unclipped) and the debiased nVAT
    of the first n samples of each simulated study (circumplex or any Omega; zero means).

    ``grid`` = (lowest levels, number of levels) from
    :func:`~vatjax.core.grid_ranks.grid_bounds` ranks by counting; None sorts.
    """
    lo, n_levels = grid if grid is not None else (np.zeros(1, np.int32), 0)
    static = {"ns": tuple(int(n) for n in ns), "n_levels": int(n_levels)}
    v = np.shape(omega)[-1]
    cov = shift_sd**2 * np.asarray(omega, np.float64) + noise**2 * np.eye(v)
    args = (jnp.asarray(covariance_root(cov)), jnp.float32(step), jnp.asarray(lo, jnp.int32))
    per_study = ns[-1] * v * 4 * (12 if n_levels else 30)
    return run_studies(tax_study, keys, args, static, bytes_per_study=per_study, devices=devices,
                       max_memory=max_memory)  # fmt: skip


def gain_rejections(
    keys,
    cov,
    means,
    *,
    ns: tuple[int, ...],
    step: float,
    alpha: float,
    paired: bool,
    devices: Sequence | None = None,
    max_memory: int = DEFAULT_MEMORY,
) -> np.ndarray:
    """(study, n) booleans: a two-sided t-test at ``alpha`` of the first n samples rejects.

    Each study draws the observed target shifts of two strategies on the same samples,
    normal with means ``means`` and covariance ``cov`` (2 x 2), on the grid of ``step``.
    ``paired``: the test of the difference a - b; otherwise the one-sample test of a.
    """
    from scipy.stats import t as student_t

    crit = student_t.ppf(1 - alpha / 2, np.asarray(ns) - 1.0)
    static = {"ns": tuple(int(n) for n in ns), "paired": bool(paired)}
    args = (jnp.asarray(covariance_root(cov)), jnp.asarray(means, jnp.float32),
            jnp.float32(step), jnp.asarray(crit, jnp.float32))  # fmt: skip
    return run_studies(gain_study, keys, args, static, bytes_per_study=ns[-1] * 2 * 4 * 12,
                       devices=devices, max_memory=max_memory)  # fmt: skip
