"""`python -m bench.largeday [--articles 5000]`: peak memory of committing one publication day of K and 3K
articles, merged as it is now (streamed a key range at a time past `MERGE_BYTES`) and all in memory.

A day can hold most of an archive (pages without a date fall back to their crawl date), so the commit's
memory must not follow the size of a day. The rows are real: the source seeds' tables, repeated under new
article ids into one day and staged in batches of 400 as a run stages them. Each measurement is a fresh
process that commits the day twice (a new day, then the same articles again over the existing file, the
heavier case) and reports its peak resident memory.
"""

import argparse
import hashlib
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from flows import ALLOCATOR_CONF
from newslake import commit, lake
from newslake.commit import ChunkWrite, staged_spans, write_chunk
from newslake.lake import StagedRows, stage_rows, stage_winners
from newslake.ledger import ARTICLE_TABLES
from schemas.tables import PARTITION_KEY

DAY = date(2024, 5, 1)
BATCH = 400
MODES = {"streamed": {}, "in memory": {"CHUNK_ARTICLES": 10**12, "MERGE_BYTES": 2**62}}


def real_rows(work: Path) -> dict[str, pl.DataFrame]:
    """Every article table of one run over the source seeds."""
    from bench.__main__ import build_seeds, source_seeds  # not in the measured process: the extraction core
    from newslake.run import RunOptions, ingest_run

    build_seeds(work / "seeds", len(source_seeds()))
    ingest_run(RunOptions(str(work / "seeds"), str(work / "lake")), "source")
    return {t: pl.read_parquet(work / "lake" / t / "**" / "*.parquet", hive_partitioning=True) for t in ARTICLE_TABLES}


def stage_day(rows: dict[str, pl.DataFrame], articles: int, data: Path, run_id: str) -> list[ChunkWrite]:
    """`articles` copies of the real articles under new ids, all on DAY, staged in batches as a run would."""
    ids = rows["articles"]["article_id"].to_list()
    winners = []
    staged: dict[str, list[tuple[int, StagedRows]]] = {t: [] for t in ARTICLE_TABLES}
    for batch, start in enumerate(range(0, articles, BATCH)):
        copies = range(start, min(start + BATCH, articles))
        mapping = pl.DataFrame(
            {
                "article_id": [ids[i % len(ids)] for i in copies],
                "new_id": [hashlib.sha256(f"copy {i}".encode()).hexdigest()[:16] for i in copies],
            }
        )
        winners.append(mapping.select(pl.col("new_id").alias("article_id"), pl.lit(batch, pl.Int32).alias("_batch")))
        for table, frame in rows.items():
            copied = frame.join(mapping, on="article_id").drop("article_id").rename({"new_id": "article_id"})
            copied = copied.with_columns(pl.lit(DAY).alias(PARTITION_KEY)).select(frame.columns)
            staged[table].append((batch, stage_rows(data, run_id, table, batch, copied)))
    key = stage_winners(data, run_id, pl.concat(winners))
    return [ChunkWrite(t, [DAY], staged_spans(staged[t], [DAY]), key, [], [], articles) for t in ARTICLE_TABLES]


def child(articles: int, mode: str, work: Path) -> None:
    """Commit the staged day twice in this process; print the peak memory and the second commit's seconds."""
    for name, value in MODES[mode].items():
        setattr(commit if name == "CHUNK_ARTICLES" else lake, name, value)
    data = work / f"lake-{articles}"
    runs = pickle.loads((work / f"chunks-{articles}.pickle").read_bytes())
    seconds, imported = 0.0, resident_mib()
    for chunks in runs:
        start = time.perf_counter()
        for chunk in chunks:
            write_chunk(str(data), chunk)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    result = {"articles": articles, "mode": mode, "peak_mib": peak, "imported_mib": imported}
    print(json.dumps(result | {"second_commit_s": round(seconds, 2)}))


def resident_mib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() // 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="articles in the day (K; 3K is measured too)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(int(args.child[0]), args.child[1], Path(args.child[2]))
        return 0
    with tempfile.TemporaryDirectory(prefix="newslake-largeday-") as tmp:
        work = Path(os.environ.get("KEEP_WORK") or tmp)
        for table, frame in real_rows(work).items():
            frame.write_parquet(work / f"{table}.parquet")
        print(f"one day of K articles, committed twice; K = {args.articles}")
        print(f"{'articles':>9}  {'merge':<10} {'peak MiB':>8}  {'after imports':>13}  {'second commit s':>15}")
        results = []
        rows = {t: pl.read_parquet(work / f"{t}.parquet") for t in ARTICLE_TABLES}
        for articles in (args.articles, 3 * args.articles):
            for mode in MODES:
                # Staged here, not in the measured process: a run's batches stage their rows elsewhere.
                data = work / f"lake-{articles}"
                shutil.rmtree(data, ignore_errors=True)
                runs = [stage_day(rows, articles, data, run) for run in ("first", "again")]
                (work / f"chunks-{articles}.pickle").write_bytes(pickle.dumps(runs))
                command = [sys.executable, "-m", "bench.largeday", "--child", str(articles), mode, str(work)]
                # The allocator as the flow's processes have it (flows/__init__.py): freed pages returned at once.
                env = os.environ | {"_RJEM_MALLOC_CONF": ALLOCATOR_CONF}
                out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)
                results.append(out)
                print(
                    f"{articles:>9}  {mode:<10} {out['peak_mib']:>8}  {out['imported_mib']:>13}"
                    f"  {out['second_commit_s']:>15}"
                )
        for mode in MODES:
            peaks = [r["peak_mib"] for r in results if r["mode"] == mode]
            print(f"peak 3K / K, {mode}: {peaks[1] / peaks[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
