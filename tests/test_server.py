"""Scheduled runs on a real `prefect server start` (loopback): `make serve`, and prefect.yaml with a worker."""

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import GIVEN_SEED, REPO
from tests.servers import prefect_server, stop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with prefect_server(tmp_path_factory.mktemp("prefect_home")) as env:
        # Runners and workers poll every few seconds instead of the default 10-15.
        yield env | {"PREFECT_RUNNER_POLL_FREQUENCY": "2", "PREFECT_WORKER_QUERY_SECONDS": "2"}


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    root.mkdir()
    (root / GIVEN_SEED.name).write_bytes(GIVEN_SEED.read_bytes())
    return root


def prefect(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(1)


def lake_has_the_article(data: Path) -> bool:
    """Read while the run writes: the file's bytes once (polars opens a path more than once, and a read racing
    the run's rename of the file failed with "Invalid thrift"; each open sees a whole file, old or new)."""
    runs = data / "runs" / "part-0.parquet"
    if not runs.is_file():
        return False
    return "completed" in pl.read_parquet(io.BytesIO(runs.read_bytes()))["status"].to_list()


def test_make_serve_registers_a_cron_deployment_and_a_triggered_run_writes(
    server_env: dict[str, str], seeds: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    serve = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SEEDS={seeds}", f"DATA={data}", "CRON=*/5 * * * *"],
        cwd=REPO, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: "ingest/lake" in prefect(server_env, "deployment", "ls"), 180, "the deployment")
        described = prefect(server_env, "deployment", "inspect", "ingest/lake")
        assert "*/5 * * * *" in described and "cron" in described.lower()
        prefect(server_env, "deployment", "run", "ingest/lake")
        wait_for(lambda: lake_has_the_article(data), 240, "the triggered run to write the lake")
    finally:
        stop(serve)
    articles = pl.read_parquet(data / "articles" / "**" / "*.parquet", hive_partitioning=True)
    assert articles["url"].to_list() == ["https://www.bbc.com/zhongwen/simp/world-59967065"]


def test_prefect_yaml_deploys_to_a_process_work_pool(server_env: dict[str, str], seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "pool-data"
    env = server_env | {"PWD": str(REPO)}
    prefect(env, "work-pool", "create", "newslake", "--type", "process")
    prefect(env, "--no-prompt", "deploy", "--all")
    described = prefect(env, "deployment", "inspect", "ingest/lake-pool")
    assert "*/15 * * * *" in described
    worker = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", "newslake"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        prefect(env, "deployment", "run", "ingest/lake-pool", "--param", f"seeds={seeds}", "--param", f"data={data}")
        wait_for(lambda: lake_has_the_article(data), 300, "the worker's run to write the lake")
    finally:
        stop(worker)
    assert pl.read_parquet(data / "articles" / "**" / "*.parquet")["title"].len() == 1
    assert os.path.isdir(data / "paragraphs")
