"""The benchmark's own parts on a few seeds (CI checks that `make bench` works; it never asserts speed)."""

import os
from pathlib import Path

import polars as pl
import pytest

from bench.__main__ import (
    FLOOR_BESIDE,
    FLOOR_MALLOC,
    FLOOR_MIMALLOC,
    PAIRS,
    batch_tables,
    build_seeds,
    floor_allocators,
    floor_and_core,
    flow_pair,
    ratios_of,
    report,
    rerun_pair,
    trafilatura_sample,
)
from bench.largeday import DAY, real_rows, stage_day
from flows.runners import mimalloc_library
from newslake.commit import write_chunk
from newslake.core import parse_seed
from newslake.lake import partition_key


def test_bench_seeds_are_distinct_articles_and_every_stage_runs(tmp_path: Path) -> None:
    names = build_seeds(tmp_path, 12)
    urls = {parse_seed((tmp_path / name).read_bytes()).url for name in names}
    assert len(urls) == 12
    floor_seconds, core_seconds = floor_and_core(tmp_path, names, chunk=5)  # chunks of 5, 5 and 2
    assert 0 < floor_seconds < core_seconds  # the core parses as the floor does, and more
    batch_tables(tmp_path, names)


@pytest.mark.skipif(mimalloc_library() is None, reason="cmeel-mimalloc is a dependency on Linux x86_64/aarch64 only")
def test_bench_times_the_floor_on_both_allocators(tmp_path: Path) -> None:
    """The floor in fresh processes with and without the workers' mimalloc (it raises if a preload did not
    take, or one leaked into the plain process)."""
    names = build_seeds(tmp_path, 4)
    times = floor_allocators(tmp_path, names, {**os.environ, "LD_PRELOAD": "/nonexistent-is-replaced.so"})
    assert times is not None and all(seconds > 0 for seconds in times)


def test_trafilatura_sample_is_a_spread_tenth_measured_in_shares() -> None:
    names = [f"s{i:06d}.txt" for i in range(1500)]
    sample = trafilatura_sample(names)
    assert sample == names[::10]
    shares = [sample[i::PAIRS] for i in range(PAIRS)]  # one after each flow pair
    assert sorted(name for share in shares for name in share) == sample  # together they cover it once
    assert trafilatura_sample(names[:7]) == names[:1]


def test_flow_pairs_take_turns_and_name_each_wall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other flow pair runs the full run first; either way the pair is (one-seed wall, full wall, the full
    run's peak), each run into the lake of its own pair."""
    runs: list[tuple[Path, Path]] = []

    def flow_run(seeds: Path, data: Path, env: dict[str, str]) -> tuple[float, int]:
        runs.append((seeds, data))
        return (1.0, 10) if seeds.name == "one" else (3.0, 30)

    monkeypatch.setattr("bench.__main__.flow_run", flow_run)
    one, seeds = tmp_path / "one", tmp_path / "seeds"
    assert flow_pair(one, seeds, tmp_path, 0, {}, full_first=False) == (1.0, 3.0, 30)
    assert flow_pair(one, seeds, tmp_path, 1, {}, full_first=True) == (1.0, 3.0, 30)
    assert runs == [
        (one, tmp_path / "data-one-0"),
        (seeds, tmp_path / "data-0"),
        (seeds, tmp_path / "data-1"),
        (one, tmp_path / "data-one-1"),
    ]


def test_rerun_pairs_take_turns_and_name_each_wall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other pair runs the rerun first; either way the pair is (no-seed wall, rerun wall), each run
    into its own lake."""
    runs: list[tuple[Path, Path]] = []

    def flow_run(seeds: Path, data: Path, env: dict[str, str]) -> tuple[float, int]:
        runs.append((seeds, data))
        return (1.0 if seeds.name == "empty" else 2.0), 0

    monkeypatch.setattr("bench.__main__.flow_run", flow_run)
    empty, seeds = tmp_path / "empty", tmp_path / "seeds"
    assert rerun_pair(empty, seeds, tmp_path, {}, rerun_first=False) == (1.0, 2.0)
    assert rerun_pair(empty, seeds, tmp_path, {}, rerun_first=True) == (1.0, 2.0)
    assert runs == [
        (empty, tmp_path / "data-empty"),
        (seeds, tmp_path / "data-0"),
        (seeds, tmp_path / "data-0"),
        (empty, tmp_path / "data-empty"),
    ]


def test_report_prints_every_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    rows = dict.fromkeys(
        [
            "floor (read + lxml parse + walk), 1 process",
            "core (bytes -> Article), 1 process",
            "ingest flow, processing (wall - 1-seed run)",
            "trafilatura extract, scaled from a tenth",
            "rerun, nothing changed (wall - no-seed run)",
        ],
        2.0,
    )
    rows[FLOOR_BESIDE] = 3.0  # the floor timed between the flow pairs: what processing is compared with
    ratios = ratios_of(rows, 10, 1024 * 300, 1024 * 330)
    report(10, rows, ratios)
    printed = capsys.readouterr().out
    assert all(name in printed for name in ratios)
    assert ratios["processing speed / floor speed (target >= 0.5)"] == 1.5
    assert ratios["core speed / floor speed, 1 core (target >= 0.35)"] == 1.0  # the floor timed beside the core
    assert ratios["processing / floor speed that 10x trafilatura asks"] == 15.0
    assert abs(ratios["peak RSS 3N / N (target <= 1.2)"] - 1.1) < 1e-9
    assert "processing / floor speed, the floor on mimalloc too" not in ratios  # no allocator rows, no ratio
    assert not any(name.endswith(" pair") for name in ratios)  # no spread rows, no spread ratios
    rows[f"ingest flow, processing, least of the {PAIRS} pairs"] = 1.0
    rows[f"ingest flow, processing, most of the {PAIRS} pairs"] = 4.0
    ratios = ratios_of(rows, 10, 1024 * 300, 1024 * 330)
    assert ratios["speed-up over trafilatura, fastest pair"] == 2.0  # trafilatura 2 s / 1 s
    assert ratios["speed-up over trafilatura, slowest pair"] == 0.5
    assert ratios["speed-up over trafilatura (target >= 10)"] == 1.0  # the median's, as before
    rows[FLOOR_MALLOC], rows[FLOOR_MIMALLOC] = 2.0, 1.6  # mimalloc: the floor in 0.8 of the time
    ratios = ratios_of(rows, 10, 1024 * 300, 1024 * 330)
    assert abs(ratios["processing / floor speed, the floor on mimalloc too"] - 1.2) < 1e-9


def test_large_day_bench_stages_copies_into_one_day_as_a_run_would(tmp_path: Path) -> None:
    rows = real_rows(tmp_path / "source")  # the corpus pages, or only seeds/ where ../shared is absent
    assert rows["articles"].height >= 1 and rows["links"].height >= 1
    data = tmp_path / "lake"
    for run_id in ("first", "again"):  # the second commit replaces every article's rows with the same rows
        for chunk in stage_day(rows, 450, data, run_id):  # more than one staged batch
            assert len(chunk.staged) == 2
            write_chunk(str(data), chunk)
    articles = pl.read_parquet(data / partition_key("articles", DAY))
    assert articles.height == 450 and articles["article_id"].n_unique() == 450
    links = pl.read_parquet(data / partition_key("links", DAY))
    per_copy = rows["links"].group_by("article_id").len()["len"]
    assert per_copy.min() <= links.group_by("article_id").len()["len"].mean() <= per_copy.max()  # type: ignore[operator]
