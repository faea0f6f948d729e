"""The command line of the `ingest` flow: `python -m flows.cli --seeds DIR --data DIR [--full]` (`make run`).

What it does and its exit statuses: `DESCRIPTION`, which `--help` shows.

Without a configured API (`PREFECT_API_URL`) the run has a temporary Prefect server of its own. It is launched
first, before this process imports the flow (polars, lxml, pandera, Prefect: ~1 s), so that the two start
up side by side (`flows.api_server`). `python -m flows.ingest` runs the same command, without that overlap.
"""

import argparse
import gc
import os
import sys
from typing import NoReturn

from flows.api_server import ServerError, TemporaryServer
from flows.runner_names import RUNNERS

DESCRIPTION = """Bring the Parquet lake under DATA up to date with the seed files under SEEDS. Exit status: 0
when the run ended (its rejects are in the lake), 1 when it could not start its temporary Prefect server or
failed, 2 for a cause the user can fix (SEEDS or DATA unusable, an unknown runner), 3 when another run holds
the lake's lock."""
DELIVERY_TIMEOUT_S = 30.0  # for the logs and events of a run, then the server is stopped anyway


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.cli", description=DESCRIPTION)
    parser.add_argument("--seeds", default="seeds", help="directory of seed files (default: seeds)")
    parser.add_argument("--data", default="data", help="lake directory (default: data)")
    parser.add_argument("--full", action="store_true", help="process every seed again, changed or not")
    parser.add_argument("--batch-size", type=int, help="seeds a batch (default: the flow's)")
    parser.add_argument("--max-seed-bytes", type=int, help="larger seed files are rejected (default: the flow's)")
    parser.add_argument("--wait-lock", type=float, default=0.0, help="seconds to wait for another run's lock")
    parser.add_argument(
        "--runner",
        default="process",
        choices=RUNNERS,
        help="where batch tasks run (default: process; see flows.runners)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    server = None
    try:
        if not os.environ.get("PREFECT_API_URL"):
            server = TemporaryServer.launch()
            os.environ["PREFECT_API_URL"] = server.api_url  # before Prefect is imported: it reads its settings then
        return run(args, server)
    except ServerError as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 1
    except Exception:
        # The server's output goes to a file, not the terminal (it is silent in a run that goes well): shown
        # here, in case what went wrong is in it. The exception itself follows, as Python prints it.
        if server is not None:
            print(f"ingest: the temporary Prefect server's last output: {server.output_tail()}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
            os.environ.pop("PREFECT_API_URL", None)


def run(args: argparse.Namespace, server: TemporaryServer | None) -> int:
    """Check what the user can fix, then run the flow (on `server`, when this run has one)."""
    # Imported here, while the server starts (see the module's docstring).
    from flows import ingest
    from newslake.batch import DEFAULT_MAX_SEED_BYTES
    from newslake.discover import SeedsError, check_seeds
    from newslake.lake import LakeError, LakeLocked, check_writable, lake_lock
    from newslake.run import DEFAULT_BATCH_SIZE

    batch_size = DEFAULT_BATCH_SIZE if args.batch_size is None else args.batch_size
    max_seed_bytes = DEFAULT_MAX_SEED_BYTES if args.max_seed_bytes is None else args.max_seed_bytes

    # The causes a user can fix are checked before the flow starts, so they get one line, no traceback.
    try:
        check_seeds(args.seeds)
        check_writable(args.data)
        with lake_lock(args.data, args.wait_lock):
            pass
    except LakeLocked as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 3
    except (SeedsError, LakeError) as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 2
    flow_to_run = ingest.with_runner(args.runner)  # a name argparse took from `RUNNERS`
    if server is not None:
        server.wait_ready()
    with ingest.run_settings(temporary_server=server is not None):
        try:
            flow_to_run(args.seeds, args.data, args.full, batch_size, max_seed_bytes, args.wait_lock)
        except SeedsError as exc:  # found by the run's listing (a directory below SEEDS it cannot read)
            print(f"ingest: error: {exc}", file=sys.stderr)
            return 2
        finally:
            if server is not None:
                deliver_logs_and_events()
    return 0


def deliver_logs_and_events() -> None:
    """Send what Prefect still holds of the run's logs and events (it sends them in batches, every 2 s) while
    the temporary server is up, as Prefect's own test harness does before it stops its server.

    Prefect would send them as the interpreter shuts down, after `main` has stopped the server: "Error logging
    to API" on every run. (When Prefect started the server itself, it stopped it later, at exit.)
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=DELIVERY_TIMEOUT_S)
    EventsWorker.drain_all(timeout=DELIVERY_TIMEOUT_S)


def exit_with(status: int) -> NoReturn:
    """End the process: what is garbage now is collected, what is alive is frozen first.

    The interpreter's teardown collected the whole heap several times (Prefect, pydantic, polars: ~0.9 s
    after every run, from the last exit handler to the process's end); collected once here (~0.19 s, so
    that what is garbage is finalised as before) and frozen, it took ~0.07 s.
    """
    gc.collect()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    exit_with(main())
