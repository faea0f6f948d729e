"""The Dask runner's LocalCluster, its workers started with `runners.WORKER_ENV` (one polars thread each).

A module of its own so that dask is imported only by runs that use it, and the class can be found by name
when Prefect copies the runner (`duplicate`) or pickles what refers to it.
"""

from prefect_dask.task_runners import DaskTaskRunner

from flows.runners import WorkerEnvironment


class LocalDaskWorkers(WorkerEnvironment, DaskTaskRunner):
    """prefect-dask's runner on a LocalCluster it creates (at the first task, while the runner is open): the
    cluster's Nannies spawn their workers with this process's environment."""
