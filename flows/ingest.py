"""The `ingest` flow: discover seeds -> extract in batches -> validate -> write the lake -> one summary line.

Thin Prefect wiring: every task wraps a function of `newslake` and adds batching, retries (I/O only) and
logging. Run it with `make run` or `python -m flows.ingest --seeds DIR --data DIR`.
"""

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from newslake.batch import DEFAULT_MAX_SEED_BYTES, combine_batches, process_batch
from newslake.discover import SeedsError, batches, discover_seeds
from newslake.lake import LakeError, WriteStats, check_writable, write_table
from schemas.tables import TABLES

DEFAULT_BATCH_SIZE = 200


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    seeds: int
    articles: int
    rejects: int
    rows: dict[str, int] = field(default_factory=dict)
    partitions: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rows = ", ".join(f"{table} {count}" for table, count in self.rows.items())
        return (
            f"ingest {self.run_id}: {self.seeds} seeds -> {self.articles} articles, {self.rejects} rejects; "
            f"rows written: {rows}; {self.partitions} partition files replaced in {self.seconds:.1f}s"
        )


# No cache: inputs are large frames (hashing them costs more than the work) and every run must really run.
@task(name="extract-batch", cache_policy=NO_CACHE)
def extract_batch(seeds_root: str, seed_files: list[str], run_id: str, max_bytes: int) -> dict[str, pl.DataFrame]:
    """Read, extract and validate one batch of seeds (CPU work: never retried, it would fail the same way)."""
    tables = process_batch(Path(seeds_root), seed_files, run_id, max_bytes)
    get_run_logger().info(
        "batch of %d seeds: %d articles, %d rejects",
        len(seed_files),
        tables["articles"].height,
        tables["rejects"].height,
    )
    return tables


@task(name="write-table", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_lake_table(data_root: str, table: str, frame: pl.DataFrame, purge: list[str]) -> WriteStats:
    """Merge one table into the lake (I/O: retried, and safe to retry since each file swap is atomic)."""
    return write_table(Path(data_root), table, frame, purge)


@flow(name="ingest")
def ingest(
    seeds: str = "seeds",
    data: str = "data",
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_seed_bytes: int = DEFAULT_MAX_SEED_BYTES,
) -> RunSummary:
    """Turn every seed under `seeds` into validated rows of the Parquet lake under `data`."""
    started = time.perf_counter()
    logger = get_run_logger()
    run_id = str(flow_run.get_id() or f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    check_writable(Path(data))
    files = discover_seeds(Path(seeds))
    logger.info("found %d seed files under %s", len(files), seeds)
    futures = extract_batch.map(seeds, batches(files, batch_size), run_id, max_seed_bytes)
    tables = combine_batches([future.result() for future in futures], run_id, datetime.now(UTC))
    # This run's outcome for a seed replaces any earlier reject of it, whichever day that was filed under.
    purge = {table: files if table == "rejects" else [] for table in TABLES}
    stats = [write_lake_table(data, table, tables[table], purge[table]) for table in TABLES]
    summary = RunSummary(
        run_id=run_id,
        seeds=len(files),
        articles=tables["articles"].height,
        rejects=tables["rejects"].height,
        rows={s.table: s.rows_written for s in stats},
        partitions=sum(s.partitions for s in stats),
        seconds=time.perf_counter() - started,
    )
    logger.info(summary.line())
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.ingest", description=__doc__)
    parser.add_argument("--seeds", default="seeds", help="directory of seed files (default: seeds)")
    parser.add_argument("--data", default="data", help="lake directory (default: data)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--max-seed-bytes", type=int, default=DEFAULT_MAX_SEED_BYTES)
    args = parser.parse_args(argv)
    # The two causes a user can fix are checked before Prefect starts, so they get one line, no traceback.
    try:
        discover_seeds(Path(args.seeds))
        check_writable(Path(args.data))
    except (SeedsError, LakeError) as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 2
    ingest(seeds=args.seeds, data=args.data, batch_size=args.batch_size, max_seed_bytes=args.max_seed_bytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
