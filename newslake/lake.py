"""The lake layout, owned here and nowhere else.

    DATA/<table>/publication_date=YYYY-MM-DD/part-0.parquet     data tables (zstd; the key only in the path;
                                                                a large day's rows in row groups by id range)
    DATA/ledger/part-0.parquet, DATA/runs/part-0.parquet        the run's own record (not partitioned)
    DATA/_journal.json                                          present only while a run writes
    DATA/_staging/<run_id>/<table>/b<batch>.parquet             a run's extracted rows, before they are merged
                                                                (sorted by day, in row groups of 8192 rows)
    DATA/_staging/<run_id>/_winners.parquet                     (article_id, batch) of the rows it merges
    DATA/.lock                                                  held by the run writing DATA

DATA is a local directory or an object-store URI (`newslake.storage`). Every file is replaced atomically
(local: temporary file, fsync, rename; object store: one PUT), so a reader, or a run killed at any
instant, sees the old file or the new one, never half of one.

A run commits in this order: journal (what it is about to touch) -> data partitions -> ledger -> journal
removed. The ledger is written last, so it never claims what the data files do not hold; a run killed
before that leaves a journal, and the next run reconciles the partitions it names with the ledger
(`reconcile_partition`) and processes its seeds again, converging to what an uninterrupted run gives.
"""

import contextlib
import functools
import io
import itertools
import json
import math
import tempfile
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from newslake.storage import (
    Locked,
    Store,
    StoreError,
    each,
    lake_parquet_options,
    open_store,
    read_parquet,
    write_arrow_parquet,
    write_parquet,
)
from schemas.tables import PARTITION_KEY, TABLES, file_schema, polars_schema

PART_FILE = "part-0.parquet"
JOURNAL_FILE = "_journal.json"
# The rows a new write replaces: an article's rows are replaced as a whole, a reject by its seed file.
REPLACE_KEY = dict.fromkeys(TABLES, "article_id") | {"rejects": "seed_file"}
# Sort order inside a file: stable, so that the same data gives the same bytes.
SORT_KEY = {
    "articles": ["article_id"],
    "paragraphs": ["article_id", "position"],
    "headings": ["article_id", "position"],
    "images": ["article_id", "position"],
    "links": ["article_id", "position", "href"],
    "rejects": ["seed_file"],
}

# The columns a day's file dictionary-encodes: those whose values repeat across its rows. Every column of the
# element tables and rejects (an article's or a run's rows share ids, sections, domains), and only the
# few-valued ones of `articles` (a row an article: its id, URL, title, seed are each once in a file). Written
# by pyarrow from one Arrow copy of a step's rows, sliced by day: the commit's small files cost 0.25-1.04 ms
# each against 0.42-1.44 ms with polars' writer a day (medians of 7, the 289 files of a 1500-seed lake).
DICTIONARY_COLUMNS: dict[str, bool | list[str]] = dict.fromkeys(TABLES, True) | {
    "articles": ["domain", "language", "date_source", "date_precision"]
}

Location = Store | Path | str
# A merge holds about this much of one day of a table at once (as polars counts it; a merge makes a few
# copies). A larger day (an archive's crawl day: pages without a date fall back to it) is merged a range of
# keys at a time and streamed into its one file as row groups: the same rows in the same order, in memory
# that does not grow with the day. The budget is in bytes, not rows: a row of paragraphs weighs three of links.
MERGE_BYTES = 16 * 2**20
# A day's file smaller than this (compressed; ~15 000 rows of links) is merged whole without weighing its
# rows: the size comes with the stat that asks whether the file exists, weighing reads the file.
SMALL_FILE_BYTES = 256 * 1024
# One day merged a range of keys at a time in a process at once (an object store merges a step's days on
# threads, `storage.each`; the others hold a small day each, `MERGE_BYTES` at most).
_LARGE_MERGE = threading.Lock()
# Article ids are 16 hex digits of a hash, so ranges cut at two-digit prefixes hold about even shares of a
# day; the first range starts at "" so that every key (a seed file name too) falls in exactly one range.
_PREFIXES = [f"{i:02x}" for i in range(256)]


class LakeError(OSError):
    """The lake cannot be read or written as its layout says."""


class LakeLocked(LakeError):
    """Another run holds the lake's lock."""


@dataclass(frozen=True)
class WriteStats:
    table: str
    partitions: int
    rows_written: int


def partition_dir(table: str, day: date) -> str:
    """The directory (key prefix) of one partition. `day` is a validated date, so no value can escape the lake."""
    return f"{table}/{PARTITION_KEY}={day.isoformat()}"


def partition_key(table: str, day: date) -> str:
    """The key of one partition's file."""
    return f"{partition_dir(table, day)}/{PART_FILE}"


def read_partition(store: Store, table: str, day: date) -> pl.DataFrame:
    key = partition_key(table, day)
    return read_parquet(store, key, file_schema(table)) if store.exists(key) else file_schema(table).to_frame()


def write_table(
    location: Location,
    table: str,
    frame: pl.DataFrame,
    purge_keys: Iterable[str] = (),
    purge_days: Iterable[date] = (),
) -> WriteStats:
    """Merge `frame` into the table's partitions: rows with its keys, or with `purge_keys`, go; its rows come in.

    Keys are removed from the partitions the new rows go to and from `purge_days` (where the ledger says the
    keys' earlier rows are: an article whose date moved, a seed no longer rejected). Only those partitions
    are rewritten; one left without rows loses its file.
    """
    store = open_store(location)
    key = REPLACE_KEY[table]
    # One select and one stable sort of the whole frame, not one of each per day: a polars operation costs
    # ~0.3 ms whatever its size, and a commit writes hundreds of small partitions (five operations a day
    # were two thirds of writing `articles`). Sorted by day first, each day's rows are a run: the same rows in
    # the same order as the day's rows sorted alone (the sort is stable), so the files are the same.
    ordered = frame.select([*file_schema(table), PARTITION_KEY]).sort(
        [PARTITION_KEY, *SORT_KEY[table]], maintain_order=True
    )
    runs: dict[date, tuple[int, int]] = {}  # a day's first row and its number of rows
    start = 0
    for day, rows in ordered.group_by(PARTITION_KEY, maintain_order=True).len().iter_rows():
        if not isinstance(day, date):
            raise LakeError(f"{table}: partition value {day!r} is not a date")
        runs[day] = (start, rows)
        start += rows
    # The rows in Arrow at once (a conversion costs ~0.15 ms whatever its size), for the days new to the lake.
    arrow = functools.cache(lambda: ordered.drop(PARTITION_KEY).to_arrow())

    def fresh_rows(day: date) -> pl.DataFrame | None:
        run = runs.get(day)
        return None if run is None else ordered.slice(*run).drop(PARTITION_KEY)

    # The keys whose old rows go, only once a day has a file to take them from: a day new to the lake (every
    # day of a first run, most of an archive's) needs none, and gathering them (the rows' keys and the run's
    # purge list, all its article ids: ~99 000 at 100 000 seeds, made a Series and deduplicated) cost a step
    # 4-9 ms: 13% of the workers' commit of 100 000 seeds over ~6400 days.
    replaced = functools.cache(lambda: _replaced(frame[key], purge_keys))

    def merge_day(day: date) -> None:
        path = partition_key(table, day)
        if (size := store.size(path)) is None:  # a new day: this run's rows (a purge day without a file: nothing)
            if day in runs:
                write_arrow_parquet(store, path, arrow().slice(*runs[day]), DICTIONARY_COLUMNS[table])
            return
        fresh = fresh_rows(day)
        if (
            size > SMALL_FILE_BYTES
            and (weight := _weigh(store, path)[1] + (0 if fresh is None else int(fresh.estimated_size()))) > MERGE_BYTES
        ):
            bounds = key_ranges(weight)
            parts = _split(fresh, key, bounds) if fresh is not None else {}
            with _LARGE_MERGE:  # memory as for one such merge, also when an object store merges days at once
                _merge_in_ranges(store, table, day, bounds, _held(parts, table), _without(key, replaced()))
            return
        kept = read_parquet(store, path, file_schema(table)).filter(~pl.col(key).is_in(replaced()))
        merged = kept if fresh is None else pl.concat([kept, fresh]) if kept.height else fresh
        _replace_or_remove(store, table, day, merged.sort(SORT_KEY[table], maintain_order=True))

    days = set(runs) | set(purge_days)
    each(store, merge_day, sorted(days))  # each day its own file: an object store's requests overlap
    return WriteStats(table, len(days), frame.height)


def _replaced(keys: pl.Series, purge_keys: Iterable[str]) -> pl.Series:
    """The keys whose old rows go, imploded for `is_in`."""
    return pl.concat([keys, pl.Series(keys.name, list(purge_keys), dtype=pl.String)]).unique().implode()


def _held(parts: dict[int, pl.DataFrame], table: str) -> Callable[[int], pl.DataFrame]:
    empty = file_schema(table).to_frame()
    return lambda index: parts.get(index, empty)


def _without(key: str, replaced: pl.Series) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda rows: rows.filter(~pl.col(key).is_in(replaced))


def _only(key: str, claimed: pl.Series) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda rows: rows.filter(pl.col(key).is_in(claimed))


def merge_large_day(
    location: Location,
    table: str,
    day: date,
    batches: Iterable[pl.DataFrame],
    rows: int,
    purge_keys: Iterable[str] = (),
) -> WriteStats:
    """`write_table` for one day whose new rows are too many to hold at once: `batches` yields them a batch
    at a time, read once and split by key range into scratch files on local disk; `rows` is about how many
    it yields (at most), which with the first batch's weight a row sizes the ranges. The file gets the rows
    `write_table` would give it, in the same order.

    (It used to read the batches twice, to weigh and key them first: each read of a staged batch is a query,
    and at 100 000 seeds a day's step read 134 batches.)"""
    store = open_store(location)
    key = REPLACE_KEY[table]
    path = partition_key(table, day)
    frames = iter(batches)
    held: list[pl.DataFrame] = []  # the batches up to the first with rows, which gives the weight of a row
    for frame in frames:
        held.append(frame)
        if frame.height:
            break
    sample = held[-1] if held else None
    per_row = sample.estimated_size() / sample.height if sample is not None and sample.height else 0.0
    weight = int(per_row * rows) + (_weigh(store, path)[1] if store.exists(path) else 0)
    bounds = key_ranges(weight)
    columns = list(file_schema(table))
    keys: list[pl.Series] = []
    heights: list[int] = []

    def keyed(source: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        for frame in source:
            keys.append(frame[key].unique())
            heights.append(frame.height)
            yield frame.select(columns)

    with tempfile.TemporaryDirectory(prefix="newslake-merge-") as scratch:
        ranged = (
            (index, part.to_arrow())
            for frame in keyed(itertools.chain(held, frames))
            for index, part in _split(frame, key, bounds).items()
        )
        spilled = spill(ranged, Path(scratch) / "ranges.arrow")  # a range is read back alone
        new_keys = pl.concat(keys) if keys else pl.Series(key, [], dtype=pl.String)
        replaced = _replaced(new_keys, purge_keys)
        empty = file_schema(table).to_frame()

        def part(index: int) -> pl.DataFrame:
            return next(spilled.rows(index, file_schema(table)), empty)

        _merge_in_ranges(store, table, day, bounds, part, _without(key, replaced))
    return WriteStats(table, 1, sum(heights))


def key_ranges(weight: int) -> list[str]:
    """Lower bounds of the key ranges a day weighing `weight` bytes is merged in, about `MERGE_BYTES` each
    (at most 256 ranges): `[""]` is one range, all keys."""
    parts = min(len(_PREFIXES), max(1, math.ceil(weight / MERGE_BYTES)))
    return ["", *(_PREFIXES[i * len(_PREFIXES) // parts] for i in range(1, parts))]


def _range_of(keys: pl.Series, bounds: list[str]) -> pl.Series:
    return pl.Series(bounds, dtype=pl.String).search_sorted(keys, side="right") - 1


def _split(frame: pl.DataFrame, key: str, bounds: list[str]) -> dict[int, pl.DataFrame]:
    """Rows by key range (their order kept)."""
    ranged = frame.with_columns(_range_of(frame[key], bounds).alias("_range"))
    parts = ranged.partition_by("_range", as_dict=True, maintain_order=True, include_key=False)
    return {int(index): part for (index,), part in parts.items()}


class Spilled:
    """Rows set aside on local scratch under small integer indexes, in one Arrow IPC file: each part a record
    batch (or a few), an index's parts read back alone (the file's footer locates every record batch).
    Arrow IPC, not Parquet: scratch is read once, and encoding it as Parquet cost 1.4 s of 4 for a day of
    9000 articles."""

    def __init__(self, path: Path, parts: dict[int, list[int]]) -> None:
        self.path = path
        self.parts = parts  # index -> its record batches, in the order they were spilled

    def rows(self, index: int, schema: pl.Schema, frame_rows: int | None = None) -> Iterator[pl.DataFrame]:
        """The index's rows in the order spilled: all in one frame, or in frames that reach `frame_rows` rows
        (the last excepted); nothing when none were spilled."""
        records = self.parts.get(index, [])
        if not records:
            return
        with pa.memory_map(str(self.path)) as source:  # the record batches read in place
            reader = pa.ipc.open_file(source)
            group: list[pa.RecordBatch] = []
            held = 0
            for number in records:
                group.append(reader.get_batch(number))
                held += group[-1].num_rows
                if frame_rows is not None and held >= frame_rows:
                    yield _frame_of(group, schema)
                    group, held = [], 0
            if group:
                yield _frame_of(group, schema)


def _frame_of(records: list[pa.RecordBatch], schema: pl.Schema) -> pl.DataFrame:
    frame = pl.from_arrow(pa.Table.from_batches(records), rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    rows = frame.cast(schema)
    # What the conversion allocated in Arrow's memory pool stays in its allocator's cache once freed: a
    # 9000-article day's merge peaked at 389-414 MiB (3000: 345-390) without this, 340 (336) with it, as
    # when polars read the scratch itself.
    pa.default_memory_pool().release_unused()
    return rows


def spill(parts: Iterable[tuple[int, pa.Table]], path: Path) -> Spilled:
    """Write (index, rows) parts to the scratch file `path`, in the order they come (empty ones skipped)."""
    written: dict[int, list[int]] = {}
    count = 0
    writer: pa.ipc.RecordBatchFileWriter | None = None
    try:
        for index, part in parts:
            for record in part.to_batches():
                if not record.num_rows:
                    continue
                if writer is None:
                    writer = pa.ipc.new_file(str(path), part.schema)
                writer.write_batch(record)
                written.setdefault(index, []).append(count)
                count += 1
    finally:
        if writer is not None:
            writer.close()
    return Spilled(path, written)


def _weigh(store: Store, key: str) -> tuple[int, int]:
    """A Parquet file's rows (from its footer) and what they weigh in memory, estimated from its first row
    group (the footer's sizes are of encoded data: a tenth of it for a column of repeated strings)."""
    with store.open_input(key) as handle:
        file = pq.ParquetFile(handle)
        rows = int(file.metadata.num_rows)
        if not file.num_row_groups:
            return rows, 0
        sample = pl.from_arrow(file.read_row_group(0))
        assert isinstance(sample, pl.DataFrame)
    return rows, int(sample.estimated_size()) * rows // max(1, sample.height)


def _row_groups(handle: pa.NativeFile, schema: pl.Schema) -> Iterator[pl.DataFrame]:
    """A Parquet file's rows, a row group at a time (a group weighs about `MERGE_BYTES` at most when the file
    is larger: such files are written by `_merge_in_ranges`, a group per range)."""
    file = pq.ParquetFile(handle)
    for index in range(file.num_row_groups):
        rows = pl.from_arrow(file.read_row_group(index))
        assert isinstance(rows, pl.DataFrame)
        yield rows.select(list(schema)).cast(schema)


def _take_below(
    source: Iterator[pl.DataFrame], carry: pl.DataFrame, key: str, high: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From rows sorted by `key` (`carry`, then `source`): those below `high` (all for None), and the rest
    of the row group they stopped in."""
    taken = []
    while True:
        cut = carry.height if high is None else int(carry[key].search_sorted(high, side="left"))
        taken.append(carry.slice(0, cut))
        if cut < carry.height:
            return pl.concat(taken), carry.slice(cut)
        following = next(source, None)
        if following is None:
            return pl.concat(taken), carry.clear()
        carry = following


def _merge_in_ranges(
    store: Store,
    table: str,
    day: date,
    bounds: list[str],
    fresh: Callable[[int], pl.DataFrame],
    kept: Callable[[pl.DataFrame], pl.DataFrame],
) -> int:
    """Rewrite a day's file one key range at a time: the old rows of the range that `kept` keeps, and the
    range's `fresh` rows, sorted, become one row group of the new file. The file is streamed to a scratch
    path and replaces the old one only when complete (or the day's file goes, if no row is left). Returns
    the rows written."""
    key, schema, path = REPLACE_KEY[table], file_schema(table), partition_key(table, day)
    written = 0
    with contextlib.ExitStack() as stack:
        # Exit order (last entered first): the writer closes the file, then it replaces the old one, then
        # the old one's handle closes.
        old = _row_groups(stack.enter_context(store.open_input(path)), schema) if store.exists(path) else iter(())
        target = stack.enter_context(store.writing_file(path))
        writer: pq.ParquetWriter | None = None
        carry = schema.to_frame()
        for index in range(len(bounds)):
            high = bounds[index + 1] if index + 1 < len(bounds) else None
            below, carry = _take_below(old, carry, key, high)
            rows = pl.concat([kept(below), fresh(index)]).sort(SORT_KEY[table], maintain_order=True)
            if not rows.height:
                continue
            arrow = rows.to_arrow()
            if writer is None:
                options = lake_parquet_options(DICTIONARY_COLUMNS[table])
                writer = stack.enter_context(pq.ParquetWriter(target, arrow.schema, **options))
            writer.write_table(arrow)
            written += rows.height
    if not written:
        _remove_day(store, table, day)
    return written


def _replace_or_remove(store: Store, table: str, day: date, frame: pl.DataFrame) -> None:
    """Write a day's file from rows already in the table's sort order, or remove it when there are none."""
    key = partition_key(table, day)
    if frame.height:
        write_arrow_parquet(store, key, frame.to_arrow(), DICTIONARY_COLUMNS[table])
    else:
        _remove_day(store, table, day)


def _remove_day(store: Store, table: str, day: date) -> None:
    """A day left without rows loses its file and its directory (a reader listing the partitions would see an
    empty one). Only this merge step writes into that directory, so nothing can be put in it meanwhile."""
    store.delete(partition_key(table, day))
    store.remove_empty_dirs(partition_dir(table, day))


def reconcile_partition(location: Location, table: str, day: date, keep: pl.Series) -> bool:
    """Keep only the rows whose key is in `keep` (what the ledger claims for this partition).

    Used after a killed run: removes rows that run wrote but never recorded. Returns whether it changed.
    """
    store = open_store(location)
    path = partition_key(table, day)
    if (size := store.size(path)) is None:
        return False
    if size > SMALL_FILE_BYTES and (weighed := _weigh(store, path))[1] > MERGE_BYTES:
        rows, weight = weighed
        # Streamed a range at a time (rewritten even when every row is claimed: this follows a crash only).
        claimed = _only(REPLACE_KEY[table], keep.implode())
        return _merge_in_ranges(store, table, day, key_ranges(weight), _held({}, table), claimed) != rows
    current = read_partition(store, table, day)
    kept = current.filter(pl.col(REPLACE_KEY[table]).is_in(keep.implode()))
    if kept.height == current.height:
        return False
    _replace_or_remove(store, table, day, kept.sort(SORT_KEY[table], maintain_order=True))
    return True


# --- staging: batch tasks write their rows here, so that no process holds a whole run's rows ----------
STAGING = "_staging"


def staging_key(run_id: str, table: str, batch: int) -> str:
    return f"{STAGING}/{run_id}/{table}/b{batch:06d}.parquet"


# A staged batch's rows of a table are sorted by day and written in row groups of this many rows, and the
# batch reports where each day starts (`StagedRows`): a merge step reads the row groups holding its days, not
# the whole file. Every merge step used to read every batch's whole file and keep its days: at 100 000
# seeds (134 batches, 355 steps) the commit took 96 s of a 240 s run (the extraction 130 s); now 40 s of
# 186. A day's rows from a 750-seed batch's links: 2.1 ms read whole and filtered, 0.6 ms as row groups of
# 8192 rows (4096: 0.5 ms, but the batch writes its links 5 ms slower; one group, as before: 1.5 ms). A step
# reads every batch that has rows of its days, unless its worker reads each batch once for a window of its
# steps (`commit.write_group`).
STAGING_ROW_GROUP = 8192


@dataclass(frozen=True)
class StagedRows:
    """Where one batch's rows of a table wait: a staging file sorted by day, and the first row of each day."""

    key: str
    days: tuple[date, ...]  # ascending
    starts: tuple[int, ...]  # the first row of each day; the last day runs to `rows`
    rows: int

    def span(self, first: date, last: date) -> tuple[int, int]:
        """The rows `[start, stop)` of the days from `first` to `last`, both included (empty: start == stop)."""
        low, high = bisect_left(self.days, first), bisect_right(self.days, last)
        start = self.starts[low] if low < len(self.days) else self.rows
        stop = self.starts[high] if high < len(self.days) else self.rows
        return start, max(start, stop)


def stage_rows(location: Location, run_id: str, table: str, batch: int, frame: pl.DataFrame) -> StagedRows:
    """Write one batch's rows of a table (partition key included) to the run's staging area, sorted by day."""
    key = staging_key(run_id, table, batch)
    ordered = frame.sort(PARTITION_KEY)
    runs = ordered.group_by(PARTITION_KEY, maintain_order=True).len()
    starts = tuple(itertools.accumulate(runs["len"].to_list(), initial=0))[:-1]
    write_parquet(open_store(location), key, ordered, row_group_rows=STAGING_ROW_GROUP, staged=True)
    return StagedRows(key, tuple(runs[PARTITION_KEY].to_list()), starts, ordered.height)


WINNERS_SCHEMA = pl.Schema({"article_id": pl.String, "_batch": pl.Int32})


def stage_winners(location: Location, run_id: str, winners: pl.DataFrame) -> str:
    """Write which batch's rows of each article a run merges, for the merge steps to read wherever they run."""
    key = f"{STAGING}/{run_id}/_winners.parquet"
    write_parquet(open_store(location), key, winners.select(list(WINNERS_SCHEMA)), staged=True)
    return key


def read_winners(location: Location, key: str) -> pl.DataFrame:
    return read_parquet(open_store(location), key, WINNERS_SCHEMA)


def read_staged(data: bytes, table: str, span: tuple[int, int]) -> pl.DataFrame:
    """The rows `[start, stop)` of a staging file (its bytes: the caller reads them, ahead of this where the
    store is an object store), decoding only the row groups that hold them: polars pushes the slice down to
    the file's row groups."""
    start, stop = span
    rows = pl.scan_parquet(io.BytesIO(data), schema=polars_schema(table))
    return rows.slice(start, max(0, stop - start)).collect()


def clear_staging(location: Location, run_id: str | None = None) -> None:
    """Remove a run's staging area (all of it, left by dead runs too, when `run_id` is None)."""
    store = open_store(location)
    prefix = f"{STAGING}/{run_id}" if run_id else STAGING
    for info in store.list_files(prefix):
        store.delete(info.key)
    store.remove_empty_dirs(STAGING)  # a local lake would keep a tree of empty directories per run


# --- the run's own record ---------------------------------------------------------------------------------
def state_key(table: str) -> str:
    return f"{table}/{PART_FILE}"


def read_state(location: Location, table: str) -> pl.DataFrame:
    """The ledger or runs table, empty (with its schema) before the first run."""
    store = open_store(location)
    schema = polars_schema(table)
    key = state_key(table)
    return read_parquet(store, key, schema) if store.exists(key) else schema.to_frame()


def write_state(location: Location, table: str, frame: pl.DataFrame) -> None:
    write_parquet(open_store(location), state_key(table), frame.select(list(polars_schema(table))))


@dataclass(frozen=True)
class Journal:
    """What a run is about to touch; in DATA only between its first data write and its ledger write."""

    run_id: str
    seed_files: list[str]
    days: dict[str, list[date]] = field(default_factory=dict)

    def to_json(self) -> str:
        days = {table: sorted(d.isoformat() for d in set(values)) for table, values in self.days.items()}
        return json.dumps({"run_id": self.run_id, "seed_files": sorted(self.seed_files), "days": days})

    @classmethod
    def from_json(cls, text: str) -> "Journal":
        raw = json.loads(text)
        days = {str(t): [date.fromisoformat(str(d)) for d in values] for t, values in raw["days"].items()}
        return cls(str(raw["run_id"]), [str(f) for f in raw["seed_files"]], days)


def write_journal(location: Location, journal: Journal) -> None:
    open_store(location).write_atomic(JOURNAL_FILE, journal.to_json().encode())


def read_journal(location: Location) -> Journal | None:
    """The journal a killed run left, or None. An unreadable one is an error: it must not be ignored."""
    store = open_store(location)
    if not store.exists(JOURNAL_FILE):
        return None
    try:
        return Journal.from_json(store.read_bytes(JOURNAL_FILE).decode("utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        raise LakeError(
            f"the run journal {store.uri}/{JOURNAL_FILE} is unreadable ({exc}); remove it after checking DATA"
        ) from exc


def remove_temporaries(location: Location, journal: Journal | None) -> int:
    """Remove what writes killed before their rename left (dotfiles ending `.tmp`, which no reader's
    `*.parquet` glob sees, but which hold up to a day's rows on disk) where a run writes: the ledger and
    runs always, and the partitions a killed run's journal names. Call it holding the lock."""
    store = open_store(location)
    prefixes = ["ledger", "runs"]  # the directories state_key puts their files in
    if journal is not None:
        prefixes += [partition_dir(t, day) for t, days in journal.days.items() if t in TABLES for day in days]
    return sum(store.remove_temporaries(prefix) for prefix in prefixes)


def clear_journal(location: Location) -> None:
    open_store(location).delete(JOURNAL_FILE)


@contextlib.contextmanager
def lake_lock(location: Location, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold DATA's lock for a run; wait up to `wait_seconds` for another run, then raise `LakeLocked`."""
    try:
        with open_store(location).lock(wait_seconds):
            yield
    except Locked as exc:
        raise LakeLocked(str(exc)) from None


def check_writable(location: Location) -> None:
    """Fail early, with one clear sentence, when DATA cannot be created or written."""
    try:
        open_store(location).check_writable()
    except StoreError as exc:
        raise LakeError(f"DATA: {exc}") from exc
