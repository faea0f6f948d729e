"""Golden rows of the given seed (BBC Chinese, 2022-01-13), read with DuckDB from the output of `make run`.

One test per fact, so a regression names what broke.
"""

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from newslake.query import connect
from tests.conftest import GIVEN_SEED, REPO

pytestmark = pytest.mark.slow

URL = "https://www.bbc.com/zhongwen/simp/world-59967065"


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`make run` on a directory holding only the given seed; returns (DATA, combined output)."""
    seeds = tmp_path_factory.mktemp("seeds")
    (seeds / GIVEN_SEED.name).write_bytes(GIVEN_SEED.read_bytes())
    data = tmp_path_factory.mktemp("data")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect_home"))}
    done = subprocess.run(
        ["make", "--no-print-directory", "run", f"SEEDS={seeds}", f"DATA={data}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return data, output


@pytest.fixture(scope="module")
def con(make_run: tuple[Path, str]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(make_run[0])
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def test_run_is_clean(make_run: tuple[Path, str]) -> None:
    output = make_run[1]
    assert "Traceback" not in output
    assert "telemetry" not in output.lower()
    assert "1 seeds (new 1, changed 0, unchanged 0, missing 0); processed 1: 1 articles, 0 rejected" in output


def test_one_article_with_its_header_fields(con: duckdb.DuckDBPyConnection) -> None:
    assert rows(con, "SELECT url, title, language, publication_date, crawled_at, published_at FROM articles") == [
        (
            URL,
            "哈萨克斯坦骚乱：俄罗斯战略后院和中国一带一路重要伙伴",
            "zh-Hans",
            date(2022, 1, 13),
            datetime(2022, 1, 13, 13, 13, 3, tzinfo=UTC),
            datetime(2022, 1, 13, 12, 27, 3, tzinfo=UTC),
        )
    ]


def test_article_id_and_counts(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        con,
        "SELECT article_id, domain, date_source, paragraph_count, heading_count, image_count, link_count FROM articles",
    )
    assert got == [("9842efb5d595c3c2", "www.bbc.com", "time_element", 40, 5, 5, 4)]


def test_paragraphs_first_is_the_lead_and_last(con: duckdb.DuckDBPyConnection) -> None:
    texts = rows(con, "SELECT text, is_lead FROM paragraphs ORDER BY position")
    assert len(texts) == 40
    assert texts[0][0].startswith("中亚内陆国家哈萨克斯坦被称为") and texts[0][1] is True
    assert texts[-1][0].startswith("另外，中国在哈萨克斯坦投资的")
    assert sum(lead for _, lead in texts) == 1
    assert rows(con, "SELECT lead FROM articles")[0][0] == texts[0][0]


def test_headings(con: duckdb.DuckDBPyConnection) -> None:
    assert rows(con, "SELECT level, text, anchor FROM headings ORDER BY position") == [
        (2, "哈萨克斯坦骚乱：发生了什么？", "哈萨克斯坦骚乱发生了什么"),
        (2, "俄罗斯 “受邀”干预", "俄罗斯-受邀干预"),
        (2, "集安组织是什么？", "集安组织是什么"),
        (2, "中国一带一路首倡国", "中国一带一路首倡国"),
        (2, "中俄哈三角关系", "中俄哈三角关系"),
    ]


def test_images_credits_sizes_and_sources(con: duckdb.DuckDBPyConnection) -> None:
    images = rows(con, "SELECT src, credit, width, height, caption FROM images ORDER BY position")
    assert len(images) == 5
    assert all(src.startswith("https://ichef.bbci.co.uk/news/") for src, *_ in images)
    assert [credit for _, credit, *_ in images] == [
        "Reuters", None, "Russian Defence Ministry", None, "Xinhua News Agency",
    ]  # fmt: skip
    assert [(w, h) for _, _, w, h, _ in images] == [(976, 549)] * 3 + [(1280, 1058), (976, 549)]
    assert [caption is not None for *_, caption in images] == [True, True, True, False, True]
    assert images[0][4] == "装甲车被部署到阿拉木图街头"


def test_four_of_five_images_only_inside_noscript(con: duckdb.DuckDBPyConnection) -> None:
    html = GIVEN_SEED.read_text(encoding="utf-8")
    srcs = [row[0] for row in rows(con, "SELECT src FROM images ORDER BY position")]
    # The file name of each picture appears outside <noscript> only for the first one.
    outside = html.split("<noscript>")[0]
    assert [src.rsplit("/", 1)[1] in outside for src in srcs] == [True, False, False, False, False]


def test_no_paragraph_holds_a_caption_or_credit(con: duckdb.DuckDBPyConnection) -> None:
    leaked = rows(
        con,
        """SELECT count(*) FROM paragraphs p JOIN images i USING (article_id)
           WHERE p.text = i.caption OR p.text LIKE '%' || i.credit || '%' OR p.text LIKE '图像来源%'""",
    )
    assert leaked == [(0,)]


def test_links_are_the_related_list(con: duckdb.DuckDBPyConnection) -> None:
    links = rows(con, "SELECT href, is_internal, context, domain FROM links ORDER BY href")
    assert len(links) == 4
    assert all(internal and context == "list" and domain == "www.bbc.com" for _, internal, context, domain in links)


def test_fifty_positions_starting_with_the_first_image(con: duckdb.DuckDBPyConnection) -> None:
    union = rows(
        con,
        """SELECT position, kind FROM (
             SELECT position, 'paragraph' AS kind FROM paragraphs UNION ALL
             SELECT position, 'heading' FROM headings UNION ALL
             SELECT position, 'image' FROM images) ORDER BY position""",
    )
    assert len({p for p, _ in union}) == len(union) == 50
    assert union[0][1] == "image"


@pytest.mark.parametrize("table", ["articles", "paragraphs", "headings", "images", "links"])
def test_every_table_in_the_one_partition(make_run: tuple[Path, str], table: str) -> None:
    data = make_run[0]
    assert [p.name for p in (data / table).iterdir()] == ["publication_date=2022-01-13"]
    con = duckdb.connect()
    typed = con.execute(
        "SELECT DISTINCT typeof(publication_date), publication_date FROM read_parquet(?, hive_partitioning=true)",
        [str(data / table / "**" / "*.parquet")],
    ).fetchall()
    assert typed == [("DATE", date(2022, 1, 13))]
