"""vatjax: the Value Alignment Tax of LLM alignment, exact and with honest uncertainty.

The public API is the stub beside this file (``__init__.pyi``); each name loads its
module on first use, so a light import (``vatjax.collect``, ``vatjax.taxonomy``) does not
pull in JAX, NumPyro or matplotlib.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=20)
    >>> result = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
    >>> result["nvat"].dims
    ('model', 'intervention')
"""

from importlib.metadata import version as _version

import lazy_loader as _lazy

__version__ = _version("vatjax")

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = [*__all__, "__version__"]
