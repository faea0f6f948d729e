"""Typed rejection: every seed that does not become an article raises this, with a reason code."""

from enum import StrEnum


class Stage(StrEnum):
    """The pipeline stage that rejected a seed (the `rejects.stage` column)."""

    READ = "read"
    DECODE = "decode"
    HEADER = "header"
    PARSE = "parse"
    EXTRACT = "extract"
    VALIDATE = "validate"


class SeedRejected(Exception):
    """A seed that cannot become an article.

    `reason` is a short machine-readable code (`empty_file`, `no_url`, ...); `detail` is a sentence a person
    understands. Both end up in the `rejects` table.
    """

    def __init__(self, stage: Stage, reason: str, detail: str) -> None:
        super().__init__(f"{stage}/{reason}: {detail}")
        self.stage = stage
        self.reason = reason
        self.detail = detail
