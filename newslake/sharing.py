"""Batches shared out while they run: a task that has done its own seeds takes seeds from the end of a task
still running, so that the workers finish together.

A run splits its seeds into tasks of equal bytes before any runs (`newslake.discover.batches`), but equal bytes
are not equal time: a shared machine's cores run at different speeds from one second to the next (1500 seeds
on a 2-core host: the two workers' ~4 s tasks ended 0.02-1.29 s apart, median 0.21, in nineteen flow runs;
0.00-0.13 s, median 0.04, with this), and an archive of mixed sites costs unequal time per byte. With seeds
taken over at the end, the early worker ends about with the other instead of waiting for it.

The tasks of a run coordinate through one small file (`WorkShares`) on the machine their workers share (a
process pool's, a thread pool's or the Dask runner's own LocalCluster's), locked with `flock` a claim at a
time (a claim is `CHUNK_SEEDS` seeds, ~20 ms of work on a quiet host). A task takes its own seeds from the
front of its range, in order; once its range is empty and every task has started (a task still waiting for a
worker gets this one when this task ends), it takes seeds from the back of the range with the most left, into
its last batch (past twice a batch's seeds, a new batch under a new index); the owner's batches hold what is
left to it. Which batch holds a seed changes nothing the run writes: `newslake.ledger.resolve` decides across
batches.

Rejected: more, smaller tasks for the pool to hand out (a task's hand-off and a batch's fixed costs are
~0.1 s a task, as much as the imbalance they would remove), and claims through the data store (an object
store has no lock). A remote Dask cluster's workers share no file: their tasks keep their shares as planned.
"""

import fcntl
import os
import pickle
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from newslake.batch import Result, SeedTask, StagedBatch

# Seeds claimed at a time (~20 ms of work on a quiet host; a claim costs ~20 us): what a task has claimed and
# not read yet cannot be taken over, so the tasks' ends can be about that far apart.
CHUNK_SEEDS = 8
_HEADER = struct.Struct("<qq")  # (ranges, next batch index)
_RANGE = struct.Struct("<qqq")  # (front, back, started) of a range
_STATE_FILE = "shares"
_PLAN_FILE = "plan.pickle"

# One task's batches: (batch index, its seeds), consecutive.
Share = list[tuple[int, list[SeedTask]]]
# Reads and extracts seeds, and may start reading the seeds named as following (the task's next claim, when
# it has one); stages a batch of results under its index.
Read = Callable[[list[SeedTask], list[SeedTask]], list[Result]]
Stage = Callable[[int, list[Result]], StagedBatch]


class SharingError(RuntimeError):
    """The shares' state file is not what `WorkShares.create` wrote."""


@dataclass(frozen=True)
class Taken:
    """Seeds taken from a range: which range, and their positions [start, stop) in it."""

    share: int
    start: int
    stop: int


@dataclass
class _State:
    next_index: int
    ranges: list[list[int]]  # [front, back, started] of each range


class WorkShares:
    """The state of a run's tasks' ranges, in a file under `directory`: each range's front (the next seed its
    owner takes), back (one past the last seed left to take) and whether its owner has started."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._state = self.directory / _STATE_FILE

    @classmethod
    def create(cls, directory: Path | str, shares: list[Share], next_index: int) -> "WorkShares":
        """The state of `shares` (each a task's batches) before any task starts; batches of seeds taken over
        are numbered from `next_index`. The seeds of every range are written beside it, for a task taking
        seeds over (read once, by such a task only)."""
        directory = Path(directory)
        sizes = [sum(len(tasks) for _, tasks in share) for share in shares]
        state = _HEADER.pack(len(sizes), next_index) + b"".join(_RANGE.pack(0, size, 0) for size in sizes)
        (directory / _PLAN_FILE).write_bytes(pickle.dumps([_seeds(share) for share in shares]))
        (directory / _STATE_FILE).write_bytes(state)
        return cls(directory)

    @contextmanager
    def _locked(self) -> Iterator[_State]:
        """The state under an exclusive lock; what the block leaves in it is written back."""
        fd = os.open(self._state, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the close, also when the process dies
            data = os.pread(fd, os.fstat(fd).st_size, 0)
            if len(data) < _HEADER.size:
                raise SharingError(f"{self._state}: {len(data)} bytes, not a shares file")
            count, next_index = _HEADER.unpack_from(data)
            if len(data) != _HEADER.size + count * _RANGE.size:
                raise SharingError(f"{self._state}: {len(data)} bytes for {count} ranges")
            ranges = [list(_RANGE.unpack_from(data, _HEADER.size + i * _RANGE.size)) for i in range(count)]
            state = _State(next_index, ranges)
            yield state
            new = _HEADER.pack(count, state.next_index) + b"".join(_RANGE.pack(*r) for r in state.ranges)
            if new != data:
                os.pwrite(fd, new, 0)
        finally:
            os.close(fd)

    def start(self, share: int) -> None:
        """Mark range `share` as started: from now on other tasks may take seeds from its back."""
        with self._locked() as state:
            state.ranges[share][2] = 1

    def take_front(self, share: int, count: int) -> Taken | None:
        """Up to `count` seeds from the front of range `share` (its owner's next ones); None when it is empty."""
        with self._locked() as state:
            front, back, _ = state.ranges[share]
            if front >= back:
                return None
            stop = min(back, front + count)
            state.ranges[share][0] = stop
            return Taken(share, front, stop)

    def take_back(self, count: int) -> Taken | None:
        """Up to `count` seeds, and at most half of what is left (rounded up), from the back of the range with
        the most left: its owner is reading too, so taking all of a short rest would leave the taker the
        later one. None when every range is empty or one has not started (its task will run on a worker that
        ends its own task first)."""
        with self._locked() as state:
            if not all(started for _, _, started in state.ranges):
                return None
            left = [back - front for front, back, _ in state.ranges]
            share = max(range(len(left)), key=left.__getitem__, default=0)
            if not left or left[share] <= 0:
                return None
            back = state.ranges[share][1]
            start = back - min(count, (left[share] + 1) // 2)
            state.ranges[share][1] = start
            return Taken(share, start, back)

    def new_index(self) -> int:
        """A batch index no other batch of the run has."""
        with self._locked() as state:
            state.next_index += 1
            return state.next_index - 1

    @cached_property
    def _plan(self) -> list[list[SeedTask]]:
        plan: list[list[SeedTask]] = pickle.loads((self.directory / _PLAN_FILE).read_bytes())  # written by `create`
        return plan

    def seeds(self, taken: Taken) -> list[SeedTask]:
        """The seeds `taken` names."""
        return self._plan[taken.share][taken.start : taken.stop]


def _seeds(share: Share) -> list[SeedTask]:
    return [task for _, tasks in share for task in tasks]


def run_share(
    shares: WorkShares | None, number: int, share: Share, read: Read, stage: Stage, batch_size: int
) -> Iterator[tuple[StagedBatch, int]]:
    """Task `number`'s batches (`share`) read and staged, each with how many of its seeds were taken over from
    other tasks; without `shares`, its batches as they are. The seeds are read a claim at a time, so that what
    is not read yet can still be taken over.

    Seeds taken over join the task's last batch (up to twice `batch_size` seeds, then a new one: memory of two
    batches at most, at the end of a run only). A batch's rows are validated and staged at its end (~0.3-0.45 s
    for 750 seeds on a busy 2-core host), work no other task can take over: a task that staged its own last
    batch first and took seeds over after left the others that much at least (a first version: the tasks'
    ends stayed 0.2-0.4 s apart). This way every task ends with its own staging, about together.
    """
    if shares is None:
        for index, tasks in share:
            yield stage(index, read(tasks, [])), 0
        return
    shares.start(number)
    results: list[Result] = []
    index = 0
    first = 0  # the position of the batch's first seed in the range
    for own_index, tasks in share:
        if results:
            yield stage(index, results), 0
        results, index = [], own_index
        end = first + len(tasks)
        at = first  # the next seed to read
        while at < end and (taken := shares.take_front(number, min(CHUNK_SEEDS, end - at))) is not None:
            start, stop = taken.start - first, taken.stop - first
            results += read(tasks[start:stop], tasks[stop : stop + CHUNK_SEEDS])  # the next claim, likely
            at = taken.stop
        if at < end:
            break  # the rest of the range was taken over
        first = end
    over = 0  # seeds taken over into the batch being read
    while (taken := shares.take_back(CHUNK_SEEDS)) is not None:
        if len(results) >= 2 * batch_size:
            yield stage(index, results), over
            results, index, over = [], shares.new_index(), 0
        results += read(shares.seeds(taken), [])
        over += taken.stop - taken.start
    if results:
        yield stage(index, results), over
