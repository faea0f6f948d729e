"""Validation of one batch of tables: every model eagerly with `lazy=True`, then the checks across tables.

An article that fails any check is removed from every table and reported, with the failed checks as its
reason, so that the caller can turn it into a reject; the rest of the batch goes on.
"""

import re
from collections import defaultdict
from dataclasses import dataclass

import pandera.errors
import polars as pl

from schemas.tables import COUNT_COLUMNS, ELEMENT_TABLES, TABLES

_CHECK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


class ContractError(RuntimeError):
    """A table does not have the declared columns or types: a bug in the pipeline, not in a seed."""


@dataclass(frozen=True)
class Failure:
    article_id: str
    check: str  # `table.column.check`, e.g. `articles.url.str_matches`
    detail: str


@dataclass(frozen=True)
class ValidatedBatch:
    tables: dict[str, pl.DataFrame]  # the articles that passed, with their element rows
    failures: dict[str, list[Failure]]  # article_id -> what failed


def _check_id(table: str, column: str | None, check: str | None) -> str:
    name_match = _CHECK_NAME.match(check or "")
    name = name_match.group(0) if name_match else "check"
    return f"{table}.{column or 'table'}.{name}".lower()


def _schema_failures(table: str, frame: pl.DataFrame) -> list[Failure]:
    try:
        TABLES[table].validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    structural = cases.filter(pl.col("index").is_null())
    if structural.height:
        raise ContractError(f"table {table} breaks its declared schema: {structural.to_dicts()}")
    ids = frame["article_id"]
    failures = []
    for row in cases.iter_rows(named=True):
        # Checks of the whole frame report the model's name as their column.
        column = None if row["schema_context"] == "DataFrameSchema" else row["column"]
        failures.append(
            Failure(
                article_id=ids[int(row["index"])],
                check=_check_id(table, column, row["check"]),
                detail=f"{table}.{column or 'row'} failed {row['check']} with {str(row['failure_case'])[:200]!r}",
            )
        )
    return failures


def _cross_table_failures(tables: dict[str, pl.DataFrame]) -> list[Failure]:
    """Counts in `articles` equal the child rows; every child row has its article."""
    articles = tables["articles"]
    failures: list[Failure] = []
    for table in ELEMENT_TABLES:
        child = tables[table]
        counts = child.group_by("article_id").len("actual")
        compared = articles.select("article_id", pl.col(COUNT_COLUMNS[table]).alias("declared")).join(
            counts, on="article_id", how="left"
        )
        bad = compared.filter(pl.col("declared") != pl.col("actual").fill_null(0))
        failures += [
            Failure(
                row["article_id"],
                f"articles.{COUNT_COLUMNS[table]}.count_matches_{table}",
                f"articles.{COUNT_COLUMNS[table]} is {row['declared']} but {table} has {row['actual'] or 0} rows",
            )
            for row in bad.iter_rows(named=True)
        ]
        orphans = child.join(articles, on="article_id", how="anti")["article_id"].unique()
        failures += [
            Failure(orphan, f"{table}.article_id.has_article", f"{table} rows without an article row")
            for orphan in orphans
        ]
    return failures


def validate_batch(tables: dict[str, pl.DataFrame]) -> ValidatedBatch:
    """Validate the article tables of one batch; drop (and report) every article that fails a check."""
    failures: list[Failure] = []
    for table in ("articles", *ELEMENT_TABLES):
        failures += _schema_failures(table, tables[table])
    failures += _cross_table_failures(tables)
    by_article: dict[str, list[Failure]] = defaultdict(list)
    for failure in failures:
        by_article[failure.article_id].append(failure)
    if not by_article:
        return ValidatedBatch(tables, {})
    bad_ids = pl.Series("article_id", list(by_article), dtype=pl.String)
    kept = {
        name: frame.filter(~pl.col("article_id").is_in(bad_ids.implode())) if name != "rejects" else frame
        for name, frame in tables.items()
    }
    return ValidatedBatch(kept, dict(by_article))


def validate_rejects(frame: pl.DataFrame) -> pl.DataFrame:
    """Rejects must always be writable: a failure here is a pipeline bug and raises `ContractError`."""
    try:
        return TABLES["rejects"].validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        raise ContractError(f"rejects table breaks its schema: {exc.failure_cases.to_dicts()}") from exc
