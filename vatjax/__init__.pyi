# The public API of vatjax. Every name here loads on first use (lazy_loader reads this
# stub), so `import vatjax.collect` does not import JAX; type checkers read it as is.
from .bayes import fit as fit
from .cli.report import write_report as write_report
from .collect import collect_judgments as collect_judgments
from .collect import demo_items_path as demo_items_path
from .collect import load_items as load_items
from .collect import store_to_table as store_to_table
from .collect.inspect_log import load_inspect_log as load_inspect_log
from .collect.item_schema import propose_fields as propose_fields
from .collect.lm_eval import load_lm_eval_samples as load_lm_eval_samples
from .data import SimulatedStudy as SimulatedStudy
from .data import load as load
from .data import load_judgments as load_judgments
from .data import save as save
from .data import scores as scores
from .data import shifts as shifts
from .data import simulate_study as simulate_study
from .errors import VatInputError as VatInputError
from .named import bootstrap as bootstrap
from .named import circumplex as circumplex
from .named import compare as compare
from .named import metrics_table as metrics_table
from .named import noise_floor as noise_floor
from .named import power as power
from .named import reliability as reliability
from .named import uncertainty_table as uncertainty_table
from .named import vat as vat
from .taxonomy import SCHWARTZ as SCHWARTZ
from .taxonomy import Taxonomy as Taxonomy

__version__: str
