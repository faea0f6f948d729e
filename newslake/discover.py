"""Finding the seed files under SEEDS (a directory or an object-store prefix), with the size and mtime that
let a rerun skip unchanged ones."""

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from newslake.storage import LocalStore, Store, open_store

T = TypeVar("T")


class SeedsError(OSError):
    """SEEDS is missing or cannot be listed."""


@dataclass(frozen=True, slots=True)
class SeedStat:
    seed_file: str  # path relative to SEEDS, with forward slashes
    size: int
    mtime_ns: int


def check_seeds(location: Store | Path | str) -> None:
    """Fail with one sentence when SEEDS is a local path that is not a directory (without listing it)."""
    store = open_store(location)
    if isinstance(store, LocalStore) and not store.root.is_dir():
        raise SeedsError(f"SEEDS directory {store.root} does not exist or is not a directory")


def discover_seeds(location: Store | Path | str) -> list[SeedStat]:
    """Every non-hidden file under SEEDS, sorted by path.

    Files are not filtered by name: a stray non-seed file becomes a reject with a reason rather than being
    passed over without a record.
    """
    check_seeds(location)
    store = open_store(location)
    try:
        files = store.list_files()
    except OSError as exc:
        raise SeedsError(f"cannot list SEEDS {store.uri}: {exc.strerror or exc}") from exc
    return [
        SeedStat(info.key, info.size, info.mtime_ns)
        for info in files
        if not any(part.startswith(".") for part in info.key.split("/"))
    ]


def batches(items: list[T], size: int, workers: int = 1) -> list[list[T]]:
    """Split into consecutive batches of at most `size` items, their sizes as equal as can be (one apart at
    most), and as many as a multiple of `workers` when there are enough items, so that every worker has the
    same share of the work to the end (batches of `size` and a short last one left a worker idle for the
    last batch's time)."""
    if size < 1 or workers < 1:
        raise ValueError(f"batch size and workers must be at least 1, not {size} and {workers}")
    if not items:
        return []
    count = -(-len(items) // size)
    count = min(len(items), -(-count // workers) * workers)
    base, extra = divmod(len(items), count)
    out: list[list[T]] = []
    start = 0
    for index in range(count):
        end = start + base + (index < extra)
        out.append(items[start:end])
        start = end
    return out
