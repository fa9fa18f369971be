"""Data: judgments loading, scoring, simulated studies and io (the workflow layer).

Judgments go from a long table of ratings (:func:`load_judgments`) to value scores
(:func:`scores`) and shifts (:func:`shifts`). The names load on first use (the stub
``__init__.pyi`` lists them), so ``import vatjax.data`` does not import JAX.

Example:
    >>> import vatjax.data as data
    >>> study = data.simulate_study(seed=0, n_models=1, n_scenarios=5)
    >>> data.shifts(data.load_judgments(study.table)).dims
    ('model', 'intervention', 'scenario', 'value')
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
