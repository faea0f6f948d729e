"""Task runners for the batch tasks: where the CPU work of a run goes.

- `process` (default): Prefect's ProcessPoolTaskRunner, one worker per core of this machine, each with one
  polars thread on its in-memory engine and, on Linux, mimalloc as its C allocator (`WORKER_ENV`).
- `thread`: Prefect's ThreadPoolTaskRunner (one core: the GIL), for debugging.
- `dask`: prefect-dask's DaskTaskRunner on the cluster at `DASK_ADDRESS` (tcp://host:8786), or on a
  LocalCluster of worker processes, one per core, when it is not set, each with one polars thread too
  (`flows.dask_runner`; a cluster of one's own keeps its own environment).

The mapped extract tasks and the commit's merge steps (one group of steps per worker, each step writing
its own partition files) go to the runner; the flow's own process holds the lake's lock for the whole run.
"""

import importlib.metadata
import os
import sys
from typing import Any, Literal, Self

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.runner_names import RUNNERS

MIMALLOC = "cmeel-mimalloc"  # the distribution that ships mimalloc's shared library (a dependency on Linux)
POLARS_ENGINE: Literal["in-memory"] = "in-memory"  # the workers' polars engine (see `_worker_env`)


def mimalloc_library() -> str | None:
    """Where cmeel-mimalloc's `libmimalloc.so` is, on Linux where it is installed; else None.

    The workers preload it (`LD_PRELOAD`): libxml2 allocates and frees every node, attribute and text of a
    page through the C allocator, and glibc's malloc and free were ~13% of a worker's batch. With mimalloc a
    750-seed batch took 1.89-2.03 s against 2.08-2.38 s (first batch of a fresh process, as a flow's worker
    runs it; the slower worker's batch in five alternating flow runs: median 2.06 s against 2.35 s), for a
    peak ~40 MiB higher. 3.4.3 was rejected: its first batch spent 0.3-0.6 s in the kernel (3.2.8: 0.14-0.17,
    glibc 0.11-0.16). A path with a space or a colon cannot be preloaded (the loader splits the list there).
    """
    if sys.platform != "linux":
        return None
    try:
        files = importlib.metadata.files(MIMALLOC) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "libmimalloc.so":
            path = str(file.locate())
            if os.path.isfile(path) and not any(c in path for c in " :"):
                return path
    return None


def _worker_env() -> dict[str, str]:
    """The environment worker processes start with (where the user has not set these variables).

    There is a worker per core, so polars' own thread pool in each (a thread per core by default) put twice as
    many threads as cores to work on the merge steps and the batches' validation queries. One polars thread a
    worker, 1500 seeds on two workers, eleven flow runs each way, alternating: the slower worker's merge steps
    0.39-0.54 s (median 0.44) -> 0.33-0.52 (median 0.39), its batch the same (medians 3.07 and 3.06 s). (In a
    single process, with no other worker busy, polars' threads help: session 5 measured one thread slower.)
    Polars 2 runs a lazy query on its streaming engine by default, whose start-up is most of a small query's
    cost: pandera's checks are each such a query (93 for a batch's `articles`), and a batch's validation took
    44 ms on it against 18 ms on the in-memory engine (the lake's files the same bytes either way; polars'
    eager operations use the in-memory engine anyway).
    It must be in place before the worker imports polars, which reads it once; the preload before it starts.
    A user's own LD_PRELOAD (an empty one turns this off) is kept, like their POLARS_* values.
    """
    library = mimalloc_library()
    polars = {"POLARS_MAX_THREADS": "1", "POLARS_ENGINE_AFFINITY": POLARS_ENGINE}
    return polars | ({"LD_PRELOAD": library} if library else {})


WORKER_ENV = _worker_env()


class RunnerError(ValueError):
    """An unknown runner name."""


def cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class WorkerEnvironment(TaskRunner[Any]):
    """Mixin for a runner whose workers are processes it starts: they start with `WORKER_ENV`.

    The workers are spawned with this process's environment: `WORKER_ENV` is in it while the runner is open,
    and the variables are put back as they were when it closes. (Not the process pool's `initializer`, nor a
    Dask Nanny's `env`: a spawned worker imports the flow's module, and polars with it, before they apply.)
    """

    _saved_env: dict[str, str | None]

    def __enter__(self) -> Self:
        self._saved_env = {name: os.environ.get(name) for name in WORKER_ENV}
        for name, value in WORKER_ENV.items():
            os.environ.setdefault(name, value)
        try:
            return super().__enter__()
        except BaseException:
            self._restore_env()
            raise

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        try:
            super().__exit__(exc_type, exc_value, traceback)
        finally:
            self._restore_env()

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class WorkerProcesses(WorkerEnvironment, ProcessPoolTaskRunner):
    """Prefect's process pool, its workers started with `WORKER_ENV` (the pool spawns them at the first task)."""


def on_this_machine(runner: TaskRunner[Any] | None) -> bool:
    """Whether the runner's workers run on this machine, where they can share a file (`newslake.sharing`): a
    process or thread pool, or the Dask runner's own LocalCluster; not a Dask cluster at an address, whose
    workers may be other machines."""
    return isinstance(runner, ProcessPoolTaskRunner | ThreadPoolTaskRunner | WorkerEnvironment)


def make_task_runner(kind: str, dask_address: str | None = None) -> TaskRunner[Any]:
    if kind == "process":
        return WorkerProcesses(max_workers=cores())
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=cores())
    if kind == "dask":
        # Imported here: dask is heavy and only this runner needs it.
        from prefect_dask.task_runners import DaskTaskRunner

        from flows.dask_runner import LocalDaskWorkers

        address = dask_address or os.environ.get("DASK_ADDRESS") or None
        if address:
            return DaskTaskRunner(address=address)
        return LocalDaskWorkers(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": cores(),
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": ":0",
            },
        )
    raise RunnerError(f"unknown runner {kind!r}: choose one of {', '.join(RUNNERS)}")


def worker_allocator() -> str:
    """The C allocator the workers a runner starts get, as this process's environment has it now (while
    the runner is open)."""
    preload = os.environ.get("LD_PRELOAD")
    if preload and preload == WORKER_ENV.get("LD_PRELOAD"):
        return f"mimalloc {importlib.metadata.version(MIMALLOC)}"
    return f"LD_PRELOAD={preload}" if preload else "the C library's malloc"


def describe(runner: TaskRunner[Any]) -> str:
    """A log line naming the runner, where it runs and, for workers it starts, their C allocator."""
    # Prefect's and prefect-dask's class names, not this module's subclasses of them.
    prefects = (cls.__name__ for cls in type(runner).__mro__ if cls.__module__.startswith(("prefect.", "prefect_")))
    name = next(prefects, type(runner).__name__)
    allocator = f", allocating with {worker_allocator()}" if isinstance(runner, WorkerEnvironment) else ""
    if name == "DaskTaskRunner":
        address = getattr(runner, "address", None)
        where = f"on {address}" if address else f"on a LocalCluster of {cores()} worker processes"
        return f"{name} {where}{allocator}"
    workers = getattr(runner, "_max_workers", None) or getattr(runner, "max_workers", None)
    return (f"{name} with {workers} workers" if workers else name) + allocator
