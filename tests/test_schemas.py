"""The data contract: the models agree with the core's records, and failing articles become rejects."""

import dataclasses
import sys
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newslake.batch import Extracted, Rejected, SeedTask, build_tables, process_seed
from newslake.core import Article, Heading, Image, Link, Paragraph
from newslake.core._text import columns as field_lists
from schemas.dictionary import data_dictionary
from schemas.tables import ALL_TABLES, ELEMENT_TABLES, PARTITION_KEY, TABLES, columns
from schemas.validate import _folded, passes, validate_batch
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


@given(
    width=st.integers(0, 4),
    rows=st.lists(st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), min_size=4, max_size=6)),
)
def test_field_lists_are_the_records_fields_a_list_each(width: int, rows: list[list[object]]) -> None:
    """`_text.columns` transposes records in C: what a map of `itemgetter` a field gives, named tuples too,
    each value referenced once more by its list, and no more once the lists go."""
    cells = [[[value] for value in row] for row in rows]  # objects of their own: their counts are the test's
    records = [tuple(row) if i % 2 else Link._make([*row[:4], None, None]) for i, row in enumerate(cells)]
    before = [sys.getrefcount(cell) for row in cells for cell in row]
    lists = field_lists(records, width)
    assert lists == [list(map(itemgetter(i), records)) for i in range(width)]
    held = [sys.getrefcount(cell) for row in cells for cell in row]
    assert sum(held) - sum(before) == width * len(records)
    del lists
    assert [sys.getrefcount(cell) for row in cells for cell in row] == before


def test_field_lists_refuse_a_record_too_short_or_not_a_tuple() -> None:
    with pytest.raises(TypeError, match="record 1 is not a tuple of 3 fields"):
        field_lists([(1, 2, 3), (1, 2)], 3)
    with pytest.raises(TypeError, match="record 0"):
        field_lists([[1, 2, 3]], 3)


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


def given_tables() -> dict[str, pl.DataFrame]:
    """The given seed's rows of every table that `passes` answers for a batch, rejects too."""
    reject = Rejected("bad.txt", "0" * 64, "parse", "no_body", "the HTML body is empty", NOW)
    return build_tables([process_seed(GIVEN_SEED.parent, SeedTask(GIVEN_SEED.name)), reject], "run-1", NOW).tables


GIVEN_TABLES = given_tables()
# Values a cell is set to, by dtype: each breaks some check of some column and passes others.
CELL_VALUES: dict[type[pl.DataType], list[object]] = {
    pl.String: [None, "", " ", "x", "0123456789abcdef", "0123456789ABCDEF", "https://", "HTTPS://a.b", "ftp://a.b",
                "https://a.b/c", "en", "zh-Hant", "meta", "article", "day", "invalid:x,y", "Not A Reason", "0" * 64],
    pl.Int8: [None, -1, 0, 1, 6, 7],
    pl.Int16: [None, -900, -841, 0, 840, 841],
    pl.Int32: [None, -1, 0, 1, 5, 100_000, 100_001],
    pl.Int64: [None, -1, 0, 1, 10**12],
    pl.Boolean: [None, True, False],
    pl.Date: [None, date(1989, 12, 31), date(2021, 1, 1), date(2030, 1, 1)],
    pl.Datetime: [None, datetime(1980, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, 12, tzinfo=UTC),
                  datetime(2031, 1, 1, tzinfo=UTC)],
}  # fmt: skip


@st.composite
def altered(draw: st.DrawFn) -> tuple[str, pl.DataFrame]:
    """A table of the given seed's, with a few cells set to values of `CELL_VALUES` and maybe a row repeated."""
    table = draw(st.sampled_from(sorted(GIVEN_TABLES)))
    frame = GIVEN_TABLES[table]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(frame.columns))
        dtype = frame.schema[name]
        row = draw(st.integers(0, frame.height - 1))
        value = draw(st.sampled_from(CELL_VALUES[dtype.base_type()]))
        at_row = pl.int_range(pl.len()) == row
        frame = frame.with_columns(pl.when(at_row).then(pl.lit(value, dtype)).otherwise(pl.col(name)).alias(name))
    if draw(st.booleans()):
        frame = pl.concat([frame, frame.slice(draw(st.integers(0, frame.height - 1)), 1)])
    return table, frame


def pandera_passes(table: str, frame: pl.DataFrame) -> bool:
    try:
        TABLES[table].validate(frame, lazy=True)
    except pandera.errors.SchemaErrors:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(altered())
def test_passes_is_pandera_s_verdict_in_one_query(case: tuple[str, pl.DataFrame]) -> None:
    """`passes` folds every check of a model into one query; it must say what pandera's `validate` says, cell
    values that break a check or pass it, nulls, and repeated rows (the frame-wide and column `unique`)."""
    table, frame = case
    assert passes(TABLES[table], frame) == pandera_passes(table, frame)


def test_passes_leaves_a_frame_of_other_columns_or_dtypes_to_pandera() -> None:
    articles = GIVEN_TABLES["articles"]
    assert passes(TABLES["articles"], articles)
    assert not passes(TABLES["articles"], articles.select(reversed(articles.columns)))  # pandera: not ordered
    assert not passes(TABLES["articles"], articles.with_columns(pl.col("paragraph_count").cast(pl.Int64)))


def test_every_model_is_folded_into_one_query() -> None:
    """No model uses what `passes` leaves to pandera (coercion, parsers, defaults, regex columns): each batch's
    validation is one query a table."""
    assert all(_folded(model) is not None for model in ALL_TABLES.values())


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
