"""Prefect wiring of the pipeline. Importing the package tunes the process: the allocator (before polars is
loaded) and a log of Dask's shutdown that is not meant for users."""

import logging
import os

# Polars allocates through jemalloc, which keeps freed pages until a decay timer lets it return them (polars
# sets 500 ms dirty / 1000 ms muzzy). A commit frees one day-chunk's frames after another faster than that,
# and when it ran in the flow process that process's resident memory grew with the number of chunks it merged
# (364 MiB at 1500 seeds, 443 MiB at 4500; pages returned at once: 335 / 382 MiB). Returning them at once
# (a decay of 0) made every allocation after a free fault its pages in again, though: the merge steps of 1500
# seeds (both groups, in one process) took 41 000 page faults, of 4500 seeds 148 000 (~3 us each on this
# host). Freed pages are kept 100 ms: long enough for the next frame to reuse them, too short to ratchet up.
# In one process, the commit of 1500 seeds 428-503 -> 368-424 ms (41 000 -> 14 000-18 000 faults), of 4500
# seeds 1.80 -> 1.08 s, peak 458 -> 454 MiB; a 750-seed batch's staging 0.29-0.36 -> 0.25-0.26 s (+5-10 MiB).
# Set only when the user has not chosen; worker processes inherit it. It has no effect if polars was imported
# before this package.
ALLOCATOR_CONF = "dirty_decay_ms:100,muzzy_decay_ms:0"
os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_CONF)

# distributed logs "Batched Comm Closed" at INFO, with a traceback, when a connection closes during a Dask
# cluster's shutdown (a race it handles). LocalCluster silences INFO logs only while it runs and restores
# the handlers' level as it closes, so now and then one reached the end of a user's normal run (seen in CI
# with RUNNER=dask). It is never more than information. Set here, where the flow process and the Dask
# workers (which import `flows.ingest` for its tasks) both pass.
logging.getLogger("distributed.batched").setLevel(logging.WARNING)
