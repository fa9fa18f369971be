# The public API of vatjax. Every name here loads on first use (lazy_loader reads this
# stub), so `import vatjax.collect` does not import JAX; type checkers read it as is.
from .bayes import fit as fit
from .cli.report import write_report as write_report
from .collect import collect_judgments as collect_judgments
from .collect import demo_items_path as demo_items_path
from .collect import load_items as load_items
from .collect import store_to_table as store_to_table
from .data import load_judgments as load_judgments
from .data import scores as scores
from .data import shifts as shifts
from .errors import VatInputError as VatInputError
from .io import load as load
from .io import save as save
from .metrics import metrics_table as metrics_table
from .metrics import vat as vat
from .resample import bootstrap as bootstrap
from .resample import noise_floor as noise_floor
from .resample import uncertainty_table as uncertainty_table
from .simulate import SimulatedStudy as SimulatedStudy
from .simulate import simulate_study as simulate_study
from .taxonomy import SCHWARTZ as SCHWARTZ
from .taxonomy import Taxonomy as Taxonomy

__version__: str
