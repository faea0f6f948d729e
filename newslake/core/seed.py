"""Reading a seed file: decode the bytes, split the header from the HTML.

Format: an optional `<!--EPOCH_MS-->` line (crawl time), `[Title](URL)`, a line of dashes, a blank line, then
HTML (a fragment or a whole page).
"""

import codecs
import html as html_lib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from charset_normalizer import from_bytes

from newslake.core._text import control_bytes, high_bytes, utf8_valid
from newslake.core.errors import SeedRejected, Stage
from newslake.core.text import normalise_text
from newslake.core.urls import UrlError, canonical_url

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOM_PREFIXES = tuple(bom for bom, _ in _BOMS)  # for one `startswith` on every seed
# `<meta charset=x>` or `<meta http-equiv=Content-Type content="text/html; charset=x">`, searched in the
# first bytes only (where browsers look too).
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 4096
_BINARY_SAMPLE_BYTES = 65536
# Labels whose bytes browsers decode with a superset codec (WHATWG Encoding Standard): a page declaring
# gb2312 routinely holds GBK characters, "iso-8859-1" means windows-1252, and so on.
_SUPERSET = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
}
_CRAWL_COMMENT = re.compile(r"^<!--\s*(\d{1,16})\s*-->$")
# `[Title](URL)`: the title may hold markdown escapes (`\[`, `\]`), the URL may hold parentheses, so the
# title ends at the first unescaped `](` and the URL runs to the last `)` of the line.
_TITLE_LINK = re.compile(r"^\[((?:\\.|[^\\\]])*)\]\(\s*<?(.*?)>?\s*\)\s*$", re.DOTALL)
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_RULE = re.compile(r"^\s*[-=]{3,}\s*$")
_RULE_CHARACTERS = ("-", "=")
_NOT_SPACE = re.compile(r"\S")  # `\s` is exactly str.isspace: what str.strip() strips
# Multibyte codecs tried by `_detect`, most common in news archives first. UTF-8 comes first again here,
# leniently, for a UTF-8 page with a few broken sequences.
_MULTIBYTE = ("utf_8", "gb18030", "big5hkscs", "cp932", "cp949", "euc_jp")
# Epoch milliseconds outside 1990..2100 are not crawl stamps.
_MIN_CRAWL_MS = 631_152_000_000
_MAX_CRAWL_MS = 4_102_444_800_000


@dataclass(frozen=True, slots=True)
class Seed:
    """A decoded seed: header fields and the HTML body, as UTF-8 bytes (what the parser reads)."""

    crawled_at: datetime | None
    title: str
    url: str  # canonical
    body: bytes  # the HTML, UTF-8
    encoding: str  # the codec that decoded the file's bytes

    @property
    def html(self) -> str:
        """The HTML body as text."""
        return self.body.decode("utf-8")


def codec_for_label(label: str) -> str | None:
    """The Python codec for a charset label (with the WHATWG superset rules), or None if unknown."""
    label = label.strip().lower()
    label = _SUPERSET.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_seed(data: bytes) -> tuple[str, str]:
    """Decode seed bytes; return (text, codec name).

    Order: a BOM; then strict UTF-8 (archives re-encode pages to UTF-8 without fixing their `<meta charset>`,
    and legacy-encoded text with non-ASCII bytes is practically never valid UTF-8); then the charset the bytes
    declare; then detection by charset-normalizer. Raises `SeedRejected` when nothing decodes the bytes.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), codec
            except UnicodeDecodeError as exc:
                raise SeedRejected(
                    Stage.DECODE,
                    "undecodable",
                    f"the file starts with a {codec} BOM but is not {codec}: {exc}",
                ) from exc
    if _looks_binary(data):
        raise SeedRejected(Stage.DECODE, "binary", "the file is mostly control bytes: it is not a text page")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = _DECLARED_CHARSET.search(data[:_PRESCAN_BYTES])
    if declared is not None:
        declared_codec = codec_for_label(declared.group(1).decode("ascii", "replace"))
        if declared_codec is not None and not declared_codec.startswith("utf-"):
            text = _lenient_decode(data, declared_codec)
            if text is not None:
                return text, declared_codec
    return _detect(data)


def _lenient_decode(data: bytes, codec: str) -> str | None:
    """Decode like a browser (U+FFFD for bad sequences) when the bad sequences are rare, else None.

    Real archives hold pages with a stray broken byte pair; rejecting a whole page for one is worse than a
    replacement character. "Rare" is at most 1% of the non-ASCII bytes (plus two), which a wrong multibyte
    codec does not meet.
    """
    text = data.decode(codec, errors="replace")
    errors = text.count("\ufffd")
    if errors == 0:
        return text
    non_ascii = high_bytes(data)  # in C: a Python loop over the bytes cost ~0.7 ms a legacy-encoded page
    return text if errors <= 2 + non_ascii // 100 else None


def _detect(data: bytes) -> tuple[str, str]:
    best = from_bytes(data).best()
    guess = codec_for_label(best.encoding) if best is not None and best.encoding else None
    if best is not None and guess is not None and guess in _MULTIBYTE:
        # The superset first, then the codec charset-normalizer proposed: the superset is not always one
        # (Python's big5hkscs lacks Big5's kana, 0xC6A1-0xC7FC, which its big5 decodes).
        for codec in dict.fromkeys((guess, codecs.lookup(best.encoding).name)):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                continue
    # charset-normalizer only proposes codecs that decode every byte, so one broken pair in a GBK page makes
    # it answer a single-byte codec (ptcp154, cp1251...). A multibyte codec that decodes nearly all of it is
    # the better answer then.
    for codec in _MULTIBYTE:
        text = _lenient_decode(data, codec)
        if text is not None:
            return text, codec
    if guess is not None:
        return data.decode(guess, errors="replace"), guess
    raise SeedRejected(
        Stage.DECODE,
        "undecodable",
        "the bytes are not UTF-8, match no charset they declare, and no encoding could be detected",
    )


def _crawl_time(line: str) -> datetime | None:
    match = _CRAWL_COMMENT.match(line.strip())
    if match is None:
        return None
    millis = int(match.group(1))
    if not _MIN_CRAWL_MS <= millis <= _MAX_CRAWL_MS:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def split_header(text: str) -> tuple[datetime | None, str, str, str]:
    """Split decoded seed text into (crawled_at, title, raw URL, html). Raises `SeedRejected` (header stage)."""
    crawled_at, title, url, start = read_header(text)
    return crawled_at, title, url, text[start:]


def read_header(text: str) -> tuple[datetime | None, str, str, int]:
    """(crawled_at, title, raw URL, where the HTML starts in `text`). Raises `SeedRejected` (header stage)."""
    skipped = len(text) - len(text := text.lstrip("\ufeff"))
    # The pieces `text.split("\n", 8)` gives (the header is at most a handful of lines), but the last one,
    # the rest of the page, is cut only if the header runs into it: copying it cost ~20 us a seed.
    lines: list[str] = []
    rest = 0
    while len(lines) < 8 and (end := text.find("\n", rest)) >= 0:
        lines.append(text[rest:end])
        rest = end + 1
    count = len(lines) + 1  # with the rest

    def piece(at: int) -> str:
        return lines[at] if at < len(lines) else text[rest:]

    index = 0

    def current() -> str:
        return piece(index).rstrip("\r") if index < count else ""

    while index < count and not current().strip():
        index += 1
    crawled_at = None
    if current().lstrip().startswith("<!--"):
        crawled_at = _crawl_time(current())
        index += 1
    match = _TITLE_LINK.match(current().strip())
    if match is None:
        raise SeedRejected(Stage.HEADER, "no_header", "the seed has no `[Title](URL)` line where its header should be")
    title = normalise_text(html_lib.unescape(_MD_ESCAPE.sub(r"\1", match.group(1))))
    url = match.group(2).strip()
    index += 1
    if _RULE.match(current()):
        index += 1
    while index < count - 1 and not current().strip():
        index += 1
    # The lines were split on "\n": the HTML (the rest joined back) starts after the lines before it.
    start = skipped + sum(len(piece(at)) + 1 for at in range(min(index, count)))
    return crawled_at, title, url, min(start, skipped + len(text))


def _looks_binary(data: bytes) -> bool:
    """More than 2% C0 control bytes: an image or an archive, not a page in any ASCII-compatible encoding
    (text has next to none; a stray NUL in a page is fine and is dropped at parsing)."""
    sample = min(len(data), _BINARY_SAMPLE_BYTES)
    return control_bytes(data, sample) > 0.02 * sample


def parse_seed(data: bytes) -> Seed:
    """Decode and split a seed file's bytes. Raises `SeedRejected` with the reason when it is unusable."""
    if not data or data.isspace():  # what `not data.strip()` asks, without copying the page (~150 KB)
        raise SeedRejected(Stage.READ, "empty_file", "the seed file is empty or holds only whitespace")
    head = _utf8_head(data)
    if head is not None:
        try:
            header = read_header(head)
        except SeedRejected:
            header = None  # decided on the whole text below, as it always was
        # A header that ends within the head's lines read nothing past them (`read_header` reads its pieces
        # in order), so the whole text would give the same; one that runs to the head's end is read again.
        # Where the head is cut inside a line, that line is where the HTML starts (a header piece read from it
        # would end past the head), and it must show the HTML's first character: the whole line may be blank
        # where the cut one is (and the whole text's HTML then starts below it), or a rule of dashes that the
        # cut left too short to be one ("--" of "------"), which the whole text reads as part of the header.
        if header is not None and header[3] < len(head):
            first = _NOT_SPACE.search(head, header[3])
            if first is not None and first.group() not in _RULE_CHARACTERS:
                return _seed(data, head, header, "utf-8")
    text, codec = decode_seed(data)
    return _seed(data, text, read_header(text), codec)


# `read_header` splits at most this many lines off the text (the rest is one piece).
_HEADER_LINES = 8
# ... and the head it reads them from is at most this many bytes. A page minified onto a line or two put all
# of itself into its first lines: the corpus's two largest such pages (1.0 and 1.1 MB, the HTML after the
# header one line) took 0.95 and 2.66 ms to read as a seed, most of it decoding the head, against 0.14 ms for
# the largest (1.5 MB) in many lines; now 0.09 and 0.10 ms. A header is a few hundred bytes; one longer than
# this (a title line of 16 KB) is read from the whole text, as every header that runs to the head's end is.
_HEAD_BYTES = 16384


def _utf8_head(data: bytes) -> str | None:
    """The text of the first `_HEADER_LINES` lines of a file `decode_seed` would read as UTF-8 without a BOM
    (the whole file when it has fewer lines), cut inside a line after `_HEAD_BYTES` bytes (before a
    character); None for any other file.

    Most seeds are UTF-8, and only their header is read as text: the HTML goes to the parser as the file's
    own bytes. Validating the bytes in C (`utf8_valid`) instead of decoding them all cost 0.02 against 0.06-0.11
    ms a corpus page, and no string of the page is made.
    """
    if data.startswith(_BOM_PREFIXES) or _looks_binary(data) or not utf8_valid(data):
        return None
    limit = min(len(data), _HEAD_BYTES)
    end = -1
    for _ in range(_HEADER_LINES):
        end = data.find(b"\n", end + 1, limit)
        if end < 0:
            break
    else:
        return data[: end + 1].decode("utf-8")  # "\n" is never inside a multibyte character
    while limit < len(data) and data[limit] & 0xC0 == 0x80:  # a continuation byte: the cut is inside a character
        limit -= 1
    return data[:limit].decode("utf-8")


def _seed(data: bytes, text: str, header: tuple[datetime | None, str, str, int], codec: str) -> Seed:
    """The seed of `data` from its `header` (read from `text`: the file's text, or the head of it)."""
    crawled_at, title, raw_url, start = header
    if not raw_url:
        raise SeedRejected(Stage.HEADER, "no_url", "the header's `[Title](URL)` line has an empty URL")
    try:
        url = canonical_url(raw_url)
    except UrlError as exc:
        raise SeedRejected(Stage.HEADER, "bad_url", f"the article URL is unusable: {exc}") from exc
    # Asked of the text (Unicode whitespace, as before the body was bytes), from `start`, without a copy. Of a
    # head, this finds the line the header stopped at: `read_header` stops at a line that is not blank.
    if _NOT_SPACE.search(text, start) is None:
        raise SeedRejected(Stage.HEADER, "no_body", "the seed has a header but no HTML after it")
    return Seed(crawled_at=crawled_at, title=title, url=url, body=_utf8_body(data, text, start, codec), encoding=codec)


def _utf8_body(data: bytes, text: str, start: int, codec: str) -> bytes:
    """The HTML as UTF-8 bytes. A UTF-8 file's own bytes after its header when they are that (most files:
    encoding the whole text again cost 0.11 ms a seed); the text encoded otherwise."""
    if codec == "utf-8":
        head = text[:start].encode("utf-8")
        if data.startswith(head):  # the text is these bytes decoded, so the rest decodes to the HTML
            return data[len(head) :]
    return text[start:].encode("utf-8", "replace")
