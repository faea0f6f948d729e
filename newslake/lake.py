"""The lake layout, owned here and nowhere else.

    DATA/<table>/publication_date=YYYY-MM-DD/part-0.parquet     (zstd; the key only in the path)

Each partition is one file, replaced atomically: the new content is written to a temporary file in the same
directory, flushed to disk, then renamed over the old one, so a reader (or a run killed at any instant)
sees either the old file or the new one, never half of one. Rows of the articles being written replace
their earlier rows in that partition, so running the same seeds again gives the same data.
"""

import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from schemas.tables import PARTITION_KEY, TABLES, file_schema

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


class LakeError(OSError):
    """The lake directory cannot be written."""


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


def _partitions_holding(root: Path, table: str, key: str, keys: pl.Series) -> set[date]:
    """Existing partitions with a row whose `key` is among `keys` (reads the key column only)."""
    return {
        day
        for day, path in partitions(root, table)
        if pl.read_parquet(path, columns=[key])[key].is_in(keys.implode()).any()
    }


def write_table(root: Path, table: str, frame: pl.DataFrame, purge: Iterable[str] = ()) -> WriteStats:
    """Merge `frame` into the table's partitions: its keys' old rows go, its rows come in.

    `purge` names further keys whose rows are removed from every partition, wherever they are (a seed
    rejected on another day, or no longer rejected at all); only the partitions holding them are rewritten.
    A partition left without rows loses its file.
    """
    schema = file_schema(table)
    key = REPLACE_KEY[table]
    by_day: dict[date, pl.DataFrame] = {}
    for (day,), part in frame.partition_by(PARTITION_KEY, as_dict=True, maintain_order=True).items():
        if not isinstance(day, date):
            raise LakeError(f"{table}: partition value {day!r} is not a date")
        by_day[day] = part.select(list(schema))
    replaced = pl.concat([frame[key], pl.Series(key, list(purge), dtype=pl.String)]).unique()
    days = set(by_day)
    if purge:
        days |= _partitions_holding(root, table, key, replaced)
    for day in sorted(days):
        target = partition_dir(root, table, day) / PART_FILE
        kept = read_partition(target, table).filter(~pl.col(key).is_in(replaced.implode()))
        merged = pl.concat([kept, by_day.get(day, schema.to_frame())], how="vertical")
        if merged.height:
            replace_file(merged.sort(SORT_KEY[table], maintain_order=True), target)
        else:
            target.unlink(missing_ok=True)
            _fsync_dir(target.parent)
    return WriteStats(table, len(days), frame.height)


def check_writable(root: Path) -> None:
    """Fail early, with one clear sentence, when DATA cannot be created or written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-probe-{uuid.uuid4().hex}{_TMP_SUFFIX}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise LakeError(f"cannot write to DATA directory {root}: {exc.strerror or exc}") from exc
