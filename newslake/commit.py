"""The I/O of a run's bookkeeping: recovering from a killed run, and committing a resolved run in order.

Order of a commit (see `newslake.lake`): journal -> data partitions -> ledger -> journal removed. Rows come
from the staging area a chunk of partitions at a time (a day larger than a chunk, a key range at a time), so
memory grows neither with the run's size nor with its largest day.

The data partitions are written as `ChunkWrite`s: small, picklable descriptions of one merge step (a table,
a group of days, where the rows wait). Steps touch disjoint files, so a flow runs them in parallel on its
workers, each reading its own rows; all of them end before the ledger is written.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import polars as pl

from newslake.lake import (
    Journal,
    Location,
    StagedRows,
    WriteStats,
    clear_journal,
    merge_large_day,
    read_staged,
    read_winners,
    reconcile_partition,
    stage_winners,
    write_journal,
    write_state,
    write_table,
)
from newslake.ledger import ARTICLE_TABLES, Resolution, partition_claims
from newslake.storage import Store, open_store
from schemas.tables import PARTITION_KEY, STATE_TABLES, TABLES, polars_schema

# How many articles' rows one merge step holds in memory (about 30 paragraphs and 35 links each).
CHUNK_ARTICLES = 1000
# What a merge step costs, to share the steps out evenly: rows per article of each table on the corpus
# (rounded), and a file's fixed cost in rows (measured: ~1 ms a partition file, ~1 µs a row).
_ROWS_PER_ARTICLE = {"articles": 1, "paragraphs": 20, "headings": 3, "images": 3, "links": 110, "rejects": 1}
_ROWS_PER_FILE = 1000


@dataclass(frozen=True)
class ChunkWrite:
    """One merge step: this run's rows of `table` for `days`, read from staging and merged into the lake."""

    table: str
    days: list[date]
    staged: list[tuple[int, str, int, int]]  # (batch, staging key, first row, row after the last) of its days
    winners: str | None  # staging key of the (article_id, _batch) winners: the article tables' rows to take
    purge_keys: list[str]
    purge_days: list[date]
    articles: int  # articles in `days`, for sharing the steps out

    @property
    def cost(self) -> int:
        return len(self.days) * _ROWS_PER_FILE + self.articles * _ROWS_PER_ARTICLE.get(self.table, 1)


# Runs groups of merge steps, each group in one place (a task), and returns every step's stats.
WriteGroups = Callable[[list[list[ChunkWrite]]], list[WriteStats]]


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


def _staged_rows(store: Store, chunk: ChunkWrite) -> Iterator[pl.DataFrame]:
    """This run's rows of the chunk's table and days, a staged batch at a time (winners only); the run's
    winners are split by batch once, not filtered for each batch."""
    winners: dict[int, pl.DataFrame] = {}
    if chunk.winners:
        split = read_winners(store, chunk.winners).partition_by("_batch", as_dict=True, include_key=False)
        winners = {int(batch): frame for (batch,), frame in split.items()}
    none = pl.DataFrame(schema={"article_id": pl.String})
    for batch, key, start, stop in chunk.staged:
        # The span runs from the step's first day to its last: the filter drops the rows of a day in between
        # that is not the step's (rows of an article that lost its URL to a newer crawl, on a day of its own).
        # Filtered and joined after the read: in the query, a batch's read took 0.85 (filter) and 1.5 ms (and
        # join) against 0.7.
        rows = read_staged(store, chunk.table, key, (start, stop)).filter(pl.col(PARTITION_KEY).is_in(chunk.days))
        yield rows.join(winners.get(batch, none), on="article_id", how="semi") if chunk.winners else rows


def chunk_rows(location: Location, chunk: ChunkWrite) -> pl.DataFrame:
    """This run's rows of the chunk's table and days, read batch by batch from staging (winners only)."""
    frames = list(_staged_rows(open_store(location), chunk))  # one store: an object store's client is not free
    return pl.concat(frames) if frames else polars_schema(chunk.table).to_frame()


def write_chunk(location: Location, chunk: ChunkWrite) -> WriteStats:
    """One merge step (idempotent: run again, it writes the same files).

    A step is one day when that day alone has more than `CHUNK_ARTICLES` new articles; its rows are then
    not gathered in memory but streamed from staging into the day's file (`merge_large_day`).
    """
    if len(chunk.days) == 1 and chunk.articles > CHUNK_ARTICLES:
        store = open_store(location)
        spans = sum(stop - start for _, _, start, stop in chunk.staged)  # the winners' rows and the others'
        return merge_large_day(store, chunk.table, chunk.days[0], _staged_rows(store, chunk), spans, chunk.purge_keys)
    return write_table(location, chunk.table, chunk_rows(location, chunk), chunk.purge_keys, chunk.purge_days)


def staged_spans(staged: list[tuple[int, StagedRows]], days: list[date]) -> list[tuple[int, str, int, int]]:
    """(batch, key, start, stop) of the staged rows from the first of `days` to the last, batches with none
    left out: a merge step reads only those (at 100 000 seeds every step read every batch's whole file)."""
    spans = ((batch, rows.key, *rows.span(days[0], days[-1])) for batch, rows in staged)
    return [(batch, key, start, stop) for batch, key, start, stop in spans if stop > start]


def plan_chunks(root: Store, resolution: Resolution, run_id: str) -> list[ChunkWrite]:
    """The merge steps of a run, table by table in day order; stages the winners for them to read."""
    winners = stage_winners(root, run_id, resolution.winners)
    weight = Counter(resolution.ledger.filter(pl.col("last_run_id") == run_id)["partition_date"].drop_nulls())
    chunks = []
    for table in TABLES:
        purge_days = set(resolution.purge_days[table])
        for days in day_chunks(resolution.days(table), weight, CHUNK_ARTICLES):
            chunks.append(
                ChunkWrite(
                    table,
                    days,
                    staged_spans(resolution.staged[table], days),
                    winners if table in ARTICLE_TABLES else None,
                    resolution.purge_keys[table],
                    sorted(purge_days.intersection(days)),
                    sum(weight[day] for day in days),
                )
            )
    return chunks


def share_out(chunks: list[ChunkWrite], groups: int) -> list[list[ChunkWrite]]:
    """At most `groups` groups of about equal cost (largest step first, to the cheapest group), each in the
    order the steps were planned."""
    shares: list[list[ChunkWrite]] = [[] for _ in range(max(1, min(groups, len(chunks))))]
    costs = [0] * len(shares)
    order = {id(chunk): i for i, chunk in enumerate(chunks)}
    for chunk in sorted(chunks, key=lambda c: c.cost, reverse=True):
        cheapest = costs.index(min(costs))
        shares[cheapest].append(chunk)
        costs[cheapest] += chunk.cost
    return [sorted(share, key=lambda c: order[id(c)]) for share in shares if share]


def commit(
    root: Store,
    resolution: Resolution,
    run_id: str,
    previous: Journal | None,
    write_groups: WriteGroups,
    parallelism: int = 1,
) -> dict[str, int]:
    """Write a resolved run: journal, data tables (in `parallelism` groups of steps through `write_groups`,
    e.g. retried tasks), ledger, journal off. Returns the rows written per table.
    """
    rows = dict.fromkeys(TABLES, 0)
    if resolution.writes_data:
        write_journal(root, resolution.journal(run_id, previous))
        for stats in write_groups(share_out(plan_chunks(root, resolution, run_id), parallelism)):
            rows[stats.table] += stats.rows_written
    if resolution.ledger_changed:
        write_state(root, "ledger", validate_state("ledger", resolution.ledger))
    if resolution.writes_data or previous is not None:
        clear_journal(root)
    return rows
