"""`make query`: a first look at the lake with DuckDB (articles per day, image credits, linked domains)."""

import argparse
import sys
from pathlib import Path

import duckdb

from schemas.tables import TABLES

# (title, table it reads, SQL)
QUERIES = (
    (
        "articles per day",
        "articles",
        """
        SELECT publication_date, count(*) AS articles, sum(paragraph_count) AS paragraphs
        FROM articles GROUP BY ALL ORDER BY publication_date DESC LIMIT 20""",
    ),
    (
        "top image credits",
        "images",
        """
        SELECT credit, count(*) AS images FROM images WHERE credit IS NOT NULL
        GROUP BY ALL ORDER BY images DESC, credit LIMIT 10""",
    ),
    (
        "most linked domains",
        "links",
        """
        SELECT domain, count(*) AS links, bool_or(is_internal) AS internal FROM links
        GROUP BY ALL ORDER BY links DESC, domain LIMIT 10""",
    ),
    (
        "rejects by reason",
        "rejects",
        """
        SELECT stage, reason, count(*) AS seeds FROM rejects GROUP BY ALL ORDER BY seeds DESC LIMIT 10""",
    ),
)


def table_glob(data: Path, table: str) -> str:
    return (data / table / "**" / "*.parquet").as_posix()


def connect(data: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per lake table that has files (a table without rows has none)."""
    con = duckdb.connect()
    for table in TABLES:
        if any((data / table).glob("*/*.parquet")):
            # DDL takes no prepared parameters: the path goes in as an escaped SQL string literal.
            path = table_glob(data, table).replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}', hive_partitioning=true)")
    return con


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newslake.query", description=__doc__)
    parser.add_argument("--data", default="data")
    data = Path(parser.parse_args(argv).data)
    con = connect(data)
    views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    if "articles" not in views:
        print(f"query: no articles under {data}: run `make run` first", file=sys.stderr)
        return 2
    for title, table, sql in QUERIES:
        print(f"\n== {title}")
        if table not in views:
            print("(no rows)")
            continue
        con.sql(sql).show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
