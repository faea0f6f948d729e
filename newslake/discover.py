"""Finding the seed files under SEEDS, with the size and mtime that let a rerun skip unchanged ones."""

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SeedsError(OSError):
    """SEEDS is missing or cannot be listed."""


@dataclass(frozen=True, slots=True)
class SeedStat:
    seed_file: str  # path relative to SEEDS, with forward slashes
    size: int
    mtime_ns: int


def discover_seeds(root: Path) -> list[SeedStat]:
    """Every regular, non-hidden file under `root`, sorted by path.

    Files are not filtered by name: a stray non-seed file becomes a reject with a reason rather than being
    passed over without a record.
    """
    if not root.is_dir():
        raise SeedsError(f"SEEDS directory {root} does not exist or is not a directory")
    found: list[SeedStat] = []
    try:
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            stat = path.stat()
            found.append(SeedStat(relative.as_posix(), stat.st_size, stat.st_mtime_ns))
    except OSError as exc:
        raise SeedsError(f"cannot list SEEDS directory {root}: {exc.strerror or exc}") from exc
    return sorted(found, key=lambda s: s.seed_file)


def batches(items: list[T], size: int) -> list[list[T]]:
    """Split into consecutive batches of at most `size` items."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]
