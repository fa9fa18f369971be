"""The report's parts: the two kinds of vat.nc, the summary's verdicts, the PPC's ticks."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vatjax
from vatjax.cli.figures_bayes import ppc_rootogram
from vatjax.cli.report_data import decision_table, split_results
from vatjax.cli.report_summary import summary_section
from vatjax.named import results_dataset


@pytest.fixture(scope="module")
def small():
    study = vatjax.simulate_study(seed=2, n_models=1, n_scenarios=30)
    delta = vatjax.shifts(vatjax.load_judgments(study.table))
    return (vatjax.vat(delta), vatjax.bootstrap(delta, n_resamples=30, seed=0, quiet=True),
            vatjax.noise_floor(delta, n_permutations=20, seed=0, quiet=True))  # fmt: skip


def test_a_bootstrap_vat_nc_is_split_into_point_metrics_and_intervals(small):
    point, boot, _ = small
    parts = split_results({"vat": results_dataset(point, boot)})
    assert set(parts) == {"vat", "bootstrap"} and "stat" not in parts["vat"].dims
    np.testing.assert_allclose(parts["vat"]["nvat"], point["nvat"], rtol=1e-5)
    table = decision_table(parts)
    assert {"gain_lower", "nvat_upper", "frontier"} <= set(table) and "nvat_floor" not in table


def test_the_folder_s_own_files_win_over_a_merged_vat_nc(small):
    point, boot, null = small
    other = null.assign_attrs(n_permutations=999)
    parts = split_results({"vat": results_dataset(point, boot, null), "noise_floor": other})
    assert parts["noise_floor"].attrs["n_permutations"] == 999
    assert "p_nvat" not in parts["vat"] and "floor_nvat" not in parts["vat"]


def test_the_summary_names_the_cells_above_the_floor_and_on_target(small):
    point, boot, null = small
    parts = {"vat": point, "bootstrap": boot, "noise_floor": null}
    table = decision_table(parts)
    tax, gain, front, fit = summary_section(parts, table).items
    above = table[table["nvat"] > table["nvat_floor"]]
    assert tax.startswith(f"Tax above the noise floor in {len(above)} of {len(table)} cells")
    hit = table[table["gain_lower"] > 0]
    assert gain.startswith(f"Gain on target (interval above 0) in {len(hit)} of {len(table)}")
    assert all(f"{iv} (gain" in front for iv in table.loc[table["frontier"], "intervention"])
    assert fit.startswith("Bayesian fit: none")
    # above the floor in raw nVAT is above the floor moved to the debiased scale
    moved = table["nvat_debiased"] > table["nvat_floor_debiased"]
    assert (moved[table["nvat_debiased"] > 0] == table["above_floor"][table["nvat_debiased"] > 0]).all()


def test_the_frontier_is_the_cells_no_other_beats():
    table = pd.DataFrame({"model": ["m"] * 4 + ["n"], "gain": [0.5, 0.4, 0.1, 0.4, 0.0],
                          "tax": [0.3, 0.1, 0.05, 0.2, 0.9]})  # fmt: skip
    from vatjax.cli.report_data import on_frontier

    assert on_frontier(table, "tax").tolist() == [True, True, True, False, True]


def test_the_ppc_shows_every_level_of_the_scale():
    rng = np.random.default_rng(0)
    ratings = rng.choice([1.0, 2.0, 4.0], size=(1, 2, 30))  # levels 3 and 5 never observed
    ratings[0, 0, :3] = np.nan
    dims = ("model", "condition", "item")
    tree = xr.DataTree.from_dict({
        "observed_data": xr.Dataset({"rating": (dims, ratings)}),
        "posterior_predictive": xr.Dataset({"rating": (("chain", "draw", *dims),
                                                       rng.integers(1, 6, (2, 5, 1, 2, 30)).astype(float))}),
    })  # fmt: skip
    tree.attrs = {"scale_min": 1, "scale_max": 5}
    pc = ppc_rootogram(tree)
    fig = pc.viz["figure"]
    fig = fig.item() if hasattr(fig, "item") else fig
    try:
        ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert ticks == ["1", "2", "3", "4", "5"]
