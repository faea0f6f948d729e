"""The lake writer: layout, atomic replacement, replacing an article's rows, readable by DuckDB and polars."""

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any, cast
from unittest.mock import patch

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newslake import lake
from newslake.batch import SeedTask, build_tables, process_seed
from newslake.discover import SeedsError, discover_seeds
from newslake.lake import (
    DICTIONARY_COLUMNS,
    PART_FILE,
    Journal,
    LakeError,
    LakeLocked,
    check_writable,
    clear_journal,
    lake_lock,
    merge_large_day,
    partition_key,
    read_journal,
    read_staged,
    reconcile_partition,
    stage_rows,
    write_journal,
    write_table,
)
from newslake.storage import ArrowStore, LocalStore, Store, ahead, each, open_store, write_parquet
from schemas.tables import polars_schema
from tests.conftest import GIVEN_SEED, refuse_to_read


def paragraphs(rows: list[tuple[str, int, str, date]]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {
        "article_id": [r[0] for r in rows],
        "position": [r[1] for r in rows],
        "section": [None] * len(rows),
        "text": [r[2] for r in rows],
        "char_count": [len(r[2]) for r in rows],
        "is_lead": [False] * len(rows),
        "publication_date": [r[3] for r in rows],
    }
    return pl.DataFrame(data, schema=polars_schema("paragraphs"))


A, B = "a" * 16, "b" * 16
DAY1, DAY2 = date(2022, 1, 13), date(2022, 1, 14)


def test_layout_and_key_only_in_path(tmp_path: Path) -> None:
    write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "x", DAY1), (B, 0, "y", DAY2)]))
    target = tmp_path / partition_key("paragraphs", DAY1)
    assert target == tmp_path / "paragraphs" / "publication_date=2022-01-13" / "part-0.parquet"
    assert "publication_date" not in pl.read_parquet_schema(target)
    assert sorted(p.name for p in (tmp_path / "paragraphs").iterdir()) == [
        "publication_date=2022-01-13",
        "publication_date=2022-01-14",
    ]


def test_rewrite_replaces_the_articles_rows_and_keeps_others(tmp_path: Path) -> None:
    write_table(
        tmp_path,
        "paragraphs",
        paragraphs([(A, 0, "old a0", DAY1), (A, 1, "old a1", DAY1), (B, 0, "b", DAY1)]),
    )
    write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "new a0", DAY1)]))
    got = pl.read_parquet(tmp_path / partition_key("paragraphs", DAY1))
    assert got.select("article_id", "text").rows() == [(A, "new a0"), (B, "b")]


def test_same_input_twice_gives_identical_files(tmp_path: Path) -> None:
    frame = paragraphs([(B, 1, "two", DAY1), (A, 0, "one", DAY1)])
    write_table(tmp_path, "paragraphs", frame)
    target = tmp_path / partition_key("paragraphs", DAY1)
    first = target.read_bytes()
    write_table(tmp_path, "paragraphs", frame)
    assert target.read_bytes() == first


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "kept", DAY1)]))
    target = tmp_path / partition_key("paragraphs", DAY1)

    def disk_full(fd: int) -> None:
        raise OSError("disk full")

    # The new bytes are in the temporary file when flushing them to disk fails.
    monkeypatch.setattr("newslake.storage.os.fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_parquet(open_store(target.parent), target.name, paragraphs([(A, 0, "lost", DAY1)]))
    monkeypatch.undo()
    assert pl.read_parquet(target)["text"].to_list() == ["kept"]
    assert [p.name for p in target.parent.iterdir()] == [PART_FILE]


def test_readers_type_the_partition_key_as_date(tmp_path: Path) -> None:
    write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "x", DAY1), (B, 0, "y", DAY2)]))
    pattern = str(tmp_path / "paragraphs" / "**" / "*.parquet")
    typed = duckdb.connect().execute(
        "SELECT DISTINCT typeof(publication_date) FROM read_parquet(?, hive_partitioning=true)", [pattern]
    )
    assert typed.fetchall() == [("DATE",)]
    frame = pl.scan_parquet(tmp_path / "paragraphs" / "**" / "*.parquet", hive_partitioning=True).collect()
    assert frame.schema["publication_date"] == pl.Date
    assert frame.height == 2


def test_check_writable(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "lake")
    (tmp_path / "file").write_text("x")
    with pytest.raises(LakeError, match="cannot write"):
        check_writable(tmp_path / "file" / "lake")


def rejects(rows: list[tuple[str, str, date]]) -> pl.DataFrame:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    data: dict[str, list[Any]] = {
        "seed_file": [r[0] for r in rows],
        "seed_sha256": [None] * len(rows),
        "stage": ["read"] * len(rows),
        "reason": [r[1] for r in rows],
        "detail": ["a sentence"] * len(rows),
        "run_id": ["r"] * len(rows),
        "rejected_at": [now] * len(rows),
        "publication_date": [r[2] for r in rows],
    }
    return pl.DataFrame(data, schema=polars_schema("rejects"))


def test_purge_removes_keys_from_the_named_partitions(tmp_path: Path) -> None:
    write_table(tmp_path, "rejects", rejects([("a.txt", "empty_file", DAY1), ("b.txt", "no_header", DAY1)]))
    # Next day: a.txt is rejected again (filed under the new day), b.txt became an article; the ledger says
    # both had rows in DAY1.
    write_table(tmp_path, "rejects", rejects([("a.txt", "empty_file", DAY2)]), ["a.txt", "b.txt"], [DAY1])
    frame = pl.scan_parquet(tmp_path / "rejects" / "**" / "*.parquet", hive_partitioning=True).collect()
    assert frame.select("seed_file", "publication_date").rows() == [("a.txt", DAY2)]
    assert not (tmp_path / partition_key("rejects", DAY1)).parent.exists(), "an emptied day keeps its directory"


def test_reconcile_keeps_only_claimed_rows(tmp_path: Path) -> None:
    write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "claimed", DAY1), (B, 0, "torn run", DAY1)]))
    assert reconcile_partition(tmp_path, "paragraphs", DAY1, pl.Series([A]))
    got = pl.read_parquet(tmp_path / partition_key("paragraphs", DAY1))
    assert got["article_id"].to_list() == [A]
    assert not reconcile_partition(tmp_path, "paragraphs", DAY1, pl.Series([A]))


def test_lock_excludes_a_second_run(tmp_path: Path) -> None:
    with lake_lock(tmp_path), pytest.raises(LakeLocked, match="another ingest run"), lake_lock(tmp_path, 0.3):
        pass
    with lake_lock(tmp_path):  # released
        pass


def test_journal_roundtrip_and_clear(tmp_path: Path) -> None:
    journal = Journal("run-1", ["b.txt", "a.txt"], {"articles": [DAY2, DAY1]})
    write_journal(tmp_path, journal)
    back = read_journal(tmp_path)
    assert back == Journal("run-1", ["a.txt", "b.txt"], {"articles": [DAY1, DAY2]})
    clear_journal(tmp_path)
    assert read_journal(tmp_path) is None
    (tmp_path / "_journal.json").write_text("{not json")
    with pytest.raises(LakeError, match="unreadable"):
        read_journal(tmp_path)


# --- days too large to merge at once: merged a key range at a time, streamed into one file ----------------
ROW_BYTES = 50  # what polars counts for a row of `versioned` paragraphs
hex_ids = st.text("0123456789abcdef", min_size=16, max_size=16)
article_rows = st.dictionaries(hex_ids, st.integers(1, 4), max_size=25)


def versioned(articles: dict[str, int], version: str, day: date = DAY1) -> pl.DataFrame:
    """`n` paragraphs for each article id, their text naming the version that wrote them (given unsorted)."""
    rows = [(a, p, f"{version} {a} {p}", day) for a, n in articles.items() for p in reversed(range(n))]
    return paragraphs(rows)


def budget(rows: int) -> contextlib.ExitStack[bool | None]:
    """A merge budget of about `rows` rows of these test paragraphs, every day weighed."""
    stack = contextlib.ExitStack()
    stack.enter_context(patch("newslake.lake.SMALL_FILE_BYTES", 0))
    stack.enter_context(patch("newslake.lake.MERGE_BYTES", rows * ROW_BYTES))
    return stack


def day_file(root: Path, day: date = DAY1) -> pl.DataFrame | None:
    path = root / partition_key("paragraphs", day)
    return pl.read_parquet(path) if path.exists() else None


@settings(max_examples=40, deadline=None)
@given(old=article_rows, new=article_rows, purge=st.lists(hex_ids, max_size=4), limit=st.integers(1, 12), cut=st.data())
def test_a_day_merged_range_by_range_holds_what_one_merge_gives(
    old: dict[str, int], new: dict[str, int], purge: list[str], limit: int, cut: st.DataObject
) -> None:
    """The same rows in the same order, whether the old rows and the new come in whole, a key range at a
    time (the merge budget exceeded), or streamed batch by batch from staging (`merge_large_day`)."""
    purge = [*purge, *list(old)[:1]]  # a purged key that does have rows
    fresh = versioned(new, "new")
    splits = sorted(cut.draw(st.lists(st.integers(0, fresh.height), max_size=3)))
    batches = [fresh.slice(a, b - a) for a, b in zip([0, *splits], [*splits, fresh.height], strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        whole, ranged, streamed = (Path(tmp) / name for name in ("whole", "ranged", "streamed"))
        write_table(whole, "paragraphs", versioned(old, "old"))
        write_table(whole, "paragraphs", fresh, purge, [DAY1])
        with budget(limit):
            write_table(ranged, "paragraphs", versioned(old, "old"))
            write_table(ranged, "paragraphs", fresh, purge, [DAY1])
            write_table(streamed, "paragraphs", versioned(old, "old"))
            merge_large_day(streamed, "paragraphs", DAY1, batches, fresh.height, purge)
        expected = day_file(whole)
        for got in (day_file(ranged), day_file(streamed)):
            assert (got is None) == (expected is None)
            if got is not None and expected is not None:
                assert got.equals(expected)


def hashed_ids(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest()[:16] for i in range(n)]


def test_a_large_day_is_one_file_of_row_groups_of_about_merge_rows(tmp_path: Path) -> None:
    ids = hashed_ids(400)
    write_table(tmp_path, "paragraphs", versioned(dict.fromkeys(ids[:200], 2), "old"))
    with budget(100):
        write_table(tmp_path, "paragraphs", versioned(dict.fromkeys(ids[100:], 2), "new"))
    path = tmp_path / partition_key("paragraphs", DAY1)
    metadata = pq.ParquetFile(path).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sum(sizes) == 800
    assert len(sizes) == 10, sizes  # 400 old rows and 600 new merged in ranges of about 100
    assert max(sizes) <= 150, sizes
    # Encoded as a file written whole (`lake_parquet_options`): zstd, statistics, its string columns dictionaries
    # (all of them for paragraphs, which is also pyarrow's default: the zstd is what a writer without the options
    # would lose).
    chunks = [metadata.row_group(g).column(c) for g in range(len(sizes)) for c in range(metadata.num_columns)]
    assert {(chunk.compression, chunk.statistics is not None) for chunk in chunks} == {("ZSTD", True)}
    assert all("RLE_DICTIONARY" in chunk.encodings for chunk in chunks if chunk.physical_type == "BYTE_ARRAY")
    got = pl.read_parquet(path)
    assert got.select("article_id", "position").equals(
        got.select("article_id", "position").sort("article_id", "position")
    )
    assert got.filter(pl.col("article_id").is_in(ids[:100]))["text"].str.starts_with("old").all()
    assert got.filter(pl.col("article_id").is_in(ids[100:]))["text"].str.starts_with("new").all()
    assert [p.name for p in path.parent.iterdir()] == [PART_FILE]


def test_a_large_day_reconciled_range_by_range_keeps_only_claimed_rows(tmp_path: Path) -> None:
    ids = hashed_ids(60)
    write_table(tmp_path, "paragraphs", versioned(dict.fromkeys(ids, 3), "v"))
    expected = day_file(tmp_path)
    assert expected is not None
    claimed = pl.Series(ids[::2])
    with budget(20):
        assert reconcile_partition(tmp_path, "paragraphs", DAY1, claimed)
        assert not reconcile_partition(tmp_path, "paragraphs", DAY1, claimed)
        got = day_file(tmp_path)
        assert got is not None
        assert got.equals(expected.filter(pl.col("article_id").is_in(claimed.implode())))
        assert reconcile_partition(tmp_path, "paragraphs", DAY1, pl.Series([], dtype=pl.String))
    assert day_file(tmp_path) is None  # no claimed row left: no file
    assert [p.name for p in (tmp_path / "paragraphs").iterdir()] == [], "nor its directory"


def test_a_large_day_failing_midway_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    ids = hashed_ids(60)
    write_table(tmp_path, "paragraphs", versioned(dict.fromkeys(ids, 2), "old"))
    path = tmp_path / partition_key("paragraphs", DAY1)
    before = path.read_bytes()
    calls = count()
    original = pq.ParquetWriter.write_table

    def fail_on_third(self: pq.ParquetWriter, table: Any, row_group_size: int | None = None) -> None:
        if next(calls) == 2:
            raise OSError("disk full")
        original(self, table, row_group_size)

    with (
        budget(20),
        patch.object(pq.ParquetWriter, "write_table", fail_on_third),
        pytest.raises(OSError, match="disk full"),
    ):
        write_table(tmp_path, "paragraphs", versioned(dict.fromkeys(ids, 2), "new"))
    assert next(calls) == 3, "two ranges written, the third failed (of twelve: 240 rows in ranges of 20)"
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [PART_FILE]


@settings(max_examples=60, deadline=None)
@given(
    per_day=st.lists(st.integers(0, 40), min_size=1, max_size=8),
    group_rows=st.integers(1, 30),
    picked=st.data(),
)
def test_a_staged_span_holds_exactly_the_rows_of_its_days(
    per_day: list[int], group_rows: int, picked: st.DataObject
) -> None:
    """`stage_rows` sorts a batch's rows by day and records where each day starts; the span of any run of
    days, read back row group by row group, is those days' rows, whatever the row groups' size (the days
    come in shuffled, some days have no rows, and a day's rows straddle groups)."""
    days = [DAY1 + timedelta(days=i) for i in range(len(per_day))]
    rows = [(f"{100 * d + i:016x}", i, f"text {i}", days[d]) for d, n in enumerate(per_day) for i in range(n)]
    frame = paragraphs(rows).sample(fraction=1.0, shuffle=True, seed=len(rows))
    first, last = sorted(picked.draw(st.lists(st.sampled_from(days), min_size=2, max_size=2)))
    with tempfile.TemporaryDirectory() as tmp, patch("newslake.lake.STAGING_ROW_GROUP", group_rows):
        staged = stage_rows(tmp, "run", "paragraphs", 0, frame)
        assert pq.ParquetFile(Path(tmp) / staged.key).num_row_groups == -(-frame.height // group_rows)
        got = read_staged((Path(tmp) / staged.key).read_bytes(), "paragraphs", staged.span(first, last))
    wanted = frame.filter(pl.col("publication_date").is_between(first, last))
    assert got.sort("article_id").equals(wanted.sort("article_id"))
    assert got["publication_date"].is_sorted()
    assert staged.rows == frame.height and list(staged.days) == sorted({r[3] for r in rows})


def test_the_lakes_files_carry_zstd_and_statistics_and_staged_rows_lz4_without(tmp_path: Path) -> None:
    """Analysts' readers get zstd files whose columns have statistics (DuckDB skips row groups by them), the
    columns `DICTIONARY_COLUMNS` names dictionary-encoded; staged rows, read once by the commit, are lz4 without
    statistics (`storage.STAGED_ENCODING`)."""
    result = process_seed(GIVEN_SEED.parent, SeedTask(GIVEN_SEED.name))
    tables = build_tables([result], "run", datetime(2026, 1, 1, tzinfo=UTC)).tables
    for table in ("articles", "paragraphs", "links"):
        write_table(tmp_path, table, tables[table])
        [path] = (tmp_path / table).glob(f"*/{PART_FILE}")
        meta = pq.ParquetFile(path).metadata
        chunks = {meta.schema.column(c).name: meta.row_group(0).column(c) for c in range(meta.num_columns)}
        assert {(chunk.compression, chunk.statistics is not None) for chunk in chunks.values()} == {("ZSTD", True)}
        wanted = DICTIONARY_COLUMNS[table]
        encoded = {name for name, chunk in chunks.items() if "RLE_DICTIONARY" in chunk.encodings}
        strings = {name for name, chunk in chunks.items() if chunk.physical_type == "BYTE_ARRAY"}
        assert encoded & strings == (set(wanted) if isinstance(wanted, list) else strings if wanted else set()), table
    staged = stage_rows(tmp_path, "run", "paragraphs", 0, tables["paragraphs"])
    meta = pq.ParquetFile(tmp_path / staged.key).metadata
    columns = [meta.row_group(0).column(c) for c in range(meta.num_columns)]
    assert {(column.compression, column.statistics is not None) for column in columns} == {("LZ4", False)}


def test_files_synced_together_replace_their_keys_when_the_block_ends(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write_atomic("a/x", b"old")
    with store.synced_together():
        store.write_atomic("a/x", b"new")
        store.write_atomic("b/y", b"first")
        with store.synced_together():  # an inner block leaves the syncing to the outer one
            store.write_atomic("c/z", b"inner")
        assert store.read_bytes("a/x") == b"old" and not store.exists("b/y") and not store.exists("c/z")
    assert (store.read_bytes("a/x"), store.read_bytes("b/y"), store.read_bytes("c/z")) == (b"new", b"first", b"inner")
    assert not list(tmp_path.rglob("*.tmp"))


def test_files_synced_together_replace_nothing_when_the_block_raises(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write_atomic("a/x", b"old")

    def failing_block() -> None:
        with store.synced_together():
            store.write_atomic("a/x", b"new")
            store.write_atomic("b/y", b"first")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        failing_block()
    assert store.read_bytes("a/x") == b"old" and not store.exists("b/y")
    assert not list(tmp_path.rglob("*.tmp"))


def test_files_synced_together_are_renamed_as_their_bytes_reach_the_budget(tmp_path: Path) -> None:
    """The old files stay on disk until the new ones replace them: past `PENDING_BYTES` the pending ones
    replace theirs at once, so the disk never holds more than that twice over."""
    store = LocalStore(tmp_path)
    with patch("newslake.storage.PENDING_BYTES", 10), store.synced_together():
        store.write_atomic("a", b"12345")
        assert not store.exists("a")
        store.write_atomic("b", b"67890")  # 10 bytes wait: both replace their keys now
        assert store.read_bytes("a") == b"12345" and store.read_bytes("b") == b"67890"
        store.write_atomic("c", b"1")
        assert not store.exists("c")
    assert store.read_bytes("c") == b"1"


def test_days_new_to_the_lake_gather_no_replaced_keys(tmp_path: Path) -> None:
    # Gathering the keys whose old rows go costs a merge step 4-9 ms (the run's whole purge list); a day without
    # a file has no old rows.
    with patch("newslake.lake._replaced", side_effect=AssertionError("gathered for a new day")):
        write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "x", DAY1), (B, 0, "y", DAY2)]))
    write_table(tmp_path, "paragraphs", paragraphs([(A, 0, "x2", DAY1)]))  # a day with a file: gathered, used
    frame = pl.scan_parquet(tmp_path / "paragraphs" / "**" / "*.parquet", hive_partitioning=True).collect()
    assert sorted(frame.select("article_id", "text").rows()) == [(A, "x2"), (B, "y")]


def _listed_by_rglob(root: Path, prefix: str) -> list[tuple[str, int, int]]:
    """What `LocalStore.list_files` listed before it walked with `os.scandir` (pathlib's rglob)."""
    base = root / prefix if prefix else root
    if not base.is_dir():
        return []
    found = [(p.relative_to(root).as_posix(), p.stat()) for p in base.rglob("*") if p.is_file()]
    return sorted((key, status.st_size, status.st_mtime_ns) for key, status in found)


def test_listing_a_store_is_what_rglob_lists(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for key, size in [
        ("a.txt", 1),
        ("d/b.txt", 2),
        ("d/e/f/c.txt", 3),
        (".hidden/x", 4),
        ("d/.y", 5),
        ("z z/ü.txt", 6),
    ]:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(b"x" * size)
    (root / "empty").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.txt").write_bytes(b"o")
    (root / "d" / "to-file").symlink_to(root / "a.txt")  # listed, with its target's size
    (root / "d" / "to-dir").symlink_to(outside, target_is_directory=True)  # not descended
    (root / "d" / "broken").symlink_to(root / "nowhere")  # not a file
    store = LocalStore(root)
    for prefix in ["", "d", "d/", "d/e", "empty", "missing", "a.txt"]:
        listed = [(f.key, f.size, f.mtime_ns) for f in store.list_files(prefix)]
        assert listed == _listed_by_rglob(root, prefix), prefix
    assert [f.key for f in store.list_files("d")] == ["d/.y", "d/b.txt", "d/e/f/c.txt", "d/to-file"]


def test_a_directory_that_cannot_be_read_fails_the_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rglob passed over it in silence, and its seeds went unlisted.
    (tmp_path / "closed").mkdir()
    (tmp_path / "closed" / "s.txt").write_bytes(b"x")
    refuse_to_read(monkeypatch, "closed")
    with pytest.raises(PermissionError):
        LocalStore(tmp_path).list_files()
    with pytest.raises(SeedsError, match=r"Permission denied \(.*closed\)"):
        discover_seeds(tmp_path)


def test_a_file_removed_while_its_directory_is_listed_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kept.txt").write_bytes(b"x")
    (tmp_path / "gone.txt").write_bytes(b"y")
    real_scandir = os.scandir

    @contextlib.contextmanager
    def scandir(path: str) -> Any:
        with real_scandir(path) as entries:
            listed = list(entries)
        (tmp_path / "gone.txt").unlink()  # after the directory was read, before its entries' stat
        yield iter(listed)

    monkeypatch.setattr(os, "scandir", scandir)
    assert [f.key for f in LocalStore(tmp_path).list_files()] == ["kept.txt"]


# --- an object store's requests at once (`storage.each`, `storage.ahead`) -------------------------------------
class _Counted:
    """A store with `concurrency`, whose work records the items it starts, counts how many run at once, and
    fails on item `failing`."""

    def __init__(self, concurrency: int, failing: int | None = None) -> None:
        self.concurrency = concurrency
        self.failing = failing
        self.started: list[int] = []
        self.running = self.most = 0
        self.lock = threading.Lock()

    def work(self, item: int) -> int:
        with self.lock:
            self.started.append(item)
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.01)
        with self.lock:
            self.running -= 1
        if item == self.failing:
            raise ValueError(f"item {item}")
        return 2 * item


@pytest.mark.parametrize("concurrency", [1, 3])
def test_each_works_in_order_and_at_most_concurrency_at_once(concurrency: int) -> None:
    store = _Counted(concurrency)
    assert each(cast(Store, store), store.work, range(12)) == [2 * i for i in range(12)]
    assert store.most == concurrency


def test_each_raises_the_first_error_and_starts_no_more_work() -> None:
    store = _Counted(2, failing=1)
    with pytest.raises(ValueError, match="item 1"):
        each(cast(Store, store), store.work, range(40))
    assert store.running == 0 and len(store.started) < 40


@pytest.mark.parametrize("concurrency", [1, 3])
def test_ahead_hands_out_in_order_with_at_most_concurrency_at_once(concurrency: int) -> None:
    store = _Counted(concurrency)
    assert list(ahead(cast(Store, store), store.work, range(12))) == [2 * i for i in range(12)]
    assert store.most == concurrency


@pytest.mark.parametrize("concurrency", [1, 3])
def test_ahead_works_no_further_than_concurrency_items_past_what_was_asked_for(concurrency: int) -> None:
    """From a folder, an item's work is done when it is asked for; from an object store, up to `concurrency`
    items' work is done ahead of the caller, and no more however long it waits."""
    store = _Counted(concurrency)
    results = ahead(cast(Store, store), store.work, range(40))
    assert store.started == []  # nothing before the first ask
    assert next(results) == 0
    time.sleep(0.1)  # time for the work started to end, and for any more to start
    assert sorted(store.started) == list(range(1 if concurrency == 1 else 1 + concurrency))
    assert list(results) == [2 * i for i in range(1, 40)]


def test_ahead_raises_at_the_failing_item_once_the_work_started_has_ended() -> None:
    store = _Counted(3, failing=1)
    results = ahead(cast(Store, store), store.work, range(40))
    assert next(results) == 0
    with pytest.raises(ValueError, match="item 1"):
        next(results)
    assert store.running == 0 and len(store.started) < 40


class _Meeting(ArrowStore):
    """An object store (pyarrow's local file system) where each look at a day's file waits for another's: a
    write of an even number of days passes only when they are looked up at once."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.meeting = threading.Barrier(2, timeout=20)

    def write_atomic(self, key: str, data: bytes) -> None:
        self.fs.create_dir(self._path(key).rpartition("/")[0])  # objects need no directory; local files do
        super().write_atomic(key, data)

    def size(self, key: str) -> int | None:
        with contextlib.suppress(threading.BrokenBarrierError):
            self.meeting.wait()  # once two lookups met, the barrier resets for the next two
            return super().size(key)
        raise AssertionError("a day's file was looked up while no other was")


@pytest.mark.parametrize("rows", [None, 3], ids=["merged whole", "merged by key range"])
def test_an_object_store_merges_a_steps_days_at_once_into_the_files_a_folder_gets(
    tmp_path: Path, rows: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same files, whether days are merged one after another (a folder) or at once (an object store);
    days merged a key range at a time (each holding up to the merge budget) still one at a time."""
    ranged = _Counted(1)
    merge_in_ranges = lake._merge_in_ranges

    def counted(*args: Any) -> None:
        ranged.work(0)
        merge_in_ranges(*args)

    monkeypatch.setattr(lake, "_merge_in_ranges", counted)
    days = [DAY1 + timedelta(days=i) for i in range(6)]
    old = pl.concat([versioned({A: 3, hashed_ids(1)[0]: 2}, "old", day) for day in days[:4]])
    new = pl.concat([versioned({B: 2, A: 1}, "new", day) for day in days[1:]])  # with the purge day: six again
    folder, objects = tmp_path / "folder", _Meeting(f"file://{tmp_path / 'objects'}")
    with budget(rows) if rows is not None else contextlib.nullcontext():
        for store in (LocalStore(folder), objects):
            write_table(store, "paragraphs", old)
            write_table(store, "paragraphs", new, [hashed_ids(1)[0]], [days[0]])
    listed = sorted(p.relative_to(folder) for p in folder.rglob("*.parquet"))
    assert listed == sorted(p.relative_to(tmp_path / "objects") for p in (tmp_path / "objects").rglob("*.parquet"))
    assert len(listed) == 5  # the first day lost all its rows (the new ones' keys and the purged one): no file
    for path in listed:
        assert pl.read_parquet(tmp_path / "objects" / path).equals(pl.read_parquet(folder / path))
    assert ranged.most == (0 if rows is None else 1)
