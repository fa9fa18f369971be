"""The resampling engine: memory budget, chunk loop and sharding; plain arrays in.

Example:
    >>> from vatjax.engine import DEFAULT_MAX_MEMORY
    >>> DEFAULT_MAX_MEMORY
    2147483648
"""

from vatjax.engine.budget import DEFAULT_MAX_MEMORY as DEFAULT_MAX_MEMORY
from vatjax.engine.run import Cells as Cells
from vatjax.engine.run import Engine as Engine
from vatjax.engine.run import evaluate as evaluate
from vatjax.engine.run import prepare as prepare
