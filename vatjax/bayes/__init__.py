"""Bayesian VAT: hierarchical models of the raw ratings, posterior VAT with credible
intervals, ArviZ DataTree export, diagnostics and PSIS-LOO comparison.

The names load on first use (NumPyro and ArviZ take seconds to import), so
``import vatjax`` and the command line stay quick. The building blocks live in public
modules: ``data`` (:func:`~vatjax.bayes.data.prepare`), ``model``
(:func:`~vatjax.bayes.model.build_model`, :func:`~vatjax.bayes.model.model_arrays`),
``likelihood``, ``posterior`` (:func:`~vatjax.bayes.posterior.draw_quantities`),
``presets`` and ``diagnostics``.

Example:
    >>> from vatjax.bayes import available_presets
    >>> available_presets()
    ['gaussian', 'mvn-marginal', 'ordinal-circular', 'ordinal-indep', 'ordinal-lkj']
"""

import sys
from importlib import import_module

_EXPORTS = {
    "fit": "vatjax.bayes._fit",
    "demo_subset": "vatjax.bayes._fit",
    "ConvergenceWarning": "vatjax.bayes.diagnostics",
    "check": "vatjax.bayes.diagnostics",
    "compare": "vatjax.bayes.diagnostics",
    "compare_presets": "vatjax.bayes.comparison",
    "loo": "vatjax.bayes.diagnostics",
    "summary": "vatjax.bayes.diagnostics",
    "Preset": "vatjax.bayes.presets",
    "available_presets": "vatjax.bayes.presets",
    "load_preset": "vatjax.bayes.presets",
}

__all__ = sorted(_EXPORTS)


def load_lazy_numpyro() -> None:
    """Load numpyro for real if ArviZ left it in ``sys.modules`` as a lazy module.

    ArviZ registers numpyro through ``importlib.util.LazyLoader``; importing
    ``numpyro.distributions`` through that lazy parent leaves it without its
    ``distribution`` attribute, and ``numpyro.factor`` (used by every NUTS fit) then fails.
    """
    module = sys.modules.get("numpyro")
    if module is not None:
        getattr(module, "__version__", None)


load_lazy_numpyro()  # the user may have imported ArviZ before vatjax.bayes


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vatjax.bayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
