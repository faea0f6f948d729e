"""Where what `make env` prepares for the core lives (`python -m newslake.prepare` writes it): beside the
environment, so that every process of it reads the same files. Each item is optional: without it the core
computes or loads it the slow way, with the same answers."""

import sys
import unicodedata
import warnings
from pathlib import Path

from newslake.core._text import use_stable_bmp_table

PREPARED_ROOT = Path(sys.prefix) / "share" / "newslake"


def nfc_table_path(root: Path = PREPARED_ROOT) -> Path:
    """The file of `_text.stable_bmp_table()`, named after the Unicode data it is made from (a Python with
    other data does not take it)."""
    return root / f"nfc-stable-bmp-{unicodedata.unidata_version}.bin"


def load_nfc_table(path: Path | None = None) -> bool:
    """Give `normalise_text` the prepared table of NFC-stable characters when there is one (8 KiB read, where
    computing it took ~21 ms a process); whether it was taken. One that cannot be read is reported and skipped."""
    try:
        table = (path or nfc_table_path()).read_bytes()
    except FileNotFoundError:
        return False  # not prepared: computed at first use
    except OSError as exc:
        warnings.warn(f"the prepared NFC table is unreadable ({exc})", RuntimeWarning, 2)
        return False
    try:
        use_stable_bmp_table(table)
    except ValueError as exc:
        warnings.warn(f"the prepared NFC table {path or nfc_table_path()} is not one ({exc})", RuntimeWarning, 2)
        return False
    return True
