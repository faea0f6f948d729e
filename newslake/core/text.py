"""Whitespace and character normalisation shared by every text column."""

import re
import unicodedata

# Zero-width and formatting characters that editors leave in text; they carry no meaning for analysis.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Every run of Unicode whitespace (including NBSP and the ideographic space U+3000) becomes one space.
_SPACE_RUN = re.compile(r"\s+")


def normalise_text(raw: str) -> str:
    """NFC-normalise, drop invisible characters, collapse whitespace runs, strip the ends."""
    text = unicodedata.normalize("NFC", raw).translate(_INVISIBLE)
    return _SPACE_RUN.sub(" ", text).strip()
