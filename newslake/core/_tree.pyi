"""Types of the compiled passes in `_tree.pyx` (mypy reads this; the module is built by `uv sync`)."""

from collections.abc import Callable, Iterable

from lxml.html import HtmlElement

BUILT_AGAINST_LXML: str  # the lxml version the module was compiled against

_Marks = tuple[
    list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement],
    list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement], list[HtmlElement],
]  # fmt: skip

def page_marks(
    root: HtmlElement,
    region_tags: Iterable[str],
    marking_attributes: Iterable[str],
    author_itemprops: frozenset[str],
    verdicts: dict[tuple[str, str], tuple[bool, bool]],
    judge: Callable[[tuple[str, str]], tuple[bool, bool]],
    hides: Callable[[str], object],
) -> _Marks: ...

class TextTally:
    @property
    def blocks(self) -> list[tuple[HtmlElement, int, int, tuple[HtmlElement, ...]]]: ...
    def chars(self, element: HtmlElement) -> int: ...
    def link_chars(self, element: HtmlElement) -> int: ...

def text_tally(root: HtmlElement, block_tags: frozenset[str], commas: str, min_chars: int) -> TextTally: ...
def text_content(element: HtmlElement) -> str: ...
def links_in(element: HtmlElement) -> list[tuple[str, str]]: ...
def joined_text(element: HtmlElement, separator: str) -> str: ...
def text_length(element: HtmlElement) -> int: ...
