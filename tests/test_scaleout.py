"""Scale-out on real components (loopback): the Dask runner, and a lake (and seeds) on an S3 endpoint."""

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import polars as pl
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from newslake.lake import partition_key, reconcile_partition, write_table
from newslake.run import RunOptions, ingest_run
from newslake.storage import open_store, read_parquet
from schemas.tables import TABLES, file_schema
from tests.conftest import CORPUS_SEEDS, GIVEN_SEED, REPO, assert_same, lake_content
from tests.servers import moto_s3
from tests.test_lake import DAY1, budget, hashed_ids, versioned

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus when it is there (else the given seed), as the seeds of every scale-out run."""
    if CORPUS_SEEDS.is_dir():
        return CORPUS_SEEDS
    root = tmp_path_factory.mktemp("seeds")
    (root / GIVEN_SEED.name).write_bytes(GIVEN_SEED.read_bytes())
    return root


@pytest.fixture(scope="module")
def reference(seeds: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake of a plain in-process run: what every runner and store must reproduce."""
    data = tmp_path_factory.mktemp("reference")
    ingest_run(RunOptions(str(seeds), str(data)), "reference")
    return data


def make_run(env: dict[str, str], *variables: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "run", *variables],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    return output


def test_dask_runner_gives_the_same_tables(seeds: Path, reference: Path, tmp_path: Path) -> None:
    data = tmp_path / "dask"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("DASK_ADDRESS", None)
    output = make_run(env, f"SEEDS={seeds}", f"DATA={data}", "RUNNER=dask")
    assert "task runner: DaskTaskRunner on a LocalCluster" in output
    assert_same(lake_content(data), lake_content(reference))


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with moto_s3(tmp_path_factory.mktemp("moto")) as aws:
        client = boto3.client(
            "s3",
            endpoint_url=aws["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket="lake")
        yield aws


def s3_table(aws: dict[str, str], uri: str) -> pl.DataFrame:
    fs = pafs.S3FileSystem(
        endpoint_override=aws["AWS_ENDPOINT_URL"], access_key="testing", secret_key="testing", region="us-east-1"
    )
    table = ds.dataset(uri.removeprefix("s3://"), filesystem=fs, format="parquet", partitioning="hive").to_table()
    return pl.from_arrow(table)  # type: ignore[return-value]


def test_make_run_writes_an_s3_lake(s3_env: dict[str, str], seeds: Path, reference: Path, tmp_path: Path) -> None:
    env = {**os.environ, **s3_env, "PREFECT_HOME": str(tmp_path / "prefect")}
    make_run(env, f"SEEDS={seeds}", "DATA=s3://lake/news")
    local = lake_content(reference)
    for table in TABLES:
        if local[table].height == 0:
            continue
        remote = s3_table(s3_env, f"s3://lake/news/{table}")
        assert remote.height == local[table].height, table
        assert remote["publication_date"].str.starts_with("20").all()  # hive partitions publication_date=...
    rerun = make_run(env, f"SEEDS={seeds}", "DATA=s3://lake/news")
    assert "(new 0, changed 0," in rerun


def test_seeds_and_lake_both_on_s3_match_a_local_run(
    s3_env: dict[str, str], reference: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    files = sorted(p for p in seeds.rglob("*") if p.is_file())
    for path in files:
        client.put_object(Bucket="lake", Key=f"seeds/{path.relative_to(seeds).as_posix()}", Body=path.read_bytes())
    summary = ingest_run(RunOptions("s3://lake/seeds", "s3://lake/both"), "s3-run")
    assert summary.counts["seeds_seen"] == len(files)
    assert s3_table(s3_env, "s3://lake/both/articles").height == lake_content(reference)["articles"].height


def test_s3_lock_excludes_a_second_run_and_releases_only_its_own_lease(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from newslake.storage import Locked, open_store

    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    store = open_store("s3://lake/locktest")
    other = b'{"token": "other", "expires": 1e12}'
    with store.lock(0.0):
        with pytest.raises(Locked), store.lock(0.0):
            pass
        # The lease ran out and another run took the lock: leaving must not remove that run's lock.
        client.put_object(Bucket="lake", Key="locktest/.lock", Body=other)
    assert client.get_object(Bucket="lake", Key="locktest/.lock")["Body"].read() == other
    client.delete_object(Bucket="lake", Key="locktest/.lock")
    with store.lock(0.0):
        pass
    assert "Contents" not in client.list_objects_v2(Bucket="lake", Prefix="locktest/")


def test_a_large_day_on_s3_is_merged_range_by_range_like_a_local_one(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The streamed merge through the object store: old file read a row group at a time (ranged GETs), the
    new one sent as one PUT once complete, and a reconcile after it."""
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    ids = hashed_ids(80)
    local, remote = str(tmp_path), "s3://lake/largeday"
    for root in (local, remote):
        write_table(root, "paragraphs", versioned(dict.fromkeys(ids[:60], 3), "old"))
    write_table(local, "paragraphs", versioned(dict.fromkeys(ids[30:], 2), "new"))
    reconcile_partition(local, "paragraphs", DAY1, pl.Series(ids[10:]))
    with budget(40):
        write_table(remote, "paragraphs", versioned(dict.fromkeys(ids[30:], 2), "new"))
        assert reconcile_partition(remote, "paragraphs", DAY1, pl.Series(ids[10:]))
    key = partition_key("paragraphs", DAY1)
    got = read_parquet(open_store(remote), key, file_schema("paragraphs"))
    assert got.equals(read_parquet(open_store(local), key, file_schema("paragraphs")))
    assert pq.ParquetFile(io.BytesIO(open_store(remote).read_bytes(key))).num_row_groups > 3
