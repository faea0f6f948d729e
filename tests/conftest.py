"""Shared test fixtures: paths to the repository's seed and to the real-page corpus beside the checkout."""

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
GIVEN_SEED = REPO / "seeds" / "000_ea46ad2de5bf25f4.txt"
# `../shared` beside the checkout (CI lays a copy there); NEWSLAKE_SHARED overrides it.
SHARED = Path(os.environ.get("NEWSLAKE_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
CORPUS_SEEDS = CORPUS / "seeds"


def corpus_files() -> list[str]:
    """Names of the corpus seeds, or [] where ../shared is absent (tests using them then skip)."""
    return sorted(p.name for p in CORPUS_SEEDS.glob("*.txt")) if CORPUS_SEEDS.is_dir() else []


def corpus_truth() -> dict[str, dict[str, Any]]:
    path = CORPUS / "truth.jsonl"
    if not path.is_file():
        return {}
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["seed"]: row for row in rows}


requires_corpus = pytest.mark.skipif(not CORPUS_SEEDS.is_dir(), reason=f"no corpus at {CORPUS_SEEDS}")


# Offline, Prefect's telemetry would log errors (`make test` sets these too; this covers a bare pytest).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def make_seed(
    html: str,
    *,
    title: str = "A title",
    url: str = "https://example.com/news/a",
    crawl_ms: int | None = 1_642_079_583_000,
) -> bytes:
    """A seed file's bytes in the documented format."""
    head = f"<!--{crawl_ms}-->\n" if crawl_ms is not None else ""
    return f"{head}[{title}]({url})\n------\n\n{html}".encode()
