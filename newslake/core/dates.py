"""Date handling: parse the date strings pages carry, relative times, dates in URLs; decide what to believe.

Everything returns UTC datetimes. A value without a time zone is taken as UTC (the page did not say).
"""

import math
import re
from collections.abc import Callable, Iterable
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
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([ap]\.?m\.?(?![a-z]))?)?"
# Zones as pages write them: offsets, UTC/GMT with an offset, and the unambiguous abbreviations (CST and IST
# name two zones each, so they are not read).
_ZONE_NAMES = {
    "Z": 0, "UTC": 0, "GMT": 0, "EST": -300, "EDT": -240, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480,
    "PDT": -420, "BST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "JST": 540,
    "KST": 540, "HKT": 480, "SGT": 480, "AEST": 600, "AEDT": 660,
}  # fmt: skip
# The zone is optional; when one is read it must end a word ("EST", not the start of "ESTONIA").
_ZONE = (
    r"(?:\s*((?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|"
    + "|".join(sorted(_ZONE_NAMES, key=len, reverse=True))
    + r")(?![A-Za-z]))?"
)
# 2022-01-13, 2022/1/13, 2022.01.13, with optional time and zone.
# Text is searched for dates a page at a time, so patterns start with a character, not an assertion: re
# then skips to the places where that character occurs instead of trying the assertion at every position
# (a third to a quarter of the time). "1(?<!\d1)9" is "19 not after a digit" written that way; the
# readable forms are in tests/test_dates.py, which checks both find the same.
_ISO = re.compile(r"((?:1(?<!\d1)9|2(?<!\d2)0)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)" + _TIME + _ZONE, re.IGNORECASE)
# 17/9/2004 5:54:13 AM: day first unless the first number cannot be a month (see `_from_match`); only
# text evidence uses it, since the order is a guess.
_NUMERIC_DMY = re.compile(r"(\d(?<![\d/]\d)\d?)/(\d{1,2})/((?:19|20)\d{2})(?![\d/])" + _TIME + _ZONE, re.IGNORECASE)
# 2005年3月21日 [11:21]
_CJK = re.compile(
    r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日" + _TIME.replace("[ T,]+", r"\s*"), re.IGNORECASE
)
# 2003年5月: a month, written alone (a report's date); only text evidence uses it.
_CJK_MONTH = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?!\s*\d)")
# March 21, 2005 / 21 March 2005 [11:21]
_MONTH_NAME = r"([A-Za-zéûä]{3,9})\.?"
# The month name starts a word: tried at every letter, "...ember 5, 2020" inside a longer word made each
# position of English text a try (half the time of all date patterns). So the pattern starts with a
# month's first letter, matched case-sensitively in both cases: re then skips to those letters instead of
# trying the lookbehind at every position (0.37 -> 0.22 ms a page text). Other words read there are no
# month (`_from_match` looks the name up), as before; test_dates compares with the plain form.
_MONTH_INITIALS = "".join(sorted({name[0] for name in _MONTHS} | {name[0].upper() for name in _MONTHS}))
_EN_MDY = re.compile(
    rf"((?-i:[{_MONTH_INITIALS}])(?<![A-Za-zéûä].)[A-Za-zéûä]{{2,8}})\.?"
    r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})" + _TIME + _ZONE,
    re.IGNORECASE,
)
_EN_DMY = re.compile(
    r"(\d(?<!\d\d)\d?)(?:st|nd|rd|th)?\.?\s+" + _MONTH_NAME + r",?\s+((?:19|20)\d{2})" + _TIME + _ZONE,
    re.IGNORECASE,
)
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
    offset_minutes: int | None = None  # the zone the text stated, minutes east of UTC


def _zone(token: str | None) -> timezone | None:
    if not token:
        return None
    token = token.upper().replace(" ", "")
    if token in _ZONE_NAMES:
        return timezone(timedelta(minutes=_ZONE_NAMES[token]))
    if token.startswith(("UTC", "GMT")):
        token = token[3:]
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    if len(digits) <= 2:
        digits = digits.zfill(2) + "00"  # GMT+8
    hours, minutes = int(digits[:2]), int(digits[2:4])
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _hour(hour: str, meridiem: str | None) -> int:
    """24-hour clock from "3" + "pm"; an hour already past 12 ("15:24pm") is kept."""
    value = int(hour)
    if meridiem is None or value > 12:
        return value
    return value % 12 + (12 if meridiem[0].lower() == "p" else 0)


def _build(
    year: int,
    month: int,
    day: int,
    hour: str | None,
    minute: str | None,
    second: str | None,
    zone: str | None,
    meridiem: str | None = None,
) -> ParsedDate | None:
    try:
        tz = _zone(zone)
        if hour is None:
            return ParsedDate(datetime(year, month, day, tzinfo=UTC), DatePrecision.DAY, has_zone=False)
        local = datetime(year, month, day, _hour(hour, meridiem), int(minute or 0), int(second or 0), tzinfo=tz or UTC)
    except (ValueError, OverflowError):
        return None
    precision = DatePrecision.SECOND if second is not None else DatePrecision.MINUTE
    offset = tz.utcoffset(None) if tz is not None else None
    minutes = int(offset.total_seconds() // 60) if offset is not None else None
    return ParsedDate(local.astimezone(UTC), precision, has_zone=tz is not None, offset_minutes=minutes)


_PATTERNS = ((_ISO, "ymd"), (_CJK, "ymd"), (_EN_MDY, "mdy"), (_EN_DMY, "dmy"))


def _from_match(match: re.Match[str], order: str) -> ParsedDate | None:
    groups = match.groups()
    hour, minute, second, meridiem = groups[3], groups[4], groups[5], groups[6]
    zone = groups[7] if len(groups) > 7 else None
    if order == "ymd":
        year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
    elif order == "numeric":
        first, second_number, year = int(groups[0]), int(groups[1]), int(groups[2])
        # Day first, as most of the world writes it, unless that makes no date (7/25/2005 is July).
        day, month = (second_number, first) if second_number > 12 else (first, second_number)
    else:
        month = _MONTHS.get((groups[0] if order == "mdy" else groups[1]).lower(), 0)
        if not month:
            return None
        year = int(groups[2])
        day = int(groups[1] if order == "mdy" else groups[0])
    return _build(year, month, day, hour, minute, second, zone, meridiem)


def parse_date(text: str) -> ParsedDate | None:
    """Find the first date (with time and zone when given) in `text`; None when it holds no valid date."""
    text = text.strip()
    if not text:
        return None
    compact = _COMPACT.match(text)
    if compact is not None:
        y, mo, d, h, mi, s, z = compact.groups()
        return _build(int(y), int(mo), int(d), h, mi, s, z)
    for pattern, order in _PATTERNS:
        match = pattern.search(text)
        if match is not None:
            parsed = _from_match(match, order)
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
    if parsed.precision in (DatePrecision.DAY, DatePrecision.MONTH):
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


# Labels written just before a date: "发表于 2005-07-31", "Posted: 18 Nov 2019" versus "Updated: 18 Nov 2019".
_PUBLISHED_LABEL = re.compile(
    r"(?:发表|發表|发布|發布|时间|時間|日期|published|posted|publication|erschienen|publié|publicado)\W{0,4}$",
    re.IGNORECASE,
)
_UPDATED_LABEL = re.compile(
    r"(?:(?:更新|修改)(?:时间|時間|日期|于|於)?|updated?|modified|last edited|aktualisiert|mis à jour|actualizado)"
    r"\W{0,4}(?:on|at|am)?\W{0,2}$",
    re.IGNORECASE,
)
_BEIJING_TIME = re.compile(r"北京时间|北京時間")
_LABEL_WINDOW = 20
# Text dates further than this (characters) from the title and from the article's start are somebody else's.
_TEXT_DATE_REACH = 4000


@dataclass(frozen=True, slots=True)
class TextDate:
    parsed: ParsedDate
    position: int
    label: str | None  # "published", "updated", or None


def _labelled(text: str, start: int) -> str | None:
    before = text[max(0, start - _LABEL_WINDOW) : start]
    if _UPDATED_LABEL.search(before):
        return "updated"
    if _PUBLISHED_LABEL.search(before):
        return "published"
    return None


def _with_beijing_time(parsed: ParsedDate, text: str, start: int) -> ParsedDate:
    """ "北京时间 2005-04-05 06:40" states UTC+8 in words."""
    if parsed.has_zone or parsed.precision is DatePrecision.DAY:
        return parsed
    if not _BEIJING_TIME.search(text[max(0, start - _LABEL_WINDOW) : start + 40]):
        return parsed
    shifted = parsed.at - timedelta(hours=8)
    return ParsedDate(shifted, parsed.precision, has_zone=True, offset_minutes=480)


# A literal some patterns need: a text without it is not scanned by them (a scan of a page text costs 20-80
# us a pattern, and most pages are written in one script). The CJK patterns hold 年, the numeric one "/".
_NEEDED = {_CJK: "年", _CJK_MONTH: "年", _NUMERIC_DMY: "/"}


def dates_in_text(text: str, spans: Iterable[tuple[int, int]] | None = None) -> list[TextDate]:
    """Every date written in `text` (or starting within `spans`, scanned as `_reach_spans` says), with its
    position and its label."""
    found: list[TextDate] = []
    scans = list(spans) if spans is not None else [(0, len(text))]
    for pattern, order in (*_PATTERNS, (_NUMERIC_DMY, "numeric"), (_CJK_MONTH, "month")):
        if _NEEDED.get(pattern, "") not in text:
            continue
        for start, end in scans:
            for match in pattern.finditer(text, start, end):
                parsed = _text_match(match, order, text)
                if parsed is not None:
                    found.append(TextDate(parsed, match.start(), _labelled(text, match.start())))
    return found


def _text_match(match: re.Match[str], order: str, text: str) -> ParsedDate | None:
    """The date a match in a page's text writes: a day (and time, in Beijing time when the text says so), or a
    month alone ("2003年5月", no time to shift)."""
    if order != "month":
        parsed = _from_match(match, order)
        return None if parsed is None else _with_beijing_time(parsed, text, match.start())
    try:
        at = datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
    except ValueError:
        return None
    return ParsedDate(at, DatePrecision.MONTH, has_zone=False)


def _distance(position: int, anchors: Iterable[tuple[int, float]]) -> float:
    """Weighted characters to the nearest anchor; a date before an anchor counts double (dates follow titles)."""
    return min(
        ((position - a if position >= a else 2 * (a - position)) * weight for a, weight in anchors),
        default=float(position),
    )


# A date's match is under ~100 characters (a date, a time, a zone, with the single spaces of normalised text;
# only a run of spaces, commas and "T"s before its time could make it longer). A scan that starts this far
# before a stretch finds there what a scan of the whole text finds: a match begun earlier, or one the shorter
# scan reads where the whole one did not, ends before it (the margin is more than two matches long). It ends
# this far after it, so that matches starting in it are whole.
_SCAN_MARGIN = 300


def _reach_spans(anchors: list[tuple[int, float]], length: int) -> list[tuple[int, int]]:
    """The stretches of a text of `length` characters that a date within `_TEXT_DATE_REACH` of an anchor
    (as `_distance` weighs it) can start in, widened by `_SCAN_MARGIN` and merged: (start, end) to scan."""
    if not anchors:
        return [(0, min(length, _TEXT_DATE_REACH + 1 + _SCAN_MARGIN))]  # `_distance` is the position itself
    if any(weight <= 0 for _, weight in anchors):
        return [(0, length)]  # an anchor of no weight is near everything
    spans: list[tuple[int, int]] = []
    for low, high in sorted((a - _TEXT_DATE_REACH / (2 * w), a + _TEXT_DATE_REACH / w) for a, w in anchors):
        start = max(0, math.floor(low) - _SCAN_MARGIN)
        end = min(length, math.ceil(high) + 1 + _SCAN_MARGIN)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def text_date(text: str, anchors: Iterable[tuple[int, float]], crawled_at: datetime | None) -> ParsedDate | None:
    """The date written nearest the title or the article's start: labelled "published" ones first, then
    unlabelled, then "updated" ones; month-only dates ("2003年5月") only when no day is written near.
    `anchors` are (position, weight): distances to a heavier anchor count more."""
    anchors = list(anchors)
    # Only the stretches near the anchors are scanned: a page text is ~6 600 characters on average and up to
    # 21 000 in the corpus, and the patterns cost ~40 us a thousand of them.
    return nearest_text_date(dates_in_text(text, _reach_spans(anchors, len(text))), anchors, crawled_at)


def nearest_text_date(
    dates: Iterable[TextDate], anchors: list[tuple[int, float]], crawled_at: datetime | None
) -> ParsedDate | None:
    """`text_date`'s choice among `dates`."""
    weights = {"published": 0.25, None: 1.0, "updated": 4.0}
    best: tuple[float, ParsedDate] | None = None
    for found in dates:
        if not believable(found.parsed, crawled_at):
            continue
        distance = _distance(found.position, anchors)
        if distance > _TEXT_DATE_REACH:
            continue
        cost = distance * weights[found.label] + (
            10 * _TEXT_DATE_REACH if found.parsed.precision is DatePrecision.MONTH else 0
        )
        if best is None or cost < best[0]:
            best = (cost, found.parsed)
    return best[1] if best is not None else None


def decide_published(
    evidence: Iterable[DateEvidence],
    url: str,
    crawled_at: datetime | None,
    text: Callable[[], ParsedDate | None] | None = None,
) -> PublishedDate | None:
    """The first believable date among the evidence, then the date written near the title (`text`, looked
    for only when needed), then the URL's date, then the crawl time."""
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
            return PublishedDate(parsed.at, item.source, parsed.precision, parsed.offset_minutes)
    written = text() if text is not None else None
    if written is not None:
        return PublishedDate(written.at, DateSource.TEXT, written.precision, written.offset_minutes)
    from_url = date_from_url(url)
    if from_url is not None and believable(from_url, crawled_at):
        return PublishedDate(from_url.at, DateSource.URL, from_url.precision)
    if crawled_at is not None:
        return PublishedDate(crawled_at, DateSource.CRAWL, DatePrecision.SECOND)
    return None
