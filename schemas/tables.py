"""The lake's tables, each declared once as a pandera model (the data contract).

Column names, order and polars dtypes everywhere else are derived from these models (`columns`,
`polars_schema`); `publication_date` is the hive partition key: it lives in the directory name, not in the
Parquet files, and readers get it back typed DATE.
"""

from datetime import UTC, datetime
from typing import Annotated

import pandera.polars as pa
import polars as pl

from newslake.core.model import DatePrecision, DateSource, LinkContext

_HEX16 = r"^[0-9a-f]{16}$"
_HEX64 = r"^[0-9a-f]{64}$"
_HTTP_URL = r"^https?://[^\s/?#]+"
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# A naive page time may be local time up to UTC+14, so it can look later than the crawl by that much.
_CRAWL_SLACK = pl.duration(hours=14)

UtcTimestamp = Annotated[pl.Datetime, "us", "UTC"]
PARTITION_KEY = "publication_date"


def _plausible_date(column: str, data: pa.PolarsData) -> pl.LazyFrame:
    """Null, or not before 1990 and not after the crawl (plus slack for an unstated time zone)."""
    value = pl.col(column)
    crawl = pl.col("crawled_at")
    return data.lazyframe.select(
        value.is_null() | ((value >= _EARLIEST) & (crawl.is_null() | (value <= crawl + _CRAWL_SLACK)))
    )


class Articles(pa.DataFrameModel):
    """One row per article (per canonical URL)."""

    article_id: str = pa.Field(str_matches=_HEX16, unique=True, description="first 16 hex digits of SHA-256(url)")
    url: str = pa.Field(str_matches=_HTTP_URL, description="canonical article URL (no fragment, host lower-case)")
    domain: str = pa.Field(str_length={"min_value": 1}, description="host of the URL")
    title: str = pa.Field(str_length={"min_value": 1}, description="title from the seed header (else the page)")
    language: str = pa.Field(
        str_matches=r"^(und|[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?)$",
        description="BCP-47 tag, e.g. zh-Hans, en-GB; `und` when undetermined",
    )
    published_at: UtcTimestamp = pa.Field(nullable=True, description="publication time, UTC; null when unknown")
    date_source: str = pa.Field(
        isin=[s.value for s in DateSource],
        description="evidence for published_at: time_element, meta, json_ld, url, text or crawl",
    )
    date_precision: str = pa.Field(
        isin=[p.value for p in DatePrecision],
        description="what the evidence stated: second, minute, day or month (stored at its first instant, UTC)",
    )
    utc_offset_minutes: pl.Int16 = pa.Field(
        nullable=True,
        in_range={"min_value": -840, "max_value": 840},
        description="the time zone the page stated for published_at (minutes east of UTC); null when none",
    )
    crawled_at: UtcTimestamp = pa.Field(nullable=True, description="crawl time from the seed's comment line")
    author: str = pa.Field(nullable=True, description="byline; null when unknown")
    lead: str = pa.Field(nullable=True, description="the standfirst paragraph's text; null when there is none")
    paragraph_count: pl.Int32 = pa.Field(ge=1, description="rows in paragraphs")
    heading_count: pl.Int32 = pa.Field(ge=0, description="rows in headings")
    image_count: pl.Int32 = pa.Field(ge=0, description="rows in images")
    link_count: pl.Int32 = pa.Field(ge=0, description="rows in links")
    links_dropped: pl.Int32 = pa.Field(ge=0, description="links not stored (not http/https, or in-page jumps)")
    char_count: pl.Int64 = pa.Field(ge=1, description="characters over all paragraphs")
    seed_file: str = pa.Field(str_length={"min_value": 1}, description="seed path relative to SEEDS")
    seed_sha256: str = pa.Field(str_matches=_HEX64, description="SHA-256 of the seed file's bytes")
    publication_date: pl.Date = pa.Field(description="date of published_at (UTC)")

    @pa.dataframe_check
    @classmethod
    def published_at_plausible(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _plausible_date("published_at", data)

    @pa.dataframe_check
    @classmethod
    def partition_matches_published_at(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("published_at").is_null() | (pl.col("published_at").dt.date() == pl.col("publication_date"))
        )

    class Config:
        strict = True


class Paragraphs(pa.DataFrameModel):
    """Text blocks of the article body, in document order."""

    article_id: str = pa.Field(str_matches=_HEX16)
    position: pl.Int32 = pa.Field(ge=0, description="document order, shared with headings and images")
    section: str = pa.Field(nullable=True, description="text of the nearest preceding heading")
    text: str = pa.Field(str_length={"min_value": 1}, description="whitespace-normalised text")
    char_count: pl.Int32 = pa.Field(ge=1)
    is_lead: bool = pa.Field(description="the standfirst")
    publication_date: pl.Date

    @pa.dataframe_check
    @classmethod
    def char_count_is_text_length(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("char_count") == pl.col("text").str.len_chars())

    class Config:
        strict = True
        unique = ["article_id", "position"]


class Headings(pa.DataFrameModel):
    """Headings (h1-h6) of the article body."""

    article_id: str = pa.Field(str_matches=_HEX16)
    position: pl.Int32 = pa.Field(ge=0)
    level: pl.Int8 = pa.Field(in_range={"min_value": 1, "max_value": 6})
    text: str = pa.Field(str_length={"min_value": 1})
    anchor: str = pa.Field(nullable=True, description="the heading's id attribute")
    publication_date: pl.Date

    class Config:
        strict = True
        unique = ["article_id", "position"]


class Images(pa.DataFrameModel):
    """One row per picture of the article body."""

    article_id: str = pa.Field(str_matches=_HEX16)
    position: pl.Int32 = pa.Field(ge=0)
    src: str = pa.Field(str_matches=_HTTP_URL, description="absolute URL of the original (proxies unwrapped)")
    alt: str = pa.Field(nullable=True)
    caption: str = pa.Field(nullable=True)
    credit: str = pa.Field(nullable=True, description='"Image source, X" -> X')
    width: pl.Int32 = pa.Field(nullable=True, in_range={"min_value": 1, "max_value": 100_000})
    height: pl.Int32 = pa.Field(nullable=True, in_range={"min_value": 1, "max_value": 100_000})
    publication_date: pl.Date

    class Config:
        strict = True
        unique = ["article_id", "position"]


class Links(pa.DataFrameModel):
    """Hyperlinks (http/https only) of the page: the article's own (with a position) and those around it."""

    article_id: str = pa.Field(str_matches=_HEX16)
    position: pl.Int32 = pa.Field(
        ge=0, nullable=True, description="position of the block the link sits in; null outside the article"
    )
    href: str = pa.Field(str_matches=_HTTP_URL)
    text: str = pa.Field(nullable=True)
    domain: str = pa.Field(str_length={"min_value": 1})
    is_internal: bool = pa.Field(description="same registrable domain as the article")
    context: str = pa.Field(
        isin=[c.value for c in LinkContext],
        description="where the link sits: " + ", ".join(c.value for c in LinkContext),
    )
    publication_date: pl.Date

    class Config:
        strict = True


class Rejects(pa.DataFrameModel):
    """Seeds that did not become articles, with the reason."""

    seed_file: str = pa.Field(str_length={"min_value": 1})
    seed_sha256: str = pa.Field(nullable=True, str_matches=_HEX64, description="null when the file was unreadable")
    stage: str = pa.Field(description="read, decode, header, parse, extract or validate")
    reason: str = pa.Field(str_matches=r"^[a-z][a-z0-9_:.,-]*$", description="machine-readable code")
    detail: str = pa.Field(str_length={"min_value": 1}, description="a sentence a person understands")
    run_id: str = pa.Field(str_length={"min_value": 1})
    rejected_at: UtcTimestamp
    publication_date: pl.Date = pa.Field(
        description="the seed's crawl date, else the day of the rejection (rejects have no published date)"
    )

    class Config:
        strict = True


class Ledger(pa.DataFrameModel):
    """One row per seed file known to the lake: what became of it, and in which run."""

    seed_file: str = pa.Field(unique=True, str_length={"min_value": 1}, description="path relative to SEEDS")
    seed_sha256: str = pa.Field(nullable=True, str_matches=_HEX64, description="null when unreadable")
    size: pl.Int64 = pa.Field(ge=0, description="bytes, with mtime_ns the cheap change pre-check")
    mtime_ns: pl.Int64 = pa.Field(description="modification time seen when the seed was last processed")
    status: str = pa.Field(isin=["article", "rejected", "superseded"])
    article_id: str = pa.Field(nullable=True, str_matches=_HEX16, description="the article it gave or lost to")
    crawled_at: UtcTimestamp = pa.Field(nullable=True, description="decides which seed of a URL wins")
    partition_date: pl.Date = pa.Field(
        nullable=True, description="partition holding its article or reject rows (null when superseded)"
    )
    reason: str = pa.Field(nullable=True, description="reject reason, or `duplicate_url` when superseded")
    first_run_id: str
    last_run_id: str = pa.Field(description="the last run that processed it")
    pipeline_version: str = pa.Field(description="extraction logic it was processed with")

    class Config:
        strict = True


class Runs(pa.DataFrameModel):
    """One row per run of the `ingest` flow."""

    run_id: str = pa.Field(unique=True)
    started_at: UtcTimestamp
    finished_at: UtcTimestamp = pa.Field(nullable=True)
    status: str = pa.Field(isin=["running", "completed", "failed", "interrupted"])
    pipeline_version: str
    full: bool = pa.Field(description="every seed reprocessed (FULL=1 or a new pipeline version)")
    seeds_seen: pl.Int64 = pa.Field(ge=0)
    seeds_new: pl.Int64 = pa.Field(ge=0)
    seeds_changed: pl.Int64 = pa.Field(ge=0)
    seeds_unchanged: pl.Int64 = pa.Field(ge=0)
    seeds_processed: pl.Int64 = pa.Field(ge=0, description="seeds parsed (new + changed, or all when full)")
    seeds_rejected: pl.Int64 = pa.Field(ge=0, description="of those processed")
    seeds_superseded: pl.Int64 = pa.Field(ge=0)
    seeds_missing: pl.Int64 = pa.Field(ge=0, description="in the ledger, no longer under SEEDS (rows kept)")
    rows_articles: pl.Int64 = pa.Field(ge=0)
    rows_paragraphs: pl.Int64 = pa.Field(ge=0)
    rows_headings: pl.Int64 = pa.Field(ge=0)
    rows_images: pl.Int64 = pa.Field(ge=0)
    rows_links: pl.Int64 = pa.Field(ge=0)
    rows_rejects: pl.Int64 = pa.Field(ge=0)

    class Config:
        strict = True


TABLES: dict[str, type[pa.DataFrameModel]] = {
    "articles": Articles,
    "paragraphs": Paragraphs,
    "headings": Headings,
    "images": Images,
    "links": Links,
    "rejects": Rejects,
}
# The run's own record, one file each (not partitioned): DATA/<table>/part-0.parquet.
STATE_TABLES: dict[str, type[pa.DataFrameModel]] = {"ledger": Ledger, "runs": Runs}
ALL_TABLES = TABLES | STATE_TABLES
ELEMENT_TABLES = ("paragraphs", "headings", "images", "links")
COUNT_COLUMNS = {
    "paragraphs": "paragraph_count",
    "headings": "heading_count",
    "images": "image_count",
    "links": "link_count",
}


def columns(table: str) -> list[str]:
    """Column names of a table, in declared order (the partition key last)."""
    return list(ALL_TABLES[table].to_schema().columns)


def polars_schema(table: str) -> pl.Schema:
    """The polars dtypes of a table, derived from its model."""
    return pl.Schema({name: col.dtype.type for name, col in ALL_TABLES[table].to_schema().columns.items()})


def file_schema(table: str) -> pl.Schema:
    """The columns stored inside the Parquet files: all but the partition key."""
    return pl.Schema({k: v for k, v in polars_schema(table).items() if k != PARTITION_KEY})
