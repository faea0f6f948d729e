"""Seeds read ahead of their extraction (`batch.read_ahead`, `batch.read_seeds`): same results, bounded reads;
and a batch's rows staged into an object store a table at once (`batch.stage_results`)."""

import errno
import hashlib
import itertools
import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newslake.batch import (
    READ_AHEAD_BYTES,
    READ_AHEAD_SEEDS,
    EarlyReads,
    Extracted,
    Rejected,
    SeedTask,
    Unchanged,
    process_seed,
    read_ahead,
    read_seeds,
    stage_results,
)
from newslake.storage import LocalStore
from tests.conftest import RUN_SPECIFIC, Rendezvous, body, make_seed


class _Recorder:
    """Starts each read at once, on the caller's thread, and records the order of the reads."""

    def __init__(self, read: Callable[[Any], bytes]) -> None:
        self.started: list[Any] = []
        self.read = read

    def start(self, item: Any) -> "Future[bytes]":
        self.started.append(item)
        future: Future[bytes] = Future()
        future.set_result(self.read(item))
        return future


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.integers(1, READ_AHEAD_BYTES + 1), max_size=3 * READ_AHEAD_SEEDS))
def test_read_ahead_hands_out_each_item_in_order_with_reads_started_as_far_ahead_as_the_bounds_allow(
    weights: list[int],
) -> None:
    recorder = _Recorder(lambda i: f"{i}".encode())
    items = list(range(len(weights)))
    handed = []
    for item, future in read_ahead(recorder.start, items, lambda i: weights[i]):
        assert future.result() == f"{item}".encode()
        ahead = len(recorder.started)  # items[item:ahead] read and not handed out before this one
        assert recorder.started == items[:ahead] and ahead > item
        in_flight = items[item:ahead]
        # Within the bounds (one read at least, however heavy) ...
        assert len(in_flight) <= READ_AHEAD_SEEDS
        assert len(in_flight) == 1 or sum(weights[i] for i in in_flight) <= READ_AHEAD_BYTES
        # ... and as far ahead as they allow: the next item would break one.
        if ahead < len(items):
            fuller = items[item : ahead + 1]
            assert len(fuller) > READ_AHEAD_SEEDS or sum(weights[i] for i in fuller) > READ_AHEAD_BYTES
        handed.append(item)
    assert handed == items


def _takes(
    calls: list[tuple[list[int], list[int]]], weights: dict[int, int]
) -> tuple[list[list[int]], Counter[int], int]:
    """`read_ahead` called with one `EarlyReads` for each (items, following) of `calls`, as a task's claims call
    it: the items each call handed out, how often each item was read, and the most reads ever started and not
    handed out (each handed item's bytes checked)."""
    recorder, early = _Recorder(lambda i: f"{i}".encode()), EarlyReads[int]()
    handed: list[list[int]] = []
    most = 0
    for items, following in calls:
        handed.append([])
        reads = read_ahead(recorder.start, items, weights.__getitem__, following, early)
        for item, future in reads:
            assert future.result() == f"{item}".encode()
            most = max(most, len(recorder.started) - sum(map(len, handed)))
            handed[-1].append(item)
    return handed, Counter(recorder.started), most


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(1, 12), max_size=8), weight=st.integers(1, READ_AHEAD_BYTES // 4))
def test_reads_started_for_the_next_claim_are_taken_over_by_it(sizes: list[int], weight: int) -> None:
    """Claims in order, each naming the next as following (as `sharing.run_share` does): every seed is read
    once, and handed out by its own claim."""
    bounds = list(itertools.accumulate(sizes, initial=0))
    claims = [list(range(start, stop)) for start, stop in itertools.pairwise(bounds)]
    calls = [(claim, claims[i + 1] if i + 1 < len(claims) else []) for i, claim in enumerate(claims)]
    handed, reads, most = _takes(calls, dict.fromkeys(range(bounds[-1]), weight))
    assert handed == claims
    assert reads == Counter(range(bounds[-1]))
    assert most <= READ_AHEAD_SEEDS


def test_reads_for_a_claim_that_went_elsewhere_are_given_up() -> None:
    """The seeds named as following were taken over by another task: the next claim (another range's) reads
    its own, and the seeds read early are not kept: taken later after all, they are read again."""
    weights = dict.fromkeys(range(30), 1)
    handed, reads, _ = _takes([([0, 1], [2, 3]), ([20, 21], []), ([2, 3], [])], weights)
    assert handed == [[0, 1], [20, 21], [2, 3]]
    assert reads == Counter({0: 1, 1: 1, 2: 2, 3: 2, 20: 1, 21: 1})


def test_an_item_is_read_when_the_bounds_are_full_of_reads_started_for_later_ones() -> None:
    """Seed 1 was read early and weighs half the bytes allowed; the next claim opens with seed 9, which weighs
    all of them: it is read all the same (one at least), and seed 1 is not read again."""
    weights = {0: 1, 1: READ_AHEAD_BYTES // 2, 2: READ_AHEAD_BYTES // 2, 9: READ_AHEAD_BYTES}
    handed, reads, _ = _takes([([0], [1, 2]), ([9, 1], [])], weights)
    assert handed == [[0], [9, 1]]
    assert reads == Counter({0: 1, 1: 1, 9: 1})


def test_seeds_are_read_while_earlier_ones_wait(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(make_seed(body(f"Seed {name} has its own text.")))
    store = Rendezvous(tmp_path, waits=lambda key: key == "a.txt", others=lambda key: key == "b.txt")
    results = read_seeds(store, [SeedTask("a.txt"), SeedTask("b.txt")])
    assert [type(r) for r in results] == [Extracted, Extracted], results


class _Broken(LocalStore):
    """A folder with a bug: reading one seed raises an error no store should. It records the threads its seeds
    are read on."""

    def __init__(self, root: Path, concurrency: int) -> None:
        super().__init__(root)
        self.concurrency = concurrency
        self.threads: set[str] = set()

    def read_bytes(self, key: str) -> bytes:
        self.threads.add(threading.current_thread().name)
        if key == "bug.txt":
            raise RuntimeError("a bug in the store")
        return super().read_bytes(key)


def _summary(result: Any) -> tuple[Any, ...]:
    if isinstance(result, Extracted):
        return ("article", result.seed_file, result.seed_sha256, result.article)
    if isinstance(result, Rejected):
        return ("rejected", result.seed_file, result.seed_sha256, result.stage, result.reason)
    assert isinstance(result, Unchanged)
    return ("unchanged", result.seed_file, result.seed_sha256)


@pytest.mark.parametrize("concurrency", [1, 8], ids=["a folder", "an object store"])
def test_read_seeds_gives_what_each_seed_alone_gives(tmp_path: Path, concurrency: int) -> None:
    """The same results whether the seeds are read ahead on threads (a store worth it) or one after another on
    the calling thread (a folder: see `READ_AHEAD_SEEDS`)."""
    seeds = {f"s{i:02d}.txt": make_seed(body(f"Article number {i} says something.")) for i in range(40)}
    seeds["big.txt"] = make_seed(body("x" * 5000))
    seeds["empty.txt"] = b""
    seeds["same.txt"] = make_seed(body("Nothing changed in this one."))
    seeds["bug.txt"] = make_seed(body("Never read."))
    for name, data in seeds.items():
        (tmp_path / name).write_bytes(data)
    tasks = [SeedTask(name, size=len(data)) for name, data in seeds.items()]
    tasks[tasks.index(SeedTask("big.txt", size=len(seeds["big.txt"])))] = SeedTask("big.txt", size=None)
    unchanged = hashlib.sha256(seeds["same.txt"]).hexdigest()
    tasks[tasks.index(SeedTask("same.txt", size=len(seeds["same.txt"])))] = SeedTask("same.txt", ledger_sha=unchanged)
    tasks += [SeedTask("gone.txt", size=10), SeedTask("listed-too-large.txt", size=10**9)]
    store = _Broken(tmp_path, concurrency)
    together = read_seeds(store, tasks, max_bytes=4000)
    on = store.threads.copy()
    alone = [process_seed(store, task, max_bytes=4000) for task in tasks]
    assert (on == {threading.current_thread().name}) == (concurrency == 1), on
    assert [_summary(r) for r in together] == [_summary(r) for r in alone]
    kinds = {_summary(r)[1]: _summary(r)[0::3] for r in together}
    assert kinds["big.txt"] == ("rejected", "read")
    assert kinds["gone.txt"] == ("rejected", "read")
    assert kinds["listed-too-large.txt"] == ("rejected", "read")
    assert kinds["bug.txt"] == ("rejected", "extract")
    assert kinds["same.txt"] == ("unchanged",)
    assert sum(r.reason == "internal_error" for r in together if isinstance(r, Rejected)) == 1


def test_a_batch_stages_its_tables_at_once_into_an_object_store_as_into_a_folder(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i in range(6):
        text = f'Article number {i} says <a href="/more/{i}">something</a>.'
        (seeds / f"s{i}.txt").write_bytes(make_seed(body(text), url=f"https://example.com/news/{i}"))
    (seeds / "empty.txt").write_bytes(b"")
    results = read_seeds(str(seeds), [SeedTask(p.name) for p in sorted(seeds.iterdir())])
    # The articles' rows can be staged only once another table's staging has started.
    objects = Rendezvous(
        tmp_path / "objects", waits=lambda key: "/articles/" in key, others=lambda key: "/articles/" not in key
    )
    folder = tmp_path / "folder"
    one = stage_results(str(folder), results, 3, "run")
    other = stage_results(objects, results, 3, "run")
    assert objects.other_started.is_set()
    assert set(one.staged) == set(other.staged) == {"articles", "paragraphs", "links", "rejects"}
    assert one.staged == other.staged and one.outcomes.equals(other.outcomes)
    written = sorted(p.relative_to(folder) for p in folder.rglob("*.parquet"))
    assert written == sorted(p.relative_to(objects.root) for p in objects.root.rglob("*.parquet"))
    for path in written:  # the rejects' time of rejection is each call's own
        one_rows, other_rows = (
            pl.read_parquet(root / path).drop(RUN_SPECIFIC["rejects"], strict=False) for root in (folder, objects.root)
        )
        assert one_rows.equals(other_rows)


class _Told(LocalStore):
    """A folder that records, in order, what it is told will be read (`will_read`) and what is read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.events: list[tuple[str, str, int | None]] = []

    def will_read(self, key: str, size: int) -> None:
        self.events.append(("hint", key, size))
        super().will_read(key, size)

    def read_bytes(self, key: str) -> bytes:
        self.events.append(("read", key, None))
        return super().read_bytes(key)


def _folder_of_seeds(root: Path, count: int) -> list[SeedTask]:
    tasks = []
    for i in range(count):
        data = make_seed(body(f"Article number {i} says something."))
        (root / f"s{i:02d}.txt").write_bytes(data)
        tasks.append(SeedTask(f"s{i:02d}.txt", size=len(data)))
    return tasks


def test_a_folder_is_told_of_each_seed_before_its_read_as_far_ahead_as_the_bounds_allow(tmp_path: Path) -> None:
    tasks = _folder_of_seeds(tmp_path, 3 * READ_AHEAD_SEEDS)
    tasks[5] = SeedTask(tasks[5].seed_file, size=None)  # not listed with a size: hinted up to the limit
    tasks[9] = SeedTask(tasks[9].seed_file, size=10**9)  # listed over the limit: rejected unread, not hinted
    tasks[12] = SeedTask(tasks[12].seed_file, size=0)  # listed empty (it grew since): hinted up to the limit too
    store = _Told(tmp_path)
    results = read_seeds(store, tasks, max_bytes=4000)
    assert [_summary(r)[0] for r in results] == ["rejected" if i == 9 else "article" for i in range(len(tasks))]
    hints = [(key, size) for kind, key, size in store.events if kind == "hint"]
    expected = [(t.seed_file, t.size or 4000) for t in tasks if t.size != 10**9]
    assert hints == expected  # each once, in order, with the size to read
    reads = [key for kind, key, _ in store.events if kind == "read"]
    assert reads == [t.seed_file for t in tasks if t.size != 10**9]
    index = {t.seed_file: i for i, t in enumerate(tasks)}
    for at, (kind, key, _) in enumerate(store.events):
        if kind == "read":  # the seeds told of by then: this one and those after it, as many as the bounds allow
            told = [k for kind, k, _ in store.events[:at] if kind == "hint"]
            window = tasks[: index[key] + READ_AHEAD_SEEDS]
            assert told == [t.seed_file for t in window if t.size != 10**9]


def test_claim_after_claim_a_folder_is_told_of_each_seed_once(tmp_path: Path) -> None:
    """As a flow's task reads its claims, each naming the next: the next claim's seeds are hinted during this
    one, and not again when their claim comes."""
    tasks = _folder_of_seeds(tmp_path, 20)
    store, early = _Told(tmp_path), EarlyReads[SeedTask]()
    claims = [tasks[i : i + 6] for i in range(0, 20, 6)]
    for i, claim in enumerate(claims):
        following = claims[i + 1] if i + 1 < len(claims) else []
        assert all(isinstance(r, Extracted) for r in read_seeds(store, claim, 4000, following, early))
    hints = [key for kind, key, _ in store.events if kind == "hint"]
    assert hints == [t.seed_file for t in tasks]
    first_read_of_claim_2 = store.events.index(("read", claims[1][0].seed_file, None))
    assert ("hint", claims[2][0].seed_file, claims[2][0].size) in store.events[:first_read_of_claim_2]


@pytest.mark.skipif(not hasattr(os, "POSIX_FADV_WILLNEED"), reason="no posix_fadvise here (macOS): nothing is told")
def test_telling_a_folder_of_a_read_asks_the_kernel_and_never_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    advice: list[tuple[int, int, int]] = []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, size, how: advice.append((offset, size, how)))
    (tmp_path / "seed.txt").write_bytes(b"x" * 100)
    store = LocalStore(tmp_path)
    store.will_read("seed.txt", 100)
    assert advice == [(0, 100, os.POSIX_FADV_WILLNEED)]
    store.will_read("seed.txt", 0)  # nothing to ask: a length of 0 would be the whole file to the kernel
    assert len(advice) == 1
    store.will_read("missing.txt", 100)  # its read reports it
    os.mkfifo(tmp_path / "pipe")
    told = threading.Thread(target=store.will_read, args=("pipe", 100), daemon=True)
    told.start()
    told.join(timeout=10)
    if told.is_alive():  # the open blocks on a FIFO without a writer: give it one, then fail
        with open(tmp_path / "pipe", "wb"):
            pass
        pytest.fail("telling of a FIFO blocked")

    def refused(fd: int, offset: int, size: int, how: int) -> None:
        raise OSError(errno.EINVAL, "no advice taken")

    monkeypatch.setattr(os, "posix_fadvise", refused)
    store.will_read("seed.txt", 100)  # a file system that takes no advice: nothing to report
