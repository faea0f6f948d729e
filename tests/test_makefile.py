"""Which uv the Makefile runs: the tests themselves start `make run` from inside `uv run`."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# The environment's interpreter first, as under `uv run`: its `python3` has no uv module.
PATH_WITHOUT_UV = f"{Path(sys.executable).parent}:/usr/bin:/bin"


@pytest.mark.skipif(shutil.which("uv", path=PATH_WITHOUT_UV) is not None, reason="a uv on /usr/bin or /bin")
@pytest.mark.parametrize("named", ["a file", "missing", None])
def test_make_takes_the_uv_that_uv_run_names(named: str | None, tmp_path: Path) -> None:
    """`uv run` names its uv to the commands it starts (`UV`); make uses it when it is a file, else
    `python3 -m uv` (which pip installs uv into)."""
    uv = tmp_path / "uv"
    if named == "a file":
        uv.write_text("#!/bin/sh\n")
        uv.chmod(0o755)
    env = {"PATH": PATH_WITHOUT_UV, "HOME": str(tmp_path)}
    if named is not None:
        env["UV"] = str(uv)
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "run"], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    expected = str(uv) if named == "a file" else "python3 -m uv"
    assert f"{expected} run --frozen --no-sync python -m flows.cli" in done.stdout


def _sync_line(*assignments: str) -> str:
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", "env", *assignments],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return next(line for line in done.stdout.splitlines() if " sync " in line)


SYSTEM_PYTHON = Path("/usr/bin/python3")


def _system_python_qualifies() -> bool:
    if not SYSTEM_PYTHON.is_file():
        return False
    probe = "import sys, sysconfig; print(sys.version_info >= (3, 11), sysconfig.get_paths()['include'])"
    newer, include = subprocess.run(
        [SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return newer == "True" and (Path(include) / "Python.h").is_file()


@pytest.mark.skipif(not _system_python_qualifies(), reason="no system CPython 3.11+ with headers here")
def test_the_environment_is_built_on_the_system_python() -> None:
    """The distribution's CPython (PGO and LTO, a static interpreter) is preferred over whatever uv finds first."""
    assert _sync_line().endswith(f"--python {SYSTEM_PYTHON}")


def test_a_named_python_or_none_is_taken() -> None:
    assert _sync_line("PYTHON=/opt/py/bin/python3.12").endswith("--python /opt/py/bin/python3.12")
    assert "--python" not in _sync_line("PYTHON=")  # uv's own choice
