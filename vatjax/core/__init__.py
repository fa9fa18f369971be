"""The array layer: pure ``jax.numpy`` kernels with core dims last (no xarray here).

Ranks and Spearman (:mod:`~vatjax.core.ranks`, :mod:`~vatjax.core.groups`), the VAT
metrics and their stat-vector layout (:mod:`~vatjax.core.metrics`), resampling schemes
(:mod:`~vatjax.core.schemes`), random bits (:mod:`~vatjax.core.random`), the permutation
null (:mod:`~vatjax.core.permute`) and interval maths (:mod:`~vatjax.core.intervals`).

Example:
    >>> import jax.numpy as jnp
    >>> from vatjax.core import gini
    >>> float(gini(jnp.array([1.0, 1.0])))
    0.0
"""

from vatjax.core.groups import GroupPlan as GroupPlan
from vatjax.core.groups import group_plan as group_plan
from vatjax.core.groups import spearman_many as spearman_many
from vatjax.core.metrics import FLOAT_METRICS as FLOAT_METRICS
from vatjax.core.metrics import NULL_METRICS as NULL_METRICS
from vatjax.core.metrics import VatMetrics as VatMetrics
from vatjax.core.metrics import gain_gnd as gain_gnd
from vatjax.core.metrics import gini as gini
from vatjax.core.metrics import pack as pack
from vatjax.core.metrics import unpack as unpack
from vatjax.core.metrics import vat_from_coupling as vat_from_coupling
from vatjax.core.metrics import vat_metrics as vat_metrics
from vatjax.core.ranks import spearman as spearman
from vatjax.core.ranks import weighted_midranks as weighted_midranks
from vatjax.core.schemes import SCHEMES as SCHEMES
from vatjax.core.schemes import jackknife_groups as jackknife_groups
from vatjax.core.schemes import jackknife_weights as jackknife_weights
from vatjax.core.schemes import resample_weights as resample_weights
