"""`make eval`: the metric on its own, and the evaluation on the corpus with the issue's targets."""

import json
from pathlib import Path

from bench.fidelity import Overlap, body_scores, date_correct, main, same_author, tokens
from tests.conftest import CORPUS, requires_corpus


def test_cjk_characters_are_tokens_of_their_own() -> None:
    assert tokens("中文文本 and words, 2005年") == ["中", "文", "文", "本", "and", "words", "2005", "年"]


def test_shingle_scores() -> None:
    text = "one two three four five six"
    assert (Overlap.of(text, text).precision, Overlap.of(text, text).recall) == (1.0, 1.0)
    disjoint = Overlap.of(text, "seven eight nine ten eleven")
    assert (disjoint.precision, disjoint.recall) == (0.0, 0.0)
    half = Overlap.of(text, "one two three four")  # 1 of the truth's 3 shingles, and nothing else
    assert (half.precision, round(half.recall, 3)) == (1.0, 0.333)
    assert Overlap.of(text, "").recall == 0.0
    scores = body_scores([Overlap.of(text, text), disjoint])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.5, 0.5, 0.5)


def test_dates_compare_days_or_months_and_authors_ignore_spacing() -> None:
    from datetime import date

    assert date_correct("2005-5-7 21:23:57", date(2005, 5, 7)) is True
    assert date_correct("1998-3", date(1998, 3, 20)) is True
    assert date_correct("2005-5-7", date(2005, 5, 8)) is False
    assert date_correct(None, date(2005, 5, 8)) is None
    assert same_author("伊琳  李清芬", "伊琳 李清芬") is True
    assert same_author("伊琳  李清芬", "伊琳") is False


@requires_corpus
def test_eval_meets_the_targets_beside_trafilatura(tmp_path: Path) -> None:
    report, pages = tmp_path / "fidelity.md", tmp_path / "fidelity.json"
    assert main(["--corpus", str(CORPUS), "--report", str(report), "--pages", str(pages)]) == 0
    parts = json.loads(pages.read_text("utf-8"))["parts"]
    assert set(parts) == {"scrapinghub", "chinese"}
    for part, systems in parts.items():
        ours, theirs = systems["newslake"], systems["trafilatura"]
        assert ours["f1"] >= theirs["f1"], f"{part}: body F1 {ours['f1']:.4f} below trafilatura's {theirs['f1']:.4f}"
    assert parts["chinese"]["newslake"]["date"]["accuracy"] >= 0.85
    assert "| chinese | trafilatura |" in report.read_text("utf-8")
