"""The temporary Prefect server a command-line run launches (`flows.api_server`): Prefect's own command, a real
start and stop, failures reported with what the server said, and no server outliving a killed run."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import flows.api_server
from flows.api_server import NO_BLOCK_REGISTRATION, SERVER_ENV, ServerError, TemporaryServer, uvicorn_command
from tests.conftest import REPO


def test_the_server_is_launched_as_prefect_launches_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same uvicorn command and environment as `SubprocessASGIServer`'s (a Prefect upgrade that changes
    them fails here, not in a user's run)."""
    import prefect.server.api.server as prefect_server
    from prefect.settings import get_current_settings

    launched: dict[str, Any] = {}

    def record(args: list[str], **kwargs: Any) -> None:
        launched.update(args=args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", record)  # what `prefect_server` calls it by
    prefect_server.SubprocessASGIServer(port=8765)._run_uvicorn_command()
    assert launched["args"] == uvicorn_command(8765)
    settings = get_current_settings().to_environment_variables(exclude_unset=True)
    # What Prefect adds to the environment besides the settings in force (which the server reads itself).
    assert launched["env"] == {**os.environ, **SERVER_ENV, **settings}


def test_a_users_block_registration_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server leaves block registration out unless the user's environment asks for it."""
    launched: dict[str, Any] = {}

    def record(args: list[str], **kwargs: Any) -> Any:
        launched.update(kwargs)
        raise OSError("recorded")

    monkeypatch.setattr(subprocess, "Popen", record)
    monkeypatch.delenv("PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION", raising=False)
    monkeypatch.setenv("PREFECT_API_BLOCKS_REGISTER_ON_START", "true")
    with pytest.raises(OSError, match="recorded"):
        TemporaryServer.launch(port=8765)
    assert launched["env"]["PREFECT_API_BLOCKS_REGISTER_ON_START"] == "true"
    assert launched["env"]["PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION"] == "false"


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_a_launched_server_answers_and_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """... on a database of its own, into which it registers no block types: it did not import the installed
    Prefect collections to find out whether they were registered (no memo of their hash either)."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    for name in NO_BLOCK_REGISTRATION:
        monkeypatch.delenv(name, raising=False)
    server = TemporaryServer.launch()
    try:
        server.wait_ready(timeout=120)
        with urllib.request.urlopen(f"{server.api_url}/health", timeout=5) as response:
            assert response.status == 200
        query = urllib.request.Request(f"{server.api_url}/block_types/filter", data=b"{}", method="POST")
        query.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(query, timeout=5) as response:
            assert json.load(response) == []
        assert not (tmp_path / "memo_store.toml").exists()
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert not port_answers(server.port)


def test_a_server_that_exits_is_reported_with_what_it_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        flows.api_server, "uvicorn_command", lambda port: [sys.executable, "-c", "print('no database'); exit(7)"]
    )
    server = TemporaryServer.launch()
    with pytest.raises(ServerError, match=r"exited with status 7: no database"):
        server.wait_ready(timeout=30)
    server.stop()


def test_a_server_whose_port_was_taken_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flows.api_server, "uvicorn_command", lambda port: [sys.executable, "-c", "exit(3)"])
    server = TemporaryServer.launch()
    with pytest.raises(ServerError, match=r"port \d+ was taken: run again"):
        server.wait_ready(timeout=30)
    server.stop()


def test_a_server_that_does_not_answer_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(flows.api_server, "uvicorn_command", lambda port: silent)
    server = TemporaryServer.launch()
    with pytest.raises(ServerError, match=r"did not answer within 0.5 s"):
        server.wait_ready(timeout=0.5)
    assert server.process.returncode is not None  # stopped, not left sleeping


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="the server dies with the run on Linux (PR_SET_PDEATHSIG)")
def test_a_killed_run_takes_its_server_with_it() -> None:
    """A run killed outright (no exit handler runs) does not leave its server running."""
    child = (
        "import os, signal, sys, time\n"
        "import flows.api_server as api\n"
        "api.uvicorn_command = lambda port: [sys.executable, '-c', 'import time; time.sleep(60)']\n"
        "server = api.TemporaryServer.launch()\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(0.5)\n"  # the server's process is asleep by now
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    command = [sys.executable, "-c", child]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid = int(done.stdout)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_a_server_that_cannot_be_launched_ends_the_command_line_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import flows.cli

    def missing(port: int) -> list[str]:
        raise ServerError("prefect is not installed in this environment")

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(flows.api_server, "uvicorn_command", missing)
    assert flows.cli.main(["--seeds", "seeds", "--data", "data"]) == 1
    assert capsys.readouterr().err == "ingest: error: prefect is not installed in this environment\n"
    assert "PREFECT_API_URL" not in os.environ
