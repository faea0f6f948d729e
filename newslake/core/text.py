"""Whitespace and character normalisation shared by every text column."""

from lxml.html import HtmlElement

from newslake.core._text import normalise_text
from newslake.core._tree import text_content
from newslake.core.prepared import load_nfc_table

__all__ = ["C0_CONTROL_BYTES", "normalise_text", "text_of"]

# `normalise_text` (NFC-normalise, drop invisible characters, collapse whitespace runs, strip the ends) is
# written in C (`_text.pyx`): zero-width and formatting characters that editors leave in text carry no
# meaning for analysis and are deleted there, where they are listed (test_seed's property test lists them
# again). Was `" ".join(raw.split())` after six `in` tests and a regex for the invisible characters: 0.19-0.21
# -> 0.12 ms a corpus page with the collapse in C (~210 calls; NFC is most of what is left), and less with
# no Python frame around it.

# The table of characters NFC leaves alone beyond the common scripts, prepared by `make env`, where there is one.
load_nfc_table()

# C0 control bytes but tab, LF and CR: next to none in any text page, invalid in HTML. (In UTF-8 these
# bytes never occur inside a multibyte character, so they can be counted or deleted on the bytes.)
C0_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


def text_of(element: HtmlElement) -> str:
    """All the text inside `element` (its descendants' text and tails, not its own tail): what lxml.html's
    `text_content()` gives, read from libxml2's nodes in C (`_tree.text_content`; a property test checks
    they agree). Before: `tostring(method="text")`, which serialises in C too but costs a keyword call and a
    buffer each time (~160 calls a page); `text_content()` itself evaluates an XPath and makes a "smart"
    string that keeps a reference to the element."""
    return text_content(element)
