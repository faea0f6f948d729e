"""Benchmarks: speed and memory (`python -m bench`), stage costs (`bench.stages`), fidelity (`bench.fidelity`)."""

import os

# Importing polars rewrites `_RJEM_MALLOC_CONF` (it prepends its jemalloc defaults), so the flow processes
# the bench starts would inherit polars' defaults instead of choosing their own (`flows/__init__.py`). This
# is what the bench was started with, read before anything imports polars; the flows get it, as from a shell.
ALLOCATOR_CONF_AT_START = os.environ.get("_RJEM_MALLOC_CONF")
