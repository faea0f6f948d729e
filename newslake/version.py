"""The pipeline version: it changes whenever the extraction logic or the data contract changes.

It is derived from the source of `newslake.core` (its compiled module's `.pyx` too) and `schemas` (not
typed by hand, so it cannot be forgotten): a seed processed with another version is processed again.
"""

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import newslake.core
import schemas

RELEASE = "0.2.0"


# What the extraction logic is written in: the core's Python and its compiled module's Cython source.
SOURCE_SUFFIXES = ("*.py", "*.pyx")


def source_digest(roots: Iterable[Path]) -> str:
    """The first 12 hex digits of SHA-256 over the source files under `roots` (relative paths and bytes)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(p for suffix in SOURCE_SUFFIXES for p in root.rglob(suffix)):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@cache
def pipeline_version() -> str:
    return f"{RELEASE}+{source_digest(Path(next(iter(package.__path__))) for package in (newslake.core, schemas))}"
