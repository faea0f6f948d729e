"""The lake layout, owned here and nowhere else.

    DATA/<table>/publication_date=YYYY-MM-DD/part-0.parquet     data tables (zstd; the key only in the path)
    DATA/ledger/part-0.parquet, DATA/runs/part-0.parquet        the run's own record (not partitioned)
    DATA/_journal.json                                          present only while a run writes
    DATA/.lock                                                  held (flock) by the run writing DATA

Every file is replaced atomically: the new content is written to a temporary file in the same directory,
flushed to disk, then renamed over the old one, so a reader (or a run killed at any instant) sees the old
file or the new one, never half of one.

A run commits in this order: journal (what it is about to touch) -> data partitions -> ledger -> journal
removed. The ledger is written last, so it never claims what the data files do not hold; a run killed
before that leaves a journal, and the next run reconciles the partitions it names with the ledger
(`reconcile_partition`) and processes its seeds again, converging to what an uninterrupted run gives.
"""

import contextlib
import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from schemas.tables import PARTITION_KEY, TABLES, file_schema, polars_schema

PART_FILE = "part-0.parquet"
_TMP_SUFFIX = ".tmp"
_PARTITION_DIR = re.compile(rf"^{PARTITION_KEY}=(\d{{4}}-\d{{2}}-\d{{2}})$")
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


JOURNAL_FILE = "_journal.json"
LOCK_FILE = ".lock"


class LakeError(OSError):
    """The lake directory cannot be written."""


class LakeLocked(LakeError):
    """Another run holds the lake's lock."""


@dataclass(frozen=True)
class WriteStats:
    table: str
    partitions: int
    rows_written: int


def partition_dir(root: Path, table: str, day: date) -> Path:
    """The directory of one partition. `day` is a validated date, so no value can escape the lake."""
    return root / table / f"{PARTITION_KEY}={day.isoformat()}"


def partitions(root: Path, table: str) -> Iterator[tuple[date, Path]]:
    """Existing partitions of a table, oldest first."""
    table_dir = root / table
    if not table_dir.is_dir():
        return
    for entry in sorted(table_dir.iterdir()):
        match = _PARTITION_DIR.match(entry.name)
        if match and (entry / PART_FILE).is_file():
            yield date.fromisoformat(match.group(1)), entry / PART_FILE


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(frame: pl.DataFrame, target: Path) -> None:
    """Write `frame` to `target` atomically: temp file in the same directory, fsync, rename, fsync dir."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}")
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def read_partition(path: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(path, schema=file_schema(table)) if path.is_file() else file_schema(table).to_frame()


def write_table(
    root: Path, table: str, frame: pl.DataFrame, purge_keys: Iterable[str] = (), purge_days: Iterable[date] = ()
) -> WriteStats:
    """Merge `frame` into the table's partitions: rows with its keys, or with `purge_keys`, go; its rows come in.

    Keys are removed from the partitions the new rows go to and from `purge_days` (where the ledger says the
    keys' earlier rows are: an article whose date moved, a seed no longer rejected). Only those partitions
    are rewritten; one left without rows loses its file.
    """
    schema = file_schema(table)
    key = REPLACE_KEY[table]
    by_day: dict[date, pl.DataFrame] = {}
    for (day,), part in frame.partition_by(PARTITION_KEY, as_dict=True, maintain_order=True).items():
        if not isinstance(day, date):
            raise LakeError(f"{table}: partition value {day!r} is not a date")
        by_day[day] = part.select(list(schema))
    replaced = pl.concat([frame[key], pl.Series(key, list(purge_keys), dtype=pl.String)]).unique().implode()
    days = set(by_day) | set(purge_days)
    for day in sorted(days):
        target = partition_dir(root, table, day) / PART_FILE
        kept = read_partition(target, table).filter(~pl.col(key).is_in(replaced))
        _replace_or_remove(pl.concat([kept, by_day.get(day, schema.to_frame())], how="vertical"), table, target)
    return WriteStats(table, len(days), frame.height)


def _replace_or_remove(frame: pl.DataFrame, table: str, target: Path) -> None:
    if frame.height:
        replace_file(frame.sort(SORT_KEY[table], maintain_order=True), target)
    elif target.exists():
        target.unlink()
        _fsync_dir(target.parent)


def reconcile_partition(root: Path, table: str, day: date, keep: pl.Series) -> bool:
    """Keep only the rows whose key is in `keep` (what the ledger claims for this partition).

    Used after a killed run: removes rows that run wrote but never recorded. Returns whether it changed.
    """
    target = partition_dir(root, table, day) / PART_FILE
    if not target.is_file():
        return False
    current = read_partition(target, table)
    kept = current.filter(pl.col(REPLACE_KEY[table]).is_in(keep.implode()))
    if kept.height == current.height:
        return False
    _replace_or_remove(kept, table, target)
    return True


# --- the run's own record ---------------------------------------------------------------------------------
def state_path(root: Path, table: str) -> Path:
    return root / table / PART_FILE


def read_state(root: Path, table: str) -> pl.DataFrame:
    """The ledger or runs table, empty (with its schema) before the first run."""
    path = state_path(root, table)
    schema = polars_schema(table)
    return pl.read_parquet(path, schema=schema) if path.is_file() else schema.to_frame()


def write_state(root: Path, table: str, frame: pl.DataFrame) -> None:
    replace_file(frame.select(list(polars_schema(table))), state_path(root, table))


@dataclass(frozen=True)
class Journal:
    """What a run is about to touch; on disk only between its first data write and its ledger write."""

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


def write_journal(root: Path, journal: Journal) -> None:
    _atomic_text(root / JOURNAL_FILE, journal.to_json())


def read_journal(root: Path) -> Journal | None:
    """The journal a killed run left, or None. An unreadable one is an error: it must not be ignored."""
    path = root / JOURNAL_FILE
    if not path.is_file():
        return None
    try:
        return Journal.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        raise LakeError(f"the run journal {path} is unreadable ({exc}); remove it after checking DATA") from exc


def clear_journal(root: Path) -> None:
    (root / JOURNAL_FILE).unlink(missing_ok=True)
    _fsync_dir(root)


def _atomic_text(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def lake_lock(root: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold DATA's lock for a run; wait up to `wait_seconds` for another run, then raise `LakeLocked`.

    flock is released by the kernel when the holder dies, so a killed run never leaves the lake locked.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    with path.open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise LakeLocked(f"another ingest run is writing {root} ({holder}); try again later") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def check_writable(root: Path) -> None:
    """Fail early, with one clear sentence, when DATA cannot be created or written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-probe-{uuid.uuid4().hex}{_TMP_SUFFIX}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise LakeError(f"cannot write to DATA directory {root}: {exc.strerror or exc}") from exc
