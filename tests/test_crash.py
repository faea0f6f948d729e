"""Crash safety: a run stopped at any point leaves readable files, and the next run converges.

First in-process, crashing deterministically between every two writes; then for real: `make run` killed
with SIGKILL while it writes.
"""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any
from unittest.mock import patch

import polars as pl
import pyarrow.parquet as pq
import pytest

from newslake import lake
from newslake.commit import ChunkWrite, write_chunk
from newslake.lake import JOURNAL_FILE, PART_FILE, WriteStats, partition_key, read_journal
from newslake.run import RunOptions, ingest_run
from schemas.tables import PARTITION_KEY
from tests.conftest import (
    CORPUS_SEEDS,
    REPO,
    assert_same,
    body,
    lake_content,
    make_seed,
    requires_corpus,
    write,
)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it as an error."""


def edit_seeds(seeds: Path) -> None:
    """Changes that move rows between partitions, supersede, fix and break seeds."""
    write(seeds / "a.txt", make_seed(body("Alpha v2.", day="2022-01-12"), url="https://ex.com/a"))
    write(seeds / "n.txt", make_seed(body("Newer alpha."), url="https://ex.com/a", crawl_ms=1_700_000_000_000))
    write(seeds / "empty.txt", make_seed(body("Fixed."), url="https://ex.com/fixed"))
    write(seeds / "b.txt", b"garbage without a header")


def leave_temporaries(data: Path) -> list[Path]:
    """What a write killed before its rename leaves: a temporary beside the file, in the partitions the
    killed run's journal names and in the run's own tables."""
    journal = read_journal(data)
    assert journal is not None
    keys = [partition_key(t, d) for t, days in journal.days.items() for d in days] + ["runs/x", "ledger/x"]
    left = []
    for key in keys:
        path = data / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / ".part-0.parquet.0123abcd.tmp"
        temporary.write_bytes(b"PAR1 half a file")
        left.append(temporary)
    return left


def assert_readable(data: Path) -> None:
    for path in data.rglob("*.parquet"):
        pl.read_parquet(path)


@pytest.mark.parametrize("crash_after", range(7))
def test_crash_between_writes_then_rerun_converges(seeds: Path, tmp_path: Path, crash_after: int) -> None:
    data = tmp_path / "data"
    ingest_run(RunOptions(str(seeds), str(data)), "r1")
    edit_seeds(seeds)
    written: list[str] = []

    def crashing_writes(root: str, groups: list[list[ChunkWrite]]) -> list[WriteStats]:
        stats = []
        for chunk in (chunk for group in groups for chunk in group):
            if len(written) == crash_after:
                raise Crash
            written.append(chunk.table)
            stats.append(write_chunk(Path(root), chunk))
        return stats

    if crash_after == 6:  # all six tables written (one step each here): die writing the ledger instead
        real_write_state = lake.write_state

        def crashing_state(root: Path, table: str, frame: pl.DataFrame) -> None:
            if table == "ledger":
                raise Crash
            real_write_state(root, table, frame)

        patch = pytest.MonkeyPatch()
        patch.setattr("newslake.commit.write_state", crashing_state)
    with pytest.raises(Crash):
        ingest_run(RunOptions(str(seeds), str(data)), "r2", write=crashing_writes)
    if crash_after == 6:
        patch.undo()
    assert_readable(data)
    assert (data / JOURNAL_FILE).exists()
    assert len(written) == min(crash_after, 6), "the run wrote fewer steps than the crash point: nothing was tested"
    left = leave_temporaries(data)  # as a SIGKILL during a file's write would
    ingest_run(RunOptions(str(seeds), str(data)), "r3")
    assert not (data / JOURNAL_FILE).exists()
    assert not [p for p in left if p.exists()], "temporaries of killed writes left in the lake"
    scratch = tmp_path / "scratch"
    ingest_run(RunOptions(str(seeds), str(scratch)), "s1")
    assert_same(lake_content(data), lake_content(scratch))


def partition_files(data: Path) -> dict[Path, bytes]:
    return {path.relative_to(data): path.read_bytes() for path in data.glob(f"*/{PARTITION_KEY}=*/{PART_FILE}")}


@pytest.mark.parametrize("crash_after", [1, 3, 5])
def test_crash_inside_a_group_of_steps_replaces_no_file_then_rerun_converges(
    seeds: Path, tmp_path: Path, crash_after: int
) -> None:
    """A group's files replace the old ones together when the group ends (`synced_together`): a process
    dying after `crash_after` of its six steps leaves every partition file as it was and no temporary."""
    data = tmp_path / "data"
    ingest_run(RunOptions(str(seeds), str(data)), "r1")
    edit_seeds(seeds)
    before = partition_files(data)
    steps = count()

    def dying(location: Any, chunk: ChunkWrite, rows: Any = None, winners_of: Any = None) -> WriteStats:
        if next(steps) == crash_after:
            raise Crash
        return write_chunk(location, chunk, rows, winners_of)

    with patch("newslake.commit.write_chunk", dying), pytest.raises(Crash):
        ingest_run(RunOptions(str(seeds), str(data)), "r2")
    assert next(steps) == crash_after + 1, "the run did not reach the step to crash in"
    assert partition_files(data) == before
    assert not list(data.rglob("*.tmp")), "a pending file's temporary was left behind"
    assert (data / JOURNAL_FILE).exists()
    ingest_run(RunOptions(str(seeds), str(data)), "r3")
    assert not (data / JOURNAL_FILE).exists()
    scratch = tmp_path / "scratch"
    ingest_run(RunOptions(str(seeds), str(scratch)), "s1")
    assert_same(lake_content(data), lake_content(scratch))


@pytest.mark.parametrize("crash_at", [0, 4, 13, 28])  # of the 29 row groups the run streams
def test_crash_inside_a_streamed_merge_then_rerun_converges(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    """Every day merged a key range at a time (as a large day is), and the process dies after `crash_at`
    row groups of the run's streamed files: the file being streamed is not there, the old ones are whole,
    and the next run (reconciling range by range too) converges to a run from scratch."""
    with monkeypatch.context() as streamed:
        streamed.setattr("newslake.commit.CHUNK_ARTICLES", 0)
        streamed.setattr("newslake.lake.SMALL_FILE_BYTES", 0)
        streamed.setattr("newslake.lake.MERGE_BYTES", 1)
        for i in range(12):  # articles the edits leave alone, in the day they rewrite: a file of many ranges
            write(seeds / f"same{i}.txt", make_seed(body(f"Same day {i}."), url=f"https://ex.com/same{i}"))
        data = tmp_path / "data"
        ingest_run(RunOptions(str(seeds), str(data)), "r1")
        edit_seeds(seeds)
        groups = count()
        real_write = pq.ParquetWriter.write_table

        def dying(self: pq.ParquetWriter, table: Any, row_group_size: int | None = None) -> None:
            if next(groups) == crash_at:
                raise Crash
            real_write(self, table, row_group_size)

        with patch.object(pq.ParquetWriter, "write_table", dying), pytest.raises(Crash):
            ingest_run(RunOptions(str(seeds), str(data)), "r2")
        assert_readable(data)
        assert (data / JOURNAL_FILE).exists()
        assert not list(data.rglob("*.tmp")), "a streamed file's temporary was left behind"
        ingest_run(RunOptions(str(seeds), str(data)), "r3")
    assert not (data / JOURNAL_FILE).exists()
    scratch = tmp_path / "scratch"
    ingest_run(RunOptions(str(seeds), str(scratch)), "s1")
    assert_same(lake_content(data), lake_content(scratch))


def _wait_until_gone(group: int) -> None:
    """SIGKILL is delivered at once but processes die a moment later; the lock goes with the last one."""
    for _ in range(500):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process group {group} survived SIGKILL")


def _journal_written(data: Path) -> bool:
    return (data / JOURNAL_FILE).exists()


def _first_partition_written(data: Path) -> bool:
    """A data partition file in place: the commit is among its merge steps (the journal goes only after the
    ledger, which comes after every step)."""
    return _journal_written(data) and next(data.glob(f"*/{PARTITION_KEY}=*/{PART_FILE}"), None) is not None


@pytest.mark.slow
@requires_corpus
@pytest.mark.parametrize("written", [_journal_written, _first_partition_written], ids=["journal", "partition"])
def test_sigkill_during_make_run(tmp_path: Path, written: Callable[[Path], bool]) -> None:
    """Kill a real `make run` (the whole process group) as soon as it has written its journal, or its first
    partition file, then rerun. (A fixed delay after the journal, 0.4 s, outlasted the whole commit of the
    corpus on a faster host: the test then tested nothing and said so.)"""
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    shutil.copytree(CORPUS_SEEDS, seeds)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"SEEDS={seeds}", f"DATA={data}"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not written(data):
        assert proc.poll() is None, "the run ended before it started writing"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _wait_until_gone(proc.pid)
    assert (data / JOURNAL_FILE).exists(), "the run finished before it was killed: nothing was tested"
    assert_readable(data)
    runs = pl.read_parquet(data / "runs" / "part-0.parquet")
    assert runs["status"].to_list() == ["running"]
    ingest_run(RunOptions(str(seeds), str(data)), "rerun")
    assert pl.read_parquet(data / "runs" / "part-0.parquet")["status"].to_list() == ["interrupted", "completed"]
    scratch = tmp_path / "scratch"
    ingest_run(RunOptions(str(seeds), str(scratch)), "uninterrupted")
    assert_same(lake_content(data), lake_content(scratch))
