"""One ingest run, orchestrator-agnostic: the `ingest` flow supplies how batches are mapped and tables are
written (Prefect tasks), tests and benchmarks call it with plain functions.

Steps: lock DATA -> recover a killed run -> runs row `running` -> plan from the ledger -> extract the seeds
to read, in batches -> resolve -> commit (journal, tables, ledger) -> runs row `completed`.
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from newslake.batch import DEFAULT_MAX_SEED_BYTES, SeedTask, StagedBatch, stage_batch
from newslake.collector import collector_paused
from newslake.commit import ChunkWrite, commit, recover, validate_state, write_group
from newslake.discover import batches, discover_seeds
from newslake.lake import (
    WriteStats,
    check_writable,
    clear_staging,
    lake_lock,
    read_journal,
    read_state,
    remove_temporaries,
    write_state,
)
from newslake.ledger import plan_run, resolve, run_row, upsert_run
from newslake.storage import Store, open_store
from newslake.version import pipeline_version
from schemas.tables import TABLES

# A batch has fixed costs: validating it ~90 ms whatever its size (pandera runs each check as its own
# query), a Prefect task run ~0.1 s, six staging files. Batches of 750 (one round of two at 1500 seeds) ran
# the flow's work, from the first batch's start to the last write's end, in 7.10-7.35 s against 7.32-7.67 s
# with 400 (three runs each; wall times are too noisy to tell), for a peak 12 MiB higher (403 vs 391 MiB).
DEFAULT_BATCH_SIZE = 750

# (seeds, data, batches of tasks, run id, max seed bytes) -> staged batches holding every seed of the batches
# once, each under an index of its own (a mapper may move seeds to other batches: `newslake.sharing`)
BatchMapper = Callable[[str, str, list[list[SeedTask]], str, int], Iterable[StagedBatch]]
# (data, groups of merge steps) -> every step's stats; each group is one unit of work (a task)
WriteMapper = Callable[[str, list[list[ChunkWrite]]], Iterable[WriteStats]]


@dataclass(frozen=True)
class RunOptions:
    seeds: str = "seeds"
    data: str = "data"
    full: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    max_seed_bytes: int = DEFAULT_MAX_SEED_BYTES
    wait_lock_seconds: float = 0.0
    # Split into a multiple of this many batches (the workers that run them), of equal sizes.
    parallelism: int = 1


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    counts: dict[str, int]
    partitions: int
    seconds: float

    def line(self) -> str:
        c = self.counts
        rows = ", ".join(f"{table} {c[f'rows_{table}']}" for table in TABLES)
        return (
            f"ingest {self.run_id}: {c['seeds_seen']} seeds (new {c['seeds_new']}, changed {c['seeds_changed']}, "
            f"unchanged {c['seeds_unchanged']}, missing {c['seeds_missing']}); processed {c['seeds_processed']}: "
            f"{c['rows_articles']} articles, {c['seeds_rejected']} rejected, {c['seeds_superseded']} superseded; "
            f"rows written: {rows}; {self.partitions} partition files rewritten in {self.seconds:.1f}s"
        )


def map_in_process(
    seeds: str, data: str, groups: list[list[SeedTask]], run_id: str, max_bytes: int
) -> list[StagedBatch]:
    """The plain mapper: every batch in this process, one after another."""
    return [stage_batch(seeds, data, group, index, run_id, max_bytes) for index, group in enumerate(groups)]


def write_in_process(data: str, groups: list[list[ChunkWrite]]) -> list[WriteStats]:
    """The plain writer: every merge step in this process, one after another."""
    return [stats for group in groups for stats in write_group(data, group)]


def ingest_run(
    options: RunOptions,
    run_id: str,
    *,
    map_batches: BatchMapper = map_in_process,
    write: WriteMapper = write_in_process,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
) -> RunSummary:
    """Bring the lake under `options.data` up to date with the seeds under `options.seeds`."""
    log = log or logging.getLogger(__name__)
    started, clock = datetime.now(UTC), time.perf_counter()
    version = pipeline_version()
    root = open_store(options.data)
    check_writable(root)
    with lake_lock(root, options.wait_lock_seconds):
        ledger = read_state(root, "ledger")
        previous = read_journal(root)
        if removed := remove_temporaries(root, previous):
            log.warning("%d temporary files left by a killed write removed", removed)
        if previous is not None:
            fixed = recover(root, previous, ledger)
            log.warning(
                "run %s was interrupted: %d partitions reconciled with the ledger, its %d seeds processed again",
                previous.run_id,
                fixed,
                len(previous.seed_files),
            )
        clear_staging(root)  # rows a dead run staged: never merged, never claimed
        _record_run(root, run_row(run_id, started, version, options.full))
        try:
            forced = previous.seed_files if previous else ()
            with collector_paused():  # an archive's listing: hundreds of thousands of objects, no cycles
                plan = plan_run(discover_seeds(options.seeds), ledger, version, full=options.full, forced=forced)
            log.info("%d seeds under %s, %d to read", len(plan.stats), options.seeds, len(plan.tasks))
            groups = batches(plan.tasks, max(1, options.batch_size), max(1, options.parallelism), _seed_bytes)
            staged = list(map_batches(options.seeds, options.data, groups, run_id, options.max_seed_bytes))
            with collector_paused():
                resolution = resolve(plan, ledger, staged, run_id, version)
            # No more groups of merge steps than batches: the workers the batches started are warm, and a
            # worker started for the commit alone costs seconds of imports for milliseconds of merging.
            sharing = max(1, min(options.parallelism, len(groups)))
            written = commit(
                root, resolution, run_id, previous, lambda shares: list(write(options.data, shares)), sharing
            )
            clear_staging(root, run_id)
        except BaseException:
            _record_run(root, run_row(run_id, started, version, options.full, status="failed", finished_at=_now()))
            raise
        counts = resolution.counts | {f"rows_{table}": n for table, n in written.items()}
        done = run_row(run_id, started, version, options.full, status="completed", finished_at=_now(), **counts)
        _record_run(root, done)
    partitions = sum(len(resolution.days(table)) for table in TABLES) if resolution.writes_data else 0
    summary = RunSummary(run_id, counts, partitions, time.perf_counter() - clock)
    log.info(summary.line())
    return summary


def _seed_bytes(task: SeedTask) -> int:
    return task.size or 0


def _now() -> datetime:
    return datetime.now(UTC)


def _record_run(root: Store, row: dict[str, object]) -> None:
    write_state(root, "runs", validate_state("runs", upsert_run(read_state(root, "runs"), row)))
