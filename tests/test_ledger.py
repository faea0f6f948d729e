"""Incremental runs and the ledger's accounting over several runs (in-process, without Prefect).

The strongest check is the last one: after any sequence of incremental runs, the lake equals what one
run from scratch over the final seeds gives.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from newslake import lake, version
from newslake.batch import SeedTask
from newslake.commit import ChunkWrite, day_chunks, share_out, write_chunk
from newslake.discover import SeedStat, batches, discover_seeds
from newslake.lake import PART_FILE, WriteStats, merge_large_day
from newslake.ledger import Plan, plan_run, resolve
from newslake.run import RunOptions, RunSummary, ingest_run
from schemas.tables import polars_schema
from tests.conftest import assert_same, body, files_state, lake_content, make_seed, write

_RUN = count(1)


def run(seeds: Path, data: Path, **options: object) -> RunSummary:
    return ingest_run(RunOptions(str(seeds), str(data), **options), f"run-{next(_RUN)}")  # type: ignore[arg-type]


def counts(summary: RunSummary, *names: str) -> tuple[int, ...]:
    return tuple(summary.counts[f"seeds_{n}"] for n in names)


def test_first_run_then_unchanged_rerun_writes_nothing(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run(seeds, data)
    assert counts(first, "seen", "new", "changed", "processed", "rejected") == (4, 4, 0, 4, 1)
    before, content = files_state(data), lake_content(data)
    second = run(seeds, data)
    assert counts(second, "new", "changed", "unchanged", "processed") == (0, 0, 4, 0)
    assert files_state(data) == before, "an unchanged rerun rewrote a file"
    assert_same(lake_content(data), content)
    runs = pl.read_parquet(data / "runs" / PART_FILE)
    assert runs["status"].to_list() == ["completed", "completed"]
    assert runs.select("seeds_new", "seeds_changed").rows()[-1] == (0, 0)


def test_touched_but_identical_seed_is_hashed_not_parsed(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    before = lake_content(data)
    write(seeds / "a.txt", (seeds / "a.txt").read_bytes())  # same bytes, new mtime
    again = run(seeds, data)
    assert counts(again, "changed", "processed") == (0, 0)
    assert_same(lake_content(data), before)


def test_a_seed_that_can_no_longer_be_read_counts_as_changed(seeds: Path, tmp_path: Path) -> None:
    """Its content is not what the ledger holds: read again, it has no hash at all (here: grown over the limit)."""
    data = tmp_path / "data"
    run(seeds, data)
    grown = (seeds / "a.txt").read_bytes() + b"<p>" + b"x" * 2000 + b"</p>"
    write(seeds / "a.txt", grown)
    again = run(seeds, data, max_seed_bytes=len(grown) - 1)
    assert counts(again, "changed", "unchanged", "processed", "rejected") == (1, 3, 1, 1)


def test_edit_one_add_one(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    write(seeds / "a.txt", make_seed(body("Alpha second version."), url="https://ex.com/a"))
    write(seeds / "c.txt", make_seed(body("Charlie is new."), url="https://ex.com/c"))
    summary = run(seeds, data)
    assert counts(summary, "new", "changed", "processed") == (1, 1, 2)
    texts = lake_content(data)["paragraphs"]["text"].to_list()
    assert any("Alpha second version." in t for t in texts)
    assert not any("Alpha first version." in t for t in texts)
    articles = lake_content(data)["articles"]
    assert articles["article_id"].is_unique().all()
    assert articles.height == 4


def test_moved_publication_date_leaves_the_old_partition(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    write(seeds / "a.txt", make_seed(body("Alpha first version.", day="2022-01-11"), url="https://ex.com/a"))
    run(seeds, data)
    paragraphs = lake_content(data)["paragraphs"].join(
        lake_content(data)["articles"].select("article_id", "url"), on="article_id"
    )
    days = paragraphs.filter(pl.col("url") == "https://ex.com/a")["publication_date"].unique().to_list()
    assert [d.isoformat() for d in days] == ["2022-01-11"]


def test_latest_crawl_wins_and_the_other_is_superseded(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    newer = make_seed(body("Alpha recrawled."), url="https://ex.com/a", crawl_ms=1_700_000_000_000)
    write(seeds / "z_newer_a.txt", newer)
    summary = run(seeds, data)
    assert counts(summary, "new", "superseded") == (1, 1)
    content = lake_content(data)
    assert content["articles"].filter(pl.col("url") == "https://ex.com/a")["seed_file"].to_list() == ["z_newer_a.txt"]
    status = dict(content["ledger"].select("seed_file", "status").rows())
    assert (status["a.txt"], status["z_newer_a.txt"]) == ("superseded", "article")
    assert not any("Alpha first version." in t for t in content["paragraphs"]["text"])
    # An older crawl arriving later loses and writes nothing.
    write(seeds / "old_a.txt", make_seed(body("Alpha ancient."), url="https://ex.com/a", crawl_ms=1_600_000_000_000))
    later = run(seeds, data)
    assert counts(later, "new", "superseded") == (1, 1)
    assert not any("ancient" in t for t in lake_content(data)["paragraphs"]["text"])


def test_superseded_seed_takes_over_when_the_winner_changes_url(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(seeds / "a2.txt", make_seed(body("Alpha older copy."), url="https://ex.com/a", crawl_ms=1_600_000_000_000))
    run(seeds, data)
    assert dict(lake_content(data)["ledger"].select("seed_file", "status").rows())["a2.txt"] == "superseded"
    write(seeds / "a.txt", make_seed(body("Alpha moved away."), url="https://ex.com/a-moved"))
    run(seeds, data)
    articles = lake_content(data)["articles"]
    assert dict(articles.select("url", "seed_file").rows())["https://ex.com/a"] == "a2.txt"
    assert dict(articles.select("url", "seed_file").rows())["https://ex.com/a-moved"] == "a.txt"


def test_reject_fixed_then_broken_again(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    assert lake_content(data)["rejects"]["seed_file"].to_list() == ["empty.txt"]
    write(seeds / "empty.txt", make_seed(body("Now it has text."), url="https://ex.com/e"))
    run(seeds, data)
    assert lake_content(data)["rejects"].height == 0
    assert "empty.txt" in lake_content(data)["articles"]["seed_file"].to_list()
    write(seeds / "empty.txt", b"  ")
    run(seeds, data)
    content = lake_content(data)
    assert content["rejects"]["seed_file"].to_list() == ["empty.txt"]
    assert "empty.txt" not in content["articles"]["seed_file"].to_list()
    assert content["paragraphs"].filter(pl.col("text").str.contains("Now it has text")).height == 0


def test_full_and_new_pipeline_version_reprocess_everything(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    before = lake_content(data)
    full = run(seeds, data, full=True)
    assert counts(full, "processed", "new", "changed") == (4, 0, 0)
    assert_same(lake_content(data), before)
    monkeypatch.setattr(version, "pipeline_version", lambda: "9.9.9+test")
    monkeypatch.setattr("newslake.run.pipeline_version", lambda: "9.9.9+test")
    bumped = run(seeds, data)
    assert counts(bumped, "processed") == (4,)
    assert set(pl.read_parquet(data / "ledger" / PART_FILE)["pipeline_version"]) == {"9.9.9+test"}


def test_missing_seed_keeps_its_rows_and_is_counted(seeds: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(seeds, data)
    (seeds / "b.txt").unlink()
    summary = run(seeds, data)
    assert counts(summary, "missing", "processed") == (1, 0)
    assert "b.txt" in lake_content(data)["articles"]["seed_file"].to_list()


@pytest.mark.parametrize("merging", ["in memory", "streamed"])
def test_incremental_history_equals_one_run_from_scratch(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merging: str
) -> None:
    data = tmp_path / "data"
    streamed = Counter[str]()
    with monkeypatch.context() as patched:
        if merging == "streamed":  # every day's new rows streamed from staging, every old file a range at a time
            patched.setattr("newslake.commit.CHUNK_ARTICLES", 0)
            patched.setattr("newslake.lake.SMALL_FILE_BYTES", 0)
            patched.setattr("newslake.lake.MERGE_BYTES", 1)
            patched.setattr("newslake.commit.merge_large_day", counting(merge_large_day, streamed))
            patched.setattr("newslake.lake._merge_in_ranges", counting(lake._merge_in_ranges, streamed))
        run(seeds, data, batch_size=2)
        write(seeds / "a.txt", make_seed(body("Alpha v2.", day="2022-01-12"), url="https://ex.com/a"))
        write(seeds / "n1.txt", make_seed(body("Newer alpha."), url="https://ex.com/a", crawl_ms=1_700_000_000_000))
        write(seeds / "empty.txt", make_seed(body("Fixed."), url="https://ex.com/fixed"))
        run(seeds, data, batch_size=1)
        write(
            seeds / "n1.txt", make_seed(body("Newer alpha moved."), url="https://ex.com/n1", crawl_ms=1_700_000_000_000)
        )
        write(seeds / "b.txt", b"garbage without a header")
        run(seeds, data, batch_size=3)
    scratch = tmp_path / "scratch"
    run(seeds, scratch)
    assert_same(lake_content(data), lake_content(scratch))
    if merging == "streamed":
        assert streamed["merge_large_day"] > 5 and streamed["_merge_in_ranges"] > 10, streamed


def counting(function: Callable[..., Any], calls: Counter[str]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[function.__name__] += 1
        return function(*args, **kwargs)

    return counted


def test_merging_a_chunk_of_partitions_at_a_time_gives_the_same_lake(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays flat because rows are merged a few partitions at a time: the result must not change."""
    for day in range(11, 20):
        write(seeds / f"d{day}.txt", make_seed(body(f"Day {day}.", day=f"2022-01-{day}"), url=f"https://ex.com/d{day}"))
    run(seeds, tmp_path / "whole", batch_size=3)
    monkeypatch.setattr("newslake.commit.CHUNK_ARTICLES", 1)
    run(seeds, tmp_path / "chunked", batch_size=3)
    assert_same(lake_content(tmp_path / "chunked"), lake_content(tmp_path / "whole"))
    assert not (tmp_path / "chunked" / "_staging").exists(), "staging (files or directories) left behind"
    # Shared out for three workers, and the groups written last one first: the steps are independent.
    groups_seen: list[int] = []

    def backwards(data: str, groups: list[list[ChunkWrite]]) -> list[WriteStats]:
        groups_seen.append(len(groups))
        return [write_chunk(data, chunk) for group in reversed(groups) for chunk in group]

    ingest_run(RunOptions(str(seeds), str(tmp_path / "shared"), batch_size=3, parallelism=3), "s", write=backwards)
    assert groups_seen == [3]
    assert_same(lake_content(tmp_path / "shared"), lake_content(tmp_path / "whole"))


def _step(cost: int) -> ChunkWrite:
    return ChunkWrite("articles", [], [], None, [], [], articles=cost)


@given(st.lists(st.integers(0, 10_000), max_size=40), st.integers(1, 6))
def test_sharing_out_steps_takes_each_once_in_plan_order_and_evens_the_cost(costs: list[int], groups: int) -> None:
    steps = [_step(cost) for cost in costs]
    shares = share_out(steps, groups)
    assert len(shares) <= groups and all(shares)
    assert sorted(id(s) for share in shares for s in share) == sorted(map(id, steps))
    position = {id(step): i for i, step in enumerate(steps)}
    assert all([position[id(s)] for s in share] == sorted(position[id(s)] for s in share) for share in shares)
    if steps:  # largest first to the cheapest: no group exceeds the mean over the groups by more than one step
        totals = [sum(s.cost for s in share) for share in shares]
        assert max(totals) <= sum(totals) / min(groups, len(steps)) + max(s.cost for s in steps)


def test_day_chunks_respect_the_budget() -> None:
    days = [date(2022, 1, d) for d in range(1, 6)]
    weight = Counter({days[0]: 3, days[1]: 1, days[2]: 1, days[3]: 5, days[4]: 1})
    assert list(day_chunks(days, weight, 3)) == [[days[0]], days[1:3], [days[3]], [days[4]]]


@given(st.lists(st.integers(), max_size=60), st.integers(1, 25), st.integers(1, 4))
def test_batches_keep_every_item_in_order_in_even_batches_for_every_worker(
    items: list[int], size: int, workers: int
) -> None:
    groups = batches(items, size, workers)
    assert [item for group in groups for item in group] == items
    assert all(0 < len(group) <= size for group in groups)
    if groups:
        assert max(map(len, groups)) - min(map(len, groups)) <= 1
        # a multiple of the workers (items permitting), and no more batches than that needs
        assert len(groups) % workers == 0 or len(groups) == len(items)
        assert len(groups) - workers < -(-len(items) // size) or len(groups) <= workers


@given(st.lists(st.integers(0, 1000), max_size=60), st.integers(1, 25), st.integers(1, 4))
def test_weighed_batches_keep_every_item_in_order_and_even_out_the_weight(
    weights: list[int], size: int, workers: int
) -> None:
    """With a weight per item (a seed's bytes), the batches are as many as without, consecutive, never
    empty, and none weighs more than an even share by more than its heaviest item."""
    items = list(range(len(weights)))
    groups = batches(items, size, workers, weights.__getitem__)
    assert [item for group in groups for item in group] == items
    assert len(groups) == len(batches(items, size, workers))
    assert all(groups)
    if groups and sum(weights):
        for group in groups:
            assert sum(weights[i] for i in group) <= sum(weights) / len(groups) + max(weights[i] for i in group)


def test_weighed_batches_split_where_the_weight_is_even() -> None:
    # Six light items then two heavy ones: equal counts would give the second batch 2 + 2 + 100 + 100.
    weights = [1, 1, 1, 1, 2, 2, 100, 100]
    assert batches(list(range(8)), 4, 2, weights.__getitem__) == [[0, 1, 2, 3, 4, 5, 6], [7]]
    assert batches(list(range(8)), 4, 2) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_the_pipeline_version_follows_the_python_and_cython_sources(tmp_path: Path) -> None:
    # The compiled module's logic is in its .pyx: a change there must reprocess seeds like a change in a .py;
    # the C that Cython generates from it, and other files, are not sources.
    from newslake.version import source_digest

    core = tmp_path / "core"
    core.mkdir()
    (core / "walk.py").write_text("x = 1\n")
    (core / "_tree.pyx").write_text("cdef int y = 2\n")
    first = source_digest([core])
    (core / "_tree.c").write_text("/* generated */\n")
    (core / "notes.txt").write_text("not code\n")
    assert source_digest([core]) == first
    (core / "_tree.pyx").write_text("cdef int y = 3\n")
    assert source_digest([core]) != first


def test_a_step_counts_what_the_lake_holds_on_its_days_in_its_cost(tmp_path: Path) -> None:
    # An incremental run rewrites days that hold far more than it adds: sharing the steps by new rows alone
    # put a 100 000-seed lake's rewrites 7.6 / 4.3 s apart on two workers.
    seeds, data = tmp_path / "seeds", str(tmp_path / "data")
    for name, day in [("a", "2022-01-10"), ("b", "2022-01-10"), ("c", "2022-01-11")]:
        write(seeds / f"{name}.txt", make_seed(body(f"Story {name}.", day), url=f"https://example.com/{name}"))
    ingest_run(RunOptions(str(seeds), data), "first")
    write(seeds / "d.txt", make_seed(body("Story d.", "2022-01-10"), url="https://example.com/d"))
    planned: list[ChunkWrite] = []

    def watched(location: str, groups: list[list[ChunkWrite]]) -> list[WriteStats]:
        planned.extend(chunk for group in groups for chunk in group)
        return [write_chunk(location, chunk) for group in groups for chunk in group]

    ingest_run(RunOptions(str(seeds), data), "second", write=watched)
    steps = {chunk.table: chunk for chunk in planned}
    assert steps["links"].days == [date(2022, 1, 10)]
    links = steps["links"]
    assert (links.articles, links.held, links.held_days) == (1, 2, 1)  # d new; a and b there already
    assert links.cost > replace(links, held_days=0).cost > replace(links, held=0, held_days=0).cost
    assert replace(links, held_days=0).cost == replace(links, articles=3, held=0, held_days=0).cost  # as new rows


def plan_by_rows(listing: list[SeedStat], ledger: pl.DataFrame, version: str, *, full: bool, forced: set[str]) -> Plan:
    """The plan's rules, a seed at a time: what `plan_run` computed before it was a join (the oracle below)."""
    known = {row["seed_file"]: row for row in ledger.iter_rows(named=True)}
    tasks: list[SeedTask] = []
    for stat in listing:
        row = known.get(stat.seed_file)
        if row is None:
            tasks.append(SeedTask(stat.seed_file, stat.size))
        elif full or row["pipeline_version"] != version or stat.seed_file in forced:
            tasks.append(SeedTask(stat.seed_file, stat.size, row["seed_sha256"], force=True))
        elif (row["size"], row["mtime_ns"]) != (stat.size, stat.mtime_ns):
            tasks.append(SeedTask(stat.seed_file, stat.size, row["seed_sha256"]))
    reread_ids = {known[t.seed_file]["article_id"] for t in tasks if t.seed_file in known}
    tasked = {t.seed_file for t in tasks}
    sizes = {stat.seed_file: stat.size for stat in listing}
    tasks += [
        SeedTask(row["seed_file"], sizes[row["seed_file"]], row["seed_sha256"], force=True)
        for row in known.values()
        if row["status"] == "superseded"
        and row["article_id"] in reread_ids
        and row["seed_file"] in sizes
        and row["seed_file"] not in tasked
    ]
    return Plan(
        tasks=sorted(tasks, key=lambda t: t.seed_file),
        stats={stat.seed_file: stat for stat in listing},
        new=frozenset(stat.seed_file for stat in listing if stat.seed_file not in known),
        missing=frozenset(set(known) - set(sizes)),
        full=full,
    )


_FILES = [f"d{i % 3}/s{i}.txt" for i in range(12)]
_LEDGER_ROW = st.fixed_dictionaries(
    {
        "size": st.integers(1, 3),
        "mtime_ns": st.integers(1, 3),
        "pipeline_version": st.sampled_from(["v1", "v2"]),
        "status": st.sampled_from(["article", "rejected", "superseded"]),
        "article": st.integers(0, 3),
    }
)


_WINNER = {"size": 1, "mtime_ns": 1, "pipeline_version": "v1", "status": "article", "article": 0}


@example(  # the winner changed: the seed it superseded is read again too
    ledger_rows={_FILES[0]: _WINNER, _FILES[1]: _WINNER | {"status": "superseded"}},
    listed={_FILES[0]: (2, 1), _FILES[1]: (1, 1)},
    full=False,
    forced=set(),
)
@given(
    ledger_rows=st.dictionaries(st.sampled_from(_FILES), _LEDGER_ROW, max_size=12),
    listed=st.dictionaries(st.sampled_from(_FILES), st.tuples(st.integers(1, 3), st.integers(1, 3)), max_size=12),
    full=st.booleans(),
    forced=st.sets(st.sampled_from(_FILES), max_size=3),
)
def test_the_plan_follows_its_rules_seed_by_seed(
    ledger_rows: dict[str, dict[str, Any]], listed: dict[str, tuple[int, int]], full: bool, forced: set[str]
) -> None:
    """New seeds, changed sizes or mtimes, FULL, another pipeline version, forced seeds, superseded seeds whose
    article's winner is read again, missing seeds: the join plans what the rules say, seed by seed."""
    schema = polars_schema("ledger")
    rows = [
        {
            "seed_file": seed_file,
            "seed_sha256": f"{index:064x}",
            "size": row["size"],
            "mtime_ns": row["mtime_ns"],
            "pipeline_version": row["pipeline_version"],
            "status": row["status"],
            "article_id": None if row["status"] == "rejected" else f"{row['article']:016x}",
        }
        for index, (seed_file, row) in enumerate(sorted(ledger_rows.items()))
    ]
    ledger = pl.DataFrame(rows, schema={name: schema[name] for name in rows[0]} if rows else None)
    ledger = (
        ledger.with_columns(
            pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in ledger.columns
        )
        .select(list(schema))
        .cast(schema)
    )
    listing = [SeedStat(seed_file, size, mtime) for seed_file, (size, mtime) in sorted(listed.items())]
    planned = plan_run(listing, ledger, "v1", full=full, forced=forced)
    assert planned == plan_by_rows(listing, ledger, "v1", full=full, forced=forced)


def test_a_runs_listing_plan_and_resolution_run_with_the_collector_paused(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They make an object or more a seed file and no cycles (`newslake.collector`): the cyclic collector is off
    while they run, and on again after, also when the listing fails."""
    import gc

    import newslake.run

    seen: dict[str, bool] = {}

    def watched(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name] = gc.isenabled()
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(newslake.run, "discover_seeds", watched("listing", discover_seeds))
    monkeypatch.setattr(newslake.run, "plan_run", watched("plan", plan_run))
    monkeypatch.setattr(newslake.run, "resolve", watched("resolution", resolve))
    assert gc.isenabled()
    run(seeds, tmp_path / "data")
    assert seen == {"listing": False, "plan": False, "resolution": False} and gc.isenabled()

    def failing(*args: Any) -> Any:
        raise OSError("listing failed")

    monkeypatch.setattr(newslake.run, "discover_seeds", failing)
    with pytest.raises(OSError, match="listing failed"):
        run(seeds, tmp_path / "data")
    assert gc.isenabled()
