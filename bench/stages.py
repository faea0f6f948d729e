"""`python -m bench.stages [--repeat 5]`: where the core's time goes, per stage, on the real seeds.

Wraps the functions `extract_article` calls (in its own module's namespace, so the core is unchanged) with
timers, runs the core over every source seed `--repeat` times and prints the best run's milliseconds a seed
per stage, beside the parser's floor (read + parse + walk every element). Used to write the profile table
of docs/performance.md.
"""

import argparse
import contextlib
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import lxml.html

from bench.__main__ import source_seeds
from newslake.core import SeedRejected, extract, parse_seed
from newslake.core.html import PageMeta
from newslake.core.seed import decode_seed, split_header

# (label, owner, attribute): what is timed. Methods are wrapped on their class.
_STAGES: list[tuple[str, Any, str]] = [
    ("parse", extract, "parse_html"),
    ("page metadata", extract, "PageMeta"),
    ("prune", extract, "_prune"),
    ("page text", extract, "_page_text"),
    ("marks (one pass over the page)", extract, "mark_page"),
    ("chrome", extract, "remove_chrome"),
    ("content root", extract, "content_root"),
    ("date", extract, "decide_published"),
    ("shape (walker made)", extract._Walker, "__init__"),  # what holds blocks, pictures, times
    ("walk", extract._Walker, "walk"),
    ("author (markup)", PageMeta, "author"),
    ("author (text)", extract, "written_author"),
    ("links outside the article", extract._Walker, "add_page_links"),
    ("language", extract, "resolve_language"),
]


def _timed(label: str, fn: Callable[..., Any], totals: dict[str, float], depth: list[int]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if depth[0]:  # a nested call (walk recurses): the outer call is timing it already
            return fn(*args, **kwargs)
        depth[0] += 1
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - start
            depth[0] -= 1

    return wrapper


def run(seeds: list[bytes], repeat: int) -> tuple[dict[str, float], float, float]:
    """Best-of-`repeat` seconds per stage over all seeds, the core's total and the floor's."""
    best: dict[str, float] = {}
    best_core = best_floor = float("inf")
    # A method a class inherits from a compiled base (`_Walker.walk`) is wrapped on the class itself, and the
    # wrapper deleted afterwards.
    originals = [(owner, name, owner.__dict__.get(name, getattr(owner, name))) for _, owner, name in _STAGES]
    inherited = {(owner, name) for _, owner, name in _STAGES if name not in owner.__dict__}
    for _ in range(repeat):
        start = time.perf_counter()
        for data in seeds:
            text, _codec = decode_seed(data)
            for element in lxml.html.fromstring(split_header(text)[3]).iter():
                element.tag  # noqa: B018
        best_floor = min(best_floor, time.perf_counter() - start)
        totals: dict[str, float] = defaultdict(float)
        for (label, owner, name), (_, _, original) in zip(_STAGES, originals, strict=True):
            fn = original.__func__ if isinstance(original, classmethod) else original
            wrapped = _timed(label, fn, totals, [0])
            setattr(owner, name, classmethod(wrapped) if isinstance(original, classmethod) else wrapped)
        try:
            start = time.perf_counter()
            for data in seeds:
                t0 = time.perf_counter()
                seed = parse_seed(data)
                totals["decode + header"] += time.perf_counter() - t0
                with contextlib.suppress(SeedRejected):
                    extract.extract_article(seed)
            core = time.perf_counter() - start
        finally:
            for owner, name, original in originals:
                if (owner, name) in inherited:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
        if core < best_core:
            best_core, best = core, dict(totals)
    return best, best_core, best_floor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    seeds = source_seeds()
    stages, core, floor = run(seeds, args.repeat)
    n = len(seeds)
    print(f"{n} seeds, best of {args.repeat}; ms a seed")
    for label, seconds in stages.items():
        print(f"  {label:<28} {1000 * seconds / n:6.2f}")
    rest = core - sum(stages.values())
    print(f"  {'(rest of extract_article)':<28} {1000 * rest / n:6.2f}")
    print(f"core {1000 * core / n:.2f}  floor {1000 * floor / n:.2f}  core speed / floor speed {floor / core:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
