"""Finding the seed files under SEEDS."""

from pathlib import Path


class SeedsError(OSError):
    """SEEDS is missing or cannot be listed."""


def discover_seeds(root: Path) -> list[str]:
    """Every regular, non-hidden file under `root`, as sorted paths relative to it.

    Files are not filtered by name: a stray non-seed file becomes a reject with a reason rather than being
    passed over without a record.
    """
    if not root.is_dir():
        raise SeedsError(f"SEEDS directory {root} does not exist or is not a directory")
    try:
        found = [
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
        ]
    except OSError as exc:
        raise SeedsError(f"cannot list SEEDS directory {root}: {exc.strerror or exc}") from exc
    return sorted(found)


def batches(items: list[str], size: int) -> list[list[str]]:
    """Split into consecutive batches of at most `size` items."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]
