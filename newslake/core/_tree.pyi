"""Types of the compiled passes in `_tree.pyx` (mypy reads this; the module is built by `uv sync`)."""

from collections.abc import Callable, Iterable
from typing import Any

from lxml.html import HtmlElement

from newslake.core._links import AnchorRows
from newslake.core.model import Heading, Image, Paragraph

BUILT_AGAINST_LXML: str  # the lxml version the module was compiled against

class HtmlParse:
    def __init__(self, lxml_parser: Any) -> None: ...
    def parse(self, html: bytes) -> tuple[HtmlElement | None, bool]: ...

def names_in_dictionary(root: HtmlElement) -> bool: ...

_Marks = tuple[
    list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement],
    list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement],
    list[HtmlElement], list[HtmlElement],
]  # fmt: skip

def page_marks(
    root: HtmlElement,
    region_tags: Iterable[str],
    marking_attributes: Iterable[str],
    author_itemprops: frozenset[str],
    verdicts: dict[bytes, tuple[bool, bool]],
    judge: Callable[[bytes], tuple[bool, bool]],
    hides: Callable[[str], object],
) -> _Marks: ...

class ClassVerdicts:
    def __init__(
        self,
        verdicts: dict[bytes, tuple[bool, bool]],
        limit: int,
        words: Iterable[str],
        names: Iterable[str],
        byline_parts: Iterable[str],
        general: Callable[[str, str], tuple[bool, bool]],
    ) -> None: ...
    def __call__(self, key: bytes) -> tuple[bool, bool]: ...
    def judge(self, key: bytes) -> tuple[bool, bool]: ...

class TextTally:
    @property
    def scores(self) -> dict[HtmlElement, float]: ...
    def chars(self, element: HtmlElement) -> int: ...
    def link_chars(self, element: HtmlElement) -> int: ...

class ScoreRules:
    def __init__(
        self,
        *,
        skipped: frozenset[str],
        parents_only: frozenset[str],
        unscored: frozenset[str],
        tag_weights: dict[str, int],
        class_weight: Callable[[str, str], int],
        kept_most: int,
    ) -> None: ...

def scored_tally(
    root: HtmlElement, block_tags: frozenset[str], commas: str, min_chars: int, rules: ScoreRules
) -> TextTally: ...
def text_content(element: HtmlElement) -> str: ...
def links_in(element: HtmlElement) -> list[tuple[str, str]]: ...
def joined_text(element: HtmlElement, separator: str) -> str: ...
def last_texts(element: HtmlElement, count: int) -> list[str]: ...
def text_length(element: HtmlElement) -> int: ...
def is_within(inner: HtmlElement, outer: HtmlElement) -> bool: ...
def prune(root: HtmlElement, names: Iterable[str]) -> None: ...

_Meta = tuple[str | None, str | None, str | None, str | None, str]

def page_metadata(
    root: HtmlElement, json_ld_type: str
) -> tuple[list[_Meta], list[str | None], list[str | None], str | None]: ...

class NodeSet:
    def __len__(self) -> int: ...
    def add(self, element: HtmlElement) -> None: ...
    def covers(self, element: HtmlElement) -> bool: ...

_Handler = Callable[[Any, HtmlElement], None]  # (the walker, an element): `extract`'s image, list, gallery

class WalkRules:
    def __init__(
        self,
        *,
        drop: Iterable[str],
        headings: Iterable[str],
        images: Iterable[str],
        lists: Iterable[str],
        paragraphs: Iterable[str],
        blocks: Iterable[str],
        block_descendants: Iterable[str],
        word_flags: Callable[[str, str], int],
        metadata_max_chars: int,
        gallery_max_chars: int,
        link_block_share: float,
        normalise: Callable[[str], str],
        paragraph_row: Callable[[int, str | None, str, bool], Any],
        heading_row: Callable[[int, int, str, str | None], Any],
        contexts: tuple[Any, Any, Any, Any],
        handle_image: _Handler,
        handle_list: _Handler,
        handle_gallery: _Handler,
        is_figure_group: Callable[[HtmlElement], bool],
        is_lead: Callable[[HtmlElement, str], bool],
        is_dateline: Callable[[HtmlElement, str], bool],
        paragraph_images: _Handler,
        word_verdicts_max: int,
    ) -> None: ...

class BlockWalker:
    paragraphs: list[Paragraph]
    headings: list[Heading]
    images: list[Image]
    seen_image_srcs: set[str]
    position: int
    section: str | None
    base_url: str
    page_url: str
    site: str
    links: AnchorRows
    def __init__(
        self, root: HtmlElement, rules: WalkRules, base_url: str, page_url: str, site: str, links: AnchorRows
    ) -> None: ...
    def has_blocks(self, element: HtmlElement) -> bool: ...
    def has_img(self, element: HtmlElement) -> bool: ...
    def has_time(self, element: HtmlElement) -> bool: ...
    def next_position(self) -> int: ...
    def add_paragraph(self, position: int, text: str, *, is_lead: bool) -> None: ...
    def add_links(self, element: HtmlElement, position: int | None, context: Any) -> None: ...
    def add_anchors(self, anchors: list[tuple[str, str]], position: int | None, context: Any) -> None: ...
    def lead_allowed(self) -> bool: ...
    def walk(self, element: HtmlElement, *, is_root: bool = False) -> None: ...
    def walk_children(self, element: HtmlElement) -> None: ...

WORDS_METADATA: int  # `WalkRules.word_flags` bits
WORDS_GALLERY: int

class ChromeRules:
    def __init__(
        self,
        *,
        region_kinds: dict[str, Any],
        never: Iterable[str],
        role_kinds: dict[str, Any],
        class_kind: Callable[[str, str], Any],
        hiding_classes: Callable[[str], bool],
        hides: Callable[[str], object],
        ad_label: Callable[[str], bool],
        most_share: float,
        kept_most: int,
    ) -> None: ...

def take_chrome(
    page: HtmlElement, candidates: list[HtmlElement], article_bodies: list[HtmlElement], rules: ChromeRules
) -> list[tuple[Any, HtmlElement]]: ...
def detach(element: HtmlElement) -> None: ...
