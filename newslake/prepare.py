"""`python -m newslake.prepare`: what the core loads faster when it is prepared once (run by `make env`).

Today that is py3langid's model, written uncompressed where `newslake.core.language` looks for it (see
there), and the table of characters NFC leaves alone that `normalise_text` reads (`newslake.core.prepared`).
Each is checked against what it comes from before it is put in place, in one rename.
"""

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
from py3langid.modelio import load_model

from newslake.core._text import stable_bmp_table
from newslake.core.language import (
    PREPARED_ARRAYS,
    PREPARED_TYPES,
    PY3LANGID_MODEL,
    load_identifier,
    prepared_model_dir,
)
from newslake.core.prepared import PREPARED_ROOT, nfc_table_path


class PrepareError(RuntimeError):
    """The prepared copy does not hold what it was made from."""


def prepare_language_model(root: Path = PREPARED_ROOT) -> Path:
    """Write the uncompressed copy of py3langid's model under `root` (unless it is there) and remove copies of
    other models; return its directory."""
    target = prepared_model_dir(root)
    if not target.is_dir():
        # In the order the core reads them (`PREPARED_ARRAYS`); the DFA's stdlib arrays keep their item type,
        # the lists (class names, each state's feature) become numpy arrays of theirs, the weights float32.
        arrays = {
            name: np.asarray(values, dtype=PREPARED_TYPES.get(name))
            for (name, _), values in zip(PREPARED_ARRAYS, load_model(PY3LANGID_MODEL), strict=True)
        }
        root.mkdir(parents=True, exist_ok=True)
        scratch = root / f".{target.name}.{os.getpid()}.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        try:
            for name, values in arrays.items():
                with (scratch / f"{name}.npy").open("wb") as file:
                    np.save(file, values, allow_pickle=False)
                    file.flush()
                    os.fsync(file.fileno())
            _check(scratch, arrays)
            try:
                scratch.rename(target)
            except OSError:
                if not target.is_dir():  # not another process having put the same copy in place first
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    for other in root.glob("py3langid-*"):
        if other != target:
            shutil.rmtree(other, ignore_errors=True)
    return target


def prepare_nfc_table(root: Path = PREPARED_ROOT) -> Path:
    """Write `normalise_text`'s table of NFC-stable characters under `root` (unless it is there), checked as
    the core loads it, in one rename; remove tables of other Unicode data. Returns its path."""
    target = nfc_table_path(root)
    if not target.is_file():
        table = stable_bmp_table()
        root.mkdir(parents=True, exist_ok=True)
        scratch = root / f".{target.name}.{os.getpid()}.tmp"
        try:
            with scratch.open("wb") as file:
                file.write(table)
                file.flush()
                os.fsync(file.fileno())
            if scratch.read_bytes() != table:
                raise PrepareError(f"the prepared NFC table differs from the one computed ({scratch})")
            scratch.replace(target)
        finally:
            scratch.unlink(missing_ok=True)
    for other in root.glob("nfc-stable-bmp-*.bin"):
        if other != target:
            other.unlink(missing_ok=True)
    return target


def _check(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    """Each array as written equals the one it was made from (type and values), and the core can load them."""
    for name, values in arrays.items():
        written = np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        if written.dtype != values.dtype or not np.array_equal(written, values):
            raise PrepareError(f"the prepared copy of py3langid's model differs in {name!r} ({directory})")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the core's "unreadable, skipped" is a failure here
        try:
            load_identifier(directory)
        except RuntimeWarning as exc:
            raise PrepareError(f"the core cannot load the prepared copy: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newslake.prepare", description=__doc__)
    parser.add_argument("--root", type=Path, default=PREPARED_ROOT)
    args = parser.parse_args(argv)
    print(f"prepared: {prepare_language_model(args.root)}")
    print(f"prepared: {prepare_nfc_table(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
