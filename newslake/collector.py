"""The cyclic garbage collector paused around work that makes many objects and no reference cycles.

CPython's collector runs a pass every few hundred net allocations and a full one once the objects that
survived passes have grown by a quarter; work that builds hundreds of thousands of live objects (a batch's
records in a worker; the listing of an archive's seed files in the run's own process) sets off passes that
traverse all of them, and everything the process held before, to free nothing.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block, on again after (the previous state), also when it raises.

    - A batch in a flow worker: extraction makes no reference cycles (`test_extraction_makes_no_reference_cycles`),
      and a 750-seed batch of the bench's seeds left 92 unreachable objects for the collection after it, so the
      collector's passes over the batch's records free nothing: they cost 19 young and one middle collection a
      batch, 45-50 ms of ~2.1 s (timed with `gc.callbacks`; peak memory the same, 386 against 387 MiB).
    - Listing and planning a run, and resolving it, in the run's own process (`newslake.run`): a listing of
      100 000 seed files is 200 000 small objects and their names, a plan and a resolution tens of thousands
      more; with the collector on, an unchanged 100 000-seed folder's run took 0.95-1.03 s in-process (the
      listing 0.62-0.64 s), with it paused 0.73-0.79 s (0.39 s). From the command line, such a run's cost over
      a run of no seed went from ~1.0 s (4.27-4.61 against 3.31-3.50 s) to ~0.6 s (4.01-4.26 against 3.50-3.59).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
