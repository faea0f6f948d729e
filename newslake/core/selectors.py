"""Compiled XPath selectors with precise types.

`lxml.etree.XPath` returns "any XPath value"; these wrappers say what the expression selects (elements or
strings) so that callers are type-checked, and they drop anything else an expression might yield.
"""

from collections.abc import Mapping

import lxml.etree
from lxml.html import HtmlElement

_EXSLT = {"re": "http://exslt.org/regular-expressions"}


class Selector:
    """A compiled XPath that selects elements."""

    def __init__(self, xpath: str, namespaces: Mapping[str, str] | None = None) -> None:
        self.xpath = xpath
        self._compiled = lxml.etree.XPath(xpath, namespaces=dict(namespaces or _EXSLT))

    def __call__(self, node: HtmlElement) -> list[HtmlElement]:
        result = self._compiled(node)
        return [item for item in result if isinstance(item, HtmlElement)] if isinstance(result, list) else []

    def __repr__(self) -> str:
        return f"Selector({self.xpath!r})"


class StringSelector(Selector):
    """A compiled XPath that selects attribute values or text."""

    def strings(self, node: HtmlElement) -> list[str]:
        result = self._compiled(node)
        return [str(item) for item in result if isinstance(item, str)] if isinstance(result, list) else []
