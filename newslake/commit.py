"""The I/O of a run's bookkeeping: recovering from a killed run, and committing a resolved run in order.

Order of a commit (see `newslake.lake`): journal -> data partitions -> ledger -> journal removed. Rows come
from the staging area a chunk of partitions at a time, so memory does not grow with the run's size.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date

import polars as pl

from newslake.lake import (
    Journal,
    WriteStats,
    clear_journal,
    read_staged,
    reconcile_partition,
    write_journal,
    write_state,
)
from newslake.ledger import ARTICLE_TABLES, Resolution, partition_claims
from newslake.storage import Store
from schemas.tables import PARTITION_KEY, STATE_TABLES, TABLES, polars_schema

# (table, rows, purge keys, purge days) -> stats
TableWrite = Callable[[str, pl.DataFrame, list[str], list[date]], WriteStats]
# How many articles' rows one merge step holds in memory (about 30 paragraphs and 35 links each).
CHUNK_ARTICLES = 1000


def recover(root: Store, journal: Journal, ledger: pl.DataFrame) -> int:
    """Make every partition a killed run touched hold exactly what the ledger claims; return how many changed.

    The seeds that run was processing are processed again by this one (`Plan` gets them as forced), so
    what the killed run had written is rewritten or, where the ledger does not claim it, removed here.
    """
    changed = 0
    for table, days in journal.days.items():
        if table not in TABLES:
            continue
        for day in days:
            changed += reconcile_partition(root, table, day, partition_claims(ledger, table, day))
    return changed


def validate_state(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The ledger and runs are validated like the data tables before they are written."""
    return STATE_TABLES[table].validate(frame, lazy=True)


def day_chunks(days: list[date], weight: Counter[date], budget: int) -> Iterator[list[date]]:
    """Consecutive groups of days whose summed weight (articles) stays within `budget` (one day at least)."""
    chunk: list[date] = []
    total = 0
    for day in days:
        if chunk and total + weight[day] > budget:
            yield chunk
            chunk, total = [], 0
        chunk.append(day)
        total += weight[day]
    if chunk:
        yield chunk


def _chunk_rows(root: Store, resolution: Resolution, table: str, days: list[date]) -> pl.DataFrame:
    """This run's rows of `table` for `days`, read batch by batch from staging (winning articles only)."""
    frames = []
    for batch, key in resolution.staged[table]:
        rows = read_staged(root, table, key).filter(pl.col(PARTITION_KEY).is_in(days))
        if table in ARTICLE_TABLES:
            winners = resolution.winners.filter(pl.col("_batch") == batch).select("article_id")
            rows = rows.join(winners, on="article_id", how="semi")
        frames.append(rows)
    return pl.concat(frames) if frames else polars_schema(table).to_frame()


def commit(
    root: Store, resolution: Resolution, run_id: str, previous: Journal | None, write: TableWrite
) -> dict[str, int]:
    """Write a resolved run: journal, data tables (through `write`, e.g. a retried task), ledger, journal off.

    Returns the rows written per table.
    """
    rows = dict.fromkeys(TABLES, 0)
    if resolution.writes_data:
        write_journal(root, resolution.journal(run_id, previous))
        weight = Counter(resolution.ledger.filter(pl.col("last_run_id") == run_id)["partition_date"].drop_nulls())
        for table in TABLES:
            purge_days = set(resolution.purge_days[table])
            for days in day_chunks(resolution.days(table), weight, CHUNK_ARTICLES):
                frame = _chunk_rows(root, resolution, table, days)
                write(table, frame, resolution.purge_keys[table], sorted(purge_days.intersection(days)))
                rows[table] += frame.height
    if resolution.ledger_changed:
        write_state(root, "ledger", validate_state("ledger", resolution.ledger))
    if resolution.writes_data or previous is not None:
        clear_journal(root)
    return rows
