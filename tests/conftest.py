"""Test set-up shared by every test module.

Four host CPU devices are forced before JAX is imported, so sharding and parallel chains
are exercised on a plain CPU (CI has no GPU).
"""

import fcntl
import json
import os
import warnings
from types import SimpleNamespace

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_NUMPY_DTYPE_PROMOTION", "strict")

import pytest

SLOW_FILES_FIRST = (
    "test_report.py", "test_bayes_recovery.py", "test_notebooks.py", "test_docstrings.py",
    "test_bayes_marginal.py", "test_circular_coupling.py", "test_bayes_fit.py", "test_cli.py",
    "test_report_browser.py", "test_demo_paper.py", "test_fuzz.py", "test_resample.py",
)  # fmt: skip
"""Files that take a minute or more, run first (the rest in collection order), so that no
test worker is left alone with a long file at the end; the first one builds the demo that
the other demo files read later."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Slow files first (xdist gives whole files out in this order)."""
    rank = {name: k for k, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`vatjax demo` at a reduced size (one fit shared by the CLI and report tests), run
    once per test session: the first xdist worker to need it runs it under a file lock,
    the others read what it saved.

    Returns the output folder, the CLI result (exit_code, output, stdout, stderr) and the
    warning messages raised.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's
    out, record = shared / "demo-shared", shared / "demo-shared.json"
    with open(shared / "demo-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            record.write_text(json.dumps(_run_demo(out)))
    saved = json.loads(record.read_text())
    return out, SimpleNamespace(**saved["result"]), saved["warnings"]


def _run_demo(out) -> dict:
    from typer.testing import CliRunner

    from vatjax.cli import app

    args = ["demo", "--out-dir", str(out), "--models", "2", "--scenarios", "16",
            "--resamples", "200", "--permutations", "50", "--fit-chains", "2", "--fit-draws", "60",
            "--fit-warmup", "60"]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a fit this short cannot converge, and must say so
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    fields = ("exit_code", "output", "stdout", "stderr")
    return {"result": {f: getattr(result, f) for f in fields},
            "warnings": [str(w.message) for w in caught]}  # fmt: skip
