"""The pipeline version: it changes whenever the extraction logic or the data contract changes.

It is derived from the source of `newslake.core` (its compiled module's `.pyx` too) and `schemas` (not
typed by hand, so it cannot be forgotten): a seed processed with another version is processed again.
"""

import hashlib
from functools import cache
from pathlib import Path

import newslake.core
import schemas

RELEASE = "0.2.0"


@cache
def pipeline_version() -> str:
    digest = hashlib.sha256()
    for package in (newslake.core, schemas):
        root = Path(next(iter(package.__path__)))
        for path in sorted(p for suffix in ("*.py", "*.pyx") for p in root.rglob(suffix)):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{RELEASE}+{digest.hexdigest()[:12]}"
