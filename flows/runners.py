"""Task runners for the batch tasks: where the CPU work of a run goes.

- `process` (default): Prefect's ProcessPoolTaskRunner, one worker per core of this machine, each with one
  polars thread (`WORKER_ENV`).
- `thread`: Prefect's ThreadPoolTaskRunner (one core: the GIL), for debugging.
- `dask`: prefect-dask's DaskTaskRunner on the cluster at `DASK_ADDRESS` (tcp://host:8786), or on a
  LocalCluster of worker processes, one per core, when it is not set, each with one polars thread too
  (`flows.dask_runner`; a cluster of one's own keeps its own environment).

The mapped extract tasks and the commit's merge steps (one group of steps per worker, each step writing
its own partition files) go to the runner; the flow's own process holds the lake's lock for the whole run.
"""

import os
from typing import Any, Self

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

RUNNERS = ("process", "thread", "dask")
# The environment worker processes start with (where the user has not set these variables). There is a
# worker per core, so polars' own thread pool in each (a thread per core by default) put twice as many
# threads as cores to work on the merge steps and the batches' validation queries. One polars thread a
# worker, 1500 seeds on two workers, eleven flow runs each way, alternating: the slower worker's merge steps
# 0.39-0.54 s (median 0.44) -> 0.33-0.52 (median 0.39), its batch the same (medians 3.07 and 3.06 s). (In a
# single process, with no other worker busy, polars' threads help: session 5 measured one thread slower.)
# It must be in place before the worker imports polars, which reads it once.
WORKER_ENV = {"POLARS_MAX_THREADS": "1"}


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


def describe(runner: TaskRunner[Any]) -> str:
    """A log line naming the runner and where it runs."""
    # Prefect's and prefect-dask's class names, not this module's subclasses of them.
    prefects = (cls.__name__ for cls in type(runner).__mro__ if cls.__module__.startswith(("prefect.", "prefect_")))
    name = next(prefects, type(runner).__name__)
    if name == "DaskTaskRunner":
        address = getattr(runner, "address", None)
        return f"{name} on {address}" if address else f"{name} on a LocalCluster of {cores()} worker processes"
    workers = getattr(runner, "_max_workers", None) or getattr(runner, "max_workers", None)
    return f"{name} with {workers} workers" if workers else name
