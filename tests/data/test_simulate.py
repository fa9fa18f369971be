"""The simulator: shape of the default study, reproducibility, and its truth."""

import numpy as np
import pytest

import vatjax
from vatjax import SCHWARTZ, VatInputError


def test_default_shape_like_the_paper_test_split():
    study = vatjax.simulate_study(seed=0, n_models=1)
    t = study.table
    per_cell = t.groupby(["model", "condition"]).size()
    assert per_cell.nunique() == 1 and per_cell.iloc[0] == 80 * 56 * 2  # 8,960 ~ 9,000
    assert t["condition"].nunique() == 1 + 4 * 3
    assert set(t["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert study.truth["coupling"].dims == ("intervention", "value", "value2")


def test_same_seed_same_study_other_seed_other_study():
    a = vatjax.simulate_study(seed=5, n_models=1, n_scenarios=5)
    b = vatjax.simulate_study(seed=5, n_models=1, n_scenarios=5)
    c = vatjax.simulate_study(seed=6, n_models=1, n_scenarios=5)
    assert a.table.equals(b.table)
    assert not a.table["rating"].equals(c.table["rating"])


def test_truth_coupling_is_a_circumplex_correlation_matrix():
    truth = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3, coupling=0.4).truth
    omega = truth["coupling"].isel(intervention=0).values
    assert np.allclose(np.diag(omega), 1) and np.all(np.linalg.eigvalsh(omega) > 0)
    sd, st, se = (SCHWARTZ.values.index(v) for v in ("Self-direction", "Stimulation", "Security"))
    assert omega[sd, st] > 0 > omega[sd, se]  # neighbours co-move, opposites oppose
    # nVAT of rho * cos(angle differences), diagonal excluded: 2 * rho for 10 equal angles
    assert float(truth["nvat"].isel(intervention=0)) == pytest.approx(0.8, abs=1e-5)


def test_large_study_recovers_truth():
    """With many scenarios the observed gain converges to the phi-scale truth."""
    study = vatjax.simulate_study(
        seed=1, n_models=1, n_scenarios=1500, strategies=("p",), effects=(1.0,), coupling=0.5
    )
    res = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
    # per-scenario sd of the target shift is below 0.3, so the standard error is < 0.008
    np.testing.assert_allclose(res["gain"].values, study.truth["gain"].values, atol=0.03)
    observed = res["coupling"].isel(model=0).values
    truth = study.truth["coupling_spearman"].values
    off = ~np.eye(10, dtype=bool)
    for i in range(4):
        assert np.corrcoef(observed[i][off], truth[i][off])[0, 1] > 0.8


def test_bad_simulation_arguments():
    with pytest.raises(VatInputError, match="coupling"):
        vatjax.simulate_study(seed=0, coupling=1.5)
    with pytest.raises(VatInputError, match="did you mean"):
        vatjax.simulate_study(seed=0, targets=[("Securty", 1)])
