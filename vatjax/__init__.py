"""vatjax: the Value Alignment Tax of LLM alignment, exact and with honest uncertainty.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> result = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
    >>> result["nvat"].dims
    ('model', 'intervention')
"""

from importlib.metadata import version as _version

from vatjax.collect import collect_judgments, demo_items_path, load_items, store_to_table
from vatjax.data import load_judgments, scores, shifts
from vatjax.errors import VatInputError
from vatjax.io import load, save
from vatjax.metrics import metrics_table, vat
from vatjax.resample import bootstrap, noise_floor, uncertainty_table
from vatjax.simulate import SimulatedStudy, simulate_study
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__version__ = _version("vatjax")


_LAZY = {"fit": "vatjax.bayes", "write_report": "vatjax.report"}


def __getattr__(name: str):
    """``fit`` (NumPyro, ArviZ) and ``write_report`` (matplotlib) load on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vatjax' has no attribute {name!r}")


__all__ = [
    "SCHWARTZ",
    "SimulatedStudy",
    "Taxonomy",
    "VatInputError",
    "__version__",
    "bootstrap",
    "collect_judgments",
    "demo_items_path",
    "fit",
    "load",
    "load_items",
    "load_judgments",
    "metrics_table",
    "noise_floor",
    "save",
    "scores",
    "shifts",
    "simulate_study",
    "store_to_table",
    "uncertainty_table",
    "vat",
    "write_report",
]
