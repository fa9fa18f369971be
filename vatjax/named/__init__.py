"""The named layer: the only place that builds result Datasets (one schema, one
validation module); each public function is validate -> engine or kernel -> schema.

Example:
    >>> from vatjax.named import SCHEMA
    >>> SCHEMA["gain"].units
    'phi'
"""

from vatjax.named.bootstrap import bootstrap as bootstrap
from vatjax.named.circumplex import circumplex as circumplex
from vatjax.named.compare import compare as compare
from vatjax.named.compare import pairs_table as pairs_table
from vatjax.named.noise_floor import noise_floor as noise_floor
from vatjax.named.power import power as power
from vatjax.named.reliability import reliability as reliability
from vatjax.named.schema import SCHEMA as SCHEMA
from vatjax.named.schema import conventions as conventions
from vatjax.named.schema import metrics_dataset as metrics_dataset
from vatjax.named.tables import results_dataset as results_dataset
from vatjax.named.tables import uncertainty_table as uncertainty_table
from vatjax.named.validate import check_shifts as check_shifts
from vatjax.named.vat import metrics_table as metrics_table
from vatjax.named.vat import vat as vat
