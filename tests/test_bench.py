"""The benchmark's own parts on a few seeds (CI checks that `make bench` works; it never asserts speed)."""

from pathlib import Path

import pytest

from bench.__main__ import batch_tables, build_seeds, core, floor, ratios_of, report
from newslake.core import parse_seed


def test_bench_seeds_are_distinct_articles_and_every_stage_runs(tmp_path: Path) -> None:
    names = build_seeds(tmp_path, 12)
    urls = {parse_seed((tmp_path / name).read_bytes()).url for name in names}
    assert len(urls) == 12
    floor(tmp_path, names)
    core(tmp_path, names)
    batch_tables(tmp_path, names)


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
    ratios = ratios_of(rows, 10, 1024 * 300, 1024 * 330)
    report(10, rows, ratios)
    printed = capsys.readouterr().out
    assert all(name in printed for name in ratios)
    assert abs(ratios["peak RSS 3N / N (target <= 1.2)"] - 1.1) < 1e-9
