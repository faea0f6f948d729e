"""Seed reading: the header variants real archives contain, encodings, and rejects with reasons."""

import codecs
import html
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newslake.core import SeedRejected, parse_seed
from newslake.core.seed import Seed, decode_seed, split_header
from tests.conftest import make_seed

BODY = "<main><p>正文第一段，足够长的文字。</p></main>"


def test_standard_header() -> None:
    seed = parse_seed(make_seed(BODY, title="标题", url="https://www.bbc.com/zhongwen/simp/world-1"))
    assert seed.crawled_at == datetime(2022, 1, 13, 13, 13, 3, tzinfo=UTC)
    assert seed.title == "标题"
    assert seed.url == "https://www.bbc.com/zhongwen/simp/world-1"
    assert seed.html.startswith("<main>")


def test_missing_comment_line() -> None:
    seed = parse_seed(make_seed(BODY, crawl_ms=None))
    assert seed.crawled_at is None
    assert seed.title == "A title"


def test_escaped_brackets_in_title() -> None:
    seed = parse_seed(make_seed(BODY, title=r"\[Update\] Markets \[live\]"))
    assert seed.title == "[Update] Markets [live]"


def test_url_with_parentheses() -> None:
    url = "https://en.wikipedia.org/wiki/Mercury_(planet)"
    assert parse_seed(make_seed(BODY, url=url)).url == url


def test_crlf_and_bom() -> None:
    data = codecs.BOM_UTF8 + make_seed(BODY).replace(b"\n", b"\r\n")
    seed = parse_seed(data)
    assert seed.title == "A title"
    assert seed.url == "https://example.com/news/a"
    assert seed.crawled_at is not None


def test_url_is_canonicalised() -> None:
    seed = parse_seed(make_seed(BODY, url="HTTPS://Example.COM:443/a?utm_source=x&id=3#comments"))
    assert seed.url == "https://example.com/a?id=3"


@pytest.mark.parametrize(
    ("codec", "declared", "text"),
    [
        ("gb18030", "gb2312", "哈萨克斯坦骚乱：俄罗斯战略后院和中国一带一路重要伙伴，镕"),
        ("big5", "big5", "哈薩克斯坦騷亂：俄羅斯戰略後院和中國一帶一路重要夥伴"),
        ("shift_jis", "Shift_JIS", "カザフスタンの騒乱：ロシアの戦略的裏庭と中国の一帯一路"),
        ("cp1252", "iso-8859-1", "Les émeutes au Kazakhstan — l’arrière-cour stratégique de la Russie"),
    ],
)
def test_legacy_encoding_declared(codec: str, declared: str, text: str) -> None:
    html = f'<html><head><meta charset="{declared}"></head><body><p>{text}</p></body></html>'
    data = f"<!--1642079583000-->\n[{text[:10]}](https://example.com/a)\n------\n\n{html}".encode(codec)
    seed = parse_seed(data)
    assert text in seed.html
    assert seed.title == text[:10]


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        ("gb18030", "中亚内陆国家哈萨克斯坦被称为俄罗斯的战略后院，也是中国一带一路最重要的伙伴国之一。" * 4),
        ("big5", "中亞內陸國家哈薩克斯坦被稱為俄羅斯的戰略後院，也是中國一帶一路最重要的夥伴國之一。" * 4),
    ],
)
def test_legacy_encoding_detected_without_declaration(codec: str, text: str) -> None:
    decoded, used = decode_seed(f"<p>{text}</p>".encode(codec))
    assert text in decoded, used


def test_big5_that_its_superset_cannot_decode_is_read_as_big5() -> None:
    # Detection answers big5, which is read as its WHATWG superset big5hkscs; Python's big5hkscs lacks Big5's
    # kana (0xC6A1-0xC7FC), so those bytes are read with the codec the detector proposed.
    text = "ひらがなは" * 30
    data = f"<p>{text}</p>".encode("big5")
    with pytest.raises(UnicodeDecodeError):
        data.decode("big5hkscs")
    assert decode_seed(data) == (f"<p>{text}</p>", "big5")
    assert decode_seed(b"\xc6\xd3")[1] in {"big5", "cp950"}


def test_utf8_page_declaring_gb2312_stays_utf8() -> None:
    html = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><p>中文内容</p>'
    assert "中文内容" in decode_seed(html.encode("utf-8"))[0]


def test_one_broken_byte_pair_does_not_reject_a_legacy_page() -> None:
    text = "中亚内陆国家哈萨克斯坦被称为俄罗斯的战略后院。" * 20
    data = f'<meta charset="gb2312"><p>{text}</p>'.encode("gb18030")
    broken = data[:200] + b"\xb0\x20" + data[200:]
    decoded, codec = decode_seed(broken)
    assert codec == "gb18030"
    assert decoded.count("\ufffd") == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"   \n\n", "empty_file"),
        (b"<html><body><p>no header at all</p></body></html>", "no_header"),
        (b"<!--1642079583000-->\n[Title]()\n------\n\n<p>x</p>", "no_url"),
        (b"<!--1642079583000-->\n[Title](ftp://example.com/a)\n------\n\n<p>x</p>", "bad_url"),
        (b"<!--1642079583000-->\n[Title](javascript:alert(1))\n------\n\n<p>x</p>", "bad_url"),
        (b"<!--1642079583000-->\n[Title](https://example.com/a)\n------\n\n", "no_body"),
        ("<!--1642079583000-->\n[Title](https://example.com/a)\n------\n\n\u3000\u00a0".encode(), "no_body"),
    ],
)
def test_rejects_carry_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SeedRejected) as caught:
        parse_seed(data)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_implausible_crawl_stamp_is_not_a_crawl_time() -> None:
    crawled_at, *_ = split_header("<!--12-->\n[T](https://example.com/)\n------\n\n<p>x</p>")
    assert crawled_at is None


_titles = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp"), blacklist_characters="\\[]"),
    min_size=1,
    max_size=80,
).filter(lambda t: t.strip() == t and "  " not in t and t.strip())
_paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/()", max_size=40)


@given(title=_titles, path=_paths, millis=st.integers(631_152_000_000, 4_102_444_800_000))
def test_header_roundtrip(title: str, path: str, millis: int) -> None:
    url = f"https://example.com/{path}"
    seed = parse_seed(make_seed("<p>body</p>", title=title, url=url, crawl_ms=millis))
    assert seed.crawled_at == datetime.fromtimestamp(millis / 1000, tz=UTC)
    assert seed.url == f"https://example.com/{path}"
    assert seed.title == " ".join(unicodedata.normalize("NFC", title).split())  # titles are NFC, like all text


@given(st.binary(max_size=2000))
def test_random_bytes_parse_or_reject(data: bytes) -> None:
    try:
        seed = parse_seed(data)
    except SeedRejected as exc:
        assert exc.reason
    else:
        assert seed.url.startswith(("http://", "https://"))


# Invisible characters, whitespace of all kinds and a combining accent, often, among any others.
_TEXT_CHARS = st.sampled_from("ab \u00e9e\u0301\u200b\u200c\u200d\u2060\ufeff\u00ad\u3000\u00a0\n\t") | st.characters()


@given(st.text(alphabet=_TEXT_CHARS, max_size=200))
@example("a\u0085b\u00a0\u00ad c\u00e9 ")  # Latin-1 (one byte a character): whitespace and an invisible
@example("\U0001f642\u3000x\u2028\u2029y\u205f\u1680z\u180e")  # four bytes a character; U+180E is no longer space
@example(" \u4e2d\u200b \u3000 \ufeff\u00e9\u0301")  # two bytes a character, to be normalised
def test_whitespace_collapse_is_the_regex_one(raw: str) -> None:
    # normalise_text collapses with str.split(); it must agree with re.sub(r"\s+", " ") on any text, and drop
    # the invisible characters (listed here again, not taken from the module under test).
    import re

    from newslake.core.text import normalise_text

    invisible = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
    expected = raw if raw.isascii() else re.sub(invisible, "", unicodedata.normalize("NFC", raw))
    assert normalise_text(raw) == re.sub(r"\s+", " ", expected).strip()


def test_whitespace_is_what_str_isspace_says_of_every_code_point() -> None:
    # The compiled passes decide whitespace without asking CPython's Unicode database outside a few ranges
    # (`_space.pxi`); no code point of this Python's data may fall outside them.
    from newslake.core._text import is_space

    assert [code for code in range(0x110000) if is_space(chr(code)) != chr(code).isspace()] == []


# Long texts (normalised a stretch at a time when not in NFC): marks that reorder and compose, characters NFC
# replaces (U+037E, a compatibility ideograph), Hangul jamo that compose, and the places stretches are cut.
_NFC_PIECES = st.sampled_from(
    ["a", "e\u0301", "\u0301", "\u0323\u0301", "\u037e", "\uf900", "\u1100", "\u1161", "\u11a8", "中", " ", "x" * 300,
     "文" * 300, "\u05b8\u05b1", "\U0001d15e"]
)  # fmt: skip


@settings(max_examples=60)
@given(st.lists(_NFC_PIECES, min_size=1, max_size=60).map("".join))
@example("a" + "e\u0301" * 1100 + "\u037e")  # a stretch of 256 would end between an e and its accent
@example("\u037e" + "\u1100\u1161" * 1100)  # ... or between jamo that compose
def test_a_long_text_is_normalised_as_a_whole(raw: str) -> None:
    from newslake.core.text import normalise_text

    assert normalise_text(raw) == " ".join(unicodedata.normalize("NFC", raw).split())


@cache
def _composition_seconds() -> frozenset[int]:
    """The second characters of the canonical composition pairs in this Python's Unicode data."""
    seconds = set()
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2:
            seconds.add(int(decomposition.split()[1], 16))
    return frozenset(seconds)


def test_nfc_stretches_are_cut_where_nfc_joins_nothing() -> None:
    # Every character `_text._nfc` cuts a long text before (printable ASCII and the CJK unified ideographs,
    # asked of the compiled test itself) is in NFC, decomposes to nothing else, has no combining class, and is
    # the second character of no canonical composition pair (Hangul's L+V and LV+T pairs are algorithmic:
    # jamo, not these).
    from newslake.core._text import nfc_boundary

    seconds = _composition_seconds()
    boundaries = [code for code in range(0x110000) if nfc_boundary(chr(code))]
    assert len(boundaries) == 95 + 0xA000 - 0x4E00  # the ranges it names: a long text is still cut
    for code in boundaries:
        char = chr(code)
        assert unicodedata.normalize("NFD", char) == char and not unicodedata.combining(char)
        assert code not in seconds


def test_texts_left_out_of_nfc_are_in_nfc() -> None:
    # `normalise_text` skips NFC for a text of characters `_text._nfc_stable` answers for: each must be in NFC
    # alone, of combining class 0, and the second character of no canonical composition, in the Unicode data
    # of this Python (then no text made of them changes under NFC).
    from newslake.core._text import nfc_stable

    seconds = _composition_seconds()
    stable = [code for code in range(0x110000) if nfc_stable(chr(code))]
    assert 0x4E00 in stable and 0xE9 in stable and 0x301 not in stable  # what the ranges are there for
    assert {0x2192, 0x2605, 0x3AC, 0x5D0, 0x627} <= set(stable)  # and the table: arrows, stars, Greek, Hebrew, Arabic
    assert 0x1161 not in stable and 0x11A8 not in stable  # Hangul's vowel and final jamo: seconds, not in the data
    for code in stable:
        char = chr(code)
        assert unicodedata.normalize("NFC", char) == char and not unicodedata.combining(char), hex(code)
        assert code not in seconds, hex(code)


# Short texts of characters NFC leaves alone (Latin-1, Cyrillic, kana, Han, Hangul, fullwidth; and from the
# table: an arrow, Greek, Hebrew, a Hangul leading jamo), with and without ones it changes or joins to them: a
# combining accent, U+037E, a compatibility ideograph, kana's voicing mark, a Hangul vowel jamo, a Hebrew point.
_STABLE_OR_NOT = st.sampled_from(
    "e\u00e9\u0439\u30ab\u4e2d\uac00\uff21\u2014 \u2192\u03ac\u05d0\u1100\u0301\u037e\uf900\u3099\u1161\u05b4"
)


@given(st.text(alphabet=_STABLE_OR_NOT, min_size=1, max_size=30))
@example("e\u0301")  # composes
@example("\u30ab\u3099")  # kana and its voicing mark compose
@example("\u4e2d\u037e")  # U+037E is replaced
@example("\u1100\u1161")  # Hangul jamo compose (algorithmically)
@example("\u2192\u0301")  # an accent on an arrow: a text the table takes, but for its accent
def test_short_texts_are_normalised_with_or_without_the_scan(raw: str) -> None:
    from newslake.core.text import normalise_text

    assert normalise_text(raw) == " ".join(unicodedata.normalize("NFC", raw).split())


# Control bytes, tab/LF/CR (which are not counted) and others, often; lengths across the 255-byte blocks the
# C count works in.
_BYTES = st.binary(max_size=1200) | st.lists(
    st.sampled_from(b"\x00\x01\x08\t\n\x0b\x0c\r\x1f\x20a\x7f\xff"), max_size=1200
).map(bytes)


@given(data=_BYTES, limit=st.integers(-5, 1300))
def test_control_bytes_count_is_the_readable_one(data: bytes, limit: int) -> None:
    from newslake.core._text import control_bytes

    # The C0 control bytes but tab, LF and CR, listed here again rather than taken from the module.
    control = {*range(0x20)} - {0x09, 0x0A, 0x0D}
    assert control_bytes(data, limit) == sum(byte in control for byte in data[: max(limit, 0)])


@given(data=_BYTES)
def test_high_bytes_count_is_the_readable_one(data: bytes) -> None:
    from newslake.core._text import high_bytes

    assert high_bytes(data) == sum(byte >= 0x80 for byte in data)


def test_byte_counts_count_long_runs() -> None:
    from newslake.core._text import control_bytes, high_bytes

    # Runs longer than the counts' blocks: a block's byte counter must not wrap (random draws rarely hold
    # 256 control or high bytes in a row).
    for size in (255, 256, 511, 1000):
        assert control_bytes(b"\x01" * size, size) == size
        assert high_bytes(b"\xff" * size) == size


@pytest.mark.parametrize(("controls", "binary"), [(0, False), (82, False), (83, True)])
def test_binary_means_over_two_percent_control_bytes(controls: int, binary: bool) -> None:
    from newslake.core.seed import _looks_binary

    # 4100 bytes: 2% is 82, and more than that is binary. Past the first 64 KiB nothing counts.
    data = b"\x00" * controls + b"a" * (4100 - controls)
    assert _looks_binary(data) is binary
    assert not _looks_binary(b"a" * 65536 + b"\x00" * 4000)


@pytest.mark.parametrize("invisible", list("\u200b\u200c\u200d\u2060\ufeff\u00ad"))
def test_each_invisible_character_goes(invisible: str) -> None:
    from newslake.core.text import normalise_text

    assert normalise_text(f"{invisible}a{invisible}b {invisible} c{invisible}") == "ab c"
    assert normalise_text(f"a{invisible}") == "a"


@given(
    st.sampled_from(["", "\ufeff", "\n\n", "\r\n"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.sampled_from([("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("gb18030", b""), ("utf-16-le", codecs.BOM_UTF16_LE)]),
)
def test_the_body_is_the_html_after_the_header_as_utf8(lead: str, html: str, encoding: tuple[str, bytes]) -> None:
    """Taken from a UTF-8 file's own bytes or encoded from the text, the body is what split_header gives."""
    codec, bom = encoding
    text = f"{lead}<!--1700000000000-->\r\n[T](https://ex.com/a)\n------\n\n<p>x</p>{html}"
    data = bom + text.encode(codec, "replace")
    try:
        seed = parse_seed(data)
    except SeedRejected:
        return  # (a binary-looking or undecodable draw: not what this is about)
    expected = split_header(decode_seed(data)[0])[3]
    assert seed.body == expected.encode("utf-8", "replace")
    assert seed.body.startswith(b"<p>x</p>")


def _read_header_by_split(text: str) -> tuple[object, ...]:
    """read_header as first written, splitting the whole text (the rest of the page copied as the last piece)."""
    from newslake.core import seed

    skipped = len(text) - len(text := text.lstrip("\ufeff"))
    lines = text.split("\n", 8)
    index = 0

    def current() -> str:
        return lines[index].rstrip("\r") if index < len(lines) else ""

    while index < len(lines) and not current().strip():
        index += 1
    crawled_at = None
    if current().lstrip().startswith("<!--"):
        crawled_at = seed._crawl_time(current())
        index += 1
    match = seed._TITLE_LINK.match(current().strip())
    if match is None:
        return ("no_header",)
    from newslake.core.text import normalise_text

    title = normalise_text(html.unescape(seed._MD_ESCAPE.sub(r"\1", match.group(1))))
    url = match.group(2).strip()
    index += 1
    if seed._RULE.match(current()):
        index += 1
    while index < len(lines) - 1 and not current().strip():
        index += 1
    start = skipped + sum(len(line) + 1 for line in lines[:index])
    return crawled_at, title, url, min(start, skipped + len(text))


@given(
    st.lists(
        st.sampled_from(
            ["", " ", "\r", "\ufeff", "<!--1700000000000-->", "[T](https://ex.com/a)", "------", "<p>x</p>"]
        ),
        max_size=14,
    ).map("\n".join)
    | st.lists(st.sampled_from(["\n", "\r\n", " ", "[T](u)", "<!--1-->", "---", "x"]), max_size=20).map("".join)
)
@example("<!--1700000000000-->\n[T](https://ex.com/a)\n------" + "\n" * 10 + "<p>x</p>")  # blank lines past 8
def test_the_header_is_read_as_splitting_the_whole_text_reads_it(text: str) -> None:
    from newslake.core.seed import read_header

    try:
        got: tuple[object, ...] = read_header(text)
    except SeedRejected as exc:
        got = (exc.reason,)
    assert got == _read_header_by_split(text)


# Bytes around UTF-8's edges: every lead and continuation byte, overlong forms, surrogates, U+10FFFF and past
# it, sequences cut short, among ASCII runs long enough for the validator's 32-byte blocks.
_UTF8_EDGES = st.lists(
    st.sampled_from(
        [b"a", b"abcdefgh", b"a" * 31, b"\xc3\xa9", b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80", b"\xc0\x80", b"\xc1\xbf",
         b"\xe0\x9f\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x8f\xbf\xbf",
         b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\x80", b"\xbf", b"\xc3", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xff",
         b"\xfe"]
    ),
    max_size=12,
).map(b"".join)  # fmt: skip


@given(_UTF8_EDGES | st.binary(max_size=40))
@example(b"a" * 31 + "中".encode() + b"a" * 30)  # a character across a block's end
@example(b"a" * 31 + "中".encode()[:2] + b"a" * 31)  # ... cut short there
@example(b"a" * 63 + b"\x80")  # a stray continuation byte after two ASCII blocks
@example(b"a" * 30 + b"\xed\xa0\x80" + b"a" * 31)  # a surrogate across a block's end
def test_utf8_validation_is_the_decoders(data: bytes) -> None:
    from newslake.core._text import utf8_valid

    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert not utf8_valid(data)
    else:
        assert utf8_valid(data)


def _parsed(read: Callable[[], Seed]) -> object:
    try:
        return read()
    except SeedRejected as exc:
        return (exc.stage, exc.reason)


# Seed texts of a few lines made of the pieces a header is made of, and of what may follow it.
SEED_LINES = st.lists(
    st.sampled_from(
        ["", " ", "\r", "\u3000", "\u00a0", "<!--1700000000000-->", "[T](https://ex.com/a)", "[中](https://ex.com/中)",
         "------", "<p>x</p>", "\xe9"]
    ),
    max_size=16,
).map("\n".join)  # fmt: skip


@given(SEED_LINES)
@example("<!--1700000000000-->\n[T](https://ex.com/a)\n------\n\n" + "\u3000\n" * 6 + "<p>x</p>")  # body past line 8
@example("<!--1700000000000-->\n[T](https://ex.com/a)\n------\n\n" + "\u3000\n" * 6)  # only whitespace after it
@example("\n" * 8 + "[T](https://ex.com/a)")  # the header past the head's lines: the whole text finds it
def test_a_utf8_seed_read_from_its_head_is_the_one_read_from_its_whole_text(text: str) -> None:
    # parse_seed reads a UTF-8 file's header from its first lines only; reading the whole text (decode_seed,
    # then read_header: the path of every other file) must give the same seed or the same rejection.
    _same_from_head_and_whole_text(text)


@settings(max_examples=500)
@given(SEED_LINES.map(lambda text: text.replace("x", "x" * 40)), st.integers(min_value=1, max_value=80))
@example("<!--1700000000000-->\n[T](https://ex.com/a)\n------\n\n<p>" + "x" * 60 + "</p>", 60)  # cut in the HTML
@example("[T](https://ex.com/a)\n------\n" + "\u3000" * 30 + "\n<p>x</p>", 40)  # cut in a blank line: below it
@example("[T](https://ex.com/a)\n------\n\n" + "\u3000" * 30 + "<p>x</p>", 40)  # cut in the HTML's leading blanks
@example("[中](https://ex.com/中)\n\n<p>x</p>", 2)  # cut inside the title's first character
@example("[T](https://ex.com/a)\n------", 23)  # cut inside the rule: "-" is no rule, "------" is
def test_a_head_cut_inside_a_line_reads_the_seed_its_whole_text_does(text: str, head_bytes: int) -> None:
    # A head is cut after `_HEAD_BYTES` bytes (16 KB): the same pieces, with a cut a few bytes in.
    from newslake.core import seed

    with mock.patch.object(seed, "_HEAD_BYTES", head_bytes):
        _same_from_head_and_whole_text(text)


def _same_from_head_and_whole_text(text: str) -> None:
    from newslake.core import seed

    data = text.encode("utf-8")

    def whole() -> Seed:
        if not data or data.isspace():
            return parse_seed(data)  # rejected before anything is decoded, on either path
        decoded, codec = decode_seed(data)
        return seed._seed(data, decoded, seed.read_header(decoded), codec)

    assert _parsed(lambda: parse_seed(data)) == _parsed(whole)
