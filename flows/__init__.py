"""Prefect wiring of the pipeline. Importing the package tunes the process: the allocator (before polars is
loaded) and a log of Dask's shutdown that is not meant for users."""

import logging
import os

# Polars allocates through jemalloc, which keeps freed pages until activity lets it decay them (polars sets
# 500 ms dirty / 1000 ms muzzy). A commit frees one day-chunk's frames after another faster than that, so
# the flow process's resident memory grew with the number of chunks it merged: 364 MiB at 1500 seeds,
# 443 MiB at 4500. Returning freed pages at once held it at 335 / 382 MiB, at no measurable cost in time
# (the commit of 4500 seeds: 37.3 s against 36.6 s). Set only when the user has not chosen; worker
# processes inherit it. It has no effect if polars was imported before this package.
ALLOCATOR_CONF = "dirty_decay_ms:0,muzzy_decay_ms:0"
os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_CONF)

# distributed logs "Batched Comm Closed" at INFO, with a traceback, when a connection closes during a Dask
# cluster's shutdown (a race it handles). LocalCluster silences INFO logs only while it runs and restores
# the handlers' level as it closes, so now and then one reached the end of a user's normal run (seen in CI
# with RUNNER=dask). It is never more than information. Set here, where the flow process and the Dask
# workers (which import `flows.ingest` for its tasks) both pass.
logging.getLogger("distributed.batched").setLevel(logging.WARNING)
