"""Date handling: parse the date strings pages carry, relative times, dates in URLs; decide what to believe.

Everything returns UTC datetimes. A value without a time zone is taken as UTC (the page did not say).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from newslake.core.model import DatePrecision, DateSource, PublishedDate

EARLIEST_BELIEVED = datetime(1990, 1, 1, tzinfo=UTC)
# A timestamp without a zone may be local time up to UTC+14 and so look later than the crawl.
_NAIVE_SLACK = timedelta(hours=14)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "janv", "janvier", "januar", "enero", "gennaio"),
            ("feb", "february", "févr", "fevrier", "février", "februar", "febrero", "febbraio"),
            ("mar", "march", "mars", "märz", "marz", "marzo"),
            ("apr", "april", "avr", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio"),
            ("jun", "june", "juin", "juni", "junio", "giugno"),
            ("jul", "july", "juil", "juillet", "juli", "julio", "luglio"),
            ("aug", "august", "août", "aout", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre", "settembre"),
            ("oct", "october", "octobre", "oktober", "octubre", "ottobre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "déc", "décembre", "decembre", "dezember", "diciembre", "dicembre"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
_ZONE = r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
# 2022-01-13, 2022/1/13, 2022.01.13, with optional time and zone.
_ISO = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)" + _TIME + _ZONE, re.IGNORECASE)
# 2005年3月21日 [11:21]
_CJK = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日" + _TIME.replace("[ T]+", r"\s*"))
# March 21, 2005 / 21 March 2005 [11:21]
_MONTH_NAME = r"([A-Za-zéûä]{3,9})\.?"
_EN_MDY = re.compile(_MONTH_NAME + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})" + _TIME + _ZONE)
_EN_DMY = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\.?\s+" + _MONTH_NAME + r",?\s+((?:19|20)\d{2})" + _TIME + _ZONE)
_COMPACT = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?)?(Z|[+-]\d{4})?$")
# Dates in URL paths: /2022/01/13/, /2022-01-13/, /20220113/, /2022/0113/.
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?=[/_.-]|\d{0,8}(?:[/_.-]|$))")

# "46 分钟前", "2 hours ago", "3 天前", "vor 5 Minuten": amount and unit, in the languages of the corpus.
_RELATIVE_UNITS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\d+)\s*(?:秒钟?|秒鐘)前"), "seconds"),
    (re.compile(r"(\d+)\s*(?:分钟|分鐘|分)前"), "minutes"),
    (re.compile(r"(\d+)\s*(?:小时|小時|個小時|个小时)前"), "hours"),
    (re.compile(r"(\d+)\s*(?:天|日)前"), "days"),
    (re.compile(r"(\d+)\s*(?:周|週|星期)前"), "weeks"),
    (re.compile(r"(\d+)\s*(?:secs?|seconds?)\s+ago", re.IGNORECASE), "seconds"),
    (re.compile(r"(\d+)\s*(?:mins?|minutes?)\s+ago", re.IGNORECASE), "minutes"),
    (re.compile(r"(\d+)\s*(?:hrs?|hours?)\s+ago", re.IGNORECASE), "hours"),
    (re.compile(r"(\d+)\s*days?\s+ago", re.IGNORECASE), "days"),
    (re.compile(r"(\d+)\s*weeks?\s+ago", re.IGNORECASE), "weeks"),
)


@dataclass(frozen=True, slots=True)
class ParsedDate:
    at: datetime  # UTC
    precision: DatePrecision
    has_zone: bool


def _zone(token: str | None) -> timezone | None:
    if not token:
        return None
    token = token.upper()
    if token in {"Z", "UTC", "GMT"}:
        return UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4])
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(
    year: int,
    month: int,
    day: int,
    hour: str | None,
    minute: str | None,
    second: str | None,
    zone: str | None,
) -> ParsedDate | None:
    try:
        tz = _zone(zone)
        if hour is None:
            return ParsedDate(datetime(year, month, day, tzinfo=UTC), DatePrecision.DAY, has_zone=False)
        local = datetime(year, month, day, int(hour), int(minute or 0), int(second or 0), tzinfo=tz or UTC)
    except (ValueError, OverflowError):
        return None
    precision = DatePrecision.SECOND if second is not None else DatePrecision.MINUTE
    return ParsedDate(local.astimezone(UTC), precision, has_zone=tz is not None)


def parse_date(text: str) -> ParsedDate | None:
    """Find the first date (with time and zone when given) in `text`; None when it holds no valid date."""
    text = text.strip()
    if not text:
        return None
    compact = _COMPACT.match(text)
    if compact is not None:
        y, mo, d, h, mi, s, z = compact.groups()
        return _build(int(y), int(mo), int(d), h, mi, s, z)
    for pattern, order in ((_ISO, "ymd"), (_CJK, "ymd"), (_EN_MDY, "mdy"), (_EN_DMY, "dmy")):
        match = pattern.search(text)
        if match is None:
            continue
        groups = match.groups()
        zone = groups[6] if len(groups) > 6 else None
        hour, minute, second = groups[3], groups[4], groups[5]
        if order == "ymd":
            year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        else:
            month_word = groups[0] if order == "mdy" else groups[1]
            month = _MONTHS.get(month_word.lower(), 0)
            if not month:
                continue
            year = int(groups[2])
            day = int(groups[1] if order == "mdy" else groups[0])
        parsed = _build(year, month, day, hour, minute, second, zone)
        if parsed is not None:
            return parsed
    return None


def parse_relative(text: str, crawled_at: datetime) -> datetime | None:
    """ "46 分钟前" / "2 hours ago" relative to the crawl time; None when `text` is not a relative time."""
    for pattern, unit in _RELATIVE_UNITS:
        match = pattern.search(text)
        if match is not None:
            amount = int(match.group(1))
            if amount > 100_000:
                return None
            return crawled_at - timedelta(**{unit: amount})
    return None


def date_from_url(url: str) -> ParsedDate | None:
    """A date written in the URL path (`/2022/01/13/`, `/20050311/`), day precision."""
    match = _URL_DATE.search(url)
    if match is None:
        return None
    return _build(int(match.group(1)), int(match.group(2)), int(match.group(3)), None, None, None, None)


def believable(parsed: ParsedDate, crawled_at: datetime | None) -> bool:
    """Not before 1990, not after the crawl (a day-precision date may be the crawl's own day)."""
    if parsed.at < EARLIEST_BELIEVED:
        return False
    if crawled_at is None:
        return True
    if parsed.precision is DatePrecision.DAY:
        return parsed.at.date() <= crawled_at.date() + timedelta(days=1)
    slack = timedelta(minutes=5) if parsed.has_zone else _NAIVE_SLACK
    return parsed.at <= crawled_at + slack


@dataclass(frozen=True, slots=True)
class DateEvidence:
    """One candidate string and where it was found, in the order the extractor trusts them."""

    source: DateSource
    value: str
    # For a `<time>` element: its text, which may be relative ("46 分钟前") and then gives the time of day.
    text: str = ""


def _same_day_or_unknown(relative: datetime, attribute: ParsedDate | None) -> bool:
    if attribute is None:
        return True
    return abs((relative.date() - attribute.at.date()).days) <= 1


def decide_published(evidence: Iterable[DateEvidence], url: str, crawled_at: datetime | None) -> PublishedDate | None:
    """The first believable date among the evidence, then the URL's date, then the crawl time."""
    for item in evidence:
        parsed = parse_date(item.value) if item.value else None
        if item.source is DateSource.TIME_ELEMENT and crawled_at is not None and item.text:
            relative = parse_relative(item.text, crawled_at)
            # The relative text gives the time of day the bare `datetime` attribute lacks; a contradiction
            # (attribute days away from it) means one of them is stale, and the attribute wins.
            if relative is not None and _same_day_or_unknown(relative, parsed):
                return PublishedDate(relative.replace(microsecond=0), item.source, DatePrecision.MINUTE)
        if parsed is None and item.text:
            parsed = parse_date(item.text)
        if parsed is not None and believable(parsed, crawled_at):
            return PublishedDate(parsed.at, item.source, parsed.precision)
    from_url = date_from_url(url)
    if from_url is not None and believable(from_url, crawled_at):
        return PublishedDate(from_url.at, DateSource.URL, from_url.precision)
    if crawled_at is not None:
        return PublishedDate(crawled_at, DateSource.CRAWL, DatePrecision.SECOND)
    return None
