"""One batch of seeds to validated table frames: read the files, run the core, build columns, validate.

This is the unit a flow task runs. It never raises because of a seed: every seed of the batch ends as an
article (rows in the article tables), a row in `rejects`, superseded by a later crawl of its URL, or
unchanged (its content hash is the one the ledger knows); each gets a row in the batch's `outcomes`.
"""

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import polars as pl

from newslake.core import Article, SeedRejected, Stage, extract_article, parse_seed
from newslake.core._text import columns as field_lists
from newslake.core.model import Heading, Image, Link, Paragraph
from newslake.lake import StagedRows, stage_rows
from newslake.storage import Store, each, open_store
from schemas.tables import ELEMENT_TABLES, PARTITION_KEY, TABLES, polars_schema
from schemas.validate import validate_batch, validate_rejects

DEFAULT_MAX_SEED_BYTES = 10 * 1024 * 1024
T = TypeVar("T")
Location = Store | Path | str
# A batch's per-seed outcomes; `status` is article, rejected, superseded or unchanged.
OUTCOME_SCHEMA = pl.Schema(
    [
        ("seed_file", pl.String),
        ("seed_sha256", pl.String),
        ("status", pl.String),
        ("article_id", pl.String),
        ("crawled_at", pl.Datetime("us", "UTC")),
        ("partition_date", pl.Date),
        ("reason", pl.String),
    ]
)


@dataclass(frozen=True)
class SeedTask:
    """One seed for a batch to process, with what the ledger knows of it."""

    seed_file: str
    size: int | None = None  # from the listing: a seed over the limit is rejected without being read
    ledger_sha: str | None = None  # content hash at its last processing; None for a new seed
    force: bool = False  # process even when the hash is unchanged (FULL=1, new pipeline version, recovery)


@dataclass(frozen=True)
class Unchanged:
    seed_file: str
    seed_sha256: str


@dataclass(frozen=True)
class Rejected:
    seed_file: str
    seed_sha256: str | None
    stage: str
    reason: str
    detail: str
    crawled_at: datetime | None


@dataclass(frozen=True)
class Extracted:
    seed_file: str
    seed_sha256: str
    article: Article


Result = Extracted | Rejected | Unchanged
Element = Paragraph | Heading | Image | Link


def _too_large(size: int, max_bytes: int) -> SeedRejected:
    return SeedRejected(Stage.READ, "too_large", f"the seed is {size} bytes, over the limit of {max_bytes} bytes")


def _read(store: Store, task: SeedTask, max_bytes: int) -> bytes:
    if task.size is not None and task.size > max_bytes:
        raise _too_large(task.size, max_bytes)
    try:
        data = store.read_bytes(task.seed_file)
    except OSError as exc:
        raise SeedRejected(Stage.READ, "unreadable", f"the seed file could not be read: {exc}") from exc
    if len(data) > max_bytes:  # it grew since it was listed
        raise _too_large(len(data), max_bytes)
    return data


def process_seed(seeds: Location, task: SeedTask, max_bytes: int = DEFAULT_MAX_SEED_BYTES) -> Result:
    """Read and extract one seed: an article, a reject, or unchanged content; never an exception."""
    store = open_store(seeds)
    return _processed(task, lambda: _read(store, task, max_bytes))


def _processed(task: SeedTask, read: Callable[[], bytes]) -> Result:
    """The seed `task` names, its bytes from `read` (which may raise as `_read` does), as a result."""
    seed_file = task.seed_file
    sha: str | None = None
    crawled_at: datetime | None = None
    try:
        data = read()
        sha = hashlib.sha256(data).hexdigest()
        if sha == task.ledger_sha and not task.force:
            return Unchanged(seed_file, sha)
        seed = parse_seed(data)
        crawled_at = seed.crawled_at
        return Extracted(seed_file, sha, extract_article(seed))
    except SeedRejected as exc:
        return Rejected(seed_file, sha, exc.stage.value, exc.reason, exc.detail, crawled_at)
    except RecursionError:
        return Rejected(seed_file, sha, Stage.PARSE.value, "too_deep", "the HTML nests too deeply", crawled_at)
    except Exception as exc:  # noqa: BLE001 - the batch boundary: a bug met by one seed must not cost the others
        detail = f"{type(exc).__name__}: {exc}"[:500]
        return Rejected(seed_file, sha, Stage.EXTRACT.value, "internal_error", detail, crawled_at)


def _article_row(item: Extracted) -> dict[str, Any]:
    """The `articles` row: fields of the article, its date evidence, counts, and where it came from."""
    art = item.article
    return {
        "article_id": art.article_id,
        "url": art.url,
        "domain": art.domain,
        "title": art.title,
        "language": art.language,
        "published_at": art.published.at,
        "date_source": art.published.source.value,
        "date_precision": art.published.precision.value,
        "utc_offset_minutes": art.published.utc_offset_minutes,
        "crawled_at": art.crawled_at,
        "author": art.author,
        "lead": art.lead,
        "paragraph_count": len(art.paragraphs),
        "heading_count": len(art.headings),
        "image_count": len(art.images),
        "link_count": len(art.links),
        "links_dropped": art.links_dropped,
        "char_count": art.char_count,
        "seed_file": item.seed_file,
        "seed_sha256": item.seed_sha256,
        "publication_date": art.publication_date,
    }


def _element_columns(
    table: str, records: list[Element], owners: list[int], keys: Mapping[str, pl.Series]
) -> dict[str, Sequence[Any] | pl.Series]:
    """A table's columns from its records: the fields a column at a time, derived properties by name (the
    test of the schemas checks that the names agree), plus each row's article id and partition date, taken
    from `keys` (the batch's articles' ids and dates) by `owners` (the index of each record's article)."""
    # One pass in C over the records (`_text.columns`), not zip(*records): unpacking 41 000 links into zip's
    # arguments and building six 41 000-tuples cost 20-87 ms a batch (the high end when it set off a full
    # collection); a map of `itemgetter` a field 16-21 ms for a batch's ~83 000 links, the pass 7 ms.
    names = records[0]._fields if records else ()
    fields = dict(zip(names, field_lists(records, len(names)), strict=True))
    # The article's id and date by index, not a value a row: polars converts a Python `date` at ~70 ns (5.7 ms
    # for a batch's 82 000 links) and a string at ~13 ns; 750 of each and a gather cost ~0.6 ms.
    rows = pl.Series(owners, dtype=pl.UInt32)
    columns: dict[str, Sequence[Any] | pl.Series] = {}
    for name in polars_schema(table):
        if name in keys:
            columns[name] = keys[name].gather(rows)
        elif name in fields:
            columns[name] = fields[name]
        else:
            columns[name] = list(map(attrgetter(name), records))
    return columns


def _article_columns(items: Iterable[Extracted]) -> dict[str, dict[str, Sequence[Any] | pl.Series]]:
    """Column-wise lists for the article tables (faster than building row dicts)."""
    articles: dict[str, list[Any]] = {name: [] for name in polars_schema("articles")}
    records: dict[str, list[Element]] = {table: [] for table in ELEMENT_TABLES}
    owners: dict[str, list[int]] = {table: [] for table in ELEMENT_TABLES}
    for index, item in enumerate(items):
        row = _article_row(item)
        for name, values in articles.items():
            values.append(row[name])
        art = item.article
        per_table: tuple[tuple[Element, ...], ...] = (art.paragraphs, art.headings, art.images, art.links)
        for table, elements in zip(ELEMENT_TABLES, per_table, strict=True):
            records[table].extend(elements)
            owners[table].extend([index] * len(elements))
    columns: dict[str, dict[str, Sequence[Any] | pl.Series]] = {"articles": dict(articles)}
    schema = polars_schema("articles")
    keys = {name: pl.Series(name, articles[name], dtype=schema[name]) for name in ("article_id", PARTITION_KEY)}
    for table in ELEMENT_TABLES:
        columns[table] = _element_columns(table, records[table], owners[table], keys)
    return columns


def _frame(table: str, columns: Mapping[str, Sequence[Any] | pl.Series]) -> pl.DataFrame:
    return pl.DataFrame(columns, schema=polars_schema(table), strict=False)


def reject_day(crawled_at: datetime | None, now: datetime) -> date:
    """The partition of a reject: its crawl date, else the day it was rejected."""
    return (crawled_at or now).date()


def _rejects_frame(rejects: list[Rejected], run_id: str, now: datetime) -> pl.DataFrame:
    return _frame(
        "rejects",
        {
            "seed_file": [r.seed_file for r in rejects],
            "seed_sha256": [r.seed_sha256 for r in rejects],
            "stage": [r.stage for r in rejects],
            "reason": [r.reason for r in rejects],
            "detail": [r.detail for r in rejects],
            "run_id": [run_id] * len(rejects),
            "rejected_at": [now] * len(rejects),
            "publication_date": [reject_day(r.crawled_at, now) for r in rejects],
        },
    )


def crawl_key(crawled_at: datetime | None, seed_file: str) -> tuple[datetime, str]:
    """Which seed of a URL wins: the latest crawl, then the greatest file name (a deterministic tie-break)."""
    return (crawled_at or datetime.min.replace(tzinfo=UTC), seed_file)


def _dedupe_urls(extracted: list[Extracted]) -> tuple[list[Extracted], list[Extracted]]:
    """One article per canonical URL within the batch: the latest crawl wins, the others are superseded."""
    best: dict[str, Extracted] = {}
    for item in extracted:
        current = best.get(item.article.url)
        key = crawl_key(item.article.crawled_at, item.seed_file)
        if current is None or key > crawl_key(current.article.crawled_at, current.seed_file):
            best[item.article.url] = item
    kept = [item for item in extracted if best[item.article.url] is item]
    return kept, [item for item in extracted if best[item.article.url] is not item]


def _validated(extracted: list[Extracted]) -> tuple[dict[str, pl.DataFrame], list[Rejected]]:
    """Build and validate the article tables; articles failing a check become `invalid:...` rejects."""
    cols = _article_columns(extracted)
    checked = validate_batch({table: _frame(table, cols[table]) for table in ("articles", *ELEMENT_TABLES)})
    failed = [
        Rejected(
            item.seed_file,
            item.seed_sha256,
            Stage.VALIDATE.value,
            "invalid:" + ",".join(sorted({f.check for f in failures})),
            "; ".join(sorted({f.detail for f in failures}))[:2000],
            item.article.crawled_at,
        )
        for item in extracted
        if (failures := checked.failures.get(item.article.article_id))
    ]
    return checked.tables, failed


def _outcome_rows(results: Iterable[Result], superseded: set[str], now: datetime) -> Iterable[dict[str, Any]]:
    for result in results:
        row: dict[str, Any] = {"seed_file": result.seed_file, "seed_sha256": result.seed_sha256}
        if isinstance(result, Extracted):
            article = result.article
            row |= {"article_id": article.article_id, "crawled_at": article.crawled_at}
            if result.seed_file in superseded:
                row |= {"status": "superseded", "reason": "duplicate_url"}
            else:
                row |= {"status": "article", "partition_date": article.publication_date}
        elif isinstance(result, Rejected):
            row |= {
                "status": "rejected",
                "crawled_at": result.crawled_at,
                "partition_date": reject_day(result.crawled_at, now),
                "reason": result.reason,
            }
        else:
            row["status"] = "unchanged"
        yield row


@dataclass(frozen=True)
class BatchOutput:
    """A batch's validated rows per table, and one outcome row per seed (the ledger's raw material)."""

    tables: dict[str, pl.DataFrame]
    outcomes: pl.DataFrame


def build_tables(results: list[Result], run_id: str, now: datetime) -> BatchOutput:
    """Frames for every table from one batch's results, validated; failing articles become rejects."""
    extracted, superseded = _dedupe_urls([r for r in results if isinstance(r, Extracted)])
    tables, failed = _validated(extracted)
    failed_files = {r.seed_file for r in failed}
    final: list[Result] = [*(r for r in results if r.seed_file not in failed_files), *failed]
    rejects = [r for r in final if isinstance(r, Rejected)]
    tables["rejects"] = validate_rejects(_rejects_frame(rejects, run_id, now))
    assert set(tables) == set(TABLES)
    rows = list(_outcome_rows(final, {r.seed_file for r in superseded}, now))
    return BatchOutput(tables, pl.DataFrame(rows, schema=OUTCOME_SCHEMA))


# A store whose requests wait on the network (`Store.concurrency` > 1) has its seeds read ahead of the one
# being extracted, on threads: the wait overlaps the extraction instead of adding to it (the GIL is released).
# One at a time, a seed on S3 (moto's server on loopback) took ~10 ms to GET against ~5 ms to extract: 200 seeds
# read from it in claims of 8 (as a flow's tasks claim them, `newslake.sharing`) took 3.2-3.3 s against
# 0.9-1.3 s from a local folder; read ahead within each claim 2.2-2.7 s, and with each claim's reads started
# during the claim before (`EarlyReads`) 1.7-2.3 s (moto's server shares the two cores).
# A folder's seeds are read on the extracting thread, and the kernel is told of each as far ahead
# (`Store.will_read`): a seed not in the page cache is read from the disk while the seeds before it are
# extracted. The page cache is not a given: this host took back a third of 200 MB of seeds
# within a minute idle, and an archive read once was never in it. 750 seeds out of the cache, each with 2 ms of
# work after its read: 0.14-0.16 s of waits without the hints, none with them (as in the cache); a hint costs
# ~7 us a seed in the cache.
# Rejected for a folder: reading on threads as for an object store. Each worker held ~90 MiB more (mimalloc
# keeps a heap a thread, and the seeds' buffers were freed by the extracting thread: 434-444 against 342-343
# MiB after a 750-seed batch), for what the hints give without a thread.
# Bounded, so that memory does not grow with a batch: at most `READ_AHEAD_SEEDS` seeds read (or hinted) and not
# yet extracted, and at most `READ_AHEAD_BYTES` of them by the listing's sizes (a seed of unknown size counts as
# the largest allowed, and so does one listed over it, which is rejected unread), one at least.
READ_AHEAD_SEEDS = 16
READ_AHEAD_BYTES = 32 * 1024 * 1024
R_co = TypeVar("R_co", covariant=True)


class Pending(Protocol[R_co]):
    """A read started ahead of its use: a `Future`, or a folder's seed to read later (`_ReadLater`)."""

    def result(self) -> R_co: ...
    def cancel(self) -> bool: ...


@cache
def _readers(threads: int) -> ThreadPoolExecutor:
    """This process's reading threads, as many as a store's `concurrency` (made at first use; a forked child
    makes its own, see below)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="newslake-read")


os.register_at_fork(after_in_child=_readers.cache_clear)  # a pool's threads do not survive a fork


class _ReadLater:
    """A folder's seed read by `result()`, on the caller's thread (`read_seeds` has told the store of it)."""

    __slots__ = ("_read", "_task")

    def __init__(self, read: Callable[["SeedTask"], bytes], task: "SeedTask") -> None:
        self._read, self._task = read, task

    def result(self) -> bytes:
        return self._read(self._task)

    def cancel(self) -> bool:
        return True  # nothing runs: the page cache keeps what the hint read, for whoever reads the seed


class EarlyReads(Generic[T]):
    """Reads started for the items a caller said would follow (a task's next claim), kept for its next call."""

    def __init__(self) -> None:
        self._started: dict[T, Pending[bytes]] = {}

    def take(self, wanted: Iterable[T]) -> dict[T, Pending[bytes]]:
        """The reads of `wanted` items, in the order they were started; the others are given up (their items
        went elsewhere: seeds another task took over)."""
        still = set(wanted)
        started, self._started = self._started, {}
        for item, pending in started.items():
            if item not in still:
                # A thread's read not yet running is not run; a running one ends and its bytes are dropped. A
                # folder's seed has nothing running: the page cache keeps what its hint read.
                pending.cancel()
        return {item: pending for item, pending in started.items() if item in still}

    def keep(self, started: dict[T, Pending[bytes]]) -> None:
        self._started = started


def read_ahead(
    start: Callable[[T], Pending[bytes]],
    items: Sequence[T],
    weight: Callable[[T], int],
    following: Sequence[T] = (),
    early: EarlyReads[T] | None = None,
) -> Iterator[tuple[T, Pending[bytes]]]:
    """Each of `items` with its read (`start`ed), in order. Reads start ahead of the item handed out: at most
    `READ_AHEAD_SEEDS` items and `READ_AHEAD_BYTES` of `weight` started and not handed out, one at least.

    With `early`, reads go on past `items` into `following`, and `early` keeps those not handed out when the
    last item is; the next call takes over those of its own `items` and `following`, and gives up the others.
    """
    queue = [*items, *following] if early is not None else list(items)
    started = early.take(queue) if early is not None else {}
    load = sum(map(weight, started))  # the weight of `started`
    upcoming = 0  # the position in `queue` of the next read to start
    for position, item in enumerate(items):
        upcoming = max(upcoming, position)
        while upcoming < len(queue):
            head = queue[upcoming]
            if head not in started:
                if started and (len(started) >= READ_AHEAD_SEEDS or load + weight(head) > READ_AHEAD_BYTES):
                    break
                started[head] = start(head)
                load += weight(head)
            upcoming += 1
        pending = started.pop(item, None)
        if pending is None:  # the bounds were full of reads `early` had started for later items
            pending = start(item)
        else:
            load -= weight(item)
        yield item, pending
    if early is not None:
        early.keep(started)


def read_seeds(
    seeds: Location,
    tasks: list[SeedTask],
    max_bytes: int = DEFAULT_MAX_SEED_BYTES,
    following: Sequence[SeedTask] = (),
    early: EarlyReads[SeedTask] | None = None,
) -> list[Result]:
    """Read and extract each seed of `tasks` (keys relative to SEEDS), reading ahead of the extraction (see
    `read_ahead`: on threads from a store whose requests are worth overlapping, by hints to the kernel from a
    folder), and with `early` into the seeds `following`."""
    store = open_store(seeds)

    def read(task: SeedTask) -> bytes:
        return _read(store, task, max_bytes)

    def weight(task: SeedTask) -> int:
        return min(max_bytes, task.size or max_bytes)

    def start(task: SeedTask) -> Pending[bytes]:
        if store.concurrency > 1:
            return _readers(store.concurrency).submit(read, task)
        if task.size is None or task.size <= max_bytes:  # one listed over the limit is rejected unread
            store.will_read(task.seed_file, weight(task))  # the bytes it may read: the limit when unlisted
        return _ReadLater(read, task)

    return [_processed(task, pending.result) for task, pending in read_ahead(start, tasks, weight, following, early)]


def process_batch(
    seeds: Location, tasks: list[SeedTask], run_id: str, max_bytes: int = DEFAULT_MAX_SEED_BYTES
) -> BatchOutput:
    """Read, extract and validate a batch of seeds (keys relative to SEEDS)."""
    return build_tables(read_seeds(seeds, tasks, max_bytes), run_id, datetime.now(UTC))


@dataclass(frozen=True)
class StagedBatch:
    """What a batch task returns: its outcomes, and where its rows wait in the staging area."""

    index: int
    outcomes: pl.DataFrame
    staged: dict[str, StagedRows]  # table -> where its rows wait (tables with rows only)


def stage_results(data: Location, results: list[Result], index: int, run_id: str) -> StagedBatch:
    """Validate a batch's results and stage its rows under DATA, so only the small outcomes travel back."""
    output = build_tables(results, run_id, datetime.now(UTC))
    store = open_store(data)  # one store for the tables: an object store's client is not free
    tables = [(table, frame) for table, frame in output.tables.items() if frame.height]
    # Into an object store, the tables' PUTs at once (`each`): 12 batches of 50 seeds into S3 with 20 ms a
    # request staged in 3.1-3.3 s instead of 6.2-6.6.
    staged = each(store, lambda item: stage_rows(store, run_id, item[0], index, item[1]), tables)
    return StagedBatch(index, output.outcomes, {table: rows for (table, _), rows in zip(tables, staged, strict=True)})


def stage_batch(
    seeds: Location, data: Location, tasks: list[SeedTask], index: int, run_id: str, max_bytes: int
) -> StagedBatch:
    """Process a batch and stage its rows under DATA."""
    return stage_results(data, read_seeds(seeds, tasks, max_bytes), index, run_id)
