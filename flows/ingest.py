"""The `ingest` flow: discover seeds -> extract new and changed ones in batches -> validate -> write -> summary.

Thin Prefect wiring over `newslake.run.ingest_run`: batches become mapped tasks, the commit's merge steps
become retried tasks run in parallel (one group of steps per worker), logs go to the run's logger. Run it
with `make run` or `python -m flows.cli --seeds DIR --data DIR [--full]` (`flows.cli`).
"""

import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.runners import cores, describe, make_task_runner, on_this_machine
from newslake.batch import DEFAULT_MAX_SEED_BYTES, EarlyReads, SeedTask, StagedBatch, read_seeds, stage_results
from newslake.collector import collector_paused
from newslake.commit import ChunkWrite, write_group
from newslake.discover import batches
from newslake.lake import WriteStats
from newslake.run import DEFAULT_BATCH_SIZE, RunOptions, RunSummary, ingest_run
from newslake.sharing import Share, WorkShares, run_share

COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def settle_long_lived() -> None:
    """Move what is alive in this process before a batch (modules, the language model, caches: ~190 000
    objects in a worker) out of the cyclic collector's sight, so that its passes during the batch scan only
    the batch's own objects.

    Measured on a batch of 375 seeds in a fresh worker: 3.78 -> 3.52 s, and 2.90 -> 2.78 s for the next one.
    Collected first, so that no garbage is frozen with them (a frozen cycle would never be freed). Done here,
    in the worker's task, not in `newslake.batch`: it changes the whole process, which the flow's workers are
    and a notebook calling `process_batch` is not.

    The youngest generation is then collected every `COLLECTOR_THRESHOLDS[0]` net allocations instead of
    CPython's 700: a batch keeps its articles' records (~500 000 tuples for 750 seeds) alive until it is
    staged, and each collection traversed the new ones and freed nothing, since extraction makes no reference
    cycles (a test holds it to that). Collections during a 750-seed batch: 0.14-0.19 s with the freeze alone,
    0.03-0.09 s with both (peak memory unchanged); the flow's wall clock does not resolve the ~1.5%. Since
    session 12 the batch itself runs with the collector off (`newslake.collector`); the thresholds serve the
    rest of the worker's work (the commit's merge steps).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


T = TypeVar("T")


class Parcel(Generic[T]):
    """A task parameter Prefect hands over as one object, opened by the task alone.

    Prefect walks a task's parameters for futures, into every list, tuple, dict and dataclass, field by field,
    twice a task (in the flow, and in the worker to resolve them): a task's 750 seeds ~13 ms, and at 100 000
    seeds over ~6400 days ~3 s of each worker's time (py-spy), ~2 s of it before the commit's first step could
    start. The seeds and the merge steps are plain data, never futures. Not `prefect.utilities.annotations.
    quote`: a tuple, which Dask's `client.submit` hands to the task as a plain tuple, still wrapped.
    """

    __slots__ = ("contents",)

    def __init__(self, contents: T) -> None:
        self.contents = contents


# A task runs up to this many batches one after another, each staged and freed before the next (memory as
# for one). Between two tasks a worker waits ~70-90 ms (at 100 000 seeds, from a task's COMPLETED state to
# its worker's next PENDING: the process pool's hand-off and the task engine's start): 11.8 s over 134
# one-batch tasks.
BATCHES_PER_TASK = 8


# No cache: inputs are large frames (hashing them costs more than the work) and every run must really run.
@task(name="extract-batches", cache_policy=NO_CACHE)
def extract_batches(
    seeds: str,
    data: str,
    batches: Parcel[Share],
    run_id: str,
    max_bytes: int,
    shares: str | None = None,
    number: int = 0,
) -> list[StagedBatch]:
    """Read, extract and validate batches of seeds (index, seeds), one after another, staging their rows under
    DATA; with `shares` (the run's `WorkShares` directory), task `number` of them, also seeds taken over from
    tasks still running (CPU work: not retried, it would fail the same way)."""
    settle_long_lived()
    size = max((len(tasks) for _, tasks in batches.contents), default=1)
    early: EarlyReads[SeedTask] = EarlyReads()  # the reads of the task's next claim, started during this one
    produced = run_share(
        WorkShares(shares) if shares is not None else None,
        number,
        batches.contents,
        lambda tasks, following: read_seeds(seeds, tasks, max_bytes, following, early),
        lambda index, results: stage_results(data, results, index, run_id),
        size,
    )
    staged: list[StagedBatch] = []
    while True:
        with collector_paused():  # a batch: its seeds read, its rows staged
            done = next(produced, None)
        if done is None:
            return staged
        batch, over = done
        staged.append(batch)
        status = batch.outcomes["status"].value_counts().sort("status").rows()
        counts = ", ".join(f"{n} {s}" for s, n in status)
        taken = f" ({over} taken over from other tasks)" if over else ""
        get_run_logger().info("batch of %d seeds%s: %s", batch.outcomes.height, taken, counts)


@task(name="write-chunks", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_chunks(data: str, chunks: Parcel[list[ChunkWrite]]) -> list[WriteStats]:
    """Merge a group of steps into the lake (I/O: retried; a retry is safe, each step is idempotent and each
    file swap atomic)."""
    return write_group(data, chunks.contents)


def map_writes(data: str, groups: list[list[ChunkWrite]]) -> list[WriteStats]:
    futures = write_chunks.map(data, [Parcel(group) for group in groups])
    return [stats for future in futures for stats in future.result()]


def task_shares(count: int, workers: int) -> list[list[int]]:
    """The batches (by index) each extract task runs: consecutive, `BATCHES_PER_TASK` at most, as many tasks
    as a multiple of the workers (batches permitting), about even."""
    return batches(list(range(count)), BATCHES_PER_TASK, workers)


def map_as_tasks(seeds: str, data: str, groups: list[list[SeedTask]], run_id: str, max_bytes: int) -> list[StagedBatch]:
    shares = [[(index, groups[index]) for index in share] for share in task_shares(len(groups), cores())]
    with shared_out(shares, len(groups)) as directory:
        futures = extract_batches.map(
            seeds, data, [Parcel(share) for share in shares], run_id, max_bytes, directory, range(len(shares))
        )
        return [staged for future in futures for staged in future.result()]


@contextmanager
def shared_out(shares: list[Share], batch_count: int) -> Iterator[str | None]:
    """The directory of the run's `WorkShares` while its tasks run, when they are more than one and run on
    this machine's workers (`flows.runners.on_this_machine`); else None (each task runs its own batches)."""
    if len(shares) < 2 or not on_this_machine(ingest_task_runner()):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="newslake-shares-") as directory:
        WorkShares.create(directory, shares, batch_count)
        yield directory


@flow(name="ingest", task_runner=make_task_runner("process"))
def ingest(
    seeds: str = "seeds",
    data: str = "data",
    full: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_seed_bytes: int = DEFAULT_MAX_SEED_BYTES,
    wait_lock_seconds: float = 0.0,
) -> RunSummary:
    """Bring the Parquet lake under `data` up to date with the seeds under `seeds`."""
    options = RunOptions(seeds, data, full, batch_size, max_seed_bytes, wait_lock_seconds, parallelism=cores())
    run_id = str(flow_run.get_id() or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    logger = get_run_logger()
    runner = ingest_task_runner()
    if runner is not None:
        logger.info("task runner: %s", describe(runner))
    return ingest_run(options, run_id, map_batches=map_as_tasks, write=map_writes, log=logger)


def ingest_task_runner() -> Any:
    """The task runner of the running flow (for the log)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context.task_runner if context is not None else None


def with_runner(kind: str) -> Any:
    """The `ingest` flow on another task runner (`process`, `thread` or `dask`)."""
    return ingest.with_options(task_runner=make_task_runner(kind))


def run_settings(temporary_server: bool) -> AbstractContextManager[Any]:
    """Prefect settings for a run from the command line: without flow-run heartbeats when its server is
    this process's temporary one.

    Heartbeats let a server notice that a run's process died; a temporary server dies with the process, so
    nothing can read them. Prefect's heartbeat thread sleeps a second at a time and the engine joins it when
    the run ends (from the summary line to "Finished": 0.09-1.18 s, now 0.06-0.11). Five alternating pairs
    of runs each way, 1500 seeds: the one-seed run's wall median 8.88 -> 8.10 s, the full run's 11.68 ->
    11.07 s (processing, their difference, within its noise there; `make bench`'s fell from 2.76-3.24 s to
    2.37-2.52 s, see docs/performance.md). A server that outlives the run (a configured `PREFECT_API_URL`, a
    deployment's runs) keeps them.
    `PREFECT_FLOWS_HEARTBEAT_FREQUENCY` can only be a number of seconds in the environment, so they are
    turned off here.
    """
    if not temporary_server:
        return nullcontext()
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


if __name__ == "__main__":
    # The command line is `flows.cli`: it starts its temporary server before Prefect is imported, since
    # Prefect reads its settings (the API's address) then. Here Prefect is imported already: hand over.
    os.execv(sys.executable, [sys.executable, "-m", "flows.cli", *sys.argv[1:]])
