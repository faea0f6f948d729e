"""Parsing HTML safely and reading the page-level metadata (language, author, date evidence).

The parser is hardened once here: no network, no entity expansion beyond HTML's own, libxml2's default
depth and size limits (no `huge_tree`).
"""

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from newslake.core._text import control_bytes, without_unread_bodies
from newslake.core._tree import HtmlParse, page_metadata
from newslake.core.content import PageMarks, class_words, contains
from newslake.core.dates import DateEvidence
from newslake.core.errors import SeedRejected, Stage
from newslake.core.model import DateSource
from newslake.core.text import C0_CONTROL_BYTES, normalise_text, text_of

# lxml parser objects must not be shared between threads (flow tasks run in a thread pool): one per thread.
_PARSERS = threading.local()
# C0 control characters are invalid in HTML text and make lxml stop: deleted from the UTF-8 bytes
# (bytes.translate runs in C, a tenth of the cost of a regex over the text) when `_text.control_bytes`
# finds any (a vectorised count: 11 us a corpus page where the copy cost 55).

# The <script> type of JSON-LD, compared as it is written (`_tree.page_metadata`).
_JSON_LD_TYPE = "application/ld+json"
# Date markup comes from the page pass too (`PageMarks.times`, `.published`), kept where it is inside the
# article region: the XPaths `.//time[@datetime or @pubdate or @itemprop='datePublished']` and
# `.//*[@itemprop='datePublished'][not(self::time)]` over the region cost 37 us a page, the XPath over every
# element of it, which the page pass reads anyway.
# Author markup comes from the page pass (`content.mark_page`, which reads every element's attributes once):
# as XPaths, `//*[@itemprop='author']//*[@itemprop='name'] | //*[@itemprop='author'][not(.//*[@itemprop=
# 'name'])] | //a[@rel='author']` and `//*[contains(@class, 'yline') or contains(@class, 'uthor') or ...]
# [not(.//p)]` cost 0.5 and 0.9 ms a page; tests/test_content.py checks the two give the same elements.


def itemprop_authors(marks: PageMarks, tree: HtmlElement) -> list[HtmlElement]:
    """Microdata author names still in `tree`, in document order: an author's `name`, an author without
    one, and `<a rel=author>`."""
    found = []
    for element in marks.authors:
        if not contains(tree, element):
            continue
        itemprop = element.get("itemprop")
        if (
            (itemprop == "name" and any(a.get("itemprop") == "author" for a in element.iterancestors()))
            or (itemprop == "author" and not any(d.get("itemprop") == "name" for d in element.iterdescendants()))
            or (element.tag == "a" and element.get("rel") == "author")
        ):
            found.append(element)
    return found


def byline_candidates(marks: PageMarks, tree: HtmlElement) -> list[HtmlElement]:
    """Elements still in `tree` whose class may name a byline and that hold no paragraph, in document order.
    Byline markup by class word ("byline", "author", "author-name") is told from these by `_is_byline`;
    "author-bio", a paragraph about them, is excluded by holding a <p>."""
    return [
        element
        for element in marks.bylines
        if contains(tree, element) and next(element.iterdescendants("p"), None) is None
    ]


def _is_byline(element: HtmlElement) -> bool:
    return not {"byline", "author"}.isdisjoint(class_words(element))


# "By Jane Doe", "作者：张三", "文/李四", "记者 王五": the label, then the name, up to a separator or a date.
_BYLINE_LABEL = re.compile(
    r"^(?:by|von|par|por|作者|作\s*者|文|记者|記者|撰文|编辑|編輯|责任编辑|責任編輯)\s*[:：/|]?\s*", re.IGNORECASE
)
_BYLINE_END = re.compile(
    r"\s*(?:[|｜,，;；(（\[【]|\d{4}|updated|published|posted|发表|發表|来源|來源).*$", re.IGNORECASE
)
# Bylines written in running text: "作者：芊草凡凡", "编辑：山石", "发布时间 … by duscha", "本贴由 大卫 于 …",
# "由海姑娘张贴". The name is one word (CJK names have no spaces). "by" not after a letter is written with the
# lookbehind after the word (`by(?<![A-Za-z]..)`), not before it: an assertion first is tried at every
# position of the page text, the letters first only where they occur (108 -> 82 us a corpus page). The three
# kinds are three patterns scanned apart (`leftmost_first`), not one alternation: the engine skips to a
# pattern's first characters only when it has one kind of them (131 -> 57-62 us a page text). The readable
# form, one alternation with the lookbehind first, is in tests/test_content.py, which checks both find the same.
_LABELLED_BYLINE = re.compile(r"(?:作者|作\s者|编辑|編輯|记者|記者|撰文|楼主|樓主)(?:\s*[:：]\s*|\s+)([\w&·]{2,20})")
_BY_BYLINE = re.compile(r"(?:by|By|BY)(?<![A-Za-z]..)\s+([\w&·]{2,20}(?:\s+[A-Z][a-z][\w'’-]*){0,2})")
_POSTED_BY = re.compile(r"由\s*([\w&·]{2,12}?)\s*(?:张贴|張貼|于|於|发表|發表)")
_WRITTEN_BYLINES = (_LABELLED_BYLINE, _BY_BYLINE, _POSTED_BY)
_WRITTEN_BYLINE_REACH = 4000
_CJK_ONLY = re.compile(r"^[\u3400-\u9fff]+$")
_CJK_NAME_MAX = 6
_AFTER_TIME = re.compile(r"\d\s*$")


def leftmost_first(patterns: tuple[re.Pattern[str], ...], text: str) -> Iterator[tuple[int, re.Match[str]]]:
    """What `re.compile("|".join(p.pattern for p in patterns)).finditer(text)` finds, as (which pattern, its
    match), each pattern scanned on its own: at the leftmost place where any matches, the first of those
    wins, and the scan goes on after its match. For patterns that match no empty string (an empty match
    would be passed over by one character, which finditer does not quite do)."""
    pending = [pattern.search(text) for pattern in patterns]
    at = 0
    while True:
        best: tuple[int, re.Match[str]] | None = None
        for index, pattern in enumerate(patterns):
            found = pending[index]
            if found is not None and found.start() < at:  # inside the last match: look again after it
                found = pending[index] = pattern.search(text, at)
            if found is not None and (best is None or found.start() < best[1].start()):
                best = (index, found)
        if best is None:
            return
        yield best
        at = max(best[1].end(), best[1].start() + 1)


def written_author(text: str, anchors: list[tuple[int, float]]) -> str | None:
    """The byline written nearest the title or the article (see `dates.text_date` for the anchors)."""
    best: tuple[float, str] | None = None
    for kind, match in leftmost_first(_WRITTEN_BYLINES, text):
        name = match.group(1)
        after_time = _AFTER_TIME.search(text[max(0, match.start() - 3) : match.start()]) is not None
        if (
            _WRITTEN_BYLINES[kind] is _BY_BYLINE
            and not after_time
            and (match.group(0)[:2] != "By" or not name[0].isupper())
        ):
            continue  # prose says "owned by Kirin": a byline is "By Jane Doe", or a forum's "22:36:13 by duscha"
        if not name or name.isdigit() or (_CJK_ONLY.match(name) and len(name) > _CJK_NAME_MAX):
            continue  # a number, or a run of CJK text longer than names are
        at = match.start()
        distance = min((abs(at - a) * weight for a, weight in anchors), default=float(at))
        if distance <= _WRITTEN_BYLINE_REACH and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best is not None else None


_BYLINE_MAX_CHARS = 60


def byline_name(text: str) -> str | None:
    """The name in a byline's text ("By Jane Doe | Reuters" -> "Jane Doe"); None when nothing name-like is left."""
    name = _BYLINE_END.sub("", _BYLINE_LABEL.sub("", text.strip())).strip(" :：-–—·")
    return name if 0 < len(name) <= _BYLINE_MAX_CHARS else None


# Meta names/properties that carry the publication time, most specific first; `modified`/`updated` ones are
# deliberately absent: the published date is kept, not the last edit.
_META_PUBLISHED = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "pubdate",
    "publication_date",
    "sailthru.date",
    "parsely-pub-date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "date",
    "og:pubdate",
)
_META_AUTHOR = ("author", "article:author", "dc.creator", "byl", "sailthru.author", "parsely-author")
_META_LANGUAGE = ("content-language", "language", "dc.language", "og:locale")


def _parser() -> lxml.html.HTMLParser:
    """This thread's lxml parser: the element classes lxml gives the core's trees (`_parse_context` hands it
    each tree), and the options the core's own parse does what lxml does with (`_tree.HtmlParse`; the tests
    hold the two parses' trees to each other)."""
    parser: lxml.html.HTMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        # No table of id attributes (`collect_ids`): nothing looks elements up by id, and hashing every id
        # cost 5% of the parse.
        parser = lxml.html.HTMLParser(
            encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True, huge_tree=False, collect_ids=False
        )
        # Every element an HtmlElement, chosen in C: lxml.html's own lookup calls Python for each element
        # proxy it makes (to give <form>/<input> their classes, which nothing here uses), ~1300 a page.
        parser.set_element_class_lookup(
            lxml.etree.ElementDefaultClassLookup(
                element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction
            )
        )
        _PARSERS.parser = parser
    return parser


def _parse_context() -> HtmlParse:
    """This thread's libxml2 parser context (`_tree.HtmlParse`), handing its trees to lxml with `_parser()`."""
    context: HtmlParse | None = getattr(_PARSERS, "context", None)
    if context is None:
        context = _PARSERS.context = HtmlParse(_parser())
    return context


def parse_html(html: str | bytes) -> HtmlElement:
    """Parse a fragment or a whole document (text, or UTF-8 bytes) into an `<html>` tree. Raises `SeedRejected`
    (parse stage). Its `<script>` elements but JSON-LD's and its `<style>` elements come without their text,
    and its `<svg>` elements (but those whose content could shape the tree around them) without their content:
    what is never read (`_text.without_unread_bodies`).

    The tree is lxml's `HTMLParser`'s with `_parser()`'s options, parsed by `_tree.HtmlParse` (the same libxml2,
    without lxml's second pass over the names: see there). libxml2 stops building the tree at depth 256
    (without `huge_tree`) and drops everything deeper without failing; that would lose text silently, so it
    is a reject (`too_deep`) instead.
    """
    data = html if isinstance(html, bytes) else html.encode("utf-8", "replace")  # bytes: UTF-8
    cleaned = data.translate(None, C0_CONTROL_BYTES) if control_bytes(data, len(data)) else data
    if not cleaned or cleaned.isspace():  # `strip()` would copy the page to find out
        raise SeedRejected(Stage.PARSE, "no_body", "the HTML body is empty")
    tree, limited = _parse_context().parse(without_unread_bodies(cleaned))
    if tree is None:
        raise SeedRejected(Stage.PARSE, "unparseable_html", "libxml2 made no element of the HTML")
    if limited:
        raise SeedRejected(Stage.PARSE, "too_deep", "the HTML exceeds the parser's limits (it nests too deeply)")
    return tree


# The page's <meta>, JSON-LD <script>, <base> and <title> are read in one pass in C (`_tree.page_metadata`):
# `Element.iter(*tags)` made a proxy for each (~30 metas and ~25 scripts a page) and `get` read their
# attributes one call each (49 us a page, warm); four XPaths before it walked the tree four times. The rules
# (which attribute names a meta, which content counts) stay here.


def _meta_map(metas: list[tuple[str | None, str | None, str | None, str | None, str]]) -> dict[str, str]:
    """Lower-cased meta property/name/http-equiv/itemprop -> first non-empty content."""
    out: dict[str, str] = {}
    for prop, name, equiv, itemprop, raw_content in metas:
        key = prop or name or equiv or itemprop or ""
        content = raw_content.strip()
        if key and content:
            out.setdefault(key.strip().lower(), content)
    return out


def _json_ld_objects(texts: list[str | None]) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD blocks (their texts), flattening lists and `@graph`."""
    for text in texts:
        try:
            data = json.loads(text or "")
        except ValueError:
            continue  # broken JSON-LD is common; it is evidence we do not have, not an error of the seed
        stack: list[Any] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                if "@graph" in item:
                    stack.append(item["@graph"])


def _json_ld_author(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        names = [name for name in map(_json_ld_author, value) if name]
        return ", ".join(names) or None
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) else None
    return None


class PageMeta:
    """Page-level metadata read once from the whole tree, before the content root is chosen and pruned."""

    def __init__(self, tree: HtmlElement) -> None:
        metas, json_ld, base_hrefs, title = page_metadata(tree, _JSON_LD_TYPE)
        self.meta = _meta_map(metas)
        self.json_ld = list(_json_ld_objects(json_ld))
        # What `/html/@lang` selects, read off the root: the XPath cost ~20 us a page (its context alone).
        root = tree.getroottree().getroot()
        self.declared_language: str | None = root.get("lang") if root.tag == "html" else None
        if not self.declared_language:
            self.declared_language = next((self.meta[k] for k in _META_LANGUAGE if k in self.meta), None)
        self.base_href: str | None = next((href for href in base_hrefs if href is not None), None)
        self.page_title = normalise_text(self.meta.get("og:title", "") or title or "")

    def stated_author(self) -> str | None:
        """The author the meta tags or JSON-LD state."""
        for key in _META_AUTHOR:
            value = self.meta.get(key, "")
            if value and not value.lower().startswith(("http://", "https://")):
                return normalise_text(value)
        for obj in self.json_ld:
            name = _json_ld_author(obj.get("author"))
            if name:
                return normalise_text(name)
        return None

    def author(self, tree: HtmlElement, marks: PageMarks) -> str | None:
        """The stated author, else byline markup in `tree` (call it once the chrome is out: comment forms and
        teaser cards carry "author" markup too)."""
        stated = self.stated_author()
        if stated is not None:
            return stated
        for element in itemprop_authors(marks, tree):
            text = normalise_text(text_of(element))
            if 0 < len(text) <= 100:
                return text
        for element in filter(_is_byline, byline_candidates(marks, tree)):
            name = byline_name(normalise_text(text_of(element)))
            if name:
                return name
        return None

    def has_structured_date(self) -> bool:
        """Whether meta tags or JSON-LD state a publication date (then the text is not searched)."""
        return any(key in self.meta for key in _META_PUBLISHED) or any(
            isinstance(obj.get("datePublished"), str | int) for obj in self.json_ld
        )

    def date_evidence(self, content: HtmlElement, marks: PageMarks) -> list[DateEvidence]:
        """Candidate publication dates in the order they are trusted: `<time>` and itemprop=datePublished
        inside `content` (the page pass's, `marks`, which chrome left), then meta, then JSON-LD."""
        evidence = [
            DateEvidence(DateSource.TIME_ELEMENT, time.get("datetime") or "", normalise_text(text_of(time)))
            for time in marks.times
            if time is not content and contains(content, time) and time.get("itemprop") != "dateModified"
        ]
        evidence += [
            DateEvidence(DateSource.TIME_ELEMENT, element.get("content") or "", normalise_text(text_of(element)))
            for element in marks.published
            if element is not content and contains(content, element)
        ]
        evidence += [DateEvidence(DateSource.META, self.meta[key]) for key in _META_PUBLISHED if key in self.meta]
        evidence += [
            DateEvidence(DateSource.JSON_LD, str(obj["datePublished"]))
            for obj in self.json_ld
            if isinstance(obj.get("datePublished"), str | int)
        ]
        return evidence
