"""Shared test fixtures: paths to the repository's seed and to the real-page corpus beside the checkout."""

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from newslake.lake import PART_FILE
from newslake.storage import LocalStore
from schemas.tables import TABLES

REPO = Path(__file__).resolve().parents[1]
GIVEN_SEED = REPO / "seeds" / "000_ea46ad2de5bf25f4.txt"
# `../shared` beside the checkout (CI lays a copy there); NEWSLAKE_SHARED overrides it.
SHARED = Path(os.environ.get("NEWSLAKE_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
CORPUS_SEEDS = CORPUS / "seeds"


def corpus_files() -> list[str]:
    """Names of the corpus seeds, or [] where ../shared is absent (tests using them then skip)."""
    return sorted(p.name for p in CORPUS_SEEDS.glob("*.txt")) if CORPUS_SEEDS.is_dir() else []


def corpus_truth() -> dict[str, dict[str, Any]]:
    path = CORPUS / "truth.jsonl"
    if not path.is_file():
        return {}
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["seed"]: row for row in rows}


requires_corpus = pytest.mark.skipif(not CORPUS_SEEDS.is_dir(), reason=f"no corpus at {CORPUS_SEEDS}")


# Offline, Prefect's telemetry would log errors (`make test` sets these too; this covers a bare pytest).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def make_seed(
    html: str,
    *,
    title: str = "A title",
    url: str = "https://example.com/news/a",
    crawl_ms: int | None = 1_642_079_583_000,
) -> bytes:
    """A seed file's bytes in the documented format."""
    head = f"<!--{crawl_ms}-->\n" if crawl_ms is not None else ""
    return f"{head}[{title}]({url})\n------\n\n{html}".encode()


def body(text: str, day: str = "2022-01-10") -> str:
    return (
        f'<main><div><time datetime="{day}">{day}</time></div><p>{text} This sentence makes it long enough.</p></main>'
    )


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    old_mtime = path.stat().st_mtime_ns if existed else 0
    path.write_bytes(data)
    if existed:  # make sure the mtime moves even on coarse clocks
        os.utime(path, ns=(old_mtime + 10**9, old_mtime + 10**9))


RUN_SPECIFIC = {"rejects": ["run_id", "rejected_at"]}


def lake_content(data: Path) -> dict[str, pl.DataFrame]:
    """Every data table's content (run-specific columns dropped), sorted, plus the ledger's outcome columns."""
    out: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        if not list((data / table).glob(f"*/{PART_FILE}")):
            out[table] = pl.DataFrame()
            continue
        frame = pl.read_parquet(data / table / "**" / "*.parquet", hive_partitioning=True)
        frame = frame.drop(RUN_SPECIFIC.get(table, []))
        out[table] = frame.sort(frame.columns)
    ledger = pl.read_parquet(data / "ledger" / PART_FILE)
    out["ledger"] = ledger.select("seed_file", "seed_sha256", "status", "article_id", "partition_date", "reason")
    return out


def assert_same(got: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert got.keys() == expected.keys()
    for table, frame in expected.items():
        assert got[table].equals(frame), table


def files_state(data: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every data and ledger file: a rewrite changes the inode (rename) and mtime."""
    return {
        str(p.relative_to(data)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in data.rglob("*.parquet")
        if p.parts[-2] != "runs"
    }


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A small SEEDS: the given seed, two short articles, and an empty file (a reject)."""
    root = tmp_path / "seeds"
    root.mkdir()
    write(root / "bbc.txt", GIVEN_SEED.read_bytes())
    write(root / "a.txt", make_seed(body("Alpha first version."), url="https://ex.com/a"))
    write(root / "b.txt", make_seed(body("Bravo story."), url="https://ex.com/b"))
    write(root / "empty.txt", b"")
    return root


def refuse_to_read(monkeypatch: pytest.MonkeyPatch, directory_name: str) -> None:
    """`os.scandir` fails with EACCES on directories of that name, as for a user without read permission (root,
    which the tests may run as, reads any directory)."""
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if os.fspath(path).endswith(directory_name):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


class Rendezvous(LocalStore):
    """A folder that says its requests are worth overlapping (as an object store does), where a request (a read
    or a write) for a key that `waits` is answered only once a request for a key of `others` has started: it
    fails unless the two overlap."""

    concurrency = 8

    def __init__(self, root: Path, waits: Callable[[str], bool], others: Callable[[str], bool]) -> None:
        super().__init__(root)
        self.waits, self.others = waits, others
        self.other_started = threading.Event()

    def _meet(self, key: str) -> None:
        if self.others(key):
            self.other_started.set()
        elif self.waits(key) and not self.other_started.wait(timeout=20):
            raise OSError(f"{key} was asked for while no other request ran")

    def read_bytes(self, key: str) -> bytes:
        self._meet(key)
        return super().read_bytes(key)

    def write_atomic(self, key: str, data: bytes) -> None:
        self._meet(key)
        super().write_atomic(key, data)
