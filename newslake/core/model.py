"""The records the core returns: one `Article` with its element rows, in document order.

Field names are the column names of `schemas/`; a test checks that the two agree, so a renamed column
cannot slip through on one side only.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple


class DateSource(StrEnum):
    """Which evidence gave `published_at` (the `articles.date_source` column)."""

    TIME_ELEMENT = "time_element"
    META = "meta"
    JSON_LD = "json_ld"
    URL = "url"
    TEXT = "text"
    CRAWL = "crawl"


class DatePrecision(StrEnum):
    """How much of `published_at` the evidence stated: a bare date is stored as midnight UTC."""

    SECOND = "second"
    MINUTE = "minute"
    DAY = "day"
    MONTH = "month"  # "2003年5月": stored as the first of the month


class LinkContext(StrEnum):
    """The kind of block a link sits in: a block of the article, or a region of the page around it."""

    PARAGRAPH = "paragraph"
    LIST = "list"
    HEADING = "heading"
    CAPTION = "caption"
    IMAGE = "image"
    # Outside the article's text (no position): its byline, page chrome by kind, the rest of the page.
    BYLINE = "byline"
    NAVIGATION = "navigation"
    ASIDE = "aside"
    FOOTER = "footer"
    COMMENTS = "comments"
    SHARE = "share"
    PAGE = "page"


# Element records are NamedTuples: immutable like frozen dataclasses, built at a third of the cost (a page
# makes ~150 of them), and a batch's records turn into columns by one transposition (`zip(*records)`).
class Paragraph(NamedTuple):
    position: int
    section: str | None
    text: str
    is_lead: bool

    @property
    def char_count(self) -> int:
        return len(self.text)


class Heading(NamedTuple):
    position: int
    level: int
    text: str
    anchor: str | None


class Image(NamedTuple):
    position: int
    src: str
    alt: str | None
    caption: str | None
    credit: str | None
    width: int | None
    height: int | None


class Link(NamedTuple):
    position: int | None  # None: the link is outside the article (navigation, rails, footer...)
    href: str
    text: str | None
    domain: str
    is_internal: bool
    context: LinkContext


@dataclass(frozen=True, slots=True)
class PublishedDate:
    """A believed publication time (UTC) and where it came from."""

    at: datetime
    source: DateSource
    precision: DatePrecision
    utc_offset_minutes: int | None = None  # the zone the page stated for it; None when it stated none


@dataclass(frozen=True, slots=True)
class Article:
    """One extracted article; element tuples are in document order."""

    url: str
    domain: str
    title: str
    language: str
    published: PublishedDate  # never absent: an article without any date is rejected (`no_date`)
    crawled_at: datetime | None
    author: str | None
    paragraphs: tuple[Paragraph, ...]
    headings: tuple[Heading, ...]
    images: tuple[Image, ...]
    links: tuple[Link, ...]
    # Links the article held that are not stored (javascript:, mailto:, data:, unparseable), counted so that
    # dropping them is visible.
    links_dropped: int

    @property
    def article_id(self) -> str:
        return article_id_for(self.url)

    @property
    def lead(self) -> str | None:
        return next((p.text for p in self.paragraphs if p.is_lead), None)

    @property
    def char_count(self) -> int:
        return sum(len(p.text) for p in self.paragraphs)  # each `Paragraph.char_count`, without its call

    @property
    def publication_date(self) -> date:
        """The partition key (the crawl date when nothing better was found, see `DateSource.CRAWL`)."""
        return self.published.at.date()


def article_id_for(canonical_url: str) -> str:
    """First 16 hex digits of the SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]
