"""Hostile and broken input: every case ends as an article or a reject with a reason, never an exception."""

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newslake.batch import Extracted, Rejected, SeedTask, process_seed
from newslake.run import RunOptions, ingest_run
from tests.conftest import GIVEN_SEED, make_seed

LONG = "A paragraph with enough words in it to be taken for article text."
CASES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty_file"),
    "whitespace": (b" \r\n\t ", "empty_file"),
    "binary": (b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(4000), "binary"),
    "no_header": (b"<html><body><p>" + LONG.encode() + b"</p></body></html>", "no_header"),
    "no_url": (b"[Title]()\n------\n\n<p>" + LONG.encode() + b"</p>", "no_url"),
    "javascript_url": (make_seed(f"<p>{LONG}</p>", url="javascript:alert(1)"), "bad_url"),
    "file_url": (make_seed(f"<p>{LONG}</p>", url="file:///etc/passwd"), "bad_url"),
    "no_body": (b"<!--1642079583000-->\n[T](https://ex.com/a)\n------\n\n", "no_body"),
    "no_text": (make_seed("<main><script>alert(1)</script><style>p{}</style></main>"), "no_body_text"),
    "too_deep": (make_seed("<div>" * 400 + LONG + "</div>" * 400), "too_deep"),
    "no_element": (make_seed("<!-- a page of comments --><?and instructions?>"), "unparseable_html"),
}
ARTICLES: dict[str, bytes] = {
    "nul_byte": make_seed(f"<main><p>{LONG}\x00 and more.</p></main>"),
    "truncated": GIVEN_SEED.read_bytes()[:6000],
    "date_path_traversal": make_seed(f'<main><time datetime="../../etc/passwd">x</time><p>{LONG}</p></main>'),
    "entity_expansion": make_seed(
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f"<main><p>{LONG} &b;&b;&b;</p></main>"
    ),
    "external_entity": make_seed(
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + f"<main><p>{LONG} &e;</p></main>"
    ),
    "unsafe_links": make_seed(
        f'<main><p>{LONG} <a href="javascript:x()">j</a> <a href="data:text/html,x">d</a>'
        ' <a href="vbscript:x">v</a> <a href="https://ok.example/">ok</a></p></main>'
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_case_is_a_reject_with_reason(case: str, tmp_path: Path) -> None:
    data, reason = CASES[case]
    (tmp_path / "seed.txt").write_bytes(data)
    result = process_seed(tmp_path, SeedTask("seed.txt"))
    assert isinstance(result, Rejected), result
    assert (result.reason, bool(result.detail)) == (reason, True)


def test_too_large_is_a_reject(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(make_seed("<p>" + "x" * 5000 + "</p>"))
    result = process_seed(tmp_path, SeedTask("big.txt"), max_bytes=1000)
    assert isinstance(result, Rejected)
    assert result.reason == "too_large"


@pytest.mark.parametrize("case", list(ARTICLES))
def test_broken_but_usable_input_is_an_article(case: str, tmp_path: Path) -> None:
    (tmp_path / "seed.txt").write_bytes(ARTICLES[case])
    result = process_seed(tmp_path, SeedTask("seed.txt"))
    assert isinstance(result, Extracted), result
    text = " ".join(p.text for p in result.article.paragraphs)
    assert "root:" not in text  # no file was read through an entity
    assert all(link.href.startswith(("http://", "https://")) for link in result.article.links)
    if case == "unsafe_links":
        assert result.article.links_dropped == 3


def test_hostile_values_never_leave_data(tmp_path: Path) -> None:
    """A whole run over every hostile case writes only lake files under DATA, named by the layout."""
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    for name, (content, _) in CASES.items():
        (seeds / f"{name}.txt").write_bytes(content)
    for name, content in ARTICLES.items():
        (seeds / f"{name}.txt").write_bytes(content)
    outside_before = {p for p in tmp_path.rglob("*") if data not in p.parents and p != data}
    summary = ingest_run(RunOptions(str(seeds), str(data)), "hostile-run")
    assert summary.counts["seeds_seen"] == len(CASES) + len(ARTICLES)
    assert {p for p in tmp_path.rglob("*") if data not in p.parents and p != data} == outside_before
    for path in data.rglob("*.parquet"):
        parts = path.relative_to(data).parts
        assert parts[-1] == "part-0.parquet"
        assert len(parts) == 2 or parts[1].startswith("publication_date=20"), parts


def _never_internal_error(data: bytes, tmp: Path) -> None:
    (tmp / "seed.txt").write_bytes(data)
    result = process_seed(tmp, SeedTask("seed.txt"))
    assert isinstance(result, Extracted | Rejected)
    if isinstance(result, Rejected):
        assert result.reason != "internal_error", result.detail


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000))
@example(data=b"\xc6\xd3")  # detected as big5, which its superset big5hkscs does not decode (session 26's CI)
def test_random_bytes_are_an_article_or_a_reject(data: bytes, tmp_path: Path) -> None:
    _never_internal_error(data, tmp_path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 18_000), st.integers(0, 200), st.binary(min_size=0, max_size=40)),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_real_seed_is_an_article_or_a_reject(edits: list[tuple[int, int, bytes]], tmp_path: Path) -> None:
    """Cut, insert and overwrite random spans of the real seed (headers, tags, multibyte characters)."""
    data = bytearray(GIVEN_SEED.read_bytes())
    for offset, cut, insert in edits:
        start = min(offset, len(data))
        data[start : start + cut] = insert
    _never_internal_error(bytes(data), tmp_path)
