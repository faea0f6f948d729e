"""One batch of seeds to validated table frames: read the files, run the core, build columns, validate.

This is the unit a flow task runs. It never raises because of a seed: every seed of the batch ends as an
article (rows in the article tables) or as a row in `rejects`.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from newslake.core import Article, SeedRejected, Stage, extract_article, parse_seed
from newslake.core.model import article_id_for
from schemas.tables import ELEMENT_TABLES, TABLES, polars_schema
from schemas.validate import validate_batch, validate_rejects

DEFAULT_MAX_SEED_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Rejected:
    seed_file: str
    seed_sha256: str | None
    stage: str
    reason: str
    detail: str
    crawled_at: datetime | None


@dataclass(frozen=True)
class Extracted:
    seed_file: str
    seed_sha256: str
    article: Article


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SeedRejected(
                Stage.READ, "too_large", f"the seed is {size} bytes, over the limit of {max_bytes} bytes"
            )
        return path.read_bytes()
    except OSError as exc:
        raise SeedRejected(Stage.READ, "unreadable", f"the seed file could not be read: {exc}") from exc


def process_seed(seeds_root: Path, seed_file: str, max_bytes: int = DEFAULT_MAX_SEED_BYTES) -> Extracted | Rejected:
    """Read and extract one seed; the result is an article or a reject, never an exception."""
    sha: str | None = None
    crawled_at: datetime | None = None
    try:
        data = _read(seeds_root / seed_file, max_bytes)
        sha = hashlib.sha256(data).hexdigest()
        seed = parse_seed(data)
        crawled_at = seed.crawled_at
        return Extracted(seed_file, sha, extract_article(seed))
    except SeedRejected as exc:
        return Rejected(seed_file, sha, exc.stage.value, exc.reason, exc.detail, crawled_at)
    except RecursionError:
        return Rejected(seed_file, sha, Stage.PARSE.value, "too_deep", "the HTML nests too deeply", crawled_at)
    except Exception as exc:  # noqa: BLE001 - the batch boundary: a bug met by one seed must not cost the others
        return Rejected(
            seed_file,
            sha,
            Stage.EXTRACT.value,
            "internal_error",
            f"{type(exc).__name__}: {exc}"[:500],
            crawled_at,
        )


def _article_columns(items: Iterable[Extracted]) -> dict[str, dict[str, list[Any]]]:
    """Column-wise lists for the article tables (faster than building row dicts)."""
    cols: dict[str, dict[str, list[Any]]] = {
        table: {name: [] for name in polars_schema(table)} for table in ("articles", *ELEMENT_TABLES)
    }
    a, p, h, i, k = (cols[t] for t in ("articles", "paragraphs", "headings", "images", "links"))
    for item in items:
        art = item.article
        aid = art.article_id
        day = art.publication_date
        published = art.published
        for name, value in (
            ("article_id", aid),
            ("url", art.url),
            ("domain", art.domain),
            ("title", art.title),
            ("language", art.language),
            ("published_at", published.at),
            ("date_source", published.source.value),
            ("date_precision", published.precision.value),
            ("crawled_at", art.crawled_at),
            ("author", art.author),
            ("lead", art.lead),
            ("paragraph_count", len(art.paragraphs)),
            ("heading_count", len(art.headings)),
            ("image_count", len(art.images)),
            ("link_count", len(art.links)),
            ("links_dropped", art.links_dropped),
            ("char_count", art.char_count),
            ("seed_file", item.seed_file),
            ("seed_sha256", item.seed_sha256),
            ("publication_date", day),
        ):
            a[name].append(value)
        for para in art.paragraphs:
            for name, value in (
                ("article_id", aid),
                ("position", para.position),
                ("section", para.section),
                ("text", para.text),
                ("char_count", para.char_count),
                ("is_lead", para.is_lead),
                ("publication_date", day),
            ):
                p[name].append(value)
        for head in art.headings:
            for name, value in (
                ("article_id", aid),
                ("position", head.position),
                ("level", head.level),
                ("text", head.text),
                ("anchor", head.anchor),
                ("publication_date", day),
            ):
                h[name].append(value)
        for img in art.images:
            for name, value in (
                ("article_id", aid),
                ("position", img.position),
                ("src", img.src),
                ("alt", img.alt),
                ("caption", img.caption),
                ("credit", img.credit),
                ("width", img.width),
                ("height", img.height),
                ("publication_date", day),
            ):
                i[name].append(value)
        for link in art.links:
            for name, value in (
                ("article_id", aid),
                ("position", link.position),
                ("href", link.href),
                ("text", link.text),
                ("domain", link.domain),
                ("is_internal", link.is_internal),
                ("context", link.context.value),
                ("publication_date", day),
            ):
                k[name].append(value)
    return cols


def _frame(table: str, columns: dict[str, list[Any]]) -> pl.DataFrame:
    return pl.DataFrame(columns, schema=polars_schema(table), strict=False)


def _rejects_frame(rejects: list[Rejected], run_id: str, now: datetime) -> pl.DataFrame:
    return _frame(
        "rejects",
        {
            "seed_file": [r.seed_file for r in rejects],
            "seed_sha256": [r.seed_sha256 for r in rejects],
            "stage": [r.stage for r in rejects],
            "reason": [r.reason for r in rejects],
            "detail": [r.detail for r in rejects],
            "run_id": [run_id] * len(rejects),
            "rejected_at": [now] * len(rejects),
            "publication_date": [(r.crawled_at or now).date() for r in rejects],
        },
    )


def _dedupe_urls(extracted: list[Extracted]) -> tuple[list[Extracted], list[Rejected]]:
    """One article per canonical URL: the latest crawl wins; the others become `duplicate_url` rejects."""
    best: dict[str, Extracted] = {}
    for item in extracted:
        current = best.get(item.article.url)
        if current is None or _crawl_key(item) > _crawl_key(current):
            best[item.article.url] = item
    kept = [item for item in extracted if best[item.article.url] is item]
    losers = [
        _duplicate(
            item.seed_file,
            item.seed_sha256,
            item.article.crawled_at,
            best[item.article.url].seed_file,
            item.article.url,
        )
        for item in extracted
        if best[item.article.url] is not item
    ]
    return kept, losers


def _duplicate(seed_file: str, sha: str | None, crawled_at: datetime | None, winner: str, url: str) -> Rejected:
    return Rejected(
        seed_file,
        sha,
        Stage.VALIDATE.value,
        "duplicate_url",
        f"another seed ({winner}) holds a later crawl of {url}",
        crawled_at,
    )


def _crawl_key(item: Extracted) -> tuple[datetime, str]:
    return (item.article.crawled_at or datetime.min.replace(tzinfo=UTC), item.seed_file)


def build_tables(results: list[Extracted | Rejected], run_id: str, now: datetime) -> dict[str, pl.DataFrame]:
    """Frames for every table from one batch's results, validated; failing articles become rejects."""
    extracted, duplicates = _dedupe_urls([r for r in results if isinstance(r, Extracted)])
    rejects = [r for r in results if isinstance(r, Rejected)] + duplicates
    cols = _article_columns(extracted)
    tables = {table: _frame(table, cols[table]) for table in ("articles", *ELEMENT_TABLES)}
    checked = validate_batch(tables)
    by_id = {article_id_for(item.article.url): item for item in extracted}
    for article_id, failures in sorted(checked.failures.items()):
        item = by_id[article_id]
        checks = sorted({f.check for f in failures})
        rejects.append(
            Rejected(
                item.seed_file,
                item.seed_sha256,
                Stage.VALIDATE.value,
                "invalid:" + ",".join(checks),
                "; ".join(sorted({f.detail for f in failures}))[:2000],
                item.article.crawled_at,
            )
        )
    out = dict(checked.tables)
    out["rejects"] = validate_rejects(_rejects_frame(rejects, run_id, now))
    assert set(out) == set(TABLES)
    return out


def combine_batches(batches: list[dict[str, pl.DataFrame]], run_id: str, now: datetime) -> dict[str, pl.DataFrame]:
    """Concatenate batch outputs, keeping one article per canonical URL across batches (the latest crawl).

    Element rows carry no seed file, so the winner is chosen per (article_id, batch) and element rows are
    kept only from the winning batch; the losing seeds become `duplicate_url` rejects.
    """
    tagged = {
        table: pl.concat(
            [b[table].with_columns(pl.lit(n, pl.Int32).alias("_batch")) for n, b in enumerate(batches)],
            how="vertical",
        )
        if batches
        else polars_schema(table).to_frame().with_columns(pl.lit(0, pl.Int32).alias("_batch"))
        for table in TABLES
    }
    articles = tagged["articles"].sort(["crawled_at", "seed_file"], descending=True, nulls_last=True)
    winners = articles.unique("article_id", keep="first", maintain_order=True)
    losers = articles.join(
        winners.select("article_id", "_batch", "seed_file"),
        on=["article_id", "_batch", "seed_file"],
        how="anti",
    )
    out = {
        table: tagged[table].join(winners.select("article_id", "_batch"), on=["article_id", "_batch"], how="semi")
        for table in ("articles", *ELEMENT_TABLES)
    }
    winner_file = dict(zip(winners["article_id"], winners["seed_file"], strict=True))
    duplicate_rejects = _rejects_frame(
        [
            _duplicate(
                row["seed_file"],
                row["seed_sha256"],
                row["crawled_at"],
                winner_file[row["article_id"]],
                row["url"],
            )
            for row in losers.iter_rows(named=True)
        ],
        run_id,
        now,
    )
    out["rejects"] = pl.concat([tagged["rejects"].drop("_batch"), duplicate_rejects], how="vertical")
    return {table: frame.drop("_batch", strict=False) for table, frame in out.items()}


def process_batch(
    seeds_root: Path, seed_files: list[str], run_id: str, max_bytes: int = DEFAULT_MAX_SEED_BYTES
) -> dict[str, pl.DataFrame]:
    """Read, extract and validate a batch of seeds (paths relative to `seeds_root`)."""
    results = [process_seed(seeds_root, name, max_bytes) for name in seed_files]
    return build_tables(results, run_id, datetime.now(UTC))
