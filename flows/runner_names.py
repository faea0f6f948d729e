"""The names of the task runners (`flows.runners`), in a module that imports nothing: the command line offers
them before it imports Prefect (`flows.cli`)."""

RUNNERS = ("process", "thread", "dask")
