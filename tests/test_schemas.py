"""The data contract: the models agree with the core's records, and failing articles become rejects."""

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from newslake.batch import Extracted, SeedTask, build_tables, process_seed
from newslake.core import Article, Heading, Image, Link, Paragraph
from schemas.dictionary import data_dictionary
from schemas.tables import ELEMENT_TABLES, PARTITION_KEY, TABLES, columns
from schemas.validate import validate_batch
from tests.conftest import GIVEN_SEED, REPO

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("table", "record", "derived"),
    [
        ("paragraphs", Paragraph, {"char_count"}),
        ("headings", Heading, set()),
        ("images", Image, set()),
        ("links", Link, set()),
    ],
)
def test_element_columns_are_the_record_fields(table: str, record: type, derived: set[str]) -> None:
    fields = set(record._fields) | derived  # type: ignore[attr-defined]
    assert set(columns(table)) - {"article_id", PARTITION_KEY} == fields


def test_article_columns_come_from_the_record() -> None:
    names = {f.name for f in dataclasses.fields(Article)} | {
        name for name, value in vars(Article).items() if isinstance(value, property)
    }
    batch_level = {"seed_file", "seed_sha256", "published_at", "date_source", "date_precision", "utc_offset_minutes"}
    counts = {"paragraph_count", "heading_count", "image_count", "link_count"}
    assert set(columns("articles")) <= names | batch_level | counts


def given_batch() -> dict[str, pl.DataFrame]:
    result = process_seed(GIVEN_SEED.parent, SeedTask(GIVEN_SEED.name))
    assert isinstance(result, Extracted)
    return build_tables([result], "run-1", NOW).tables


def test_given_seed_validates() -> None:
    tables = given_batch()
    assert tables["articles"].height == 1
    assert tables["rejects"].height == 0
    assert validate_batch(tables).failures == {}


def test_a_failing_article_becomes_a_reject_and_leaves_no_rows() -> None:
    tables = given_batch()
    tables["articles"] = tables["articles"].with_columns(paragraph_count=pl.lit(39, pl.Int32))
    tables["paragraphs"] = tables["paragraphs"].with_columns(
        text=pl.when(pl.col("position") == 5).then(pl.lit("")).otherwise(pl.col("text"))
    )
    checked = validate_batch(tables)
    assert all(checked.tables[t].height == 0 for t in ("articles", *ELEMENT_TABLES))
    [(article_id, failures)] = checked.failures.items()
    assert article_id == "9842efb5d595c3c2"
    assert {f.check for f in failures} >= {
        "articles.paragraph_count.count_matches_paragraphs",
        "paragraphs.text.str_length",
        "paragraphs.table.char_count_is_text_length",
    }


def test_orphan_rows_are_caught() -> None:
    tables = given_batch()
    tables["links"] = tables["links"].with_columns(article_id=pl.lit("f" * 16))
    checked = validate_batch(tables)
    assert "f" * 16 in checked.failures


def test_duplicate_url_within_a_batch_keeps_the_latest_crawl(tmp_path: Path) -> None:
    older = GIVEN_SEED.read_bytes().replace(b"<!--1642079583000-->", b"<!--1642000000000-->")
    (tmp_path / "older.txt").write_bytes(older)
    (tmp_path / "newer.txt").write_bytes(GIVEN_SEED.read_bytes())
    results = [process_seed(tmp_path, SeedTask(name)) for name in ("older.txt", "newer.txt")]
    output = build_tables(results, "r", NOW)
    assert output.tables["articles"]["seed_file"].to_list() == ["newer.txt"]
    assert output.tables["paragraphs"].height == 40
    assert output.tables["rejects"].height == 0
    assert sorted(output.outcomes.select("seed_file", "status").rows()) == [
        ("newer.txt", "article"),
        ("older.txt", "superseded"),
    ]


def test_readme_data_dictionary_is_current() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert data_dictionary() in readme, "README data dictionary is stale: run `make docs`"


def test_all_tables_declared() -> None:
    assert set(TABLES) == {"articles", "paragraphs", "headings", "images", "links", "rejects"}
