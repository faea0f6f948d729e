"""`python -m bench.instructions`: the instructions a warm pass of the core over the real seeds executes.

Wall time on this shared host moves by +-20% from one pass to the next, more than most single changes to the
core are worth; the count of instructions hardly moves (callgrind, with the hash seed fixed, gave counts
within ~0.2% of each other run after run in session 23; in session 25 one build's runs were up to 0.6%
apart, probably because sets of element proxies follow their addresses): compare changes of ~1% or less in
more than one run of each build. Two runs under callgrind, started at once: one reads the seeds and extracts
them once (imports, first sights), the other does the same and then a second, warm pass; the difference is
one warm pass. Compare commits with it, and confirm with the bench: instructions are not time (a cache miss
costs hundreds of them), but a change that removes work shows up here without the host's noise.
Needs valgrind (`apt-get install valgrind`); each run takes about a minute.
"""

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _extract_passes(passes: int) -> None:
    from bench.__main__ import source_seeds
    from newslake.core import SeedRejected, extract_article, parse_seed

    seeds = source_seeds()
    for _ in range(passes):
        for data in seeds:
            with contextlib.suppress(SeedRejected):  # a rejected seed's work counts as well
                extract_article(parse_seed(data))


def _count(passes: int, scratch: Path) -> subprocess.Popen[str]:
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={scratch / f'callgrind.{passes}'}",
        sys.executable,
        "-m",
        "bench.instructions",
        "--child",
        str(passes),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _instructions(run: subprocess.Popen[str]) -> int:
    _, log = run.communicate()
    match = _REFS.search(log)
    if run.returncode != 0 or match is None:
        raise RuntimeError(f"callgrind failed (exit {run.returncode}): {log[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _extract_passes(args.child)
        return 0
    from bench.__main__ import source_seeds

    seeds = len(source_seeds())
    with tempfile.TemporaryDirectory() as scratch:
        runs = [_count(passes, Path(scratch)) for passes in (1, 2)]
        once, twice = (_instructions(run) for run in runs)
    warm = twice - once
    print(f"{seeds} seeds: a warm pass {warm / 1e6:.0f}M instructions, {warm / seeds / 1e6:.2f}M a seed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
