"""The whole pipeline on the embedded default study: what ``vatjax demo`` runs.

simulate -> judgments -> VAT metrics -> bootstrap -> noise floor -> paired comparisons ->
power (the study as its own pilot) -> Bayesian fit (the ``mvn-marginal`` model on every
cell) -> report, every result saved in one folder under the
names of :data:`vatjax.cli.results.RESULT_FILES` (what :mod:`vatjax.cli.report` reads),
plus ``provenance.json``. The defaults are the paper's size: 4 models x 12 interventions x
9,002 scenarios x 56 micro-values (26 million ratings).

Example:
    >>> import tempfile
    >>> from vatjax.cli.pipeline import run_demo
    >>> paths, table = run_demo(tempfile.mkdtemp(), n_scenarios=12, n_models=1, n_resamples=50,
    ...                  n_permutations=20, fit=False, quiet=True)
    >>> paths["report"].name
    'report.html'
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from vatjax.cli.report import with_above_floor, write_report
from vatjax.cli.results import RESULT_FILES
from vatjax.data import atomic_path, load_judgments, save, shifts, simulate_study, write_table
from vatjax.named import (
    bootstrap,
    compare,
    metrics_table,
    noise_floor,
    power,
    uncertainty_table,
    vat,
)

__all__ = ["FIT_MODEL", "DemoResult", "file_sha256", "run_demo"]


class DemoResult(NamedTuple):
    """What :func:`run_demo` wrote (name -> path) and its VAT table with intervals."""

    paths: dict[str, Path]
    table: pd.DataFrame


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (the input hash recorded in the provenance).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
        ...     _ = fh.write(b"abc")
        >>> file_sha256(fh.name)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Steps:
    """Times each step (name -> seconds) and shows its message while it runs."""

    def __init__(self, status: Callable[[str], AbstractContextManager] | None):
        self.status = status if status is not None else (lambda _msg: nullcontext())
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str, message: str):
        t0 = time.perf_counter()
        with self.status(message):
            yield
        self.seconds[name] = round(time.perf_counter() - t0, 2)


FIT_MODEL = "mvn-marginal"
"""The demo's Bayesian model: the marginal model reads each cell's sufficient statistics, so
all 48 cells of the paper-sized study fit in minutes (``ordinal-lkj`` would take hours)."""


def _fit(judgments, out: Path, paths: dict, timed: _Steps, *, seed, chains, draws, warmup, quiet):
    """The Bayesian fit of every cell, saved as posterior.nc; returns its provenance entries."""
    from vatjax.bayes import fit as bayes_fit

    n_cells = judgments.sizes["model"] * (judgments.sizes["condition"] - 1)
    fit_attrs = {"fit_model": FIT_MODEL, "fit_cells": n_cells}
    fit_attrs |= {"fit_chains": chains, "fit_draws": draws, "fit_warmup": warmup}
    with timed(
        "fit",
        f"Bayesian fit ({FIT_MODEL}, {n_cells} cells, NUTS {chains} chains x {draws} draws "
        f"after {warmup} warmup)",
    ):
        tree = bayes_fit(
            judgments,
            model=FIT_MODEL,  # always: a small study would otherwise get ordinal-lkj
            chains=chains,
            draws=draws,
            warmup=warmup,
            seed=seed,
            progress=not quiet,
        )
        paths["posterior"] = save(tree, out / RESULT_FILES["posterior"])
    return fit_attrs


def _provenance(judgments_path: Path, settings: dict, timings: dict) -> dict:
    return {
        "vatjax_version": version("vatjax"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(judgments_path.name),
        "input_sha256": file_sha256(judgments_path),
        **settings,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "step_seconds": timings,
    }


POWER_N = (80, 250, 1000, 3000, 9002)
"""The sample sizes of the demo's power analysis."""


def _power_pilot(delta, result):
    """The demo's pilot for :func:`vatjax.power`: the first model's cell with the median
    debiased nVAT, and the other strategy on its target with the most different gain."""
    first = result.isel(model=0)
    order = first["nvat_debiased"].to_series().sort_values()
    a = order.index[len(order) // 2]
    same = [i for i in first["intervention"].values
            if i != a and first["target"].sel(intervention=i) == first["target"].sel(intervention=a)]  # fmt: skip
    pick = [a]
    if same:
        gain = first["gain"]
        gaps = abs(gain.sel(intervention=same) - gain.sel(intervention=a)).values
        pick.append(same[int(gaps.argmax())])
    return delta.isel(model=[0]).sel(intervention=pick)


def _inference(delta, result, files, paths, timed: _Steps, *, seed, n_resamples,
               n_permutations, quiet):  # fmt: skip
    """Paired comparisons of every model's interventions, and a power analysis with the
    study itself as the pilot; saved as compare.nc and power.nc."""
    with timed("compare", f"paired comparisons: every pair of interventions per model, "
               f"{n_resamples} resamples, {n_permutations} permutations"):  # fmt: skip
        cmp = compare(delta, n_resamples=n_resamples, n_permutations=n_permutations,
                      seed=seed, quiet=quiet)  # fmt: skip
        paths["compare"] = save(cmp, files["compare"])
    with timed("power", f"power: {len(POWER_N)} sample sizes x 1,000 simulated studies"):
        pw = power(list(POWER_N), pilot=_power_pilot(delta, result), seed=seed)
        paths["power"] = save(pw, files["power"])


TRUTH_DRAWS = 100_000
"""Fresh samples behind the demo's Monte Carlo truth: its own sd is then a third of a
9,002-sample posterior's (with the simulator's default 10,000, about the same size)."""


def run_demo(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    n_models: int = 4,
    n_scenarios: int = 9002,
    n_resamples: int = 2000,
    n_permutations: int = 1000,
    fit: bool = True,
    fit_chains: int = 4,
    fit_draws: int = 1000,
    fit_warmup: int = 1000,
    quiet: bool = False,
    status: Callable[[str], AbstractContextManager] | None = None,
) -> DemoResult:
    """Run every step on the simulated default study; return the paths and the table.

    Args:
        out_dir: folder for every output (created).
        seed: the one seed (simulation, resamples, permutations and the fit derive from it).
        n_models, n_scenarios: size of the simulated study (default: the paper's, 4 models
            x 9,002 scenarios per cell).
        n_resamples, n_permutations: bootstrap resamples (BCa) and null permutations.
        fit: run the Bayesian fit (:data:`FIT_MODEL` on every model x intervention cell),
            NUTS with ``fit_chains`` x ``fit_draws`` draws after ``fit_warmup``.
        quiet: no progress output.
        status: a context-manager factory shown around each step (the CLI passes a spinner).
    """
    out = Path(out_dir)
    files = {name: out / f for name, f in RESULT_FILES.items()}
    timed = _Steps(None if quiet else status)
    paths: dict[str, Path] = {}
    with timed(
        "simulate", f"simulating the default study ({n_models} models, {n_scenarios} scenarios)"
    ):
        study = simulate_study(seed=seed, n_models=n_models, n_scenarios=n_scenarios,
                               n_truth_draws=TRUTH_DRAWS)  # fmt: skip
        paths["judgments"] = write_table(study.table, files["judgments"])
        paths["truth"] = save(study.truth, files["truth"])
    with timed("vat", "validating the judgments and computing the VAT metrics"):
        judgments = load_judgments(paths["judgments"])
        delta = shifts(judgments)
        result = vat(delta)
        paths["vat"] = save(result, files["vat"])
    with timed("bootstrap", f"bootstrap: {n_resamples} resamples, BCa intervals"):
        boot = bootstrap(delta, n_resamples=n_resamples, seed=seed, quiet=quiet)
        paths["bootstrap"] = save(boot, files["bootstrap"])
    with timed("noise_floor", f"noise floor: {n_permutations} permutations"):
        null = noise_floor(delta, n_permutations=n_permutations, seed=seed, quiet=quiet)
        paths["noise_floor"] = save(null, files["noise_floor"])
    _inference(delta, result, files, paths, timed, seed=seed, n_resamples=n_resamples,
               n_permutations=n_permutations, quiet=quiet)  # fmt: skip
    table = with_above_floor(uncertainty_table(metrics_table(result), boot, null))
    paths["table"] = write_table(table, files["table"])
    settings = {"seed": seed, "n_resamples": n_resamples, "n_permutations": n_permutations}
    if fit:
        settings |= _fit(
            judgments,
            out,
            paths,
            timed,
            seed=seed,
            chains=fit_chains,
            draws=fit_draws,
            warmup=fit_warmup,
            quiet=quiet,
        )
    provenance = _provenance(paths["judgments"], settings, timed.seconds)
    with timed("report", "writing the report"):
        with atomic_path(files["provenance"]) as tmp:
            tmp.write_text(json.dumps(provenance, indent=1))
        paths["provenance"] = files["provenance"]
        paths["report"] = write_report(out, files["report"])
    return DemoResult(paths, table)
