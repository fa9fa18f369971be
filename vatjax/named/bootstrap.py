"""Resampling intervals and standard errors of every VAT metric (VAT_SPEC section 4):
validate, run the engine block by block, wrap the intervals in the schema.

The tax (nVAT, VAT(u)) is a norm of correlations, so sampling noise inflates it and its
replicates: percentile and BCa intervals of it miss the observed-scale figure (the one on
infinitely many samples). Its interval is the unified interval of the debiased square
(:mod:`vatjax.core.tax_intervals`), given with the debiased estimate ``nvat_debiased``;
the other metrics get the interval asked for.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=30, targets=[("Power", -1)],
    ...                               strategies=["prompt"], effects=(1.0,), coupling=0.1)
    >>> ds = vatjax.bootstrap(vatjax.shifts(vatjax.load_judgments(study.table)),
    ...                       n_resamples=200, quiet=True)
    >>> ds["nvat"].sel(stat=["estimate", "lower", "upper"]).dims
    ('stat', 'model', 'intervention')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np
import xarray as xr

from vatjax.core.intervals import INTERVALS, STATS, intervals
from vatjax.core.metrics import FLOAT_METRICS, stat_size, unpack
from vatjax.core.schemes import check_scheme, jackknife_groups
from vatjax.engine import DEFAULT_MAX_MEMORY, Cells, evaluate, prepare
from vatjax.errors import VatInputError, option, plain
from vatjax.named.progress import progress_bar
from vatjax.named.schema import conventions, metrics_dataset
from vatjax.named.tax_intervals import TAX_INTERVAL, debiased_block, interval_notes
from vatjax.named.validate import (
    ShiftCells,
    check_confidence,
    check_count,
    check_resampling,
    shift_cells,
)

__all__ = ["bootstrap", "check_bootstrap_arguments"]


class _Options(NamedTuple):
    n_resamples: int
    scheme: str
    interval: str
    level: float
    seed: int
    shared: bool
    fraction: float
    include_diagonal: bool
    eps: float
    max_nan_fraction: float
    max_memory: int
    devices: Sequence | None


class _Replicates(NamedTuple):
    """What the blocks of cells gave: (stat, cell, S) intervals, the estimates, NaN share."""

    table: np.ndarray
    est: np.ndarray
    nan_fraction: np.ndarray
    kept: np.ndarray | None
    grouped: list[bool]
    n_groups: int
    debiased: np.ndarray  # (stat, cell, 2 + V): nvat, vat(u), centralization debiased
    complete: np.ndarray  # (cell,) resamples with every coupling entry defined


def bootstrap(
    shifts: xr.DataArray,
    *,
    n_resamples: int = 10_000,
    scheme: str = "bootstrap",
    interval: str = "bca",
    level: float = 0.95,
    seed: int = 0,
    keep_replicates: bool = False,
    shared: bool = False,
    fraction: float = 0.8,
    jackknife: int | None = None,
    include_diagonal: bool = False,
    eps: float = 1e-3,
    max_nan_fraction: float = 0.05,
    max_memory: int = DEFAULT_MAX_MEMORY,
    devices: Sequence | None = None,
    quiet: bool = False,
) -> xr.Dataset:
    """Resampling intervals and standard errors of every VAT metric (VAT_SPEC section 4).

    Args:
        shifts: from :func:`vatjax.shifts`.
        n_resamples: number of resamples.
        scheme: ``bootstrap`` (multinomial over scenarios), ``subsample`` (m = fraction x n
            without replacement; the spread is rescaled by sqrt(m / (n - m)) to the
            full-sample scale, and ``replicate_sd`` keeps the raw spread, the paper's
            std(nVAT)) or ``bayesian`` (Dirichlet(1) weights).
        interval: ``bca`` (bias-corrected and accelerated, jackknife acceleration) or
            ``percentile``, for every metric but the tax: nVAT and VAT(u) (raw and
            debiased) always get the unified interval of the debiased square
            (:mod:`vatjax.core.tax_intervals`), which covers the observed-scale tax.
        level: confidence level in (0, 1).
        seed: seed of the JAX PRNG key; resample b uses ``fold_in(key, b)``.
        keep_replicates: also return every replicate along a ``resample`` dim.
        shared: the same scenario weights for every model x intervention (they must share
            scenarios): valid joint intervals for differences between cells.
        fraction: m / n for ``subsample``.
        jackknife: groups of the delete-a-group jackknife for the BCa acceleration;
            ``None`` is leave-one-out up to 2,000 samples and 1,000 random groups above.
        include_diagonal, eps: as in :func:`vatjax.vat`.
        max_nan_fraction: NaN replicates (e.g. a value constant in a resample, or
            |Gain| < eps) are dropped and counted in ``<metric>_nan_fraction``; above this
            fraction the interval and se are NaN.
        max_memory: bytes for the resampling chunks, plan and replicates (a bound on the
            working set, not counting the input).
        devices: JAX devices to shard the resamples over (default: all).
        quiet: no progress bar.

    Returns:
        The metrics Dataset of :func:`vatjax.vat` with a ``stat`` dim (estimate, lower,
        upper, se, replicate_sd) on every float metric, ``<metric>_nan_fraction``,
        ``interval_note`` (why a cell's tax interval is missing, '' where it exists), and
        with ``keep_replicates`` the ``<metric>_replicates`` along ``resample``. The
        debiased tax has the raw figure's se and replicate_sd; centralization_debiased
        a percentile interval of replicates debiased for their own noise as well.

    Example:
        >>> import vatjax
        >>> s = vatjax.simulate_study(seed=2, n_models=1, n_scenarios=25)
        >>> ds = vatjax.bootstrap(vatjax.shifts(vatjax.load_judgments(s.table)),
        ...                       n_resamples=100, interval="percentile", quiet=True)
        >>> bool((ds["gain"].sel(stat="lower") <= ds["gain"].sel(stat="upper")).all())
        True
    """
    check_bootstrap_arguments(
        n_resamples, scheme, interval, level, eps, max_nan_fraction, fraction, jackknife
    )
    check_resampling(max_memory, devices)
    sc = shift_cells(shifts)
    opts = _Options(n_resamples, scheme, interval, level, seed, shared, fraction,
                    include_diagonal, eps, max_nan_fraction, int(max_memory), devices)  # fmt: skip
    reps = _run_blocks(sc.cells, opts, jackknife, keep_replicates, quiet)
    return _dataset(sc, reps, opts, shifts)


def check_bootstrap_arguments(
    n_resamples, scheme, interval, level, eps, max_nan_fraction=0.05, fraction=0.8,
    jackknife=None,
) -> None:  # fmt: skip
    """Raise :class:`~vatjax.VatInputError` for an argument :func:`bootstrap` rejects.

    Example:
        >>> check_bootstrap_arguments(200, "bootstrap", "bca", 95, 1e-3)
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: level must lie in (0, 1), got 95: did you mean 0.95?
    """
    check_count("n_resamples", n_resamples, 2)
    check_scheme(scheme, fraction)
    if interval not in INTERVALS:
        raise VatInputError(
            f"unknown interval {plain(interval)}; {option('interval', bare=True)} is one of "
            f"{list(INTERVALS)}"
        )
    check_confidence(level)
    if not eps >= 0:
        raise VatInputError(f"{option('eps', bare=True)} must be >= 0, got {plain(eps)}")
    if not 0 <= max_nan_fraction <= 1:
        raise VatInputError(f"max_nan_fraction must lie in [0, 1], got {plain(max_nan_fraction)}")
    if jackknife is not None and jackknife < 2:
        raise VatInputError(f"jackknife needs at least 2 groups, got {plain(jackknife)}")


def _subsample_scale(cells: Cells, opts: _Options) -> np.ndarray:
    """The factor sqrt(m / (n - m)) that brings a subsample's spread to the full sample."""
    n_present = cells.present.sum(-1)
    if opts.scheme != "subsample":
        return np.ones(len(n_present))
    base = np.full(len(n_present), cells.present.any(0).sum()) if opts.shared else n_present
    m = np.floor(opts.fraction * base)
    return np.sqrt(np.where(base - m > 0, m / np.maximum(base - m, 1), np.nan))


def _run_blocks(cells: Cells, opts: _Options, jackknife, keep: bool, quiet: bool) -> _Replicates:
    """Every cell's estimate, jackknife and resamples, a block of cells at a time: cells go
    in blocks whose replicates (float32, and float64 for the intervals) take at most half
    the memory bound; cell c is always drawn with fold_in(., c)."""
    n_cells, _, n_values = cells.x.shape
    if jackknife is None:
        jackknife = None if cells.present.sum(-1).max(initial=0) <= 2000 else 1000
    key = jax.random.key(opts.seed, impl="threefry2x32")
    groups, n_groups = jackknife_groups(cells.present, jackknife, key)
    use_jack = opts.interval == "bca"
    s_count = stat_size(FLOAT_METRICS, n_values)
    n_reps = opts.n_resamples + (n_groups if use_jack else 0) + 1
    block = int(min(n_cells, max(1, (opts.max_memory // 2) // (n_reps * s_count * 28))))
    scale = _subsample_scale(cells, opts)
    out = _Replicates(
        np.full((len(STATS), n_cells, s_count), np.nan),
        np.zeros((n_cells, s_count), np.float32),
        np.zeros((n_cells, s_count)),
        np.zeros((opts.n_resamples, n_cells, s_count), np.float32) if keep else None,
        [],
        n_groups if use_jack else 0,
        np.full((len(STATS), n_cells, 2 + n_values), np.nan),
        np.zeros(n_cells, np.int64),
    )
    starts = range(0, n_cells, block)
    bar, advance = progress_bar(
        quiet, n_reps * len(starts), f"{opts.scheme} x {opts.n_resamples:,}"
    )
    with bar:
        for start in starts:
            sel = np.minimum(np.arange(start, start + block), n_cells - 1)  # pad: repeat
            engine = prepare(
                cells.subset(sel),
                seed=opts.seed,
                n_reps_total=n_reps,
                shared=opts.shared,
                union=cells.present.any(0),
                first_cell=start,
                include_diagonal=opts.include_diagonal,
                fraction=opts.fraction,
                float_weights=opts.scheme == "bayesian",
                groups=groups[sel],
                max_memory=opts.max_memory,
                devices=opts.devices,
            )
            out.grouped.append(engine.grouped)
            part = slice(start, min(start + block, n_cells))
            _one_block(engine, out, part, groups[part], scale[part], opts, advance,
                       cells.x[part])  # fmt: skip
    return out


def _one_block(engine, out: _Replicates, part: slice, groups, scale, opts: _Options, advance,
               x):  # fmt: skip
    """The estimate, jackknife, resamples and intervals of the cells ``part`` (shifts x)."""
    real = part.stop - part.start
    est = evaluate(engine, "jackknife", np.array([-1]), eps=opts.eps, on_progress=advance)
    out.est[part] = est[0, :real]
    jack = None
    if out.n_groups:
        jack = evaluate(
            engine, "jackknife", np.arange(out.n_groups), eps=opts.eps, on_progress=advance
        )[:, :real]
        # a group a cell does not have is no jackknife replicate
        sizes = np.stack([np.bincount(g[g >= 0], minlength=out.n_groups) for g in groups])
        jack[sizes.T == 0] = np.nan
    reps = evaluate(
        engine, opts.scheme, np.arange(opts.n_resamples), eps=opts.eps, on_progress=advance
    )[:, :real]
    if out.kept is not None:
        out.kept[:, part] = reps
    s_count = out.est.shape[-1]
    cols = real * s_count
    table, nanf = intervals(
        out.est[part].reshape(cols),
        reps.reshape(opts.n_resamples, cols),
        None if jack is None else jack.reshape(out.n_groups, cols),
        interval=opts.interval,
        level=opts.level,
        scale=np.repeat(scale, s_count),
        max_nan_fraction=opts.max_nan_fraction,
    )
    table = table.reshape(len(STATS), real, s_count)
    out.debiased[:, part], out.complete[part] = debiased_block(
        out.est[part], reps, table, x, scale, level=opts.level, scheme=opts.scheme,
        include_diagonal=opts.include_diagonal, fraction=opts.fraction,
        max_nan_fraction=opts.max_nan_fraction,
    )
    out.table[:, part] = table
    out.nan_fraction[part] = nanf.reshape(real, s_count)


def metric_fields(sc: ShiftCells, stats: np.ndarray, n_leading: int = 0) -> dict:
    """Named-layout metric arrays from stat vectors (*leading, cell, S), with n_samples and
    an all-False gain_below_eps, for :func:`~vatjax.named.schema.metrics_dataset`."""
    n_values = sc.cells.x.shape[-1]
    fields = {k: sc.unflatten(v, n_leading) for k, v in unpack(stats, n_values).items()}
    lead = stats.shape[:n_leading]
    n_samples = np.broadcast_to(sc.cells.present.sum(-1), (*lead, len(sc.cells.present)))
    fields["n_samples"] = sc.unflatten(n_samples, n_leading).astype(np.float32)
    fields["gain_below_eps"] = np.zeros(fields["n_samples"].shape, bool)
    return fields


def _dataset(sc: ShiftCells, reps: _Replicates, opts: _Options, shifts) -> xr.Dataset:
    ds = metrics_dataset(metric_fields(sc, reps.table, 1), sc.layout, ("stat",))
    ds = ds.assign_coords(stat=list(STATS))
    point = metrics_dataset(metric_fields(sc, reps.est), sc.layout)
    ds["gain_below_eps"] = point["gain_below_eps"].copy(
        data=~(np.abs(point["gain"].values) >= opts.eps)
    )
    ds["n_samples"] = point["n_samples"].astype(np.int64)
    nan_ds = metrics_dataset(metric_fields(sc, reps.nan_fraction), sc.layout)
    for name in FLOAT_METRICS:
        ds[f"{name}_nan_fraction"] = nan_ds[name].assign_attrs(
            long_name=f"fraction of the replicates of {name} that are NaN (dropped)", units="1"
        )
    n_values = sc.cells.x.shape[-1]
    deb = {
        "nvat_debiased": reps.debiased[:, :, 0],
        "vat_debiased": reps.debiased[:, :, 1 : 1 + n_values],
        "centralization_debiased": reps.debiased[:, :, -1],
    }
    deb_ds = metrics_dataset({k: sc.unflatten(v, 1) for k, v in deb.items()}, sc.layout, ("stat",))
    ds = ds.assign(deb_ds.assign_coords(stat=list(STATS)).data_vars)
    diag = np.diagonal(unpack(reps.est, n_values)["coupling"], axis1=-2, axis2=-1)
    notes = interval_notes(sc.cells.present.sum(-1), diag, reps.complete, opts.n_resamples,
                           sc.layout[sc.layout.dims[-1]].values, opts.max_nan_fraction)  # fmt: skip
    ds["interval_note"] = point["n_samples"].copy(data=sc.unflatten(notes)).assign_attrs(
        long_name="why the tax interval of a cell is missing ('' where it exists)", units=""
    )
    if reps.kept is not None:
        rep = metrics_dataset(metric_fields(sc, reps.kept, 1), sc.layout, ("resample",))
        for name in FLOAT_METRICS:
            ds[f"{name}_replicates"] = rep[name]
        ds = ds.assign_coords(resample=np.arange(opts.n_resamples))
    ds.attrs = _attrs(opts, reps, shifts)
    return ds


def _attrs(opts: _Options, reps: _Replicates, shifts) -> dict:
    subsample = opts.scheme == "subsample"
    engine = "mixed"
    if all(reps.grouped) or not any(reps.grouped):
        engine = "spearman_many (tie groups)" if all(reps.grouped) else "spearman"
    return {
        **conventions(
            shifts.attrs, shifts.dims[-1], include_diagonal=opts.include_diagonal, eps=opts.eps
        ),
        "resampling": "scenarios (a cluster bootstrap: one weight per scenario for all values)",
        "scheme": opts.scheme,
        "interval": opts.interval,
        "tax_interval": TAX_INTERVAL,
        "tax_quantity": "observed-scale tax: the figure on infinitely many samples from the "
        "same judge, rating noise kept; nvat and vat lower/upper bound it (their estimate "
        "is the paper's figure, biased upward by sampling noise)",
        "confidence_level": float(opts.level),
        "seed": int(opts.seed),
        "n_resamples": int(opts.n_resamples),
        "shared_weights": int(opts.shared),
        "fraction": float(opts.fraction) if subsample else float("nan"),
        "jackknife_groups": int(reps.n_groups),
        "max_nan_fraction": float(opts.max_nan_fraction),
        "se_convention": "sd of the replicates (ddof=1)"
        + ("; subsample: x sqrt(m / (n - m)), the full-sample scale" if subsample else ""),
        "coupling_engine": engine,
        "cell_blocks": len(reps.grouped),
        "prng": "threefry2x32 from key(seed): resample b of cell c "
        "fold_in(fold_in(key, b), c); jackknife groups of cell c "
        "fold_in(fold_in(key, 2^32 - 1), c)",
    }
