"""ArviZ registers numpyro as a lazy module; vatjax.bayes must leave a working numpyro."""

import subprocess
import sys

import pytest

SCRIPT = """
import sys
{first}
import numpyro.distributions
assert hasattr(sys.modules["numpyro.distributions"], "distribution"), "broken numpyro"
"""


@pytest.mark.parametrize(
    "first",
    [
        "from vatjax.bayes import summary",  # vatjax imports arviz_stats before numpyro
        "import arviz_stats\nimport vatjax.bayes",  # the user imported ArviZ first
    ],
)
def test_numpyro_submodules_survive_arviz_lazy_import(first):
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(first=first)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
