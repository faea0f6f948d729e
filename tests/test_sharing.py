"""Seeds taken over between a run's tasks (`newslake.sharing`): each seed read once, whatever the timing, and
a lake that does not depend on which task read which seed."""

import multiprocessing
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newslake.batch import EarlyReads, Result, SeedTask, StagedBatch, Unchanged, read_seeds, stage_results
from newslake.run import RunOptions, ingest_run, map_in_process
from newslake.sharing import CHUNK_SEEDS, Share, SharingError, WorkShares, run_share
from tests.conftest import GIVEN_SEED, assert_same, body, lake_content, make_seed, write


def plan(sizes: list[list[int]]) -> list[Share]:
    """Shares of batches of the given sizes, seeds named by (share, batch, position), batches numbered in order."""
    shares: list[Share] = []
    index = 0
    for number, share in enumerate(sizes):
        shares.append([])
        for size in share:
            shares[-1].append((index, [SeedTask(f"{number}-{index}-{i}") for i in range(size)]))
            index += 1
    return shares


def batch_count(shares: list[Share]) -> int:
    return sum(len(share) for share in shares)


Op = tuple[str, int, int]  # ("start" | "front" | "back", share, count)


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=4),
    ops=st.lists(
        st.tuples(st.sampled_from(["start", "front", "back"]), st.integers(0, 3), st.integers(1, 20)), max_size=60
    ),
)
def test_every_seed_is_taken_once_in_any_order_of_claims(
    sizes: list[int], ops: list[Op], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the order of the claims, owners take their range's front in order, others take from the back
    only once every range has started, and when every range is drained each seed was taken exactly once."""
    shares = WorkShares.create(tmp_path_factory.mktemp("shares"), plan([[n] for n in sizes]), len(sizes))
    taken: list[tuple[int, int]] = []
    fronts = [0] * len(sizes)
    backs = list(sizes)
    started = [False] * len(sizes)
    for op, drawn, count in ops:
        share = drawn % len(sizes)
        if op == "start":
            shares.start(share)
            started[share] = True
        elif op == "front":
            got = shares.take_front(share, count)
            if got is not None:
                assert (got.share, got.start) == (share, fronts[share])  # the owner's next seeds, in order
                assert 0 < got.stop - got.start <= count and got.stop <= backs[share]
                fronts[share] = got.stop
                taken += [(share, i) for i in range(got.start, got.stop)]
            else:
                assert fronts[share] == backs[share]
        else:
            got = shares.take_back(count)
            left = [back - front for front, back in zip(fronts, backs, strict=True)]
            if not all(started):
                assert got is None  # a task still waiting for a worker runs its own seeds
            elif got is None:
                assert max(left) == 0
            else:
                # from the back of the range with the most left, at most half of it (rounded up)
                assert got.stop == backs[got.share] and left[got.share] == max(left)
                assert 0 < got.stop - got.start <= min(count, (left[got.share] + 1) // 2)
                backs[got.share] = got.start
                taken += [(got.share, i) for i in range(got.start, got.stop)]
    for share in range(len(sizes)):
        shares.start(share)
        while (got := shares.take_front(share, 7)) is not None:
            taken += [(share, i) for i in range(got.start, got.stop)]
    assert shares.take_back(5) is None
    assert sorted(taken) == [(share, i) for share, n in enumerate(sizes) for i in range(n)]


def fake_read(
    seconds_a_seed: float, calls: list[tuple[list[str], list[str]]] | None = None
) -> Callable[[list[SeedTask], list[SeedTask]], list[Result]]:
    """Reads that take `seconds_a_seed` a seed, each call recorded in `calls` (the seeds, the following ones)."""

    def read(tasks: list[SeedTask], following: list[SeedTask]) -> list[Result]:
        if calls is not None:
            calls.append(([t.seed_file for t in tasks], [t.seed_file for t in following]))
        time.sleep(seconds_a_seed * len(tasks))
        return [Unchanged(task.seed_file, "sha") for task in tasks]

    return read


def fake_stage(index: int, results: list[Result]) -> StagedBatch:
    return StagedBatch(
        index, pl.DataFrame({"seed_file": [r.seed_file for r in results]}, schema={"seed_file": pl.String}), {}
    )


def staged_seeds(batches: list[tuple[StagedBatch, int]]) -> list[str]:
    return [name for batch, _ in batches for name in batch.outcomes["seed_file"]]


def run_task(directory: str, number: int, share: Share, seconds_a_seed: float, ready: Any, out: Any) -> None:
    """One task in a process of its own, started with the others (`ready`, a barrier): puts (its number, and
    (batch index, its seeds, how many were taken over) per staged batch) on `out`."""
    ready.wait(timeout=60)
    done = run_share(WorkShares(directory), number, share, fake_read(seconds_a_seed), fake_stage, 100)
    out.put((number, [(batch.index, list(batch.outcomes["seed_file"]), over) for batch, over in done]))


def test_a_fast_task_takes_over_the_end_of_a_slow_one_in_other_processes(tmp_path: Path) -> None:
    """Three tasks in three processes at once, one of them ten times slower a seed: the others take over
    the end of its range, every seed is staged once, and no two batches share an index. (The fast ones read
    their own seeds for 0.5 s: the slow one has started long before, even on a busy machine.)"""
    shares = plan([[60, 40], [100], [100]])
    WorkShares.create(tmp_path, shares, batch_count(shares))
    speeds = [0.05, 0.005, 0.005]
    context = multiprocessing.get_context("spawn")
    ready, out = context.Barrier(len(shares)), context.Queue()
    processes = [
        context.Process(target=run_task, args=(str(tmp_path), n, share, speeds[n], ready, out), daemon=True)
        for n, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    done = dict(out.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    staged = [batch for n in sorted(done) for batch in done[n]]
    names = [name for _, seeds, _ in staged for name in seeds]
    assert sorted(names) == sorted(task.seed_file for share in shares for _, tasks in share for task in tasks)
    indices = [index for index, _, _ in staged]
    assert len(set(indices)) == len(indices)
    over = [name for number in (1, 2) for _, seeds, n in done[number] for name in seeds[len(seeds) - n :]]
    assert len(over) >= CHUNK_SEEDS  # the fast tasks took over part of the slow one's range: its end
    planned = [task.seed_file for _, tasks in shares[0] for task in tasks]
    own = [name for _, seeds, _ in done[0] for name in seeds]
    assert own == planned[: len(own)] and sorted(over) == sorted(planned[len(own) :])


def test_without_shares_a_task_runs_its_batches_as_planned() -> None:
    shares = plan([[3, 2]])
    done = list(run_share(None, 0, shares[0], fake_read(0), fake_stage, 100))
    assert [(batch.index, list(batch.outcomes["seed_file"]), over) for batch, over in done] == [
        (0, ["0-0-0", "0-0-1", "0-0-2"], 0),
        (1, ["0-1-0", "0-1-1"], 0),
    ]


def test_seeds_taken_over_join_the_last_batch_up_to_twice_its_size(tmp_path: Path) -> None:
    """Task 1 started but read nothing (a slow one): task 0 takes all of it over, a chunk at a time and at most
    half of what is left, into its own last batch while that holds less than twice a batch, then into
    batches under new indices."""
    shares = plan([[10], [50]])
    work = WorkShares.create(tmp_path, shares, batch_count(shares))
    work.start(1)
    calls: list[tuple[list[str], list[str]]] = []
    done = list(run_share(work, 0, shares[0], fake_read(0, calls), fake_stage, 10))
    shape = [(batch.index, batch.outcomes.height, over) for batch, over in done]
    assert shape == [(0, 26, 16), (2, 24, 24), (3, 10, 10)]  # 8 + 8; 8 x 3; 5 + 3 + 1 + 1 (halves of the rest)
    # Its own claims name the next one as following (read ahead); seeds taken over have none.
    own = [f"0-0-{i}" for i in range(10)]
    assert calls[:2] == [(own[:8], own[8:]), (own[8:], [])]
    assert all(following == [] and tasks[0].startswith("1-") for tasks, following in calls[2:])
    assert sorted(staged_seeds(done)) == sorted(t.seed_file for share in shares for _, tasks in share for t in tasks)
    assert list(run_share(work, 1, shares[1], fake_read(0), fake_stage, 10)) == []  # nothing left to it


def test_a_damaged_shares_file_is_an_error(tmp_path: Path) -> None:
    work = WorkShares.create(tmp_path, plan([[3], [4]]), 2)
    (tmp_path / "shares").write_bytes(b"\x02" + bytes(20))
    with pytest.raises(SharingError, match="21 bytes for 2 ranges"):
        work.take_front(0, 1)


def taking_over_in_turn(
    seeds: str, data: str, groups: list[list[SeedTask]], run_id: str, max_bytes: int
) -> list[StagedBatch]:
    """Two tasks, the second started but slow: the first reads its own seeds and all of the second's."""
    shares = [[(0, groups[0])], [(i, groups[i]) for i in range(1, len(groups))]]
    directory = Path(data) / "_shares_test"
    directory.mkdir(parents=True)
    try:
        work = WorkShares.create(directory, shares, len(groups))
        work.start(1)
        early: EarlyReads[SeedTask] = EarlyReads()
        first = list(
            run_share(
                work,
                0,
                shares[0],
                lambda tasks, following: read_seeds(seeds, tasks, max_bytes, following, early),
                lambda index, results: stage_results(data, results, index, run_id),
                2,
            )
        )
    finally:
        shutil.rmtree(directory)
    assert sum(over for _, over in first) == sum(map(len, groups[1:]))  # all of the second task's seeds
    return [batch for batch, _ in first]


def test_the_lake_does_not_depend_on_which_task_read_a_seed(tmp_path: Path) -> None:
    """A run whose second task's seeds were all taken over by the first writes the lake a run of the planned
    batches writes, a URL crawled twice among them (the later crawl wins either way)."""
    seeds = tmp_path / "seeds"
    write(seeds / "a.txt", GIVEN_SEED.read_bytes())
    write(seeds / "b.txt", make_seed(body("Bravo story."), url="https://ex.com/b"))
    write(seeds / "c.txt", make_seed(body("Charlie story."), url="https://ex.com/c", crawl_ms=1_642_079_000_000))
    write(seeds / "d.txt", b"")
    write(seeds / "e.txt", make_seed(body("Charlie again, later."), url="https://ex.com/c"))
    write(seeds / "f.txt", make_seed(body("Foxtrot story.", day="2022-02-01"), url="https://ex.com/f"))
    options = RunOptions(str(seeds), str(tmp_path / "taken"), batch_size=2)
    ingest_run(options, "r1", map_batches=taking_over_in_turn)
    planned = RunOptions(str(seeds), str(tmp_path / "planned"), batch_size=2)
    ingest_run(planned, "r1", map_batches=map_in_process)
    assert_same(lake_content(tmp_path / "taken"), lake_content(tmp_path / "planned"))
    assert lake_content(tmp_path / "planned")["articles"].height == 4
