"""``python -m vatjax.cli``: the ``vatjax`` command."""

import sys

from vatjax.cli import main

if __name__ == "__main__":
    sys.exit(main())
