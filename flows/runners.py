"""Task runners for the batch tasks: where the CPU work of a run goes.

- `process` (default): Prefect's ProcessPoolTaskRunner, one worker per core of this machine.
- `thread`: Prefect's ThreadPoolTaskRunner (one core: the GIL), for debugging.
- `dask`: prefect-dask's DaskTaskRunner on the cluster at `DASK_ADDRESS` (tcp://host:8786), or on a
  LocalCluster of worker processes, one per core, when it is not set.

The mapped extract tasks and the commit's merge steps (one group of steps per worker, each step writing
its own partition files) go to the runner; the flow's own process holds the lake's lock for the whole run.
"""

import os
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

RUNNERS = ("process", "thread", "dask")


class RunnerError(ValueError):
    """An unknown runner name."""


def cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def make_task_runner(kind: str, dask_address: str | None = None) -> TaskRunner[Any]:
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=cores())
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=cores())
    if kind == "dask":
        from prefect_dask.task_runners import (
            DaskTaskRunner,  # imported here: dask is heavy and only this runner needs it
        )

        address = dask_address or os.environ.get("DASK_ADDRESS") or None
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(
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
    name = type(runner).__name__
    if name == "DaskTaskRunner":
        address = getattr(runner, "address", None)
        return f"{name} on {address}" if address else f"{name} on a LocalCluster of {cores()} worker processes"
    workers = getattr(runner, "_max_workers", None) or getattr(runner, "max_workers", None)
    return f"{name} with {workers} workers" if workers else name
