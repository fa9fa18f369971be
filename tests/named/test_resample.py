"""Bootstrap intervals and the permutation noise floor: exactness, scipy, scale, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import xarray as xr
from reference import tied_shifts, vat_reference

import vatjax
from vatjax.core.metrics import NULL_METRICS, unpack
from vatjax.core.permute import inverse_order, permutation_sources, permuted_stats
from vatjax.core.schemes import jackknife_groups, jackknife_weights, resample_weights
from vatjax.engine import evaluate, prepare
from vatjax.errors import VatInputError
from vatjax.named import bootstrap, noise_floor
from vatjax.named.validate import shift_cells
from vatjax.taxonomy import SCHWARTZ

VALUES = list(SCHWARTZ.values)
POWER = VALUES.index("Power")
METRICS = ["gain", "gain_raw", "gnd", "coupling", "vat", "nvat", "centralization"]


def make_shifts(x, targets=None, directions=None):
    """A shifts DataArray (model, intervention, scenario, value) around a plain array."""
    x = np.asarray(x, float)
    x = x[None, None] if x.ndim == 2 else x
    n_models, n_int, n, _ = x.shape
    targets = targets or ["Power"] * n_int
    directions = directions or [-1] * n_int
    return xr.DataArray(
        x,
        dims=("model", "intervention", "scenario", "value"),
        coords={
            "model": [f"m{i}" for i in range(n_models)],
            "intervention": [f"i{i}" for i in range(n_int)],
            "scenario": [f"s{i}" for i in range(n)],
            "value": VALUES,
            "strategy": ("intervention", ["prompt"] * n_int),
            "target": ("intervention", targets),
            "direction": ("intervention", directions),
        },
    )


def tied_cells(seed=0, n=30, nan_rate=0.1, n_models=2):
    rng = np.random.default_rng(seed)
    x = np.stack([tied_shifts(rng, (n, 10), nan_rate) for _ in range(n_models)])[:, None]
    if nan_rate > 0:
        x[0, 0, 4] = np.nan  # a scenario the first cell does not have
    return x


def assert_cell_matches(fields, ref, atol=1e-5):
    for name in METRICS:
        got = np.asarray(fields[name], float)
        want = np.asarray(ref[name], float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        np.testing.assert_allclose(got, want, atol=atol, rtol=0, equal_nan=True, err_msg=name)


# --- weighted statistics equal the statistics of the materialised resample -------------


@pytest.mark.parametrize("scheme", ["bootstrap", "subsample"])
@pytest.mark.parametrize("nan_rate", [0.0, 0.15])
@pytest.mark.parametrize("kernel", ["groups", "sort"])
def test_replicates_equal_materialised_resamples(scheme, nan_rate, kernel):
    x = tied_cells(nan_rate=nan_rate)
    cells = shift_cells(make_shifts(x)).cells
    engine = prepare(cells, seed=11, n_reps_total=4, force_groups=kernel == "groups")
    assert engine.grouped == (kernel == "groups")
    stats = evaluate(engine, scheme, np.arange(3))
    present = ~np.isnan(x).all(-1)
    w = np.asarray(resample_weights(jax.random.key(11), 3, jnp.asarray(present), scheme=scheme))
    for b in range(3):
        for m in range(2):
            cell = x[m, 0]
            ref = vat_reference(np.repeat(cell, w[b, m, 0].astype(int), axis=0), [POWER], -1)
            assert_cell_matches(unpack(stats[b, m], 10), ref)
    if kernel == "groups":  # the public path runs the same engine
        ds = bootstrap(
            make_shifts(x),
            n_resamples=3,
            scheme=scheme,
            interval="percentile",
            keep_replicates=True,
            seed=11,
            quiet=True,
        )
        assert ds.attrs["coupling_engine"].startswith("spearman_many")
        for m in range(2):
            got = ds["nvat_replicates"].isel(model=m, intervention=0).values
            np.testing.assert_allclose(got, unpack(stats[:, m], 10)["nvat"], atol=1e-6)


@pytest.mark.parametrize("nan_rate", [0.0, 0.15])
def test_jackknife_replicates_equal_leave_one_out(nan_rate):
    x = tied_cells(nan_rate=nan_rate)
    cells = shift_cells(make_shifts(x)).cells
    groups, g = jackknife_groups(cells.present)
    engine = prepare(cells, seed=0, n_reps_total=30, groups=groups)
    stats = evaluate(engine, "jackknife", np.arange(g))
    for j in range(0, g, 4):
        for m in range(2):
            keep = np.asarray(jackknife_weights(groups, j))[m].astype(bool)
            ref = vat_reference(x[m, 0][keep], [POWER], -1)
            assert_cell_matches(unpack(stats[j, m], 10), ref)


def test_estimate_equals_vat_and_conventions_are_recorded():
    sh = make_shifts(tied_cells())
    ds = bootstrap(sh, n_resamples=50, scheme="subsample", level=0.9, seed=5, quiet=True)
    point = vatjax.vat(sh)
    for name in METRICS:
        np.testing.assert_allclose(
            ds[name].sel(stat="estimate"), point[name], atol=1e-6, equal_nan=True
        )
    np.testing.assert_array_equal(ds["n_samples"], point["n_samples"])
    assert list(ds["stat"].values) == ["estimate", "lower", "upper", "se", "replicate_sd"]
    assert ds["coupling"].dims == ("stat", "model", "intervention", "value", "value2")
    assert ds["gain"].attrs["units"] == "phi"
    assert {k: ds.attrs[k] for k in ("scheme", "interval", "confidence_level", "seed")} == {
        "scheme": "subsample",
        "interval": "bca",
        "confidence_level": 0.9,
        "seed": 5,
    }
    assert ds.attrs["n_resamples"] == 50 and ds.attrs["fraction"] == 0.8
    lower, upper = ds["nvat"].sel(stat="lower"), ds["nvat"].sel(stat="upper")
    assert bool((lower <= upper).all())


# --- intervals agree with scipy.stats.bootstrap ------------------------------------------


class _Given:
    """A stand-in BootstrapResult: hands our replicates to scipy.stats.bootstrap."""

    def __init__(self, reps):
        self.bootstrap_distribution = np.asarray(reps, float)


def _continuous_cell(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    x[:, 3] += 0.7 * x[:, POWER]
    return x


def _stats_for_scipy():
    """(name, our selection, scipy statistic, data columns) for a mean and a Spearman."""
    achievement = VALUES.index("Achievement")

    def gain(p):
        return -np.mean(p)

    def rho(a, b):
        return scipy.stats.spearmanr(a, b).statistic

    return [
        ("gain", {}, gain, [POWER]),
        ("coupling", {"value": "Power", "value2": "Achievement"}, rho, [POWER, achievement]),
    ]


@pytest.mark.parametrize("interval", ["percentile", "bca"])
def test_interval_arithmetic_equals_scipy_on_the_same_replicates(interval):
    """Same replicates in, same interval out: z0, jackknife acceleration, interpolation."""
    x = _continuous_cell()
    ds = bootstrap(
        make_shifts(x), n_resamples=2000, interval=interval, keep_replicates=True, quiet=True
    )
    for name, sel, stat, cols in _stats_for_scipy():
        reps = ds[f"{name}_replicates"].isel(model=0, intervention=0).sel(sel).values
        res = scipy.stats.bootstrap(
            tuple(x[:, c] for c in cols),
            stat,
            n_resamples=0,
            bootstrap_result=_Given(reps),
            paired=True,
            vectorized=False,
            method="BCa" if interval == "bca" else "percentile",
        )
        ours = ds[name].isel(model=0, intervention=0).sel(sel)
        got = [float(ours.sel(stat=s)) for s in ("lower", "upper", "se")]
        want = [*res.confidence_interval, res.standard_error]
        np.testing.assert_allclose(got, want, rtol=2e-5, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("interval", ["percentile", "bca"])
def test_intervals_agree_with_scipy_bootstrap_within_monte_carlo_error(interval):
    """Independent 10,000-resample runs on Likert-like data with ties (mean and Spearman)."""
    rng = np.random.default_rng(3)
    x = rng.integers(-8, 9, size=(60, 10)) / 8.0
    x[:, 3] = np.round(0.6 * x[:, POWER] * 8 + rng.integers(-3, 4, 60)) / 8
    b = 10_000
    ds = bootstrap(
        make_shifts(x), n_resamples=b, interval=interval, keep_replicates=True, seed=1, quiet=True
    )
    for name, sel, stat, cols in _stats_for_scipy():
        reps = np.sort(ds[f"{name}_replicates"].isel(model=0, intervention=0).sel(sel).values)
        res = scipy.stats.bootstrap(
            tuple(x[:, c] for c in cols),
            stat,
            n_resamples=b,
            paired=True,
            vectorized=False,
            method="BCa" if interval == "bca" else "percentile",
            rng=np.random.default_rng(2),
        )
        ours = ds[name].isel(model=0, intervention=0).sel(sel)
        # Monte Carlo sd of a p-quantile of b draws: sqrt(p (1 - p) / b) dQ/dp; two
        # independent runs; BCa adds the noise of z0 (x 1.3); the statistic lives on a
        # lattice, so add one lattice step
        step = np.min(np.diff(np.unique(reps)))
        for s, p, want in [
            ("lower", 0.025, res.confidence_interval.low),
            ("upper", 0.975, res.confidence_interval.high),
        ]:
            slope = (np.quantile(reps, p + 0.01) - np.quantile(reps, p - 0.01)) / 0.02
            sd = np.sqrt(p * (1 - p) / b) * slope * np.sqrt(2) * 1.3
            assert abs(float(ours.sel(stat=s)) - want) < 5 * sd + step, (name, s)
        se = float(ours.sel(stat="se"))
        assert abs(se - res.standard_error) < 5 * se * np.sqrt(2 / b) * np.sqrt(2), name


# --- coverage and the null, on simulated data ---------------------------------------------


@pytest.mark.slow
def test_bca_interval_of_gain_covers_the_truth():
    """200 replicate studies (the models of one simulation: independent data, own truth)."""
    study = vatjax.simulate_study(
        seed=4,
        n_models=200,
        n_scenarios=30,
        targets=[("Power", -1)],
        strategies=["prompt"],
        effects=(0.8,),
        coupling=0.1,
    )
    sh = vatjax.shifts(vatjax.load_judgments(study.table))
    ds = bootstrap(sh, n_resamples=2000, level=0.9, seed=9, quiet=True)
    truth = study.truth["gain"].sel(intervention=sh["intervention"])
    lo, hi = ds["gain"].sel(stat="lower"), ds["gain"].sel(stat="upper")
    covered = float(((lo <= truth) & (truth <= hi)).mean())
    assert 0.85 <= covered <= 0.95, covered


@pytest.mark.slow
def test_permutation_p_value_of_nvat_is_uniform_without_coupling():
    rng = np.random.default_rng(5)
    x = rng.integers(-4, 5, size=(200, 1, 30, 10)) / 4.0
    nf = noise_floor(make_shifts(x), n_permutations=99, seed=2, quiet=True)
    p = nf["p_nvat"].values.ravel()
    # p lives on the grid k / 100: at most 0.01 off a continuous uniform, far below the
    # KS critical distance for 200 p-values (0.115 at the 1% level)
    assert scipy.stats.kstest(p, "uniform").pvalue > 0.01
    assert nf["q_coupling"].notnull().sum() == 200 * 90


def test_cells_on_the_same_scenarios_share_permutations():
    """Each cell's null is that of the cell alone: the shared permutations are the
    permutations the cell would get by itself (so its null is still a uniform one)."""
    x = tied_cells(nan_rate=0.0, n=40, n_models=3)
    kw = dict(n_permutations=30, seed=4, quiet=True)
    together = noise_floor(make_shifts(x), **kw)
    assert together.attrs["prng"].endswith("same scenarios")
    for m in (0, 2):
        alone = noise_floor(make_shifts(x[m : m + 1]), **kw)
        np.testing.assert_allclose(
            together["null_nvat"].isel(model=m), alone["null_nvat"].isel(model=0), atol=1e-6
        )
    other = noise_floor(make_shifts(x[1:2]), **kw)["null_nvat"].isel(model=0)
    assert not np.allclose(together["null_nvat"].isel(model=0), other)  # data differ


def test_noise_floor_detects_coupling_and_matches_scipy_fdr():
    rng = np.random.default_rng(6)
    x = rng.integers(-4, 5, size=(40, 10)) / 4.0
    x[:, 1] = x[:, 0] + rng.integers(-1, 2, 40) / 4
    x[:, 3] = x[:, 2] + rng.integers(-1, 2, 40) / 4
    x[rng.random(x.shape) < 0.05] = np.nan
    nf = noise_floor(make_shifts(x), n_permutations=999, quiet=True)
    cell = nf.isel(model=0, intervention=0)
    # the smallest p-value, 1/1000, survives BH over 45 pairs: q = 45 / 2 x 1/1000 < 0.05
    assert float(cell["p_coupling"].isel(value=0, value2=1)) == pytest.approx(1 / 1000)
    assert bool(cell["significant"].isel(value=0, value2=1))
    assert int(cell["n_significant"]) >= 1
    p = cell["p_coupling"].values
    iu = np.triu_indices(10, 1)
    q = scipy.stats.false_discovery_control(p[iu])
    np.testing.assert_allclose(cell["q_coupling"].values[iu], q)
    np.testing.assert_allclose(
        cell["q_coupling"].values, cell["q_coupling"].values.T, equal_nan=True
    )
    np.testing.assert_allclose(
        cell["coupling"], vatjax.vat(make_shifts(x))["coupling"][0, 0], atol=1e-6
    )
    assert (cell["null_nvat"] > 0).all() and (
        cell["floor_nvat"] > cell["null_nvat"].median()
    ).item()


def sources(cells, index, seed=0):
    inverse = inverse_order(cells.present)
    src = permutation_sources(
        jax.random.key(seed), index, jnp.asarray(cells.present), jnp.asarray(inverse), 10
    )
    return np.asarray(src)


def test_permutation_shuffles_each_value_within_present_scenarios():
    cells = shift_cells(make_shifts(tied_cells(nan_rate=0.2, n=25))).cells
    src = sources(cells, 3)
    n = cells.x.shape[1]
    np.testing.assert_array_equal(sources(cells, -1), np.broadcast_to(np.arange(n), src.shape))
    for c in range(2):
        present = cells.present[c]
        for v in range(10):
            assert sorted(src[c, v, present]) == list(np.flatnonzero(present))  # a permutation
            assert not present[src[c, v, ~present]].any()  # absent slots take absent rows
        assert (src[c][:, present] != np.flatnonzero(present)).any()
        assert not (src[c, 0] == src[c, 1]).all()  # values are shuffled independently


@pytest.mark.parametrize("absent", [False, True])
def test_permuted_ranks_equal_spearman_of_permuted_data(absent):
    """Without NaN inside scenarios the null permutes ranks, not data: same coupling."""
    x = tied_cells(nan_rate=0.0, n=40)
    if absent:
        x[1, 0, [3, 17]] = np.nan  # scenarios the second cell does not have
    cells = shift_cells(make_shifts(x)).cells
    assert not cells.has_nan
    inverse = jnp.asarray(inverse_order(cells.present))
    key, idx = jax.random.key(5), jnp.arange(-1, 4)
    present = jnp.asarray(cells.present)
    src = jax.vmap(lambda i: permutation_sources(key, i, present, inverse, 10))(idx)
    stats = np.asarray(
        permuted_stats(jnp.asarray(cells.x), present, src, pairwise=False, include_diagonal=False)
    )
    for k, i in enumerate(np.asarray(idx)):
        src = sources(cells, int(i), seed=5)
        for c in range(2):
            xs = np.take_along_axis(cells.x[c].T, src[c], axis=-1).T
            keep = cells.present[c]
            ref = vat_reference(xs[keep], [POWER], -1)
            got = unpack(stats[k, c], 10, NULL_METRICS)
            np.testing.assert_allclose(got["coupling"], ref["coupling"], atol=1e-5)
            np.testing.assert_allclose(got["nvat"], ref["nvat"], atol=1e-5)


# --- scale: devices, chunks, compilation ---------------------------------------------------


def test_sharded_equals_single_device():
    assert len(jax.devices()) == 4  # conftest forces four host devices
    sh = make_shifts(tied_cells())
    kw = dict(n_resamples=300, keep_replicates=True, seed=3, quiet=True)
    four = bootstrap(sh, **kw)
    one = bootstrap(sh, devices=jax.devices()[:1], **kw)
    xr.testing.assert_equal(four, one)
    nf4 = noise_floor(sh, n_permutations=50, quiet=True)
    nf1 = noise_floor(sh, n_permutations=50, quiet=True, devices=jax.devices()[:1])
    xr.testing.assert_equal(nf4, nf1)


def test_chunking_does_not_change_results_and_no_recompilation():
    sh = make_shifts(tied_cells())
    kw = dict(n_resamples=200, keep_replicates=True, seed=8, quiet=True)
    small = bootstrap(sh, max_memory=1 << 20, **kw)  # few resamples per chunk, a cell a block
    assert small.attrs["cell_blocks"] == 2
    big = bootstrap(sh, **kw)
    xr.testing.assert_allclose(small, big, rtol=0, atol=1e-6)  # GEMM blocking: rounding only
    compiles = []

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        again = bootstrap(sh, **kw)
        other_data = bootstrap(make_shifts(tied_cells(seed=1)), **kw)  # same shapes
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert compiles == []
    xr.testing.assert_equal(again, big)
    assert not np.array_equal(other_data["nvat"].values, big["nvat"].values)


# --- NaN replicates, rescaling, schemes ----------------------------------------------------


def test_nan_replicates_are_counted_and_gate_the_interval():
    rng = np.random.default_rng(8)
    x = rng.integers(-4, 5, size=(30, 10)) / 4.0
    x[:, 9] = 0.0
    x[0, 9] = 1.0  # Universalism moves in one scenario only: constant in ~1/3 of resamples
    sh = make_shifts(x)
    ds = bootstrap(sh, n_resamples=300, interval="percentile", quiet=True)
    frac = float(ds["vat_nan_fraction"].isel(model=0, intervention=0, value=9))
    assert 0.25 < frac < 0.45  # P(scenario 0 not drawn) = (1 - 1/30)^30 = 0.36
    assert np.isnan(ds["vat"].isel(model=0, intervention=0, value=9).sel(stat="lower"))
    lenient = bootstrap(
        sh, n_resamples=300, interval="percentile", max_nan_fraction=1.0, quiet=True
    )
    assert np.isfinite(lenient["vat"].isel(model=0, intervention=0, value=9).sel(stat="lower"))
    assert float(ds["gain_nan_fraction"].max()) == 0.0


@pytest.mark.slow
def test_subsample_se_is_rescaled_to_the_full_sample():
    """m-out-of-n spread x sqrt(m / (n - m)) estimates the sd of the full-sample statistic."""
    rng = np.random.default_rng(9)
    x = rng.integers(-4, 5, size=(200, 10)) / 4.0
    sh = make_shifts(x)
    b = 4000
    boot = bootstrap(sh, n_resamples=b, interval="percentile", quiet=True)
    sub = bootstrap(sh, n_resamples=b, scheme="subsample", interval="percentile", quiet=True)
    bay = bootstrap(sh, n_resamples=b, scheme="bayesian", interval="percentile", quiet=True)
    se_boot = boot["gain"].sel(stat="se").item()
    for other in (sub, bay):
        se = other["gain"].sel(stat="se").item()
        # the sd of an sd estimate from b draws is ~ sd / sqrt(2 b); two independent runs
        assert abs(se / se_boot - 1) < 5 * np.sqrt(1 / b), other.attrs["scheme"]
    raw = sub["gain"].sel(stat="replicate_sd").item()
    assert raw == pytest.approx(sub["gain"].sel(stat="se").item() / 2, rel=1e-6)  # sqrt(160/40)


def test_shared_weights_give_identical_replicates_for_identical_cells():
    x = tied_cells(nan_rate=0.0, n_models=1)
    twin = np.concatenate([x, x])
    kw = dict(n_resamples=20, keep_replicates=True, quiet=True, interval="percentile")
    shared = bootstrap(make_shifts(twin), shared=True, **kw)["nvat_replicates"].values
    np.testing.assert_array_equal(shared[:, 0], shared[:, 1])
    # cell by cell (a tight memory bound): the same shared weights
    blocks = bootstrap(
        make_shifts(twin), shared=True, max_memory=1 << 20, **{**kw, "n_resamples": 200}
    )
    assert blocks.attrs["cell_blocks"] == 2
    np.testing.assert_allclose(blocks["nvat_replicates"].values[:20], shared, atol=1e-6)
    apart = bootstrap(make_shifts(twin), **kw)["nvat_replicates"].values
    assert not np.array_equal(apart[:, 0], apart[:, 1])


def test_progress_bar_does_not_change_results(capsys):
    sh = make_shifts(tied_cells())
    kw = dict(n_resamples=100, seed=1, keep_replicates=True)
    xr.testing.assert_equal(bootstrap(sh, quiet=False, **kw), bootstrap(sh, quiet=True, **kw))
    assert capsys.readouterr().out == ""  # the bar goes to stderr


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_resamples=0), "n_resamples"),
        (dict(n_resamples=1.5), "n_resamples"),
        (dict(level=1.0), "level"),
        (dict(level=0), "level"),
        (dict(scheme="jackknife"), "unknown scheme"),
        (dict(interval="basic"), "unknown interval"),
        (dict(scheme="subsample", fraction=1.2), "fraction"),
        (dict(max_memory=10), "max_memory"),
        (dict(devices=[]), "devices"),
        (dict(jackknife=1), "jackknife"),
        (dict(max_nan_fraction=2.0), "max_nan_fraction"),
    ],
)
def test_bootstrap_rejects_bad_arguments(kwargs, match):
    with pytest.raises(VatInputError, match=match):
        bootstrap(make_shifts(tied_cells(n_models=1)), **{"n_resamples": 10, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_permutations=0), "n_permutations"),
        (dict(q=0.0), "q"),
        (dict(floor_level=1.5), "floor_level"),
    ],
)
def test_noise_floor_rejects_bad_arguments(kwargs, match):
    with pytest.raises(VatInputError, match=match):
        noise_floor(make_shifts(tied_cells(n_models=1)), **kwargs)
    with pytest.raises(VatInputError, match="shifts"):
        noise_floor(np.zeros((3, 10)))


# --- command line ---------------------------------------------------------------------------


def test_cli_vat_adds_interval_se_and_noise_floor_columns(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from vatjax.cli import app

    study = vatjax.simulate_study(
        seed=1,
        n_models=1,
        n_scenarios=25,
        targets=[("Power", -1)],
        strategies=["p"],
        effects=(1.0,),
        coupling=0.2,
    )
    table = tmp_path / "j.csv"
    study.table.to_csv(table, index=False)
    args = [
        "vat",
        str(table),
        "--bootstrap",
        "200",
        "--scheme",
        "subsample",
        "--interval",
        "bca",
        "--null",
        "50",
        "--seed",
        "3",
    ]
    runner = CliRunner()
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "out.csv")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv")
    for col in [
        "gain_lower",
        "gain_upper",
        "gain_se",
        "nvat_lower",
        "nvat_se",
        "nvat_p",
        "nvat_floor",
        "pairs_significant",
    ]:
        assert out[col].notna().all(), col
    assert (out["gain_lower"] <= out["gain"]).all() and (out["gain"] <= out["gain_upper"]).all()
    assert ((out["nvat_p"] > 0) & (out["nvat_p"] <= 1)).all()
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "out.nc")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    ds = vatjax.load(tmp_path / "out.nc")
    assert ds.attrs["scheme"] == "subsample" and ds.attrs["null_n_permutations"] == 50
    assert "stat" in ds["nvat"].dims and "q_coupling" in ds
    bad = runner.invoke(app, ["vat", str(table), "--bootstrap", "1"])
    assert bad.exit_code == 2 and "--bootstrap must be" in bad.output
