"""`make eval [CORPUS=../shared/corpus]`: how faithfully the pipeline extracts real pages, beside trafilatura.

Runs the pipeline (the same `ingest_run` the flow wraps, in process) over CORPUS/seeds into a temporary lake,
reads the tables back and scores them against CORPUS/truth.jsonl:

- body: headings and paragraphs in position order against `article_body`, with the ScrapingHub article
  extraction benchmark's metric (4-gram shingles of `\\w+` tokens, every CJK character a token of its own;
  precision and recall averaged over pages, F1 from the two averages), per corpus part;
- date day-accuracy (the day the page states, in its own time zone; month-precision truths compare the month)
  and author accuracy (names compared without spacing and separators), where the truth has them.

trafilatura (`extract` for the body, `extract_metadata` for the author) and htmldate (`find_date`) get the
same decoded HTML in the same run. The report (markdown) and the per-page scores (JSON) are written to files.
"""

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from newslake.core.seed import decode_seed, split_header
from newslake.run import RunOptions, ingest_run

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"

# CJK ideographs, kana and hangul syllables: each one is a token (Chinese has no spaces to split words on).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_SHINGLE = 4
_TRUTH_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_NAME_SEPARATORS = re.compile(r"[\s,，、;；/·•]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """4-token shingles; a text shorter than four tokens is one shingle of all of them (as the benchmark does)."""
    words = tokens(text)
    return Counter(tuple(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1)) if words)


@dataclass(frozen=True)
class Overlap:
    """Shingle counts of one page, normalised to sum to one so that long pages weigh no more than short ones."""

    tp: float
    fp: float
    fn: float

    @classmethod
    def of(cls, truth: str, predicted: str) -> "Overlap":
        want, got = shingles(truth), shingles(predicted)
        tp = sum((want & got).values())
        fp = sum((got - want).values())
        fn = sum((want - got).values())
        total = tp + fp + fn
        return cls(tp / total, fp / total, fn / total) if total else cls(0.0, 0.0, 0.0)

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def body_scores(overlaps: Iterable[Overlap]) -> dict[str, float]:
    """The benchmark's aggregate: mean precision and mean recall over pages, F1 of the two means."""
    pages = list(overlaps)
    precisions = [o.precision for o in pages if o.tp + o.fp > 0]
    recalls = [o.recall for o in pages if o.tp + o.fn > 0]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "pages": len(pages)}


def truth_day(value: object) -> tuple[date, bool] | None:
    """The truth's date and whether it gives the day (`1998-3` gives only the month); None when it has none."""
    match = _TRUTH_DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), match.group(3)
    return date(year, month, int(day) if day else 1), day is not None


def date_correct(truth: object, found: date | None) -> bool | None:
    """None when the truth has no date; otherwise whether `found` is that day (that month, for month truths)."""
    expected = truth_day(truth)
    if expected is None:
        return None
    day, has_day = expected
    if found is None:
        return False
    return found == day if has_day else (found.year, found.month) == (day.year, day.month)


def same_author(truth: object, found: str | None) -> bool | None:
    if not isinstance(truth, str) or not truth.strip():
        return None
    if not found:
        return False
    return _NAME_SEPARATORS.sub(" ", truth).strip() == _NAME_SEPARATORS.sub(" ", found).strip()


# --- our pipeline --------------------------------------------------------------------------------------------
@dataclass
class Extraction:
    body: str = ""
    day: date | None = None
    author: str | None = None
    language: str | None = None
    date_source: str | None = None
    reject: str | None = None


def run_pipeline(seeds: Path, names: set[str]) -> dict[str, Extraction]:
    """Ingest the seeds into a temporary lake and read each article back as analysts would."""
    with tempfile.TemporaryDirectory(prefix="newslake-eval-") as tmp:
        source = Path(tmp) / "seeds"
        source.mkdir()
        for name in names:
            (source / name).symlink_to((seeds / name).resolve())
        data = Path(tmp) / "data"
        ingest_run(RunOptions(seeds=str(source), data=str(data)), run_id="eval")
        articles = _read(data, "articles")
        blocks = pl.concat(
            [_read(data, t).select("article_id", "position", "text") for t in ("headings", "paragraphs")]
        ).sort("article_id", "position")
        rejects = _read(data, "rejects")
    bodies = dict(blocks.group_by("article_id").agg(pl.col("text").str.join("\n")).iter_rows())
    out: dict[str, Extraction] = {}
    for row in articles.iter_rows(named=True):
        offset = timedelta(minutes=row["utc_offset_minutes"] or 0)
        out[row["seed_file"]] = Extraction(
            body=bodies.get(row["article_id"], ""),
            day=(row["published_at"] + offset).date() if row["published_at"] else None,
            author=row["author"],
            language=row["language"],
            date_source=row["date_source"],
        )
    for row in rejects.iter_rows(named=True):
        out[row["seed_file"]] = Extraction(reject=row["reason"])
    return out


def _read(data: Path, table: str) -> pl.DataFrame:
    files = sorted((data / table).glob("**/*.parquet"))
    return pl.concat([pl.read_parquet(f, hive_partitioning=False) for f in files]) if files else pl.DataFrame()


# --- the comparison ------------------------------------------------------------------------------------------
def run_trafilatura(html: str, url: str) -> Extraction:
    import trafilatura  # dev dependency: only the evaluation compares against it
    from htmldate import find_date

    body = trafilatura.extract(html, url=url) or ""
    meta = trafilatura.extract_metadata(html, default_url=url)
    stamp = find_date(html, url=url)
    return Extraction(
        body=body,
        day=date.fromisoformat(stamp) if stamp else None,
        author=meta.author if meta is not None else None,
    )


# --- the report ----------------------------------------------------------------------------------------------
@dataclass
class PartScores:
    part: str
    pages: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, system: str) -> dict[str, Any]:
        body = body_scores(Overlap(**p[system]["overlap"]) for p in self.pages)
        return body | {
            "date": _accuracy(p[system]["date_correct"] for p in self.pages),
            "author": _accuracy(p[system]["author_correct"] for p in self.pages),
        }


def _accuracy(values: Iterable[bool | None]) -> dict[str, float | int]:
    scored = [v for v in values if v is not None]
    right = sum(scored)
    return {"right": right, "of": len(scored), "accuracy": right / len(scored) if scored else float("nan")}


def part_of(truth: dict[str, Any]) -> str:
    return "scrapinghub" if truth.get("source") == "scrapinghub" else "chinese"


def page_row(truth: dict[str, Any], system: Extraction) -> dict[str, Any]:
    overlap = Overlap.of(truth["article_body"], system.body)
    return {
        "overlap": overlap.__dict__,
        "precision": overlap.precision,
        "recall": overlap.recall,
        "date": system.day.isoformat() if system.day else None,
        "date_source": system.date_source,
        "language": system.language,
        "date_correct": date_correct(truth.get("date"), system.day),
        "author": system.author,
        "author_correct": same_author(truth.get("author"), system.author),
        "reject": system.reject,
    }


SYSTEMS = ("newslake", "trafilatura")


def evaluate(corpus: Path, limit: int | None = None) -> dict[str, Any]:
    truths = [json.loads(line) for line in (corpus / "truth.jsonl").read_text("utf-8").splitlines() if line]
    if limit is not None:
        truths = _slice(truths, limit)
    seeds = corpus / "seeds"
    clock = time.perf_counter()
    ours = run_pipeline(seeds, {t["seed"] for t in truths})
    ours_seconds = time.perf_counter() - clock
    parts: dict[str, PartScores] = {}
    theirs_seconds = 0.0
    for truth in truths:
        text, _ = decode_seed((seeds / truth["seed"]).read_bytes())
        html = split_header(text)[3]
        clock = time.perf_counter()
        theirs = run_trafilatura(html, truth["url"])
        theirs_seconds += time.perf_counter() - clock
        row = {"seed": truth["seed"], "url": truth["url"], "truth_date": truth.get("date")}
        row["truth_author"] = truth.get("author")
        row["newslake"] = page_row(truth, ours.get(truth["seed"], Extraction(reject="missing")))
        row["trafilatura"] = page_row(truth, theirs)
        parts.setdefault(part_of(truth), PartScores(part_of(truth))).pages.append(row)
    return {
        "corpus": str(corpus),
        "seconds": {"newslake (whole pipeline)": ours_seconds, "trafilatura + htmldate": theirs_seconds},
        "parts": {name: {s: part.summary(s) for s in SYSTEMS} for name, part in sorted(parts.items())},
        "pages": [row for part in parts.values() for row in part.pages],
    }


def _slice(truths: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """`limit` pages with every part represented (CI's quick check), taken evenly through the file."""
    by_part: dict[str, list[dict[str, Any]]] = {}
    for truth in truths:
        by_part.setdefault(part_of(truth), []).append(truth)
    share = max(1, limit // len(by_part))
    return [t for rows in by_part.values() for t in rows[:: max(1, len(rows) // share)][:share]]


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3f}"  # NaN: nothing to score


def render(report: dict[str, Any]) -> str:
    lines = [
        "# Extraction fidelity: newslake beside trafilatura 2.3 + htmldate",
        "",
        f"Corpus: `{report['corpus']}`. Body: 4-gram shingles of `\\w+` tokens (CJK: one per character), "
        "precision and recall averaged over pages, F1 of the averages. Dates: the stated day (month for "
        "month-only truths). Authors: names without spacing and separators.",
        "",
        "| part | system | pages | body F1 | precision | recall | date accuracy | author accuracy |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for part, systems in report["parts"].items():
        for system, s in systems.items():
            date_cell = f"{_fmt(s['date']['accuracy'])} ({s['date']['right']}/{s['date']['of']})"
            author_cell = f"{_fmt(s['author']['accuracy'])} ({s['author']['right']}/{s['author']['of']})"
            lines.append(
                f"| {part} | {system} | {s['pages']} | {s['f1']:.4f} | {_fmt(s['precision'])} | "
                f"{_fmt(s['recall'])} | {date_cell} | {author_cell} |"
            )
    lines += ["", "| seconds | |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in report["seconds"].items()]
    worst = sorted(report["pages"], key=lambda p: _f1(p["newslake"]))[:10]
    lines += ["", "Lowest newslake body F1 (trafilatura's beside it):", ""]
    lines += [f"- {p['seed']}: {_f1(p['newslake']):.3f} vs {_f1(p['trafilatura']):.3f}  {p['url']}" for p in worst]
    return "\n".join(lines) + "\n"


def _f1(page: dict[str, Any]) -> float:
    p, r = page["precision"], page["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="score only this many pages (a quick check)")
    parser.add_argument("--report", type=Path, default=REPO / "bench" / "fidelity.md")
    parser.add_argument("--pages", type=Path, default=REPO / "bench" / "fidelity.json")
    args = parser.parse_args(argv)
    if not (args.corpus / "truth.jsonl").is_file() or not (args.corpus / "seeds").is_dir():
        print(f"no corpus at {args.corpus} (want truth.jsonl and seeds/): nothing to evaluate", file=sys.stderr)
        return 2
    report = evaluate(args.corpus, args.limit)
    text = render(report)
    args.report.write_text(text, "utf-8")
    args.pages.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", "utf-8")
    print(text, end="")
    print(f"report: {args.report}; per-page scores: {args.pages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
