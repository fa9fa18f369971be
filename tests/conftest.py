"""Test set-up shared by every test module.

Four host CPU devices are forced before JAX is imported, so sharding and parallel chains
are exercised on a plain CPU (CI has no GPU).
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_NUMPY_DTYPE_PROMOTION", "strict")
