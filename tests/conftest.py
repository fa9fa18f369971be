"""Test set-up shared by every test module.

Four host CPU devices are forced before JAX is imported, so sharding and parallel chains
are exercised on a plain CPU (CI has no GPU).
"""

import os
import warnings

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_NUMPY_DTYPE_PROMOTION", "strict")

import pytest

SLOW_FILES_FIRST = (
    "test_bayes_recovery.py", "test_notebooks.py", "test_docstrings.py", "test_report.py",
    "test_cli.py", "test_bayes_marginal.py", "test_circular_coupling.py", "test_bayes_fit.py",
    "test_report_browser.py", "test_demo_paper.py", "test_fuzz.py", "test_resample.py",
)  # fmt: skip
"""Files that take a minute or more, run first (the rest in collection order), so that no
test worker is left alone with a long file at the end."""

DEMO_FILES = frozenset({"test_cli.py", "test_report.py", "test_report_browser.py",
                        "test_demo_paper.py"})  # fmt: skip
"""The files that use :func:`demo_run`: one xdist group, so the demo runs once."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Slow files first; under xdist (``--dist loadgroup``) each file is a group of its own
    (as ``loadfile`` would), except the demo's users, which share one."""
    rank = {name: k for k, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    for item in items:
        group = "demo" if item.path.name in DEMO_FILES else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`vatjax demo` at a reduced size (one fit shared by the CLI and report tests).

    Returns the output folder, the CLI result and the warning messages raised.
    """
    from typer.testing import CliRunner

    from vatjax.cli import app

    out = tmp_path_factory.mktemp("demo")
    args = [
        "demo",
        "--out-dir",
        str(out),
        "--models",
        "2",
        "--scenarios",
        "16",
        "--resamples",
        "200",
        "--permutations",
        "50",
        "--fit-draws",
        "60",
        "--fit-warmup",
        "60",
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a fit this short cannot converge, and must say so
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    return out, result, [str(w.message) for w in caught]
