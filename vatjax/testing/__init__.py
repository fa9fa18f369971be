"""Test servers and fixtures that tests, demos, benchmarks and users may import.

The names (listed in the stub beside this file, ``__init__.pyi``) load on first use, so
``python -m vatjax.testing.fakeserver`` runs its module cleanly.

Example:
    >>> from vatjax.testing import FakeChatServer
    >>> with FakeChatServer() as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
