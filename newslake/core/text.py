"""Whitespace and character normalisation shared by every text column."""

import re
import unicodedata

# Zero-width and formatting characters that editors leave in text; they carry no meaning for analysis.
# (A regex, not str.translate with a dict: translate looks every character up in Python, 10x slower.)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Every run of Unicode whitespace (including NBSP and the ideographic space U+3000) becomes one space.
_SPACE_RUN = re.compile(r"\s+")


def normalise_text(raw: str) -> str:
    """NFC-normalise, drop invisible characters, collapse whitespace runs, strip the ends."""
    if not raw.isascii():
        raw = _INVISIBLE.sub("", unicodedata.normalize("NFC", raw))
    return _SPACE_RUN.sub(" ", raw).strip()
