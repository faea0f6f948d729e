"""A temporary Prefect API server for one command-line run, launched before the run imports anything heavy.

Prefect starts such a server itself (`prefect.server.api.server.SubprocessASGIServer`) when a flow runs with no
API configured. `flows.cli` launches the same server (the same uvicorn command and environment, which
`tests/test_api_server.py` holds to Prefect's) without importing Prefect's server module into the run's
process (1.2 s), and before the run's own imports (~1 s), so that the server's start-up (~2.6 s: importing
the server, opening its database) overlaps them instead of following them. A one-seed run of `make run`
went from 7.1-7.8 s to 4.7-5.0 s with the collections at exit that `flows.cli` skips.

Standard library only: this module is imported before polars, lxml and Prefect are.
"""

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Self

# What `SubprocessASGIServer._run_uvicorn_command` adds to the environment: no UI, a server of one process's own.
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
# ... and what this server's start-up leaves out, unless the user's environment says otherwise: registering
# the block types of every installed Prefect collection in its database. To find out whether they are
# registered already, Prefect imports each collection at every start (prefect-dask: dask and distributed)
# and hashes the block registry: ~0.3 s of the ~2.6 s before the server answers, on the run's critical path
# (five starts each way, interleaved: 2.43-2.63 -> 2.12-2.33 s). A run of the flow reads and writes no block;
# a server started for its schedules (`make server`, `prefect server start`) still registers them.
NO_BLOCK_REGISTRATION = {
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}
# Prefect's setting for how long to wait for its temporary server (default 20 s), read as Prefect reads it.
STARTUP_TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
DEFAULT_STARTUP_TIMEOUT_S = 20.0
PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind its port (taken since it was chosen)
STOP_TIMEOUT_S = 5.0  # then killed, as Prefect does
_POLL_S = 0.05
_OUTPUT_TAIL_BYTES = 4000
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ServerError(RuntimeError):
    """The temporary server did not start: what it said last is in the message."""


def uvicorn_command(port: int) -> list[str]:
    """The command Prefect runs for its temporary server, for `port`."""
    spec = importlib.util.find_spec("prefect")  # where it is, without importing it
    if spec is None or spec.origin is None:
        raise ServerError("prefect is not installed in this environment")
    app_dir = Path(spec.origin).parent.parent  # `prefect.__module_path__.parent`
    return [
        sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory", "prefect.server.api.server:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on",
    ]  # fmt: skip


def startup_timeout() -> float:
    value = os.environ.get(STARTUP_TIMEOUT_VARIABLE)
    try:
        return float(value) if value else DEFAULT_STARTUP_TIMEOUT_S
    except ValueError as exc:
        raise ServerError(f"{STARTUP_TIMEOUT_VARIABLE}={value!r} is not a number of seconds") from exc


def free_port() -> int:
    """A port of the loopback interface nothing listens on now (the system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Run before uvicorn, in the server's own process (then replaced by it: `execv`): a SIGTERM when the run's
# process dies, however it dies, since a killed run would otherwise leave its server running, holding the
# database. Not `preexec_fn`: code between fork and exec is unsafe where other threads may hold locks (a test
# process has Prefect's). Linux only; ~20 ms.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    f"ctypes.CDLL(None, use_errno=True).prctl({_PR_SET_PDEATHSIG}, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]):\n"  # the run died before the request took effect
    "    sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def server_command(port: int) -> list[str]:
    """What this module runs: `uvicorn_command`, tied to this process's life where the system allows it."""
    command = uvicorn_command(port)
    if sys.platform != "linux":
        return command
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]


class TemporaryServer:
    """A Prefect API server process of this run's own, on a port of the loopback interface."""

    def __init__(self, port: int, process: "subprocess.Popen[bytes]", output: IO[bytes]) -> None:
        self.port = port
        self.process = process
        self._output = output  # the server's stdout and stderr: shown when it fails, not during a run

    @classmethod
    def launch(cls, port: int | None = None) -> Self:
        """Start the server process and return at once (`wait_ready` waits for it)."""
        port = port or free_port()
        output = tempfile.TemporaryFile()  # noqa: SIM115 - the server's to keep: `stop` closes it
        process = subprocess.Popen(
            server_command(port),
            env={**NO_BLOCK_REGISTRATION, **os.environ, **SERVER_ENV},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        return cls(port, process, output)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self, timeout: float | None = None) -> None:
        """Return when the server answers its health check; raise `ServerError` if it exits or does not answer
        within `timeout` (Prefect's setting).

        Its port is not changed for another if it was taken meanwhile (Prefect tries again on another): the
        run's Prefect settings were read with this one, when Prefect was imported (a setting changed after
        that reaches the flow but not all of Prefect's threads: its log worker started a temporary server of
        its own). The system hands out its free ports in turn, so it would take another process binding
        this one within the few milliseconds before the server does.
        """
        limit = startup_timeout() if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            status = self.process.poll()
            if status == PORT_IN_USE:
                raise ServerError(f"the temporary Prefect server's port {self.port} was taken: run again")
            if status is not None:
                raise ServerError(f"the temporary Prefect server exited with status {status}: {self.output_tail()}")
            if self._healthy():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"the temporary Prefect server did not answer within {limit:g} s")
            time.sleep(_POLL_S)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False  # not listening yet, or not answering yet

    def output_tail(self) -> str:
        self._output.flush()
        self._output.seek(0, os.SEEK_END)
        size = self._output.tell()
        self._output.seek(max(0, size - _OUTPUT_TAIL_BYTES))
        text = self._output.read().decode("utf-8", "replace").strip()
        return text or "(no output)"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `STOP_TIMEOUT_S`) and drop its output."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()
