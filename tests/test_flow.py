"""The `ingest` flow under `prefect_test_harness`: accounting, rejects kept, idempotent reruns, CLI errors."""

import gc
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from prefect import flow, task
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness

from flows.ingest import ingest
from flows.runners import WORKER_ENV, describe, make_task_runner, mimalloc_library
from newslake.batch import DEFAULT_MAX_SEED_BYTES, SeedTask
from newslake.commit import ChunkWrite
from newslake.lake import PART_FILE
from schemas.tables import TABLES
from tests.conftest import CORPUS_SEEDS, GIVEN_SEED, REPO, make_seed, refuse_to_read, requires_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def harness() -> Iterator[None]:
    """The flow under Prefect's test harness; its worker processes are pointed at the same API (else each
    spawned worker would start a temporary server of its own)."""
    with prefect_test_harness(server_startup_timeout=120):
        api = PREFECT_API_URL.value()
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = str(api)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous


def read_lake(data: Path) -> dict[str, pl.DataFrame]:
    """Every table as one frame (hive partition key included), sorted for comparison."""
    out = {}
    for table in TABLES:
        files = sorted((data / table).glob(f"*/{PART_FILE}"))
        if not files:
            out[table] = pl.DataFrame()
            continue
        frame = pl.scan_parquet(data / table / "**" / "*.parquet", hive_partitioning=True).collect()
        out[table] = frame.sort(frame.columns)
    return out


@pytest.fixture
def mixed_seeds(tmp_path: Path) -> Path:
    """The given seed plus hostile ones: every one must end as an article or a reject."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(GIVEN_SEED, seeds / GIVEN_SEED.name)
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "no_header.txt").write_bytes(b"<html><body><p>text without a header</p></body></html>")
    (seeds / "ftp.txt").write_bytes(make_seed("<p>Body text here.</p>", url="ftp://example.com/a"))
    (seeds / "no_text.txt").write_bytes(make_seed("<main><script>x()</script></main>"))
    (seeds / "nul.txt").write_bytes(
        make_seed("<main><p>Text with a NUL \x00 byte inside it.</p></main>", url="https://example.com/nul")
    )
    # The same URL as the given seed, crawled earlier: the given seed wins, this one is superseded.
    older = GIVEN_SEED.read_bytes().replace(b"<!--1642079583000-->", b"<!--1642000000000-->")
    (seeds / "nested").mkdir()
    (seeds / "nested" / "older_copy.txt").write_bytes(older)
    return seeds


def test_every_seed_is_accounted_for(mixed_seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    summary = ingest(seeds=str(mixed_seeds), data=str(data), batch_size=3)
    lake = read_lake(data)
    assert summary.counts["seeds_seen"] == 7
    assert sorted(lake["articles"]["seed_file"]) == ["000_ea46ad2de5bf25f4.txt", "nul.txt"]
    reasons = dict(zip(lake["rejects"]["seed_file"], lake["rejects"]["reason"], strict=True))
    assert reasons == {
        "empty.txt": "empty_file",
        "no_header.txt": "no_header",
        "ftp.txt": "bad_url",
        "no_text.txt": "no_body_text",
    }
    ledger = pl.read_parquet(data / "ledger" / PART_FILE)
    assert ledger.filter(pl.col("seed_file") == "nested/older_copy.txt")["status"].to_list() == ["superseded"]
    assert ledger.height == 7
    assert lake["rejects"].filter(pl.col("detail").str.len_chars() < 10).height == 0
    assert lake["paragraphs"].filter(pl.col("text").str.contains("NUL")).height == 1


def test_prefect_passes_the_seeds_and_merge_steps_without_walking_them(
    mixed_seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect walks a task's parameters field by field looking for futures (in the flow and again in the
    worker): ~13 ms for a task's 750 seeds, seconds for an archive's merge steps. They travel in parcels."""
    import prefect.futures
    import prefect.task_engine
    import prefect.utilities.collections
    import prefect.utilities.engine

    from flows.ingest import with_runner

    real = prefect.utilities.collections.visit_collection
    walked: list[str] = []

    def watched(expr: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(expr, SeedTask | ChunkWrite):
            walked.append(type(expr).__name__)
        return real(expr, *args, **kwargs)

    for module in (prefect.utilities.collections, prefect.utilities.engine, prefect.task_engine, prefect.futures):
        monkeypatch.setattr(module, "visit_collection", watched)
    summary = with_runner("thread")(seeds=str(mixed_seeds), data=str(tmp_path / "data"), batch_size=3)
    assert summary.counts["rows_articles"] == 2  # the tasks ran, and got their parameters
    assert walked == []


def test_rerun_gives_the_same_data(mixed_seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest(seeds=str(mixed_seeds), data=str(data))
    first = read_lake(data)
    ingest(seeds=str(mixed_seeds), data=str(data), batch_size=2)
    second = read_lake(data)
    for table in TABLES:
        if table == "rejects":  # run_id and rejected_at name the run; the rest is the same
            assert first[table].drop("run_id", "rejected_at").equals(second[table].drop("run_id", "rejected_at"))
        else:
            assert first[table].equals(second[table]), table
    assert not list(data.rglob("*.tmp")), "temporary files left behind"


@requires_corpus
def test_corpus_run_accounts_for_every_seed(tmp_path: Path) -> None:
    summary = ingest(seeds=str(CORPUS_SEEDS), data=str(tmp_path / "data"))
    lake = read_lake(tmp_path / "data")
    n_seeds = len(list(CORPUS_SEEDS.glob("*.txt")))
    accounted = set(lake["articles"]["seed_file"]) | set(lake["rejects"]["seed_file"] if lake["rejects"].height else [])
    assert summary.counts["seeds_seen"] == n_seeds == len(accounted)
    assert lake["articles"].height >= 0.95 * n_seeds


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False, env=env or {**os.environ},
    )  # fmt: skip


def processes_with(variable: str, value: str) -> list[int]:
    """The processes whose environment holds `variable=value`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:  # gone, or not ours to read
            continue
        if f"{variable}={value}".encode() in environ:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("seeds", ["given", "absent"])
def test_cli_runs_on_a_temporary_server_of_its_own_and_stops_it(seeds: str, tmp_path: Path) -> None:
    """With no API configured, `python -m flows.cli` runs on a server it starts (Prefect does not start one of
    its own), delivers the run's logs to it, shows no traceback and leaves no server behind, also when it
    ends early for a cause the user can fix."""
    home = tmp_path / "prefect-home"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"PREFECT_HOME": str(home)}
    source = GIVEN_SEED.parent if seeds == "given" else tmp_path / "absent"
    done = run_cli("--seeds", str(source), "--data", str(tmp_path / "data"), env=env)
    assert done.returncode == (0 if seeds == "given" else 2), done.stderr
    for unwanted in ("Traceback", "Starting temporary server", "Error logging to API", "Still processing items"):
        assert unwanted not in done.stderr
    assert processes_with("PREFECT_HOME", str(home)) == []
    if seeds == "given":
        assert "1 articles" in done.stderr
        logs = sqlite3.connect(home / "prefect.db").execute("select message from log").fetchall()
        assert any("1 articles" in message for (message,) in logs)  # sent before the server stopped


def test_cli_missing_seeds_is_one_line(tmp_path: Path) -> None:
    done = run_cli("--seeds", str(tmp_path / "absent"), "--data", str(tmp_path / "data"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "SEEDS" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_an_unknown_runner_is_refused_before_a_server_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import flows.cli
    from flows.api_server import TemporaryServer
    from flows.runner_names import RUNNERS
    from flows.runners import make_task_runner

    def launch(*args: Any) -> Any:
        raise AssertionError("a server was launched for a command line that cannot run")

    monkeypatch.setattr(TemporaryServer, "launch", launch)
    with pytest.raises(SystemExit) as refused:
        flows.cli.main(["--runner", "nope"])
    assert refused.value.code == 2
    said = capsys.readouterr().err
    assert all(name in said for name in RUNNERS)
    for name in ("process", "thread"):  # (the dask one imports dask: the dask tests make it)
        assert name in RUNNERS and make_task_runner(name) is not None


def test_cli_unwritable_data_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_cli("--seeds", str(GIVEN_SEED.parent), "--data", str(blocker / "data"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "DATA" in done.stderr


def test_cli_a_directory_below_seeds_it_cannot_read_ends_the_run_with_its_name(
    mixed_seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import flows.cli

    refuse_to_read(monkeypatch, "nested")  # in-process: the listing runs in the flow's process
    assert flows.cli.main(["--seeds", str(mixed_seeds), "--data", str(tmp_path / "data")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("ingest: error: cannot list SEEDS") and last.endswith(f"({mixed_seeds / 'nested'})")


class FakeServer:
    """Stands for `flows.api_server.TemporaryServer`: the harness's server, started and stopped by nobody."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.calls: list[str] = []

    def wait_ready(self) -> None:
        self.calls.append("wait_ready")

    def stop(self) -> None:
        self.calls.append("stop")

    def output_tail(self) -> str:
        return "sqlite3.OperationalError: database is locked"


@pytest.mark.parametrize("temporary_server", [True, False])
def test_cli_runs_send_heartbeats_only_to_a_server_that_outlives_them(
    temporary_server: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run on this process's temporary server has no heartbeat thread (nothing could read its beats, and the
    engine waited up to a second for the thread at the end of every run); on a configured server it keeps
    Prefect's setting. The flow's view of the setting is recorded in place of running it; the server is
    waited for before the flow, and stopped after the logs are sent."""
    from prefect.settings import get_current_settings

    import flows.api_server
    import flows.cli
    import flows.ingest

    configured = get_current_settings().flows.heartbeat_frequency
    assert configured is not None  # Prefect's default (180 s): heartbeats on
    server = FakeServer(str(PREFECT_API_URL.value()))
    if temporary_server:
        monkeypatch.delenv("PREFECT_API_URL")
        monkeypatch.setattr(flows.api_server.TemporaryServer, "launch", lambda: server)
    seen: list[int | None] = []
    monkeypatch.setattr(
        flows.ingest,
        "with_runner",
        lambda kind: lambda *args: seen.append(get_current_settings().flows.heartbeat_frequency),
    )
    monkeypatch.setattr(flows.cli, "deliver_logs_and_events", lambda: server.calls.append("deliver"))
    assert flows.cli.main(["--seeds", str(GIVEN_SEED.parent), "--data", str(tmp_path / "data")]) == 0
    assert seen == [None if temporary_server else configured]
    assert server.calls == (["wait_ready", "deliver", "stop"] if temporary_server else [])
    assert get_current_settings().flows.heartbeat_frequency == configured  # put back after the run
    assert os.environ.get("PREFECT_API_URL") == (None if temporary_server else server.api_url)


def test_cli_a_failed_run_shows_what_its_temporary_server_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server's output goes to a file during a run; when the run fails, its last lines are shown before the
    exception, and the server is stopped all the same."""
    import flows.api_server
    import flows.cli
    import flows.ingest

    server = FakeServer(str(PREFECT_API_URL.value()))
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setattr(flows.api_server.TemporaryServer, "launch", lambda: server)

    def failing(*args: Any) -> None:
        raise RuntimeError("the flow failed")

    monkeypatch.setattr(flows.ingest, "with_runner", lambda kind: failing)
    monkeypatch.setattr(flows.cli, "deliver_logs_and_events", lambda: server.calls.append("deliver"))
    with pytest.raises(RuntimeError, match="the flow failed"):
        flows.cli.main(["--seeds", str(GIVEN_SEED.parent), "--data", str(tmp_path / "data")])
    assert "last output: sqlite3.OperationalError: database is locked" in capsys.readouterr().err
    assert server.calls == ["wait_ready", "deliver", "stop"]


@task
def polars_threads() -> tuple[int, str | None]:
    return pl.thread_pool_size(), pl.Config.state(env_only=True).get("POLARS_ENGINE_AFFINITY")


@flow  # run on each runner under test (`with_options`)
def worker_polars_threads() -> list[tuple[int, str | None]]:
    return [future.result() for future in [polars_threads.submit() for _ in range(2)]]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="polars starts one thread on one core anyway")
@pytest.mark.parametrize("kind", ["process", "dask"])
@pytest.mark.parametrize("user_value", [None, "3"])
def test_workers_start_with_one_polars_thread(
    kind: str, user_value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers a runner starts (a process pool, a Dask LocalCluster) run polars on one thread each, unless
    the user chose a number, and its queries on the in-memory engine; the flow's own environment is as it
    was afterwards."""
    assert WORKER_ENV["POLARS_MAX_THREADS"] == "1" and WORKER_ENV["POLARS_ENGINE_AFFINITY"] == "in-memory"
    monkeypatch.delenv("POLARS_ENGINE_AFFINITY", raising=False)
    monkeypatch.delenv("DASK_ADDRESS", raising=False)
    if user_value is None:
        monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    else:
        monkeypatch.setenv("POLARS_MAX_THREADS", user_value)
    on_runner = worker_polars_threads.with_options(task_runner=make_task_runner(kind))
    assert on_runner() == [(int(user_value or 1), "in-memory")] * 2
    assert os.environ.get("POLARS_MAX_THREADS") == user_value and "POLARS_ENGINE_AFFINITY" not in os.environ


@task
def mapped_libraries() -> str:
    return Path("/proc/self/maps").read_text()


@flow  # run on each runner under test (`with_options`)
def worker_maps() -> list[str]:
    return [future.result() for future in [mapped_libraries.submit() for _ in range(2)]]


@pytest.mark.skipif(mimalloc_library() is None, reason="cmeel-mimalloc is a dependency on Linux x86_64/aarch64 only")
@pytest.mark.parametrize("kind", ["process", "dask"])
@pytest.mark.parametrize("user_preload", [None, ""])
def test_workers_allocate_with_mimalloc(kind: str, user_preload: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers a runner starts have mimalloc loaded (libxml2's node allocations go through it) unless the
    user set LD_PRELOAD (an empty one turns it off); the flow's own process does not, before or after."""
    library = mimalloc_library()
    assert library is not None and Path(library).name == "libmimalloc.so"
    assert WORKER_ENV["LD_PRELOAD"] == library
    monkeypatch.delenv("DASK_ADDRESS", raising=False)
    if user_preload is None:
        monkeypatch.delenv("LD_PRELOAD", raising=False)
    else:
        monkeypatch.setenv("LD_PRELOAD", user_preload)
    runner = make_task_runner(kind)
    on_runner = worker_maps.with_options(task_runner=runner)
    loaded = ["libmimalloc" in maps for maps in on_runner()]
    assert loaded == [user_preload is None] * 2
    assert os.environ.get("LD_PRELOAD") == user_preload
    assert "libmimalloc" not in Path("/proc/self/maps").read_text()
    with runner:
        expected = "mimalloc 3.2" if user_preload is None else "the C library's malloc"
        assert expected in describe(runner)


@flow(task_runner=make_task_runner("thread"))  # in this process, so that the test sees its collector
def one_batch(seeds: str, data: str) -> object:
    from flows.ingest import Parcel, extract_batches

    return extract_batches(seeds, data, Parcel([(0, [SeedTask(GIVEN_SEED.name)])]), "run", DEFAULT_MAX_SEED_BYTES)


def test_a_batch_runs_with_the_cyclic_collector_paused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's task turns the cyclic collector off for the batch (extraction makes no cycles, so its
    passes over the batch's records only cost time) and on again after, also when the batch fails."""
    import flows.ingest

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(GIVEN_SEED, seeds / GIVEN_SEED.name)
    seen: list[tuple[str, bool]] = []

    def watched(name: str) -> Any:
        real = getattr(flows.ingest, name)  # what flows.ingest calls

        def call(*args: Any) -> Any:
            seen.append((name, gc.isenabled()))
            return real(*args)

        return call

    for name in ("read_seeds", "stage_results"):
        monkeypatch.setattr(flows.ingest, name, watched(name))
    assert gc.isenabled()
    one_batch(str(seeds), str(tmp_path / "data"))
    assert seen == [("read_seeds", False), ("stage_results", False)] and gc.isenabled()

    def failing(*args: Any) -> Any:
        raise OSError("staging failed")

    monkeypatch.setattr(flows.ingest, "stage_results", failing)
    with pytest.raises(OSError, match="staging failed"):
        one_batch(str(seeds), str(tmp_path / "data"))
    assert gc.isenabled()


@flow(task_runner=make_task_runner("thread"))
def shares_of(count: int) -> tuple[str | None, bool]:
    """The shares directory `map_as_tasks` would give `count` tasks, and whether it held the shares' state."""
    from flows.ingest import shared_out

    with shared_out([[(i, [SeedTask(f"s{i}")])] for i in range(count)], count) as directory:
        return directory, directory is not None and (Path(directory) / "shares").is_file()


def test_tasks_on_this_machines_workers_share_their_seeds_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tasks or more on a thread or process pool or the Dask runner's own LocalCluster get a shares
    directory for the run (removed after); one task, or tasks on a Dask cluster at an address (whose workers
    may be other machines), none."""
    from prefect_dask.task_runners import DaskTaskRunner

    import flows.ingest

    directory, held = shares_of(2)
    assert directory is not None and held and not Path(directory).exists()
    assert shares_of(1) == (None, False)
    for runner, shared in ((make_task_runner("dask"), True), (DaskTaskRunner(address="tcp://127.0.0.1:1"), False)):
        monkeypatch.setattr(flows.ingest, "ingest_task_runner", lambda runner=runner: runner)
        assert (shares_of(2)[0] is not None) is shared


@pytest.mark.parametrize(
    ("count", "workers", "tasks"), [(1, 2, 1), (2, 2, 2), (3, 2, 2), (16, 2, 2), (17, 2, 4), (134, 2, 18)]
)
def test_extract_tasks_run_consecutive_batches_a_multiple_of_the_workers(count: int, workers: int, tasks: int) -> None:
    """A worker waits ~70-90 ms between two tasks, so a task runs up to `BATCHES_PER_TASK` batches; the
    tasks stay a multiple of the workers (1500 seeds: one batch a task, on each of two workers)."""
    from flows.ingest import BATCHES_PER_TASK, task_shares

    shares = task_shares(count, workers)
    assert len(shares) == tasks
    assert [index for share in shares for index in share] == list(range(count))
    assert all(0 < len(share) <= BATCHES_PER_TASK for share in shares)
