"""NUTS on many independent cells at once: one sampler per cell and chain, vmapped.

When the cells of a model share no parameter (as in ``mvn-marginal``, where every
(model, intervention) cell has its own gamma, tau, Omega and LKJ concentration), the
joint posterior is a product of small ones. One NUTS run on the product needs one step
size for all of them and trees as long as the hardest cell's. Here every cell and chain
runs its own NUTS (NumPyro's functional ``hmc``) with its own step size and mass matrix
(diagonal by default; a dense one needs long warmup windows, as its early estimates from
few draws are singular), so trees stay short; the batch is vmapped (and chains go to separate host devices when there are
enough). The same sampler runs SBC replicates as a batch of cells.

Example:
    >>> import jax, jax.numpy as jnp, numpyro, numpyro.distributions as dist
    >>> def model(d):
    ...     numpyro.sample("y", dist.Normal(numpyro.sample("m", dist.Normal(0, 1)), 1),
    ...                    obs=d["y"])
    >>> data = {"y": jnp.array([-2.0, 0.0, 2.0])}  # three cells, one observation each
    >>> out = sample_cells(model, data, chains=2, warmup=200, draws=200,
    ...                    key=jax.random.key(0))
    >>> out.samples["m"].shape, [round(float(m)) for m in out.samples["m"].mean((0, 1))]
    ((2, 200, 3), [-1, 0, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model

from vatjax.bayes.sampling import numpyro_promotion

__all__ = ["CellDraws", "chain_functions", "sample_cells"]

STAT_FIELDS = ("diverging", "num_steps", "energy", "potential_energy", "accept_prob",
               "step_size")  # fmt: skip


class CellDraws(NamedTuple):
    """Draws (chain, draw, cell, ...) of every site, and the sampler's statistics per
    (chain, draw, cell), named as NumPyro's ``extra_fields``."""

    samples: dict
    stats: dict


def _one_cell(data: dict) -> dict:
    return jax.tree.map(lambda x: x[0], data)


def chain_functions(model, data: dict, warmup: int, settings: dict, block: int) -> tuple:
    """(init, advance, constrain): pure functions of one chain of one cell, to vmap.

    ``init(key, d)`` starts a chain at uniform(-1, 1) coordinates, ``advance(state, d)``
    runs ``block`` NUTS iterations (warmup adapts while the state's count is below
    ``warmup``) and returns the new state with the coordinates and statistics of each,
    ``constrain(z, d)`` maps coordinates to every site. ``data`` has a leading cell axis
    (its first cell fixes the shapes); ``settings`` holds target_accept, max_tree_depth
    and dense_mass.
    """
    info = initialize_model(jax.random.key(0), model, model_args=(_one_cell(data),),
                            dynamic_args=True)  # fmt: skip
    init_kernel, sample_kernel = hmc(potential_fn_gen=info.potential_fn, algo="NUTS")
    template = info.param_info.z

    def init(key, d):
        k_init, k_run = jax.random.split(key)
        leaves, tree = jax.tree.flatten(template)
        keys = jax.random.split(k_init, len(leaves))
        z0 = jax.tree.unflatten(tree, [jax.random.uniform(k, x.shape, x.dtype, -1.0, 1.0)
                                       for k, x in zip(keys, leaves, strict=True)])  # fmt: skip
        return init_kernel(z0, warmup, dense_mass=settings["dense_mass"],
                           target_accept_prob=settings["target_accept"],
                           max_tree_depth=settings["max_tree_depth"], model_args=(d,),
                           rng_key=k_run)  # fmt: skip

    def advance(state, d):
        def step(state, _):
            state = sample_kernel(state, model_args=(d,))
            stats = (state.diverging, state.num_steps, state.energy, state.potential_energy,
                     state.accept_prob, state.adapt_state.step_size)  # fmt: skip
            return state, (state.z, dict(zip(STAT_FIELDS, stats, strict=True)))

        return jax.lax.scan(step, state, None, length=block)

    def constrain(z, d):
        return info.postprocess_fn(d)(z)

    return init, advance, constrain


def _batched(fn, n_devices: int):
    """fn over (chain, cell) in a (device, chain-per-device, cell) layout, the data
    broadcast over chains: pmap over devices when there are several, else vmap."""
    over_cells = jax.vmap(fn, in_axes=(0, 0))
    over_chains = jax.vmap(over_cells, in_axes=(0, None))
    if n_devices > 1:
        return jax.pmap(over_chains, in_axes=(0, None))
    return jax.jit(jax.vmap(over_chains, in_axes=(0, None)))


def _devices_for(chains: int) -> int:
    n = min(jax.local_device_count(), chains)
    while chains % n:
        n -= 1
    return n


def sample_cells(
    model: Callable,
    data: dict,
    *,
    chains: int,
    warmup: int,
    draws: int,
    key,
    target_accept: float = 0.8,
    max_tree_depth: int = 8,
    dense_mass: bool = False,
    block: int = 100,
    on_progress: Callable[[int, int], None] | None = None,
) -> CellDraws:
    """Run NUTS on every cell of ``data`` (arrays with a leading cell axis) with
    ``model(one_cell_data)``; each cell and chain adapts its own step size and mass
    matrix. ``on_progress(done, total)`` is called after each block of iterations.

    Returns:
        :class:`CellDraws`: every sample and deterministic site (chain, draw, cell, ...),
        and the statistics (chain, draw, cell).
    """
    settings = {"target_accept": target_accept, "max_tree_depth": max_tree_depth,
                "dense_mass": dense_mass}  # fmt: skip
    with numpyro_promotion():
        return _sample_cells(model, data, chains, warmup, draws, key, settings, block,
                             on_progress)  # fmt: skip


def _sample_cells(model, data, chains, warmup, draws, key, settings, block, on_progress):
    n_cells = len(jax.tree.leaves(data)[0])
    n_dev = _devices_for(chains)
    block = max(1, min(block, warmup + draws))
    init, advance, constrain = chain_functions(model, data, warmup, settings, block)
    keys = jax.random.split(key, chains * n_cells).reshape(n_dev, chains // n_dev, n_cells)
    state = _batched(init, n_dev)(keys, data)
    run_block = _batched(advance, n_dev)
    total = warmup + draws
    zs, stats, done = [], [], 0
    while done < total:
        state, (z, st) = run_block(state, data)
        first = max(0, warmup - done)
        if first < block:  # keep the draws after warmup (and only up to ``draws``)
            last = min(block, total - done)
            zs.append(jax.tree.map(lambda x, a=first, b=last: x[:, :, :, a:b], z))
            stats.append(jax.tree.map(lambda x, a=first, b=last: x[:, :, :, a:b], st))
        done += block
        if on_progress is not None:
            on_progress(min(done, total), total)
    z = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=3), *zs)
    st = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=3), *stats)
    per_draw = jax.vmap(constrain, in_axes=(0, None))  # over draws
    samples = _batched(per_draw, n_dev)(z, data)
    return CellDraws(_chain_draw_cell(samples, chains), _chain_draw_cell(st, chains))


def _chain_draw_cell(tree, chains: int):
    """(device, chain-per-device, cell, draw, ...) -> (chain, draw, cell, ...) numpy."""

    def reorder(x):
        x = np.asarray(x)
        x = x.reshape(chains, *x.shape[2:])
        return np.swapaxes(x, 1, 2)

    return jax.tree.map(reorder, tree)
