# The public names of vatjax.data; each loads its module on first use (lazy_loader reads
# this stub), so `import vatjax.data` does not import JAX.
from .io import atomic_path as atomic_path
from .io import load as load
from .io import save as save
from .io import write_table as write_table
from .judgments import check_judgments as check_judgments
from .judgments import load_judgments as load_judgments
from .scoring import GroupIndex as GroupIndex
from .scoring import group_mean as group_mean
from .scoring import phi as phi
from .scoring import phi_levels as phi_levels
from .scoring import scores as scores
from .scoring import shifts as shifts
from .signs import SIGNS as SIGNS
from .signs import sign_of as sign_of
from .simulate import SimulatedStudy as SimulatedStudy
from .simulate import simulate_study as simulate_study
from .table import format_rows as format_rows
from .table import read_table as read_table
