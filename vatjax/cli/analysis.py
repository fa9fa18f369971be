"""The analysis of one judgments table: what ``vatjax analyze`` runs (and ``vatjax demo``, on
the simulated study).

validate -> VAT metrics -> bootstrap -> circumplex test -> noise floor -> paired
comparisons -> power (the study as its own pilot) -> judge reliability (when ratings
repeat) -> Bayesian fit -> report. Every result goes into one folder under the names of
:data:`vatjax.cli.results.RESULT_FILES`, which :mod:`vatjax.cli.report` reads, with
``provenance.json`` (the input's name and SHA-256, the scale, the baseline, every setting
and each stage's seconds). A stage that cannot run on this study (one intervention to
compare, no repeated judgments) is skipped with a note, and the rest goes on.

Example:
    >>> import tempfile, vatjax
    >>> from vatjax.cli.common import Stages
    >>> from vatjax.data import write_table
    >>> folder = tempfile.mkdtemp()
    >>> table = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=12).table
    >>> path = write_table(table, folder + "/judgments.csv")
    >>> done = run_analysis(path, folder, Analysis(n_resamples=50, n_permutations=20,
    ...                     power=False, fit=False), stages=Stages(quiet=True))
    >>> sorted(p.name for p in done.paths.values())[:3]
    ['bootstrap.nc', 'circumplex.nc', 'compare.nc']
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from vatjax.cli.common import Stages, check_folder, console
from vatjax.cli.report import with_above_floor, write_report
from vatjax.cli.results import RESULT_FILES
from vatjax.data import atomic_path, load_judgments, save, shifts, write_table
from vatjax.errors import VatInputError
from vatjax.named import metrics_table, uncertainty_table, vat

__all__ = ["FIT_MODEL", "POWER_N", "Analysis", "AnalysisResult", "file_sha256", "run_analysis"]

FIT_MODEL = "mvn-marginal"
"""The Bayesian model of an analysis: the marginal model reads each cell's sufficient
statistics, so all 48 cells of a paper-sized study fit in minutes (``ordinal-lkj`` would
take hours)."""

POWER_N = (80, 250, 1000, 3000, 9002)
"""The sample sizes of an analysis's power table."""

CIRCUMPLEX_PERMUTATIONS = 10_000
"""Relabellings of the circumplex test's p-value (48 cells: about 2 s, compilation
included)."""


@dataclass(frozen=True)
class Analysis:
    """The settings of an analysis: the flags of ``vatjax analyze``.

    ``n_resamples`` = 0 skips the bootstrap and the comparisons, ``n_permutations`` = 0 the
    noise floor; ``compare``, ``power`` and ``fit`` switch those stages.
    """

    scale: tuple[int, int] = (1, 5)
    baseline: str = "pre"
    conditions: Path | None = None
    level: str = "value"
    include_diagonal: bool = False
    eps: float = 1e-3
    n_resamples: int = 2000
    n_permutations: int = 1000
    confidence: float = 0.95
    scheme: str = "bootstrap"
    interval: str = "bca"
    compare: bool = True
    power: bool = True
    fit: bool = True
    fit_model: str = FIT_MODEL
    fit_chains: int = 4
    fit_draws: int = 1000
    fit_warmup: int = 1000
    seed: int = 0


class AnalysisResult(NamedTuple):
    """What :func:`run_analysis` wrote (name -> path), its VAT table, and the stages it
    skipped (name -> why)."""

    paths: dict[str, Path]
    table: pd.DataFrame
    skipped: dict[str, str]


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


def _power_pilot(delta, result):
    """The pilot of the power stage: the first model's cell with the median debiased
    nVAT, and the other strategy on its target with the most different gain."""
    first = result.isel(model=0)
    order = first["nvat_debiased"].to_series().dropna().sort_values()
    a = order.index[len(order) // 2]
    same = [i for i in first["intervention"].values
            if i != a and first["target"].sel(intervention=i) == first["target"].sel(intervention=a)]  # fmt: skip
    pick = [a]
    if same:
        gain = first["gain"]
        gaps = abs(gain.sel(intervention=same) - gain.sel(intervention=a)).values
        pick.append(same[int(gaps.argmax())])
    return delta.isel(model=[0]).sel(intervention=pick)


class _Run:
    """One analysis in progress: its settings, stages, output files and skipped stages."""

    def __init__(self, out: Path, settings: Analysis, stages: Stages):
        self.s, self.stages, self.out = settings, stages, out
        self.paths: dict[str, Path] = {}
        self.skipped: dict[str, str] = {}
        self.extra: dict[str, object] = {}  # provenance entries a stage adds

    def save(self, name: str, obj) -> None:
        self.paths[name] = save(obj, self.out / RESULT_FILES[name])

    def skip(self, name: str, why: str) -> None:
        self.skipped[name] = why
        if not self.stages.quiet:
            console.print(f"{name}: skipped ({why})", highlight=False, soft_wrap=True)

    def optional(self, name: str, what: str, compute, *, spinner: bool = False) -> None:
        """Run an optional stage; bad input for it (too few interventions or repeats)
        skips it with the reason instead of stopping the analysis."""
        try:
            with self.stages(what, name=name, spinner=spinner):
                self.save(name, compute())
        except VatInputError as exc:
            self.skip(name, str(exc).splitlines()[0])


def _uncertainty(run: _Run, delta, cells: str):
    """Bootstrap and noise floor (each saved), or None where switched off."""
    from vatjax.named import bootstrap, noise_floor

    s, boot, null = run.s, None, None
    common = dict(seed=s.seed, include_diagonal=s.include_diagonal, quiet=run.stages.quiet)
    if s.n_resamples:
        what = f"bootstrap: {s.n_resamples:,} resamples ({s.scheme}, {s.interval}), {cells}"
        with run.stages(what, name="bootstrap", spinner=False):
            boot = bootstrap(delta, n_resamples=s.n_resamples, scheme=s.scheme,
                             interval=s.interval, level=s.confidence, eps=s.eps,
                             keep_replicates=True, **common)  # fmt: skip
            replicates = [v for v in boot.data_vars if v.endswith("_replicates")]
            kept, boot = boot["coupling_replicates"], boot.drop_vars(replicates)
            run.save("bootstrap", boot.drop_dims("resample", errors="ignore"))
        _circumplex(run, delta, kept)
    else:
        run.skip("bootstrap", "--bootstrap 0")
        _circumplex(run, delta, None)
    if s.n_permutations:
        what = f"noise floor: {s.n_permutations:,} permutations, {cells}"
        with run.stages(what, name="noise_floor", spinner=False):
            null = noise_floor(delta, n_permutations=s.n_permutations, **common)
            run.save("noise_floor", null)
    else:
        run.skip("noise_floor", "--null 0")
    return boot, null


def _circumplex(run: _Run, delta, replicates) -> None:
    """The circumplex test and cosine model of every cell (with CI's interval from the
    bootstrap's coupling replicates when there are some), saved as circumplex.nc."""
    from vatjax.named import circumplex
    from vatjax.named.circumplex import circumplex_intervals

    s = run.s

    def compute():
        res = circumplex(delta, n_permutations=CIRCUMPLEX_PERMUTATIONS, seed=s.seed)
        if replicates is None:
            return res
        return circumplex_intervals(res, replicates, level=s.confidence)

    what = f"circumplex test (RTHOR, {CIRCUMPLEX_PERMUTATIONS:,} relabellings), cosine model"
    run.optional("circumplex", what, compute, spinner=True)


def _inference(run: _Run, judgments, delta, result) -> None:
    """Paired comparisons, power and judge reliability: each saved, or skipped with why."""
    from vatjax.named import compare, power, reliability

    s = run.s
    if (
        not s.compare
        or not s.n_resamples
        or not s.n_permutations
        or delta.sizes["intervention"] < 2
    ):
        why = "switched off" if not s.compare else "needs --bootstrap and --null above 0"
        run.skip("compare", why if delta.sizes["intervention"] > 1 else "one intervention")
    else:
        run.optional("compare", f"paired comparisons: every pair of interventions per model, "
                     f"{s.n_resamples:,} resamples, {s.n_permutations:,} permutations",
                     lambda: compare(delta, n_resamples=s.n_resamples, level=s.confidence,
                                     n_permutations=s.n_permutations, seed=s.seed,
                                     quiet=run.stages.quiet))  # fmt: skip
    if s.power:
        run.optional("power", f"power: {len(POWER_N)} sample sizes x 1,000 simulated studies",
                     lambda: power(list(POWER_N), pilot=_power_pilot(delta, result),
                                   seed=s.seed), spinner=True)  # fmt: skip
    else:
        run.skip("power", "switched off")
    if "repeat" in judgments.dims and judgments.sizes["repeat"] > 1:
        run.optional("reliability", "judge reliability (test-retest) and judge-noise floor",
                     lambda: reliability(judgments, level=s.level,
                                         include_diagonal=s.include_diagonal), spinner=True)  # fmt: skip
    else:
        run.skip("reliability", "no repeated judgments: the table has no repeat column")


def _fit(run: _Run, judgments) -> None:
    """The Bayesian fit of every cell, saved as posterior.nc."""
    from vatjax.bayes import fit as bayes_fit
    from vatjax.bayes.diagnostics import ConvergenceWarning

    s = run.s
    n_cells = judgments.sizes["model"] * (judgments.sizes["condition"] - 1)
    with run.stages(f"Bayesian fit: {s.fit_model}, {n_cells} cells, NUTS {s.fit_chains} chains "
                    f"x {s.fit_draws} draws after {s.fit_warmup} warmup", name="fit",
                    spinner=False):  # fmt: skip
        warnings.simplefilter("always", ConvergenceWarning)  # shown after the stage's line
        tree = bayes_fit(judgments, model=s.fit_model, chains=s.fit_chains, draws=s.fit_draws,
                         warmup=s.fit_warmup, seed=s.seed, progress=not run.stages.quiet)  # fmt: skip
        run.save("posterior", tree)
    run.extra["fit_cells"] = n_cells


def _provenance(file: Path, run: _Run, extra: dict) -> dict:
    settings = dataclasses.asdict(run.s)
    settings["scale"] = ",".join(map(str, run.s.scale))
    settings["conditions"] = None if run.s.conditions is None else str(run.s.conditions)
    return {
        "vatjax_version": version("vatjax"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": file.name,
        "input_sha256": file_sha256(file),
        **extra,
        **settings,
        **run.extra,
        "skipped": run.skipped,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "step_seconds": run.stages.seconds,
    }


def run_analysis(
    file: str | os.PathLike,
    out_dir: str | os.PathLike,
    settings: Analysis = Analysis(),
    *,
    stages: Stages | None = None,
    provenance: dict | None = None,
) -> AnalysisResult:
    """Analyse the judgments table ``file`` into ``out_dir``: every result, the VAT table
    (vat.csv), provenance.json and report.html; ``provenance`` adds entries to the record."""
    file, out = Path(file), Path(out_dir)
    check_folder(out)
    run = _Run(out, settings, stages if stages is not None else Stages())
    s = run.s
    with run.stages(f"loading and validating {file.name}", name="load"):
        judgments = load_judgments(file, scale=s.scale, conditions=s.conditions,
                                   baseline=s.baseline)  # fmt: skip
    with run.stages("VAT metrics (raw and debiased)", name="vat"):
        delta = shifts(judgments, s.level)
        result = vat(delta, include_diagonal=s.include_diagonal, eps=s.eps)
        run.save("vat", result)
    cells = f"{delta.sizes['model'] * delta.sizes['intervention']} cells"
    boot, null = _uncertainty(run, delta, cells)
    _inference(run, judgments, delta, result)
    table = with_above_floor(uncertainty_table(metrics_table(result), boot, null))
    run.paths["table"] = write_table(table, out / RESULT_FILES["table"])
    if s.fit:
        _fit(run, judgments)
    else:
        run.skip("fit", "switched off")
    with run.stages("report", name="report"):
        record = _provenance(file, run, provenance or {})
        with atomic_path(out / RESULT_FILES["provenance"]) as tmp:
            tmp.write_text(json.dumps(record, indent=1))
        run.paths["provenance"] = out / RESULT_FILES["provenance"]
        run.paths["report"] = write_report(out, out / RESULT_FILES["report"])
    return AnalysisResult(run.paths, table, run.skipped)
