"""The one stat-vector layout of the metrics pytree: pack and unpack are inverses."""

import jax.numpy as jnp
import numpy as np
import pytest

from vatjax.core.metrics import FLOAT_METRICS, NULL_METRICS, pack, stat_size, unpack, vat_metrics


@pytest.mark.parametrize("names", [FLOAT_METRICS, NULL_METRICS])
def test_pack_then_unpack_gives_every_metric_back(names):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.integers(-2, 3, (3, 4, 25, 6)) / 2.0, jnp.float32)  # 3 x 4 cells
    mask = jnp.zeros((3, 4, 6), bool).at[..., 2].set(True)
    m = vat_metrics(x, jnp.ones(25), mask, jnp.ones((3, 4)))
    packed = np.asarray(pack(m, names))
    assert packed.shape == (3, 4, stat_size(names, 6))
    back = unpack(packed, 6, names)
    assert list(back) == list(names)
    for name in names:
        np.testing.assert_array_equal(back[name], np.asarray(getattr(m, name)), err_msg=name)
