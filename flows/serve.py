"""`make serve`: serve the `ingest` flow as a deployment with a cron schedule on a real Prefect server.

Schedules never fire on Prefect's temporary server, so this needs a real one: `PREFECT_API_URL` when it is
set, else the local server at http://127.0.0.1:4200 (`make server`), started here in the background when
it is not running. Runs come from the schedule or from `prefect deployment run 'ingest/<name>'`.
"""

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from flows.ingest import ingest

LOCAL_API = "http://127.0.0.1:4200/api"
DEFAULT_CRON = "*/15 * * * *"


class ServerError(RuntimeError):
    """No Prefect server could be reached or started."""


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def ensure_server(wait_seconds: float = 90.0) -> str:
    """The API URL to serve against: the configured one, the running local one, or one started now."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        return configured
    if not healthy(LOCAL_API):
        log = Path(os.environ.get("PREFECT_HOME", ".prefect")) / "server.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", "4200"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + wait_seconds
        while not healthy(LOCAL_API):
            if time.monotonic() > deadline:
                raise ServerError(f"the local Prefect server did not come up in {wait_seconds:.0f}s; see {log}")
            time.sleep(1)
        print(f"serve: started a local Prefect server at http://127.0.0.1:4200 (log: {log})", file=sys.stderr)
    os.environ["PREFECT_API_URL"] = LOCAL_API
    return LOCAL_API


def absolute(location: str) -> str:
    """Flow runs start in other processes (and directories): pass local paths absolute, URIs as they are."""
    return location if "://" in location else str(Path(location).resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__)
    parser.add_argument("--seeds", default="seeds")
    parser.add_argument("--data", default="data")
    parser.add_argument("--cron", default=DEFAULT_CRON, help=f"schedule (default: {DEFAULT_CRON!r})")
    parser.add_argument("--name", default="lake", help="deployment name: runs are 'ingest/<name>'")
    args = parser.parse_args(argv)
    try:
        api = ensure_server()
    except ServerError as exc:
        print(f"serve: error: {exc}", file=sys.stderr)
        return 2
    print(f"serve: ingest/{args.name} on {api}, cron {args.cron!r}", file=sys.stderr)
    ingest.serve(
        name=args.name,
        cron=args.cron,
        parameters={"seeds": absolute(args.seeds), "data": absolute(args.data)},
        description="Scheduled ingest of SEEDS into the Parquet lake at DATA.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
