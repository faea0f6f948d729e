"""The I/O of a run's bookkeeping: recovering from a killed run, and committing a resolved run in order.

Order of a commit (see `newslake.lake`): journal -> data partitions -> ledger -> journal removed. Rows come
from the staging area a chunk of partitions at a time (a day larger than a chunk, a key range at a time), so
memory grows neither with the run's size nor with its largest day.

The data partitions are written as `ChunkWrite`s: small, picklable descriptions of one merge step (a table,
a group of days, where the rows wait). Steps touch disjoint files, so a flow runs them in parallel on its
workers, each reading its own rows; all of them end before the ledger is written. A worker runs its group of
steps with `write_group`: its files synced together, and, where its steps would read the same staged
batches many times over, each batch read once and spilled to local scratch step by step.
"""

import functools
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa

from newslake.lake import (
    Journal,
    Location,
    Spilled,
    StagedRows,
    WriteStats,
    clear_journal,
    merge_large_day,
    read_staged,
    read_winners,
    reconcile_partition,
    spill,
    stage_winners,
    write_journal,
    write_state,
    write_table,
)
from newslake.ledger import ARTICLE_TABLES, Resolution, partition_claims
from newslake.storage import Store, ahead, open_store
from schemas.tables import PARTITION_KEY, STATE_TABLES, TABLES, polars_schema
from schemas.validate import validated

# How many articles' rows one merge step holds in memory (about 30 paragraphs and 35 links each).
CHUNK_ARTICLES = 1000
# What a merge step costs, to share the steps out evenly: rows per article of each table on the corpus
# (rounded), and a file's fixed cost in rows (measured: ~1 ms a partition file, ~1 µs a row).
_ROWS_PER_ARTICLE = {"articles": 1, "paragraphs": 20, "headings": 3, "images": 3, "links": 110, "rejects": 1}
_ROWS_PER_FILE = 1000
# A file of a day the lake holds is read, then written: it costs about this many new files more.
_READ_FILE_COST = 2
# A run of a group's steps that read each staged batch once (`write_group`) holds this many staged rows at
# most, spilled to local scratch (~150 bytes a row of links as Arrow IPC: ~300 MB).
SPILL_ROWS = 2_000_000
# ... when each staged batch would be read by this many of its steps at least. Reading a batch's rows for a
# run of steps and spilling them cost as much as ~5 reads of a step's span (links, 20 batches of 750 seeds:
# 1.54 s spilled, 1.56 s read a step at a time at ~5; 2.5 against 6.0 s at ~18).
SPILL_SHARED_READS = 8
# A large day's spilled rows reach its merge in frames of about this many rows (~10 MB of links).
STREAMED_ROWS = 65536


@dataclass(frozen=True)
class ChunkWrite:
    """One merge step: this run's rows of `table` for `days`, read from staging and merged into the lake."""

    table: str
    days: list[date]
    staged: list[tuple[int, str, int, int]]  # (batch, staging key, first row, row after the last) of its days
    winners: str | None  # staging key of the (article_id, _batch) winners: the article tables' rows to take
    purge_keys: list[str]
    purge_days: list[date]
    articles: int  # this run's articles (or rejects) in `days`: how many rows the step gathers
    held: int = 0  # articles (or rejects) the lake holds in `days` from earlier runs: read, written again
    held_days: int = 0  # of `days`, those holding any: their files are read before they are written

    @property
    def cost(self) -> int:
        # An incremental run into an archive rewrites days that hold far more than it adds. 1500 new seeds over
        # ~1000 of a 100 000-seed lake's 6 447 days, in-process: a file read and rewritten cost 1.2-1.9 ms
        # (~3 new files' worth), a row of links ~0.5 us; counting new files and rows alone, the two workers'
        # shares took 7.6 / 4.3 s in the flow (3.7 / 7.3 s in-process at equal cost).
        rows = (self.articles + self.held) * _ROWS_PER_ARTICLE.get(self.table, 1)
        return (len(self.days) + _READ_FILE_COST * self.held_days) * _ROWS_PER_FILE + rows


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
    return validated(STATE_TABLES[table], frame)


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


Winners = dict[int, pl.DataFrame]  # the article ids of a run whose rows are merged, by staged batch
# The winners of the staging file a key names (None: a table that takes every staged row, `rejects`)
WinnersOf = Callable[[str | None], Winners | None]


def _winners_by_batch(store: Store, key: str | None) -> Winners | None:
    """The run's winners (the article ids whose rows are merged) split by batch, or None for a table that
    takes every staged row (`rejects`)."""
    if key is None:
        return None
    split = read_winners(store, key).partition_by("_batch", as_dict=True, include_key=False)
    return {int(batch): frame for (batch,), frame in split.items()}


def _winners_once(store: Store) -> WinnersOf:
    """`_winners_by_batch` for the steps of one group: read and split once, not once a step (each step read
    the whole run's winners: at 100 000 seeds ~100 000 ids in ~134 batches, and from an object store a GET)."""

    @functools.cache
    def winners_of(key: str | None) -> Winners | None:
        return _winners_by_batch(store, key)

    return winners_of


_NO_WINNERS = pl.DataFrame(schema={"article_id": pl.String})


def _kept(rows: pl.DataFrame, days: pl.Series, batch: int, winners: Winners | None) -> pl.DataFrame:
    """Of one staged batch's rows in the span of a step's days, those it merges (their order kept)."""
    # The span runs from the step's first day to its last: the filter drops the rows of a day in between
    # that is not the step's (rows of an article that lost its URL to a newer crawl, on a day of its own).
    # Filtered and joined after the read: in the query, a batch's read took 0.85 (filter) and 1.5 ms (and
    # join) against 0.7.
    rows = rows.filter(pl.col(PARTITION_KEY).is_in(days.implode()))
    if winners is None:
        return rows
    return rows.join(winners.get(batch, _NO_WINNERS), on="article_id", how="semi", maintain_order="left")


def _staged_rows(store: Store, chunk: ChunkWrite, winners_of: WinnersOf | None = None) -> Iterator[pl.DataFrame]:
    """This run's rows of the chunk's table and days, a staged batch at a time (winners only); the run's
    winners are split by batch once (by `winners_of`, for a group's steps), not filtered for each batch."""
    winners = (winners_of or _winners_once(store))(chunk.winners)
    days = pl.Series(PARTITION_KEY, chunk.days, dtype=pl.Date)
    # From an object store, the next batches' files are fetched while this one's rows are decoded (`ahead`: up
    # to 8 compressed files held besides). 12 batches of 50 seeds into S3 with 20 ms a request: the commit took
    # 7.2-7.5 s instead of 9.0-9.6.
    files = ahead(store, store.read_bytes, [key for _, key, _, _ in chunk.staged])
    for (batch, _, start, stop), data in zip(chunk.staged, files, strict=True):
        yield _kept(read_staged(data, chunk.table, (start, stop)), days, batch, winners)


def write_chunk(
    location: Location,
    chunk: ChunkWrite,
    rows: Iterable[pl.DataFrame] | None = None,
    winners_of: WinnersOf | None = None,
) -> WriteStats:
    """One merge step (idempotent: run again, it writes the same files), its rows read from staging (its
    winners from `winners_of`, when a group's steps share them), or given as `rows` (what `_staged_rows` would
    yield, as `write_group` spills them).

    A step is one day when that day alone has more than `CHUNK_ARTICLES` new articles; its rows are then
    not gathered in memory but streamed from staging into the day's file (`merge_large_day`).
    """
    store = open_store(location)  # one store: an object store's client is not free
    frames = _staged_rows(store, chunk, winners_of) if rows is None else rows
    if _large(chunk):
        spans = sum(stop - start for _, _, start, stop in chunk.staged)  # the winners' rows and the others'
        return merge_large_day(store, chunk.table, chunk.days[0], frames, spans, chunk.purge_keys)
    gathered = list(frames)
    merged = pl.concat(gathered) if gathered else polars_schema(chunk.table).to_frame()
    return write_table(store, chunk.table, merged, chunk.purge_keys, chunk.purge_days)


def _large(chunk: ChunkWrite) -> bool:
    return len(chunk.days) == 1 and chunk.articles > CHUNK_ARTICLES


def step_windows(chunks: list[ChunkWrite], rows: int) -> Iterator[list[ChunkWrite]]:
    """Runs of consecutive steps of one table whose staged spans hold `rows` rows at most (a larger step alone)."""
    window: list[ChunkWrite] = []
    held = 0
    for chunk in chunks:
        size = sum(stop - start for _, _, start, stop in chunk.staged)
        if window and (chunk.table != window[0].table or held + size > rows):
            yield window
            window, held = [], 0
        window.append(chunk)
        held += size
    if window:
        yield window


def _shared_reads(window: list[ChunkWrite]) -> float:
    """How many of the window's steps read each staged batch, on average."""
    batches = {batch for chunk in window for batch, *_ in chunk.staged}
    return sum(len(chunk.staged) for chunk in window) / max(1, len(batches))


def spill_steps(store: Store, window: list[ChunkWrite], path: Path, winners_of: WinnersOf | None = None) -> Spilled:
    """Read each staged batch of the window's steps once (the span from its first step's rows to its last
    step's) and spill each step's share of it (`_kept`), indexed by the step's place in the window."""
    spans: dict[tuple[int, str], list[tuple[int, int, int]]] = {}  # (step, start, stop) in each batch
    for index, chunk in enumerate(window):
        for batch, key, start, stop in chunk.staged:
            spans.setdefault((batch, key), []).append((index, start, stop))
    winners = (winners_of or _winners_once(store))(window[0].winners)
    days = pl.Series(PARTITION_KEY, sorted({day for chunk in window for day in chunk.days}), dtype=pl.Date)

    def parts() -> Iterator[tuple[int, pa.Table]]:
        ordered = sorted(spans.items())  # batch order, as `_staged_rows` reads them
        files = ahead(store, store.read_bytes, [key for (_, key), _ in ordered])
        for ((batch, _), steps), data in zip(ordered, files, strict=True):
            span = (min(start for _, start, _ in steps), max(stop for _, _, stop in steps))
            rows = _kept(read_staged(data, window[0].table, span), days, batch, winners)
            # Staged rows are sorted by day, and filters keep their order: each step's rows are the run of
            # its days, found for all its steps at once (a `search_sorted` is a query: ~50 us a call), and
            # sliced from one Arrow table (a frame's `to_arrow` costs ~0.2 ms).
            held = rows[PARTITION_KEY]
            firsts = pl.Series([window[index].days[0] for index, _, _ in steps], dtype=pl.Date)
            lasts = pl.Series([window[index].days[-1] for index, _, _ in steps], dtype=pl.Date)
            starts = held.search_sorted(firsts, "left").to_list()
            stops = held.search_sorted(lasts, "right").to_list()
            arrow = rows.to_arrow()
            for (index, _, _), start, stop in zip(steps, starts, stops, strict=True):
                yield index, arrow.slice(start, stop - start)

    return spill(parts(), path)


def write_group(location: Location, chunks: list[ChunkWrite]) -> list[WriteStats]:
    """A group of merge steps (what one task runs), in order.

    Each step reads the staged batches that hold rows of its days (~1.3 ms a read of links, ~2 ms with the
    filters): a run of many batches over many days (an archive, its seeds in no date order) made steps x
    batches reads, 40 s of a 100 000-seed run's commit. Where a run of a table's steps (`SPILL_ROWS` staged
    rows at most) would read each batch `SPILL_SHARED_READS` times or more, each batch is read once for the
    run and its rows spilled step by step to local scratch (`spill_steps`), where each step reads its own:
    the same rows in the same order, so the same files.
    """
    store = open_store(location)
    with store.synced_together():  # the group's files synced at once, not two fsyncs a file
        return list(_write_windows(store, chunks))


def _write_windows(store: Store, chunks: list[ChunkWrite]) -> Iterator[WriteStats]:
    winners_of = _winners_once(store)
    for window in step_windows(chunks, SPILL_ROWS):
        if _shared_reads(window) < SPILL_SHARED_READS:
            yield from (write_chunk(store, chunk, winners_of=winners_of) for chunk in window)
            continue
        with tempfile.TemporaryDirectory(prefix="newslake-steps-") as scratch:
            spilled = spill_steps(store, window, Path(scratch) / "steps.arrow", winners_of)
            schema = polars_schema(window[0].table)
            for index, chunk in enumerate(window):
                # A large day is streamed to its merge (~1 ms a frame whatever its size: a frame a staged
                # batch made 134 of a day at 100 000 seeds); a step's rows are otherwise gathered at once.
                frames = spilled.rows(index, schema, STREAMED_ROWS if _large(chunk) else None)
                yield write_chunk(store, chunk, frames)


def staged_spans(staged: list[tuple[int, StagedRows]], days: list[date]) -> list[tuple[int, str, int, int]]:
    """(batch, key, start, stop) of the staged rows from the first of `days` to the last, batches with none
    left out: a merge step reads only those (at 100 000 seeds every step read every batch's whole file)."""
    spans = ((batch, rows.key, *rows.span(days[0], days[-1])) for batch, rows in staged)
    return [(batch, key, start, stop) for batch, key, start, stop in spans if stop > start]


def plan_chunks(root: Store, resolution: Resolution, run_id: str) -> list[ChunkWrite]:
    """The merge steps of a run, table by table in day order; stages the winners for them to read."""
    winners = stage_winners(root, run_id, resolution.winners)
    weight = Counter(resolution.ledger.filter(pl.col("last_run_id") == run_id)["partition_date"].drop_nulls())
    earlier = resolution.ledger.filter(pl.col("last_run_id") != run_id)
    held = {
        status: Counter(earlier.filter(pl.col("status") == status)["partition_date"].drop_nulls())
        for status in ("article", "rejected")
    }
    chunks = []
    for table in TABLES:
        purge_days = set(resolution.purge_days[table])
        table_held = held["rejected" if table == "rejects" else "article"]
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
                    sum(table_held[day] for day in days),
                    sum(1 for day in days if table_held[day]),
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
