"""Whitespace and character normalisation shared by every text column."""

import re
import unicodedata

from lxml.html import HtmlElement

from newslake.core._tree import text_content

# Zero-width and formatting characters that editors leave in text; they carry no meaning for analysis.
# (A regex, not str.translate with a dict: translate looks every character up in Python, 10x slower.) Few
# texts hold any: six `in` tests (a fast search each) ask first, at half the cost of the regex's scan.
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# C0 control bytes but tab, LF and CR: next to none in any text page, invalid in HTML. (In UTF-8 these
# bytes never occur inside a multibyte character, so they can be counted or deleted on the bytes.)
C0_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


def normalise_text(raw: str) -> str:
    """NFC-normalise, drop invisible characters, collapse whitespace runs, strip the ends."""
    if not raw.isascii():
        raw = unicodedata.normalize("NFC", raw)
        # Spelled out, not `any(c in raw for c in _INVISIBLE_CHARS)`: the generator cost 0.4 us more than the
        # six searches (~200 calls a page, most of them short link texts). test_seed's property test holds
        # the list to _INVISIBLE_CHARS.
        if (
            "\u200b" in raw or "\u200c" in raw or "\u200d" in raw
            or "\u2060" in raw or "\ufeff" in raw or "\u00ad" in raw
        ):  # fmt: skip
            raw = _INVISIBLE.sub("", raw)
    # Every run of Unicode whitespace (NBSP and U+3000 too) becomes one space: str.split() splits on exactly
    # the characters regex `\s` matches (str.isspace), in C, at a third of the cost of re.sub(r"\s+", " ").
    return " ".join(raw.split())


def text_of(element: HtmlElement) -> str:
    """All the text inside `element` (its descendants' text and tails, not its own tail): what lxml.html's
    `text_content()` gives, read from libxml2's nodes in C (`_tree.text_content`; a property test checks
    they agree). Before: `tostring(method="text")`, which serialises in C too but costs a keyword call and a
    buffer each time (~160 calls a page); `text_content()` itself evaluates an XPath and makes a "smart"
    string that keeps a reference to the element."""
    return text_content(element)
