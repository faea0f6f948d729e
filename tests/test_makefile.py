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
    assert f"{expected} run --frozen --no-sync python -m flows.ingest" in done.stdout
