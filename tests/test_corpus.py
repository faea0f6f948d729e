"""The real-page corpus (../shared/corpus): every page ends as a valid article or a reject with a reason.

Parametrized per page so that a page that regresses is named; skipped where the corpus is absent.
"""

from datetime import UTC, datetime

import pytest

from newslake.batch import Extracted, Rejected, SeedTask, build_tables, process_seed
from newslake.core import parse_seed
from newslake.core._text import without_unread_bodies
from tests.conftest import CORPUS_SEEDS, corpus_files, requires_corpus
from tests.test_tree import assert_parsed_as_lxml_parses

pytestmark = requires_corpus
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("seed_file", corpus_files() or ["(no corpus)"])
def test_page_is_an_article_or_a_reject_with_reason(seed_file: str) -> None:
    result = process_seed(CORPUS_SEEDS, SeedTask(seed_file))
    if isinstance(result, Rejected):
        assert result.reason and result.detail
        return
    assert isinstance(result, Extracted)
    article = result.article
    positions = [p.position for p in article.paragraphs] + [h.position for h in article.headings]
    positions += [i.position for i in article.images]
    assert len(positions) == len(set(positions))
    assert article.title and article.language
    tables = build_tables([result], "run", NOW).tables
    assert tables["rejects"].height == 0, tables["rejects"].to_dicts()
    assert tables["articles"].height == 1


@pytest.mark.parametrize("seed_file", corpus_files() or ["(no corpus)"])
def test_page_parses_as_lxml_parses_it(seed_file: str) -> None:
    # The core parses pages itself (`_tree.HtmlParse`); the tree must be the one lxml's parser makes.
    assert_parsed_as_lxml_parses(without_unread_bodies(parse_seed((CORPUS_SEEDS / seed_file).read_bytes()).body))


def test_at_least_95_percent_are_articles() -> None:
    results = [process_seed(CORPUS_SEEDS, SeedTask(name)) for name in corpus_files()]
    articles = sum(isinstance(r, Extracted) for r in results)
    assert articles >= 0.95 * len(results), [(r.seed_file, r.reason) for r in results if isinstance(r, Rejected)]
