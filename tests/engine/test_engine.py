"""The engine's public pair: prepare sizes and places the cells, evaluate runs them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference import tied_shifts

from vatjax.core.metrics import pack, vat_metrics
from vatjax.engine import Cells, evaluate, prepare


def cells(seed=0, n_cells=3, n=40, nan_rate=0.0):
    rng = np.random.default_rng(seed)
    x = np.stack([tied_shifts(rng, (n, 10), nan_rate) for _ in range(n_cells)])
    mask = np.zeros((n_cells, 10), bool)
    mask[:, 4] = True
    return Cells.from_arrays(x, mask, -np.ones(n_cells))


@pytest.mark.parametrize("nan_rate", [0.0, 0.1])
@pytest.mark.parametrize("force_groups", [True, False])
def test_full_sample_equals_the_point_kernel(nan_rate, force_groups):
    c = cells(nan_rate=nan_rate)
    engine = prepare(c, n_reps_total=1, force_groups=force_groups)
    assert engine.grouped == force_groups and c.has_nan == (nan_rate > 0)
    got = evaluate(engine, "jackknife", np.array([-1]))[0]
    m = vat_metrics(jnp.asarray(c.x), jnp.ones(c.x.shape[1]), jnp.asarray(c.mask),
                    jnp.asarray(c.direction), pairwise=c.has_nan)  # fmt: skip
    np.testing.assert_allclose(got, np.asarray(pack(m)), atol=1e-5, equal_nan=True)


def test_results_do_not_depend_on_devices_or_chunks():
    c = cells(n=400)
    big = evaluate(prepare(c, seed=3, n_reps_total=100), "subsample", np.arange(100))
    small = prepare(c, seed=3, n_reps_total=100, max_memory=1 << 20,
                    devices=jax.devices()[:1])  # fmt: skip
    assert small.chunk < 100
    np.testing.assert_allclose(evaluate(small, "subsample", np.arange(100)), big, atol=1e-6)


def test_progress_counts_every_replicate_and_bad_requests_are_refused():
    engine = prepare(cells(), n_reps_total=50)
    seen = []
    evaluate(engine, "bootstrap", np.arange(50), on_progress=seen.append)
    assert sum(seen) == 50
    with pytest.raises(ValueError, match="integer weights"):
        evaluate(engine, "bayesian", np.arange(5))
    with pytest.raises(ValueError, match="permute=True"):
        evaluate(engine, "permute", np.arange(5))
