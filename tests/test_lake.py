"""The lake writer: layout, atomic replacement, replacing an article's rows, readable by DuckDB and polars."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from newslake.lake import (
    PART_FILE,
    Journal,
    LakeError,
    LakeLocked,
    check_writable,
    clear_journal,
    lake_lock,
    partition_key,
    read_journal,
    reconcile_partition,
    write_journal,
    write_table,
)
from newslake.storage import open_store, write_parquet
from schemas.tables import polars_schema


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
    assert not (tmp_path / partition_key("rejects", DAY1)).exists()


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
