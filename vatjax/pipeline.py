"""The whole pipeline on the embedded default study: what ``vatjax demo`` runs.

simulate -> judgments -> VAT metrics -> bootstrap -> noise floor -> Bayesian fit (a
demo-sized subset) -> report, every result saved in one folder under the names
:mod:`vatjax.report` reads, plus ``provenance.json``.

Example:
    >>> import tempfile
    >>> from vatjax.pipeline import run_demo
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

from vatjax.data import atomic_path, load_judgments, save, shifts, simulate_study, write_table
from vatjax.named import bootstrap, metrics_table, noise_floor, uncertainty_table, vat
from vatjax.report import write_report

__all__ = ["DemoResult", "run_demo"]


class DemoResult(NamedTuple):
    """What :func:`run_demo` wrote (name -> path) and its VAT table with intervals."""

    paths: dict[str, Path]
    table: pd.DataFrame


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (the input hash recorded in the provenance)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_demo(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    n_models: int = 4,
    n_scenarios: int = 80,
    n_resamples: int = 2000,
    n_permutations: int = 1000,
    fit: bool = True,
    fit_chains: int = 2,
    fit_draws: int = 500,
    fit_warmup: int = 500,
    quiet: bool = False,
    status: Callable[[str], AbstractContextManager] | None = None,
) -> DemoResult:
    """Run every step on the simulated default study; return the paths and the table.

    Args:
        out_dir: folder for every output (created).
        seed: the one seed (simulation, resamples, permutations and the fit derive from it).
        n_models, n_scenarios: size of the simulated study (default: the paper-like study).
        n_resamples, n_permutations: bootstrap resamples (BCa) and null permutations.
        fit: run the Bayesian fit (``ordinal-lkj`` on ``vatjax.bayes.demo_subset``: the
            first model and each target's last intervention), NUTS with ``fit_chains`` x
            ``fit_draws`` draws after ``fit_warmup``.
        quiet: no progress output.
        status: a context-manager factory shown around each step (the CLI passes a spinner).
    """
    out = Path(out_dir)
    step = status if status is not None and not quiet else (lambda _msg: nullcontext())
    timings: dict[str, float] = {}

    @contextmanager
    def timed(name: str, message: str):
        t0 = time.perf_counter()
        with step(message):
            yield
        timings[name] = round(time.perf_counter() - t0, 2)

    paths: dict[str, Path] = {}
    with timed(
        "simulate", f"simulating the default study ({n_models} models, {n_scenarios} scenarios)"
    ):
        study = simulate_study(seed=seed, n_models=n_models, n_scenarios=n_scenarios)
        paths["judgments"] = write_table(study.table, out / "judgments.parquet")
        paths["truth"] = save(study.truth, out / "truth.nc")
    with timed("vat", "validating the judgments and computing the VAT metrics"):
        judgments = load_judgments(paths["judgments"])
        delta = shifts(judgments)
        result = vat(delta)
        paths["vat"] = save(result, out / "vat.nc")
    with timed("bootstrap", f"bootstrap: {n_resamples} resamples, BCa intervals"):
        boot = bootstrap(delta, n_resamples=n_resamples, seed=seed, quiet=quiet)
        paths["bootstrap"] = save(boot, out / "bootstrap.nc")
    with timed("noise_floor", f"noise floor: {n_permutations} permutations"):
        null = noise_floor(delta, n_permutations=n_permutations, seed=seed, quiet=quiet)
        paths["noise_floor"] = save(null, out / "noise_floor.nc")
    table = uncertainty_table(metrics_table(result), boot, null)
    paths["table"] = write_table(table, out / "vat.csv")
    fit_attrs = {}
    if fit:
        from vatjax.bayes import demo_subset
        from vatjax.bayes import fit as bayes_fit

        subset = demo_subset(judgments)
        fit_attrs = {f"fit_{k}": v for k, v in subset.items()}
        fit_attrs |= {"fit_chains": fit_chains, "fit_draws": fit_draws, "fit_warmup": fit_warmup}
        with timed(
            "fit",
            f"Bayesian fit (ordinal-lkj, {subset['models'][0]}, {len(subset['interventions'])} "
            f"interventions, {fit_chains} chains x {fit_draws} draws)",
        ):
            tree = bayes_fit(
                judgments,
                **subset,
                chains=fit_chains,
                draws=fit_draws,
                warmup=fit_warmup,
                seed=seed,
                progress=not quiet,
            )
            paths["posterior"] = save(tree, out / "posterior.nc")
    provenance = {
        "vatjax_version": version("vatjax"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(paths["judgments"].name),
        "input_sha256": file_sha256(paths["judgments"]),
        "seed": seed,
        "n_resamples": n_resamples,
        "n_permutations": n_permutations,
        **fit_attrs,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "step_seconds": timings,
    }
    with timed("report", "writing the report"):
        with atomic_path(out / "provenance.json") as tmp:
            tmp.write_text(json.dumps(provenance, indent=1))
        paths["provenance"] = out / "provenance.json"
        paths["report"] = write_report(out, out / "report.html")
    return DemoResult(paths, table)
