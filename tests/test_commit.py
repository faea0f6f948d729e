"""The commit's merge steps read their rows from staging one of two ways: a staged batch read per step, or
each batch read once for a run of steps and spilled step by step to scratch (`write_group`). Both must give
every step the same rows in the same order."""

import shutil
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from unittest.mock import patch

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from newslake import commit
from newslake.commit import ChunkWrite, day_chunks, spill_steps, staged_spans, write_group
from newslake.lake import Location, StagedRows, read_staged, read_winners, stage_rows, stage_winners
from newslake.storage import LocalStore, open_store
from schemas.tables import polars_schema
from tests.conftest import Rendezvous
from tests.test_lake import paragraphs

DAY1 = date(2022, 1, 13)


def staged_batch(root: str, batch: int, articles: list[tuple[int, int, int]]) -> StagedRows:
    """Stage one batch's paragraphs: (article, day, paragraphs) each."""
    rows = [(f"{a:016x}", p, f"b{batch} a{a} p{p}", DAY1 + timedelta(days=d)) for a, d, n in articles for p in range(n)]
    return stage_rows(root, "run", "paragraphs", batch, paragraphs(rows).sample(fraction=1.0, shuffle=True, seed=batch))


def steps_of(
    root: str, staged: list[tuple[int, StagedRows]], winners: dict[int, int], budget: int, days: list[date]
) -> list[ChunkWrite]:
    """The merge steps `plan_chunks` would make of these batches: days in chunks of `budget` articles."""
    key = stage_winners(
        root,
        "run",
        pl.DataFrame(
            {"article_id": [f"{a:016x}" for a in winners], "_batch": list(winners.values())},
            schema={"article_id": pl.String, "_batch": pl.Int32},
        ),
    )
    weight = Counter(dict.fromkeys(days, 1))
    return [
        ChunkWrite("paragraphs", chunk, staged_spans(staged, chunk), key, [], [], len(chunk))
        for chunk in day_chunks(days, weight, budget)
    ]


BATCHES = st.lists(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 9), st.integers(0, 4)), max_size=12), min_size=1, max_size=6
)


@settings(max_examples=60, deadline=None)
@given(
    batches=BATCHES,
    budget=st.integers(1, 6),
    group_rows=st.integers(1, 20),
    streamed=st.integers(1, 40),
    picked=st.data(),
)
def test_spilled_steps_give_each_step_the_rows_a_step_reads_itself(
    batches: list[list[tuple[int, int, int]]], budget: int, group_rows: int, streamed: int, picked: st.DataObject
) -> None:
    """Any batches (an article in several batches, days with no rows, days of no step), any winners (an
    article's rows taken from one batch or none), any chunking of the days: a step's spilled rows are the
    rows `_staged_rows` reads for it, in the same order, at once or (a large day's) in frames that reach a
    number of rows (the last excepted), no more of them than staged batches."""
    holders = {
        a: sorted({b for b, articles in enumerate(batches) for x, _, _ in articles if x == a}) for a in range(31)
    }
    taken = picked.draw(st.lists(st.sampled_from([a for a, held in holders.items() if held] or [0]), unique=True))
    winners = {a: picked.draw(st.sampled_from(holders[a])) for a in taken if holders[a]}
    # The days the run writes: some days with rows are left out (an article that lost its URL to a newer
    # crawl, on a day of its own), so a step's span can hold rows it must not take.
    days = sorted(DAY1 + timedelta(days=d) for d in picked.draw(st.sets(st.integers(0, 9), min_size=1)))
    with tempfile.TemporaryDirectory() as root, patch("newslake.lake.STAGING_ROW_GROUP", group_rows):
        staged = [(b, staged_batch(root, b, articles)) for b, articles in enumerate(batches)]
        window = steps_of(root, [(b, rows) for b, rows in staged if rows.rows], winners, budget, days)
        store = open_store(root)
        spilled = spill_steps(store, window, Path(root) / "steps.arrow")
        schema = polars_schema("paragraphs")
        for index, step in enumerate(window):
            wanted = [frame for frame in commit._staged_rows(store, step) if frame.height]
            streamed_frames = list(spilled.rows(index, schema, streamed))
            assert len(streamed_frames) <= len(wanted)
            assert all(frame.height >= streamed for frame in streamed_frames[:-1])
            whole = list(spilled.rows(index, schema))
            assert len(whole) == (1 if wanted else 0)
            if wanted:
                assert whole[0].equals(pl.concat(wanted))
                assert pl.concat(streamed_frames).equals(pl.concat(wanted))


def test_a_group_reads_each_staged_batch_once_a_window_when_its_steps_share_them(tmp_path: Path) -> None:
    """Twelve batches, each with rows of all ten days, and a step a day: read a step at a time, 120 reads;
    spilled, 12 (24 in two windows of five steps). The lake is the same either way. The run's winners are read
    once for all the group's steps."""
    root = str(tmp_path)
    batches = [[(10 * b + d, d, 2) for d in range(10)] for b in range(12)]
    staged = [(b, staged_batch(root, b, articles)) for b, articles in enumerate(batches)]
    winners = {a: b for b, articles in enumerate(batches) for a, _, _ in articles}
    days = [DAY1 + timedelta(days=d) for d in range(10)]
    window = steps_of(root, staged, winners, 1, days)
    reads: list[str] = []
    winner_reads: list[str] = []
    real = read_staged
    real_winners = read_winners

    def counted_winners(location: Location, key: str) -> pl.DataFrame:
        winner_reads.append(key)
        return real_winners(location, key)

    def counted(data: bytes, table: str, span: tuple[int, int]) -> pl.DataFrame:
        reads.append(table)
        return real(data, table, span)

    lakes = {}
    for name, shared, reads_wanted in (("direct", 10**9, 120), ("spilled", 1, 12), ("spilled twice", 1, 24)):
        reads.clear()
        winner_reads.clear()
        data = tmp_path / name
        data.mkdir()
        for key in {rows.key for _, rows in staged}:  # the steps read staging under their own lake
            (data / key).parent.mkdir(parents=True, exist_ok=True)
            (data / key).write_bytes((tmp_path / key).read_bytes())
        (data / window[0].winners).write_bytes((tmp_path / window[0].winners).read_bytes())  # type: ignore[operator]
        with (
            patch.object(commit, "read_staged", counted),
            patch.object(commit, "read_winners", counted_winners),
            patch.object(commit, "SPILL_SHARED_READS", shared),
            patch.object(commit, "SPILL_ROWS", 5 * 12 * 2 if name == "spilled twice" else commit.SPILL_ROWS),
        ):
            stats = write_group(str(data), window)
        assert sum(s.rows_written for s in stats) == 12 * 10 * 2
        assert len(reads) == reads_wanted
        assert winner_reads == [window[0].winners]
        lakes[name] = {p.relative_to(data): p.read_bytes() for p in (data / "paragraphs").rglob("*.parquet")}
    assert len(lakes["direct"]) == 10
    assert lakes["spilled"] == lakes["spilled twice"] == lakes["direct"]


def test_an_object_store_reads_a_steps_staged_batches_at_once_into_the_files_a_folder_gets(tmp_path: Path) -> None:
    """Staged batches are read ahead of the step that merges them, from an object store, read a step at a time
    or spilled; the lake is the folder's."""
    batches = [[(10 * b + d, d, 2) for d in range(4)] for b in range(3)]
    staging = str(tmp_path / "staging")
    staged = [(b, staged_batch(staging, b, articles)) for b, articles in enumerate(batches)]
    winners = {a: b for b, articles in enumerate(batches) for a, _, _ in articles}
    window = steps_of(staging, staged, winners, 2, [DAY1 + timedelta(days=d) for d in range(4)])
    lakes = {}
    for name, shared in (("folder", 10**9), ("direct", 10**9), ("spilled", 1)):
        data = tmp_path / name
        shutil.copytree(staging, data)
        # The first staged batch's file can be read only once another's read has started.
        first, others = (
            (lambda key: key.endswith("b000000.parquet")),
            (lambda key: key.endswith(("b000001.parquet", "b000002.parquet"))),
        )
        store = LocalStore(data) if name == "folder" else Rendezvous(data, waits=first, others=others)
        with patch.object(commit, "SPILL_SHARED_READS", shared):
            stats = write_group(store, window)
        assert sum(s.rows_written for s in stats) == 3 * 4 * 2
        assert not isinstance(store, Rendezvous) or store.other_started.is_set()
        lakes[name] = {p.relative_to(data): p.read_bytes() for p in (data / "paragraphs").rglob("*.parquet")}
    assert len(lakes["folder"]) == 4
    assert lakes["direct"] == lakes["spilled"] == lakes["folder"]
