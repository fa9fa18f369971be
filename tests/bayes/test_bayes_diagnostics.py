"""The convergence check: rank-based diagnostics of a monotone twin are computed once."""

import numpy as np
import xarray as xr

from vatjax.bayes.diagnostics import check, convergence_stats


def test_the_spearman_coupling_shares_the_pearson_couplings_diagnostics():
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(4, 300, 3, 3)), axis=1) * 0.01  # autocorrelated draws
    coupling = np.tanh(walk + rng.normal(size=(1, 1, 3, 3)) * 0.3)
    dims = ("chain", "draw", "value", "value2")
    vat = xr.Dataset({"coupling": (dims, coupling),
                      "coupling_spearman": (dims, 6 / np.pi * np.arcsin(coupling / 2))})  # fmt: skip
    stats = check(xr.DataTree.from_dict({"vat": vat}), warn=False)
    for kind in ("rhat", "ess_bulk", "ess_tail"):
        direct = convergence_stats(vat[["coupling_spearman"]], kind)["coupling_spearman"]
        np.testing.assert_allclose(
            stats["coupling_spearman"].sel(diagnostic=kind), direct, rtol=1e-6
        )
    assert stats.attrs["max_rhat"] > 1.01  # the random walks have not mixed: caught
