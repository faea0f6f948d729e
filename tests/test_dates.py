"""Dates: parsing the formats pages use, relative times, URL dates, and what is believed."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from newslake.core.dates import (
    DateEvidence,
    believable,
    date_from_url,
    dates_in_text,
    decide_published,
    parse_date,
    parse_relative,
    text_date,
)
from newslake.core.model import DatePrecision, DateSource

CRAWL = datetime(2022, 1, 13, 13, 13, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("2022-01-13", datetime(2022, 1, 13, tzinfo=UTC), DatePrecision.DAY),
        ("2022-01-13T12:27:03Z", datetime(2022, 1, 13, 12, 27, 3, tzinfo=UTC), DatePrecision.SECOND),
        ("2022-01-13T20:27:03+08:00", datetime(2022, 1, 13, 12, 27, 3, tzinfo=UTC), DatePrecision.SECOND),
        ("2005-03-21 11:21", datetime(2005, 3, 21, 11, 21, tzinfo=UTC), DatePrecision.MINUTE),
        ("2005年3月21日", datetime(2005, 3, 21, tzinfo=UTC), DatePrecision.DAY),
        ("发布时间：2005年3月21日 11:21", datetime(2005, 3, 21, 11, 21, tzinfo=UTC), DatePrecision.MINUTE),
        ("March 21, 2005", datetime(2005, 3, 21, tzinfo=UTC), DatePrecision.DAY),
        ("Updated 21 March 2005 10:00 GMT", datetime(2005, 3, 21, 10, 0, tzinfo=UTC), DatePrecision.MINUTE),
        ("20050311", datetime(2005, 3, 11, tzinfo=UTC), DatePrecision.DAY),
    ],
)
def test_parse_date(text: str, expected: datetime, precision: DatePrecision) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert (parsed.at, parsed.precision) == (expected, precision)


@pytest.mark.parametrize("text", ["", "yesterday", "2022-13-45", "../../etc/passwd", "Smarch 3, 2005"])
def test_parse_date_none(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("46 分钟前", datetime(2022, 1, 13, 12, 27, 3, tzinfo=UTC)),
        ("2 hours ago", datetime(2022, 1, 13, 11, 13, 3, tzinfo=UTC)),
        ("3 天前", datetime(2022, 1, 10, 13, 13, 3, tzinfo=UTC)),
    ],
)
def test_parse_relative(text: str, expected: datetime) -> None:
    assert parse_relative(text, CRAWL) == expected


def test_date_from_url() -> None:
    assert date_from_url("https://x.com/2019/11/20/story") is not None
    assert date_from_url("http://business.sohu.com/20050311/n224643115.shtml") is not None
    assert date_from_url("https://x.com/story-123456") is None


def test_future_and_ancient_dates_are_not_believed() -> None:
    future, ancient = parse_date("2023-02-01T00:00:00Z"), parse_date("1985-01-01")
    assert future is not None and not believable(future, CRAWL)
    assert ancient is not None and not believable(ancient, CRAWL)


def test_relative_time_element_wins_with_the_time_of_day() -> None:
    published = decide_published(
        [DateEvidence(DateSource.TIME_ELEMENT, "2022-01-13", "46 分钟前")], "https://x/", CRAWL
    )
    assert published is not None
    assert published.at == datetime(2022, 1, 13, 12, 27, 3, tzinfo=UTC)
    assert published.source is DateSource.TIME_ELEMENT


def test_fallback_order_meta_then_url_then_crawl() -> None:
    meta = decide_published([DateEvidence(DateSource.META, "2021-05-01T10:00:00Z")], "https://x/2020/01/01/a", CRAWL)
    assert meta is not None and meta.source is DateSource.META
    url = decide_published([DateEvidence(DateSource.META, "2099-01-01")], "https://x/2020/01/01/a", CRAWL)
    assert url is not None and url.source is DateSource.URL
    crawl = decide_published([], "https://x/a", CRAWL)
    assert crawl is not None and (crawl.source, crawl.at) == (DateSource.CRAWL, CRAWL)
    assert decide_published([], "https://x/a", None) is None


@given(st.text(max_size=100))
def test_parse_date_never_raises(text: str) -> None:
    parsed = parse_date(text)
    if parsed is not None:
        assert parsed.at.tzinfo is not None


# --- dates written in the text (issue 6) ----------------------------------------------------------------
TEXT_CRAWL = datetime(2022, 4, 15, 5, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected", "offset"),
    [
        ("Posted: Nov 20 2019, 11:06am EST", datetime(2019, 11, 20, 16, 6, tzinfo=UTC), -300),
        ("18 Nov 2019 9:38 pm", datetime(2019, 11, 18, 21, 38, tzinfo=UTC), None),
        ("2005-04-05 06:40 GMT+8", datetime(2005, 4, 4, 22, 40, tzinfo=UTC), 480),
        ("2005年3月21日 11:21", datetime(2005, 3, 21, 11, 21, tzinfo=UTC), None),
    ],
)
def test_times_with_meridiem_and_zones(text: str, expected: datetime, offset: int | None) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert (parsed.at, parsed.offset_minutes) == (expected, offset)


def test_the_date_nearest_the_title_wins_and_published_beats_updated() -> None:
    text = "Archive 2004-01-02 | The Title | Updated: 2005-03-22 10:00 Posted: 2005-03-21 08:00 | body text"
    found = text_date(text, [(text.index("The Title"), 1.0)], TEXT_CRAWL)
    assert found is not None and found.at == datetime(2005, 3, 21, 8, 0, tzinfo=UTC)


def test_an_updated_date_is_taken_when_it_is_the_only_one() -> None:
    text = "标题 2005-04-27 14:32更新 来源：千龙新闻网"
    found = text_date(text, [(0, 1.0)], TEXT_CRAWL)
    assert found is not None and found.at.date().isoformat() == "2005-04-27"


def test_beijing_time_in_words_states_the_zone() -> None:
    text = "标题 北京时间 2005-04-05 06:40 正文"
    found = text_date(text, [(0, 1.0)], TEXT_CRAWL)
    assert found is not None
    assert (found.at, found.offset_minutes) == (datetime(2005, 4, 4, 22, 40, tzinfo=UTC), 480)


def test_a_month_alone_is_not_shifted_to_beijing_time() -> None:
    # It has no time of day to shift: "北京时间 2003年5月" is May, not the last afternoon of April in UTC.
    [found] = dates_in_text("北京时间 2003年5月 正文")
    assert (found.parsed.at, found.parsed.precision) == (datetime(2003, 5, 1, tzinfo=UTC), DatePrecision.MONTH)


def test_numeric_dates_are_day_first_unless_that_is_no_date() -> None:
    assert [d.parsed.at.date().isoformat() for d in dates_in_text("发布日期： 7/5/2005 9:23:57 PM")] == ["2005-05-07"]
    assert [d.parsed.at.date().isoformat() for d in dates_in_text("on 7/25/2005")] == ["2005-07-25"]


def test_a_month_alone_is_the_last_resort() -> None:
    text = "报告 课题组 2003年5月 为了贯彻落实"
    found = text_date(text, [(0, 1.0)], TEXT_CRAWL)
    assert found is not None and (found.at.date().isoformat(), found.precision) == ("2003-05-01", DatePrecision.MONTH)
    found = text_date(text + " 2005-03-06", [(0, 1.0)], TEXT_CRAWL)
    assert found is not None and found.precision is DatePrecision.DAY


def test_dates_after_the_crawl_or_far_away_are_not_believed() -> None:
    assert text_date("title 2030-01-01 10:00", [(0, 1.0)], TEXT_CRAWL) is None
    assert text_date("title" + " filler" * 2000 + " 2005-01-01", [(0, 1.0)], TEXT_CRAWL) is None


@given(st.text(max_size=300))
def test_text_dates_never_raise(text: str) -> None:
    for found in dates_in_text(text):
        assert found.parsed.at.tzinfo is UTC or found.parsed.at.utcoffset() == timedelta(0)


def test_an_updated_time_label_in_chinese_is_updated() -> None:
    text = "标题 更新时间：2005-04-28 09:00 发布时间：2005-04-27 14:32 正文"
    found = text_date(text, [(0, 1.0)], TEXT_CRAWL)
    assert found is not None and found.at == datetime(2005, 4, 27, 14, 32, tzinfo=UTC)


def test_a_date_right_before_letters_is_still_a_date() -> None:
    parsed = parse_date("2019-11-20Updated")
    assert parsed is not None and parsed.at == datetime(2019, 11, 20, tzinfo=UTC)
    assert parse_date("2019-11-20 10:00 ESTONIA") == parse_date("2019-11-20 10:00")


# The date patterns start with a character rather than a lookbehind, for speed (see newslake/core/dates.py);
# these are the readable forms they must agree with.
_READABLE_FORMS = {
    "iso": r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)",
    "numeric": r"(?<![\d/])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?![\d/])",
    "dmy": r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\.?\s+([A-Za-zéûä]{3,9})\.?,?\s+((?:19|20)\d{2})",
}
# Strings made of the pieces dates are written with, so that near-dates (a year after a digit, a day after
# a slash) are common rather than one in millions.
_DATEISH = st.lists(
    st.sampled_from(["2019-05-05", "5/12/2019", "5th May, 2019", "1", "12", "/", "-", " ", "x", "May", "年"]),
    max_size=8,
).map("".join)


@pytest.mark.parametrize("name", sorted(_READABLE_FORMS))
@given(text=_DATEISH)
@example(text="12019-05-05 /5/12/2019 115/12/2019 125th May 2019")  # each lookbehind's own near-miss
def test_fast_date_patterns_find_what_their_readable_forms_find(name: str, text: str) -> None:
    import re

    from newslake.core import dates

    fast = {"iso": dates._ISO, "numeric": dates._NUMERIC_DMY, "dmy": dates._EN_DMY}[name]
    readable = re.compile(_READABLE_FORMS[name] + dates._TIME + dates._ZONE, re.IGNORECASE)
    assert [m.groups() + m.span() for m in fast.finditer(text)] == [
        m.groups() + m.span() for m in readable.finditer(text)
    ]


_MONTHISH = st.lists(
    st.sampled_from(
        ["March", "MARCH", "mar", "Mar.", "märz", "Août", "déc", "Mayor", "xMay", "éMay", "ſept", "September",
         "septiembre", "Octobre", "enero", "5", "21", "21st", ",", " ", "  ", "2005", "1999", "10:30", "pm", "EST",
         "年", "é"]
    ),
    max_size=10,
).map(" ".join)  # fmt: skip


@given(text=_MONTHISH)
@example(text="xMarch 5, 2005 éMay 6, 2005 March 7, 2005")
@example(text="enero 5, 2005 Enero 6 2006 ſept 7 2007")  # every initial, either case
def test_month_first_dates_are_those_the_plain_pattern_finds(text: str) -> None:
    # The pattern starts with a month's initial (for speed); the plain form reads any 3-9 letter word at a
    # word start. Words that are no month give no date either way, so the dates found must be the same.
    import re

    from newslake.core import dates

    plain = re.compile(
        r"(?<![A-Za-zéûä])([A-Za-zéûä]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})"
        + dates._TIME
        + dates._ZONE,
        re.IGNORECASE,
    )

    def found(pattern: re.Pattern[str]) -> list[tuple[int, object]]:
        return [(m.start(), d) for m in pattern.finditer(text) if (d := dates._from_match(m, "mdy")) is not None]

    assert found(dates._EN_MDY) == found(plain)


_WRITTEN_DATES = ["2019-05-05", "5/12/2019", "2019年5月6日", "2003年5月", "May 5, 2019", "5 May 2019", "x", " "]


@given(text=st.lists(st.sampled_from(_WRITTEN_DATES), max_size=6).map("".join))
def test_a_pattern_skipped_for_lack_of_its_literal_would_have_found_nothing(text: str) -> None:
    # dates_in_text skips the patterns whose literal (年, "/") a text lacks; scanning with every pattern
    # must find the same dates.
    from newslake.core import dates

    everything: dict[tuple[int, datetime], bool] = {}
    for pattern, order in (*dates._PATTERNS, (dates._NUMERIC_DMY, "numeric")):
        for match in pattern.finditer(text):
            parsed = dates._from_match(match, order)
            if parsed is not None:
                everything[match.start(), parsed.at] = True
    for match in dates._CJK_MONTH.finditer(text):
        everything[match.start(), datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)] = True
    assert sorted((d.position, d.parsed.at) for d in dates_in_text(text)) == sorted(everything)


# Dates with times, zones and labels, and stretches of filler long enough that the anchors' reach (4 000
# characters, weighted) leaves parts of the text unscanned.
_NEAR_DATES = [
    "发表于 2005年3月21日 11:21", "Updated: March 5, 2019 10:04 PM EST", "Published 5 May 2019", "17/9/2004 5:54:13 AM",
    "2019-05-05T10:00:00+08:00", "北京时间 2005-04-05 06:40", "2003年5月", "Sept. 3rd, 2020", " ",
]  # fmt: skip


@given(
    segments=st.lists(
        st.sampled_from(_NEAR_DATES) | st.integers(1, 3000).map(lambda n: ("lorem 12 " * n)[:n]), max_size=12
    ),
    anchors=st.lists(st.tuples(st.integers(0, 30_000), st.sampled_from([1.0, 8.0, 0.5])), max_size=4),
)
def test_text_date_scanning_near_the_anchors_chooses_as_a_whole_scan(
    segments: list[str], anchors: list[tuple[int, float]]
) -> None:
    from newslake.core.dates import nearest_text_date

    text = "".join(segments)
    crawled = datetime(2021, 1, 1, tzinfo=UTC)
    assert text_date(text, anchors, crawled) == nearest_text_date(dates_in_text(text), anchors, crawled)


@pytest.mark.parametrize("weight", [1.0, 8.0])
@pytest.mark.parametrize("side", ["before", "after"])
@pytest.mark.parametrize("beyond", [0, 1])
def test_a_date_at_the_edge_of_the_reach_is_read_whole(weight: float, side: str, beyond: int) -> None:
    # A date starting exactly at the reach of an anchor (4 000 weighted characters after it, half that
    # before) is read with its time and zone; one a character further is not read at all.
    from newslake.core.dates import nearest_text_date

    written = "March 5, 2019 10:04 PM EST"
    anchor = 5000
    reach = int(4000 / weight) if side == "after" else -int(2000 / weight)
    start = anchor + reach + (beyond if side == "after" else -beyond)
    text = "x " * (start // 2) + "x" * (start % 2) + written + " y" * 3000
    crawled = datetime(2021, 1, 1, tzinfo=UTC)
    found = text_date(text, [(anchor, weight)], crawled)
    assert found == nearest_text_date(dates_in_text(text), [(anchor, weight)], crawled)
    assert (found is not None and found.at == datetime(2019, 3, 6, 3, 4, tzinfo=UTC)) == (beyond == 0)
