"""The pure core: seed parsing, HTML normalisation, URL, date and language handling.

Nothing here writes files, touches the network or imports Prefect: every function takes the bytes or the
strings it works on and returns values (or raises `SeedRejected`). The only files read are the language
model's (py3langid's, or the uncompressed copy `python -m newslake.prepare` makes of it; py3langid's
own loader, used without that copy, streams its model through a temporary file).
"""

from newslake.core.errors import SeedRejected, Stage
from newslake.core.extract import extract_article
from newslake.core.model import Article, Heading, Image, Link, Paragraph
from newslake.core.seed import Seed, parse_seed

__all__ = [
    "Article",
    "Heading",
    "Image",
    "Link",
    "Paragraph",
    "Seed",
    "SeedRejected",
    "Stage",
    "extract_article",
    "parse_seed",
]
