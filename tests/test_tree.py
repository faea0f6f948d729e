"""The compiled passes (`newslake.core._tree`) against oracles written with lxml's Python API.

The oracles are the passes as they were in Python before they were compiled: what an element's text, tail,
tag and attributes are comes from lxml here, so a difference in how the C code reads libxml2's nodes (text
nodes side by side, whitespace stripped as `str.strip`, entities, CJK and astral characters, bare
attributes) fails these tests. (The HTML parser makes no namespaced or repeated attributes, so the C code's
handling of those, which follows lxml's `get`, cannot be reached through a page.)
"""

from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any

import lxml.etree
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml.html import HtmlElement

from newslake.core import content, extract
from newslake.core._tree import (
    HtmlParse,
    NodeSet,
    ScoreRules,
    is_within,
    joined_text,
    last_texts,
    links_in,
    names_in_dictionary,
    page_marks,
    page_metadata,
    prune,
    scored_tally,
    text_content,
    text_length,
)
from newslake.core.content import PageMarks, mark_page
from newslake.core.html import _parser, parse_html
from newslake.core.model import DateSource, Heading, Image, Link, LinkContext, Paragraph
from newslake.core.selectors import Selector
from newslake.core.tags import BLOCK_TAGS, DROP_TAGS, HEADING_TAGS, IMAGE_TAGS, LIST_TAGS, PARAGRAPH_TAGS
from newslake.core.text import normalise_text
from newslake.core.urls import anchor_rows

# --- oracles ----------------------------------------------------------------------------------------------


def oracle_marks(tree: HtmlElement) -> PageMarks:
    marks = PageMarks()
    for element in tree.iter():
        tag = element.tag
        if tag in content._REGION_TAGS:
            marks.regions.append(element)
        elif tag == "article":
            marks.articles.append(element)
        elif tag == "main":
            marks.mains.append(element)
        keys = element.keys()
        if not keys:
            continue
        itemprop = element.get("itemprop")
        if itemprop == "articleBody":
            marks.article_bodies.append(element)
        if itemprop == "articleBody" or content._MARKING_ATTRIBUTES & set(keys):
            marks.marked.append(element)
            if element.get("role") == "main":
                marks.main_roles.append(element)
        if itemprop in content._AUTHOR_ITEMPROPS or (tag == "a" and element.get("rel") == "author"):
            marks.authors.append(element)
        if "class" in keys or "id" in keys:
            names_chrome, may_be_byline = content.class_verdict(element.get("class") or "", element.get("id") or "")
            if names_chrome:
                marks.classed.append(element)
            if may_be_byline:
                marks.bylines.append(element)
        if "style" in keys and content._HIDDEN_STYLE.search((element.get("style") or "").lower()):
            marks.styled.append(element)
        if tag == "time" and ("datetime" in keys or "pubdate" in keys or itemprop == "datePublished"):
            marks.times.append(element)
        elif tag != "time" and itemprop == "datePublished":
            marks.published.append(element)
    return marks


class OracleTally:
    """Each block's own text pieces, through lxml's `.text` and `.tail`, as the scoring pass read them."""

    def __init__(self, root: HtmlElement) -> None:
        self.pieces: dict[HtmlElement, list[str]] = defaultdict(list)
        self.own_link_chars: dict[HtmlElement, int] = defaultdict(int)
        self.ancestry: dict[HtmlElement, tuple[HtmlElement, ...]] = {root: ()}
        if root.text:
            self.pieces[root].append(root.text)
        self._visit(root, root, False, ())

    def _visit(self, element: HtmlElement, owner: HtmlElement, in_link: bool, above: tuple[HtmlElement, ...]) -> None:
        inner = (element, *above)
        for child in element:
            if not isinstance(child.tag, str):
                continue
            child_owner = child if child.tag in BLOCK_TAGS else owner
            if child_owner is child:
                self.ancestry[child] = inner
            child_link = in_link or child.tag == "a"
            if child.text:
                self.pieces[child_owner].append(child.text)
                if child_link:
                    self.own_link_chars[child_owner] += len(child.text.strip())
            self._visit(child, child_owner, child_link, inner)
            if child.tail:
                self.pieces[owner].append(child.tail)
                if in_link:
                    self.own_link_chars[owner] += len(child.tail.strip())

    def blocks(self, min_chars: int) -> list[tuple[HtmlElement, int, int, tuple[HtmlElement, ...]]]:
        found = []
        for block, texts in self.pieces.items():
            chars = sum(len(t.strip()) for t in texts)
            if chars and chars >= min_chars:
                commas = sum("".join(texts).count(c) for c in content._COMMAS)
                found.append((block, chars, commas, self.ancestry[block][:3]))
        return found

    def totals(self) -> tuple[dict[HtmlElement, int], dict[HtmlElement, int]]:
        chars: dict[HtmlElement, int] = defaultdict(int)
        link_chars: dict[HtmlElement, int] = defaultdict(int)
        for block, texts in self.pieces.items():
            block_chars = sum(len(t.strip()) for t in texts)
            if not block_chars:
                continue
            for element in (block, *self.ancestry[block]):
                chars[element] += block_chars
                link_chars[element] += self.own_link_chars.get(block, 0)
        return chars, link_chars


def oracle_scores(root: HtmlElement, min_chars: int) -> dict[HtmlElement, float]:
    """`content.score`'s crediting loop as it was written in Python, over the oracle's tally."""
    oracle = OracleTally(root)
    chars, link_chars = oracle.totals()
    raw: dict[HtmlElement, float] = defaultdict(float)
    for block, block_chars, commas, ancestors in oracle.blocks(min_chars):
        if block.tag in HEADING_TAGS:
            continue
        points = 1 + commas + min(block_chars // 100, 3)
        credited = ancestors if block.tag in PARAGRAPH_TAGS else (block, *ancestors)
        for level, ancestor in enumerate(credited[:3]):
            raw[ancestor] += points / (1, 2, 3)[level]
    scores = {}
    for element, total in raw.items():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in ("html", "body"):
            continue
        words = content.class_words(element)
        weight = 25 * (bool(words & content._POSITIVE_WORDS) - bool(words & content._NEGATIVE_WORDS))
        initial = content._TAG_WEIGHT.get(tag, 0) + weight
        density = link_chars.get(element, 0) / chars[element] if chars.get(element) else 0.0
        scores[element] = (initial + total) * (1 - density)
    return scores


# --- pages ------------------------------------------------------------------------------------------------
_TAGS = st.sampled_from(
    ["div", "p", "span", "a", "b", "li", "ul", "h2", "section", "nav", "aside", "footer", "article", "main", "td",
     "figcaption", "em", "table", "time", "small", "cite", "img"]
)  # fmt: skip
_ATTRIBUTES = st.sampled_from(
    ["", ' class="story-body"', ' href="/a"', ' href=""', ' href="x&amp;y"',
     ' class="sidebar"', ' id="comments"', ' class="byline x"', ' class="d-none"',
     ' id="main" class="nav"', ' role="main"', ' role="navigation"', ' itemprop="articleBody"', ' itemprop="author"',
     ' itemprop="name"', ' rel="author"', " hidden", ' aria-hidden="true"', ' data-e2e="advertisement"',
     ' style="display: NONE"', ' style="color:red"', ' style="Visibility : HIDDEN"', ' style="border:none"',
     ' style="display:\u3000none"', ' style="visibility:hidde"', ' class="a" class="sidebar"', ' class=""',
     ' xml:lang="en"',
     ' class="&#x4E2D;&amp;nav"', ' itemprop="datePublished"', ' datetime="2020-01-02"', " pubdate",
     ' itemprop="dateModified" datetime="2020-01-03"', ' class="image-Credit"', ' itemprop="copyrightHolder"']
)  # fmt: skip
# Whitespace of every kind str.strip() strips (no-break, ideographic, separators, control separators), commas
# of each kind counted, CJK text, entities that become characters.
_TEXT = st.lists(
    st.sampled_from(
        ["word", " ", "\n", "\t", "\u00a0", "\u3000", "\u2028", "\u200b", "\x1c", "，", "、", ";", "；", ",", "中文",
         "é", "&amp;", "&nbsp;", "&#12288;", "<!-- c -->", "🙂",
         "<script>s</script>", "<br>", "<br/>x"]
    ),
    max_size=6,
).map("".join)  # fmt: skip


@st.composite
def _markup(
    draw: st.DrawFn,
    depth: int = 0,
    tags: st.SearchStrategy[str] = _TAGS,
    attributes_of: st.SearchStrategy[str] = _ATTRIBUTES,
) -> str:
    tag, attributes = draw(tags), draw(attributes_of)
    children = draw(st.lists(_markup(depth + 1, tags, attributes_of), max_size=3)) if depth < 4 else []
    inside = draw(_TEXT) + "".join(child + draw(_TEXT) for child in children)
    return f"<{tag}{attributes}>{inside}</{tag}>{draw(_TEXT)}"


def _page(blocks: list[str]) -> HtmlElement:
    return parse_html(f"<html><body>{''.join(blocks)}</body></html>")


def assert_parsed_as_lxml_parses(html: bytes) -> None:
    """`_tree.HtmlParse` gives the tree lxml's `HTMLParser` with `html._parser()`'s options gives (the same
    serialisation, doctype and limit errors), its names all in the document's dictionary."""
    parser = _parser()
    mine, limited = HtmlParse(parser).parse(html)
    try:
        theirs = lxml.html.document_fromstring(html, parser=parser)
    except lxml.etree.ParserError:
        assert mine is None  # "Document is empty": no element at all
        return
    assert mine is not None
    assert lxml.etree.tostring(mine.getroottree()) == lxml.etree.tostring(theirs.getroottree())
    doctypes = [tree.getroottree().docinfo.public_id for tree in (mine, theirs)]  # the default one too
    assert doctypes[0] == doctypes[1]
    assert type(mine) is type(theirs) is HtmlElement
    assert mine.xpath("id('i')") == theirs.xpath("id('i')") == []  # no table of ids (`collect_ids=False`)
    assert limited == any(e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log)
    assert names_in_dictionary(mine)


# Pieces of markup lxml's parser options change the tree of: comments, processing instructions, CDATA and
# the raw text of <noscript>, <textarea> and the like, doctypes, ids; and broken markup recovery mends.
_PARSE_PIECES = st.sampled_from(
    ["<!-- c -->", "<?pi x?>", "<![CDATA[x<y]]>", "<noscript><p>n</p></noscript>", "<script>s()</script>",
     "<style>p{}</style>", "<textarea>t<b>x</textarea>", "<iframe>i<p></iframe>", "<!DOCTYPE html>",
     '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x.dtd">', "<html lang=en>", "<head>",
     "<title>t</title>", "<meta charset=latin1>", "<body class=x>", "</p>", "<p>", "<table><tr><td>x", "&amp;",
     "&#0;", "&nosuch;", "&#x1F642;", "<svg><path d='x'/></svg>", "<a href=x>", "é中🙂", '<div id="i">',
     '<a name="n" id="i">', "<select><option>o", "</div>", "<br/>", "<img src=i>", " ", "\n", "text", "<",
     "<x:y a:b='c'>", "<P CLASS=Up>", "<div>" * 300]
)  # fmt: skip


@settings(max_examples=300)
@given(st.lists(_PARSE_PIECES, max_size=12).map("".join))
def test_a_parse_is_lxmls(html: str) -> None:
    assert_parsed_as_lxml_parses(html.encode("utf-8"))


@settings(max_examples=100)
@given(st.lists(_markup(), min_size=1, max_size=4))
def test_a_parse_of_generated_pages_is_lxmls(blocks: list[str]) -> None:
    assert_parsed_as_lxml_parses(f"<html><body>{''.join(blocks)}</body></html>".encode())


def test_a_parse_context_is_reused_page_after_page() -> None:
    # The context keeps its callbacks and error handler across libxml2's resets: a limit met by one page is
    # not reported for the next, and the next page still has no comments.
    context = HtmlParse(_parser())
    deep, limited = context.parse(b"<div>" * 400 + b"x" + b"</div>" * 400)
    assert deep is not None and limited
    after, limited = context.parse(b"<p>a<!-- c -->b</p>")
    assert after is not None and not limited
    assert lxml.etree.tostring(after) == b"<html><body><p>ab</p></body></html>"
    assert context.parse(b"") == (None, False)


# --- tests ------------------------------------------------------------------------------------------------
@settings(max_examples=300)
@given(st.lists(_markup(), min_size=1, max_size=4))
def test_page_marks_are_the_oracles(blocks: list[str]) -> None:
    tree = _page(blocks)
    assert mark_page(tree) == oracle_marks(tree)


_SEL_TIME = Selector(".//time[@datetime or @pubdate or @itemprop='datePublished']")
_SEL_PUBLISHED = Selector(".//*[@itemprop='datePublished'][not(self::time)]")


@settings(max_examples=300)
@given(st.lists(_markup(), min_size=1, max_size=4), st.data())
def test_date_markup_in_the_region_is_what_xpath_finds_there(blocks: list[str], data: st.DataObject) -> None:
    # The page pass collects date markup before the chrome leaves; the evidence is what of it is still
    # inside the article region (not the region itself), as the XPaths over the region would find it.
    from newslake.core.html import PageMeta

    tree = _page(blocks)
    marks = mark_page(tree)
    elements = list(tree.iter("*"))
    for gone in data.draw(st.lists(st.sampled_from(elements), max_size=2)):
        if gone.getparent() is not None:
            gone.getparent().remove(gone)  # chrome detached
    region = data.draw(st.sampled_from(elements))
    evidence = PageMeta(tree).date_evidence(region, marks)
    times = [t for t in _SEL_TIME(region) if t.get("itemprop") != "dateModified"]
    expected = [(t.get("datetime") or "", text_content(t)) for t in times]
    expected += [(e.get("content") or "", text_content(e)) for e in _SEL_PUBLISHED(region)]
    got = [(item.value, item.text) for item in evidence if item.source is DateSource.TIME_ELEMENT]
    assert got == [(value, normalise_text(text)) for value, text in expected]


_SEL_CREDIT_MARKUP = Selector(".//*[re:test(concat(@class, ' ', @itemprop), 'credit|copyright|byline', 'i')]")
_SEL_TEXT_BLOCKS = Selector(
    ".//*[self::p or self::figcaption or self::span or self::div or self::small or self::cite][normalize-space()]"
)


def oracle_text_leaves(group: HtmlElement) -> list[HtmlElement]:
    chosen: list[HtmlElement] = []
    for element in _SEL_TEXT_BLOCKS(group):
        if any(ancestor in chosen for ancestor in element.iterancestors()):
            continue
        if next(element.iterdescendants(*extract._BLOCK_DESCENDANT_TAGS), None) is None and not list(
            element.iter("img")
        ):
            chosen.append(element)
    return chosen


@settings(max_examples=200)
@given(st.lists(_markup(), min_size=1, max_size=3))
def test_figure_group_parts_are_what_the_xpaths_find(blocks: list[str]) -> None:
    # The caption's blocks and the credit markup, read by tag-filtered iteration: the XPaths they replaced
    # are the oracles, asked of every element of the page as a figure group.
    tree = _page(blocks)
    for group in tree.iter("*"):
        assert extract._text_leaves(group) == oracle_text_leaves(group)
        assert list(extract._credit_markup(group)) == _SEL_CREDIT_MARKUP(group)


def oracle_prune(tree: HtmlElement, names: Iterable[str]) -> None:
    """What the core did before `prune`: each <br>'s tail through lxml's setter, then lxml's strip."""
    for br in tree.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lxml.etree.strip_elements(tree, *names, with_tail=False)


# The core's dropped tags among the page's (svg, iframe and template with content of their own, head elements
# met in the body, form controls); "option" is not dropped, but the parser nests it in <select>.
_PRUNED_TAGS = _TAGS | st.sampled_from(
    ["script", "style", "svg", "iframe", "template", "button", "select", "option", "title", "meta", "link", "video",
     "br", "object", "noframes"]
)  # fmt: skip


@settings(max_examples=200)
@given(st.lists(_markup(tags=_PRUNED_TAGS), min_size=1, max_size=3), st.booleans())
def test_pruning_is_lxmls_strip_after_the_tail_setter(blocks: list[str], dropping: bool) -> None:
    names = DROP_TAGS if dropping else ()  # without names, only the <br>s
    tree, oracle = _page(blocks), _page(blocks)
    prune(tree, names)
    oracle_prune(oracle, names)
    assert lxml.etree.tostring(tree, encoding="unicode") == lxml.etree.tostring(oracle, encoding="unicode")
    assert [br.tail for br in tree.iter("br")] == [br.tail for br in oracle.iter("br")]
    assert [e.text for e in tree.iter()] == [e.text for e in oracle.iter()]  # text nodes side by side, joined


def test_a_dropped_element_that_python_holds_lives_on_detached() -> None:
    # lxml frees a dropped subtree only when no proxy holds a node of it, and so must `prune`: freeing it
    # under a live proxy would leave the proxy reading freed memory.
    tree = _page(["<p>a<object><span><b>kept</b></span></object>b<br>c<iframe>i</iframe></p>"])
    held = tree.find(".//b")
    assert held is not None
    prune(tree, DROP_TAGS)
    assert lxml.etree.tostring(tree.find(".//p"), encoding="unicode") == "<p>ab<br/>\nc</p>"
    assert held.text == "kept" and held.getparent() is not None and held.getparent().getparent() is not None
    assert held.getparent().getparent().tag == "object" and held.getparent().getparent().getparent() is None
    del tree
    assert held.text == "kept"


def test_pruning_refuses_more_names_than_it_holds() -> None:
    with pytest.raises(ValueError, match="at most 64 names at once"):
        prune(_page(["<p>x</p>"]), [f"x{i}" for i in range(65)])


_HEAD_PARTS = st.sampled_from(
    ['<meta content="c1" name="Description">', '<meta property="og:title" content=" T &amp; u ">', "<meta name=x>",
     '<meta http-equiv="content-language" content="fr">', '<meta itemprop="author" content="">', "<meta content>",
     '<meta name="a" property="b" content="both">', '<script type="application/ld+json">{"a": 1}</script>',
     '<script type="application/ld+json"></script>', '<script type="Application/LD+JSON">{}</script>',
     "<script>var x;</script>", '<base href="/b/">', "<base>", "<title>T&amp;itle</title>", "<title></title>",
     "<title><b>x</b>y</title>", "<p>text</p>", '<div><meta name="n" content="in body"></div>']
)  # fmt: skip


@settings(max_examples=200)
@given(st.lists(_HEAD_PARTS, max_size=8), st.lists(_HEAD_PARTS, max_size=8))
def test_page_metadata_is_what_lxml_gives(head: list[str], body: list[str]) -> None:
    tree = parse_html(f"<html><head>{''.join(head)}</head><body>{''.join(body)}</body></html>")
    metas = [
        (m.get("property"), m.get("name"), m.get("http-equiv"), m.get("itemprop"), m.get("content"))
        for m in tree.iter("meta")
        if m.get("content") is not None
    ]
    json_ld = [s.text for s in tree.iter("script") if s.get("type") == "application/ld+json"]
    bases = [b.get("href") for b in tree.iter("base")]
    titles = [t.text for t in tree.iter("title")]
    assert page_metadata(tree, "application/ld+json") == (metas, json_ld, bases, titles[0] if titles else None)


def test_date_markup_that_is_the_region_itself_is_not_inside_it() -> None:
    from newslake.core.html import PageMeta

    tree = _page(['<time datetime="2020-01-02"><span itemprop="datePublished" content="2020-01-03">x</span></time>'])
    region = tree.find(".//time")
    assert region is not None
    evidence = PageMeta(tree).date_evidence(region, mark_page(tree))
    assert [item.value for item in evidence] == ["2020-01-03"]


@settings(max_examples=300)
@given(st.lists(_markup(), min_size=1, max_size=4), st.integers(0, 30))
def test_the_tallys_totals_are_the_oracles(blocks: list[str], min_chars: int) -> None:
    # The blocks themselves are the oracle's through the scores they credit (`test_the_scores_are_the_python_rules`).
    tree = _page(blocks)
    root = tree.find("body")
    assert root is not None
    tally = scored_tally(root, BLOCK_TAGS, content._COMMAS, min_chars, content._SCORE_RULES)
    oracle = OracleTally(root)
    chars, link_chars = oracle.totals()
    for element in tree.iter():
        assert (tally.chars(element), tally.link_chars(element)) == (chars.get(element, 0), link_chars.get(element, 0))


_SCORED_TAGS = st.sampled_from(
    ["div", "p", "span", "a", "b", "li", "ul", "h2", "h1", "section", "article", "main", "td", "th", "pre",
     "blockquote", "address", "form", "em", "table", "dd", "br"]
)  # fmt: skip
_SCORED_ATTRIBUTES = st.sampled_from(
    ["", ' class="story-body"', ' class="sidebar"', ' id="comments"', ' id="main" class="nav"',
     ' class="post entry-content"', ' class="caption"', ' id="Article"', ' class="&#x4E2D;&amp;nav"',
     ' class="a" class="sidebar"', ' href="/a"', ' class="content related"']
)  # fmt: skip


@settings(max_examples=400)
@given(
    st.lists(_markup(tags=_SCORED_TAGS, attributes_of=_SCORED_ATTRIBUTES), min_size=1, max_size=4), st.integers(0, 30)
)
def test_the_scores_are_the_python_rules(blocks: list[str], min_chars: int) -> None:
    # The same candidates in the same order with the same floating-point scores (not merely close ones: the
    # order of equal scores and the ties `best_region` breaks hang on them).
    root = _page(blocks).find("body")
    assert root is not None
    tally = scored_tally(root, BLOCK_TAGS, content._COMMAS, min_chars, content._SCORE_RULES)
    assert list(tally.scores.items()) == list(oracle_scores(root, min_chars).items())


def test_the_page_scores_are_the_tallys_at_the_minimum_block_length() -> None:
    text = "word, " * 30
    tree = _page([f'<div class="story"><p>{text}</p><p>{text}</p><h2>{text}</h2></div><div><p>short</p></div>'])
    body = tree.find("body")
    assert body is not None
    scores = content.score(body).score
    assert list(scores.items()) == list(oracle_scores(body, content._MIN_BLOCK_CHARS).items())
    assert list(scores) == [tree.find("body/div")]  # the short paragraph credits nothing; <body> is never scored


def test_score_rules_refuse_weights_that_are_not_whole_numbers() -> None:
    weights: dict[str, Any] = {"div": 0.5}  # a weight as a caller might mistype it
    with pytest.raises(ValueError, match="whole numbers"):
        ScoreRules(
            skipped=frozenset(), parents_only=frozenset(), unscored=frozenset(), tag_weights=weights,
            class_weight=content.class_weight, kept_most=8,
        )  # fmt: skip


def test_adjacent_text_nodes_are_one_piece_as_lxml_joins_them() -> None:
    # Dropping an element but keeping its tail (what pruning scripts does) leaves two text nodes side by
    # side; lxml reads them as one string, stripped once, and so must the tally.
    page = "<html><body><div><p>x</p>  a ,<script>s</script> b  <i>c</i></div></body></html>"
    root = parse_html(page).find("body/div")
    assert root is not None
    lxml.etree.strip_elements(root, "script", with_tail=False)
    assert root[0].tail == "  a , b  "
    oracle = OracleTally(root)
    tally = scored_tally(root, BLOCK_TAGS, content._COMMAS, 0, content._SCORE_RULES)
    assert list(tally.scores.items()) == list(oracle_scores(root, 0).items())
    # "a , b" is 5 characters; stripped apart, "  a ," and " b  " would be 3 + 1.
    assert tally.chars(root) == oracle.totals()[0][root] == 1 + 5 + 1  # <p>x, the joined tail, <i>c


def test_an_element_outside_the_root_holds_no_tallied_text() -> None:
    tree = _page([f"<div><p>{'text ' * 10}</p></div><aside><p>{'more ' * 10}</p></aside>"])
    div, aside = tree.find("body/div"), tree.find("body/aside")
    assert div is not None and aside is not None
    tally = scored_tally(div, BLOCK_TAGS, content._COMMAS, 0, content._SCORE_RULES)
    assert (tally.chars(div), tally.chars(aside), tally.chars(aside[0])) == (49, 0, 0)


def test_too_many_comma_characters_are_refused() -> None:
    # The tally keeps the comma characters in a fixed C array of 8.
    with pytest.raises(ValueError, match="at most 8 comma characters, not 9"):
        scored_tally(_page(["<p>x</p>"]), BLOCK_TAGS, ",;:.!?。、，", 0, content._SCORE_RULES)


def test_marks_are_handed_back_as_the_elements_of_the_tree() -> None:
    # The same proxies lxml hands out (identity), so that the rest of the core can compare and detach them.
    tree = _page(['<nav id="n"><a rel="author" href="/a">A</a></nav>'])
    marks = page_marks(tree, ("nav",), (), frozenset(), {}, content._JUDGE, content._HIDDEN_STYLE.search)
    regions, authors = marks[0], marks[4]
    assert regions[0] is tree.find(".//nav") and authors[0] is tree.find(".//a")


def _pruned_page(blocks: list[str]) -> HtmlElement:
    # Scripts dropped with their tails kept, as the core prunes: text nodes side by side where they were.
    tree = _page([f"{block}b<script>s</script>c{block}" for block in blocks])
    lxml.etree.strip_elements(tree, "script", with_tail=False)
    return tree


@settings(max_examples=200)
@given(st.lists(_markup(), min_size=1, max_size=3), st.sampled_from([" ", "", " | "]))
def test_text_helpers_are_what_lxml_gives(blocks: list[str], separator: str) -> None:
    string_length = lxml.etree.XPath("string-length(.)")
    tree = _pruned_page(blocks)
    for element in tree.iter():
        assert text_content(element) == element.text_content()
        assert text_length(element) == string_length(element)
        assert joined_text(element, separator) == separator.join(element.itertext())
        for count in (0, 1, 2, 5):
            assert last_texts(element, count) == list(deque(element.itertext(), maxlen=count))
        expected = [(a.get("href"), a.text_content()) for a in element.iter("a") if a.get("href") is not None]
        assert links_in(element) == expected


@given(st.lists(_markup(), min_size=1, max_size=3), st.data())
def test_where_an_element_is_is_what_its_ancestors_say(blocks: list[str], data: st.DataObject) -> None:
    # is_within and NodeSet.covers walk parent pointers in C; the oracle is lxml's iterancestors(), before
    # and after some of the elements leave the tree (a detached element is inside nothing).
    tree = _page(blocks)
    elements = list(tree.iter())
    taken = data.draw(st.lists(st.sampled_from(elements), max_size=4))
    for element in data.draw(st.lists(st.sampled_from(elements), max_size=3)):
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    nodes = NodeSet()
    for element in taken:
        nodes.add(element)
    assert len(nodes) == len(taken)
    for inner in elements:
        lineage = [inner, *inner.iterancestors()]
        assert nodes.covers(inner) == any(t in lineage for t in taken)
        for outer in elements:
            assert is_within(inner, outer) == (outer in lineage)


def test_links_in_reads_hrefs_as_lxml_does() -> None:
    tree = _page(['<p><a href="/x?a=1&amp;b=2">one <b>two</b></a> <a name="n">no href</a><a href="">empty</a></p>'])
    assert links_in(tree) == [("/x?a=1&b=2", "one two"), ("", "empty")]


def test_the_module_refuses_an_lxml_it_was_not_compiled_against() -> None:
    # It reads lxml's structs as they were at compile time; another lxml must stop the import, not be read.
    import subprocess
    import sys

    code = "import lxml.etree; lxml.etree.__version__ = '0.0.1'; import newslake.core._tree"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "compiled against lxml" in done.stderr and "but lxml 0.0.1 is installed" in done.stderr


# --- the walk ---------------------------------------------------------------------------------------------
class OracleWalker:
    """The article walk as it was in Python before `_tree.BlockWalker` (through lxml's proxies): classify each
    element, hand it to its kind's handler; images, lists and galleries go to `extract`'s own handlers, which
    call back here."""

    def __init__(self, root: HtmlElement, base_url: str, page_url: str, site: str) -> None:
        self.base_url, self.page_url, self.site = base_url, page_url, site
        self.links = anchor_rows(base_url, page_url, site, Link)
        self.paragraphs: list[Paragraph] = []
        self.headings: list[Heading] = []
        self.images: list[Image] = []
        self.seen_image_srcs: set[str] = set()
        self.position = 0
        self.section: str | None = None
        self.blocks = self._ancestors_of(root.iter(*extract._BLOCK_DESCENDANT_TAGS))
        self.imgs = self._ancestors_of(root.iter("img"))
        self.times = self._ancestors_of(root.iter("time"))

    @staticmethod
    def _ancestors_of(elements: Iterable[HtmlElement]) -> set[HtmlElement]:
        return {ancestor for element in elements for ancestor in element.iterancestors()}

    def has_blocks(self, element: HtmlElement) -> bool:
        return element in self.blocks

    def has_img(self, element: HtmlElement) -> bool:
        return _tag(element) == "img" or element in self.imgs

    def next_position(self) -> int:
        self.position += 1
        return self.position - 1

    def add_paragraph(self, position: int, text: str, *, is_lead: bool) -> None:
        self.paragraphs.append(Paragraph(position, self.section, text, is_lead))

    def add_links(self, element: HtmlElement, position: int | None, context: object) -> None:
        self.links.add(links_in(element), position, context)

    def add_anchors(self, anchors: list[tuple[str, str]], position: int | None, context: object) -> None:
        self.links.add(anchors, position, context)

    def lead_allowed(self) -> bool:
        return not self.paragraphs and not any(h.level > 1 for h in self.headings)

    def classify(self, element: HtmlElement, is_root: bool) -> str:
        tag = _tag(element)
        if not tag or tag in DROP_TAGS:
            return "skip"
        for kind, tags in (("heading", HEADING_TAGS), ("image", IMAGE_TAGS), ("list", LIST_TAGS)):
            if tag in tags:
                return kind
        words = content.class_words(element)
        if not is_root and _worded(words, extract._METADATA_WORDS, extract._METADATA_MAX_CHARS, element):
            return "metadata"
        if (
            not is_root
            and self.has_img(element)
            and _worded(words, extract._GALLERY_WORDS, extract._GALLERY_MAX_CHARS, element)
        ):
            return "gallery"
        if not is_root and tag not in PARAGRAPH_TAGS and self.has_img(element) and extract._is_figure_group(element):
            return "image"
        if tag not in BLOCK_TAGS or not self.has_blocks(element):
            return "paragraph"
        return "container"

    def walk(self, element: HtmlElement, *, is_root: bool = False) -> None:
        kind = self.classify(element, is_root)
        if kind == "heading":
            self.heading(element)
        elif kind == "image":
            extract.handle_image(self, element)  # type: ignore[arg-type]  # the walker's interface
        elif kind == "list":
            extract.handle_list(self, element)  # type: ignore[arg-type]
        elif kind == "metadata":
            self.add_links(element, None, LinkContext.BYLINE)
        elif kind == "gallery":
            extract.handle_gallery(self, element)  # type: ignore[arg-type]
        elif kind == "paragraph":
            self.paragraph(element)
        elif kind == "container":
            self.walk_children(element)

    def walk_children(self, element: HtmlElement) -> None:
        run: list[str] = [element.text or ""]
        inline: list[HtmlElement] = []
        for child in element:
            tag = _tag(child)
            if tag and tag not in BLOCK_TAGS and tag not in DROP_TAGS and not self.has_blocks(child):
                if tag in IMAGE_TAGS or self.has_img(child):
                    self.flush(run, inline)
                    run, inline = [], []
                    extract.handle_image(self, child)  # type: ignore[arg-type]
                else:
                    run.append(text_content(child))
                    inline.append(child)
            else:
                self.flush(run, inline)
                run, inline = [], []
                self.walk(child)
            run.append(child.tail or "")
        self.flush(run, inline)

    def flush(self, run: list[str], inline: list[HtmlElement]) -> None:
        text = normalise_text("".join(run))
        if text:
            self.block(text, [anchor for element in inline for anchor in links_in(element)], None)

    def block(self, text: str, anchors: list[tuple[str, str]], element: HtmlElement | None) -> None:
        position = self.next_position()
        if sum(len(normalise_text(inside)) for _, inside in anchors) >= extract._LINK_BLOCK_SHARE * len(text):
            self.add_anchors(anchors, position, LinkContext.LIST)
            return
        is_lead = element is not None and self.lead_allowed() and extract._is_lead(element, text)
        self.add_paragraph(position, text, is_lead=is_lead)
        self.add_anchors(anchors, position, LinkContext.PARAGRAPH)

    def paragraph(self, element: HtmlElement) -> None:
        if self.has_img(element):
            for img in extract._pictures(element):
                extract.handle_image(self, img)  # type: ignore[arg-type]
        text = normalise_text(text_content(element))
        if not text or ((_tag(element) == "time" or element in self.times) and extract._is_dateline(element, text)):
            return
        self.block(text, links_in(element), element)

    def heading(self, element: HtmlElement) -> None:
        text = normalise_text(text_content(element))
        if not text:
            return
        position = self.next_position()
        anchor = (element.get("id") or "").strip() or None
        self.headings.append(Heading(position, int(_tag(element)[1]), text, anchor))
        self.section = text
        self.add_links(element, position, LinkContext.HEADING)


def _tag(element: HtmlElement) -> str:
    return element.tag.lower() if isinstance(element.tag, str) else ""


def _worded(words: frozenset[str], kind: frozenset[str], most: int, element: HtmlElement) -> bool:
    return not kind.isdisjoint(words) and content.BODY_WORDS.isdisjoint(words) and len(text_content(element)) <= most


_WALK_TAGS = _TAGS | st.sampled_from(
    ["figure", "h3", "ol", "dl", "dt", "dd", "picture", "source", "blockquote", "pre", "header", "strong", "button",
     "br", "noscript", "i", "lin\u212a"]
)  # fmt: skip
# "lin\u212a": the parser lower-cases ASCII letters only, and Python's lower() makes the Kelvin sign a "k": a
# <link>, dropped, to the walk as it was.
_WALK_ATTRIBUTES = st.sampled_from(
    ["", ' class="article-meta"', ' class="byline"', ' class="post-meta article-body"', ' class="gallery"',
     ' class="Slider"', ' id="lead"', ' class="intro x"', ' class="credit"', ' itemprop="copyrightHolder"',
     ' src="/i/1.jpg"', ' src="/i/2.jpg" width="640"', ' data-src="https://cdn.example/3.jpg"',
     ' srcset="/i/1.jpg 300w, /i/big.jpg 900w"', ' href="/a"', ' href="#top"', ' href="https://other.example/b"',
     ' href="javascript:void(0)"', ' id=" h-1 "', ' datetime="2020-01-02"', ' class="story-body"']
)  # fmt: skip


def _walked(walker_type: type, blocks: list[str]) -> tuple[object, ...]:
    tree = _page(blocks)
    prune(tree, DROP_TAGS)
    root = tree.find("body")
    walker = walker_type(root, "https://news.example/a/b", "https://news.example/a/b", "news.example")
    walker.walk(root, is_root=True)
    return walker.paragraphs, walker.headings, walker.images, walker.links.rows, walker.links.dropped


@settings(max_examples=400)
@given(st.lists(_markup(tags=_WALK_TAGS, attributes_of=_WALK_ATTRIBUTES), min_size=1, max_size=4))
def test_the_walk_is_the_oracles(blocks: list[str]) -> None:
    # Each walker on a page of its own: an image's credit leaves the tree as it is read.
    assert _walked(extract._Walker, blocks) == _walked(OracleWalker, blocks)


def test_the_walk_lower_cases_names_as_python_does() -> None:
    # Names the parser never makes: upper-case ones, made through lxml's API.
    def page() -> HtmlElement:
        tree = _page(["<div><p>first</p></div>"])
        div = tree.find("body/div")
        for tag, text in (("H2", "A heading"), ("P", "A paragraph"), ("SCRIPT", "dropped"), ("Span", "loose")):
            lxml.etree.SubElement(div, tag).text = text
        return tree

    def walked(walker_type: type) -> tuple[list[Paragraph], list[Heading]]:
        root = page().find("body")
        walker = walker_type(root, "https://news.example/a", "https://news.example/a", "news.example")
        walker.walk(root, is_root=True)
        return walker.paragraphs, walker.headings

    paragraphs, headings = walked(extract._Walker)
    assert [p.text for p in paragraphs] == ["first", "A paragraph", "loose"]
    assert [(h.level, h.text) for h in headings] == [(2, "A heading")]
    assert (paragraphs, headings) == walked(OracleWalker)


def test_the_walker_refuses_an_element_of_another_page() -> None:
    # Its names are looked up in the walked page's dictionary: another page's elements would all read as
    # unknown inline tags.
    root, other = _page(["<p>one</p>"]).find("body"), _page(["<p>two</p>"]).find("body")
    walker = extract._Walker(root, "https://news.example/a", "https://news.example/a", "news.example")
    with pytest.raises(ValueError, match="not of the page"):
        walker.walk(other)
    with pytest.raises(ValueError, match="not of the page"):
        walker.has_blocks(other)
    walker.walk(root, is_root=True)
    assert [p.text for p in walker.paragraphs] == ["one"]


# --- the chrome step --------------------------------------------------------------------------------------
def oracle_chrome_kind(element: HtmlElement) -> LinkContext | None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in ("html", "body", "main", "article"):
        return None
    if tag in content._REGION_TAGS:
        return content._REGION_TAGS[tag]
    role = (element.get("role") or "").strip().lower()
    if role in content._REGION_ROLES:
        return content._REGION_ROLES[role]
    if role == "main" or element.get("itemprop") == "articleBody":
        return None
    return content.class_chrome_kind(element.get("class") or "", element.get("id") or "")


def oracle_dropped_region(element: HtmlElement) -> bool:
    attrib = element.attrib
    if attrib.get("aria-hidden") == "true" or "hidden" in attrib or attrib.get("data-e2e") == "advertisement":
        return True
    style = attrib.get("style")
    if style and content._HIDDEN_STYLE.search(style.lower()):
        return True
    classes = attrib.get("class")
    if classes and not content._HIDDEN_CLASSES.isdisjoint(classes.lower().split()):
        return True
    if attrib.get("role") != "region":
        return False
    label = " ".join(filter(None, (attrib.get("aria-label"), attrib.get("class"), attrib.get("id"))))
    return bool(content._AD_LABEL.search(label))


def oracle_detach(element: HtmlElement) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail, element.tail = element.tail, None
    previous = element.getprevious()
    parent.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def oracle_remove_chrome(tree: HtmlElement, marks: PageMarks) -> list[content.Chrome]:
    """The chrome step as it was in Python, through lxml, before `_tree.take_chrome`."""
    body = tree.find("body")
    total = text_length(body if body is not None else tree) or 1
    holders = {a for body_element in marks.article_bodies for a in body_element.iterancestors()}
    removed: list[content.Chrome] = []
    hidden: list[HtmlElement] = []
    taken: list[HtmlElement] = []
    for element in [*marks.regions, *marks.marked, *marks.classed, *marks.styled]:
        if any(element is t or t in element.iterancestors() for t in taken):
            continue
        if oracle_dropped_region(element):
            hidden.append(element)
            taken.append(element)
            continue
        if element in holders:
            continue
        kind = oracle_chrome_kind(element)
        if kind is None or text_length(element) > content._CHROME_MAX_SHARE * total:
            continue
        removed.append(content.Chrome(kind, element))
        taken.append(element)
    for element in [*hidden, *(chrome.element for chrome in removed)]:
        oracle_detach(element)
    return removed


_CHROME_ATTRIBUTES = _ATTRIBUTES | st.sampled_from(
    [' role="region" aria-label="Ad slot"', ' role="region" class="promo-x"', ' role="region"', ' class="hidden"',
     ' class="Nav sr-only"', ' role=" Navigation "', ' role="complementary"', ' class="related article-body"',
     ' class="l-sidebar" id="x"', ' id="footer"', ' role="main" class="sidebar"', ' aria-hidden="false"',
     ' class="comments" aria-label="广告"']
)  # fmt: skip


def _chromed(blocks: list[str], step: object) -> tuple[list[tuple[LinkContext, str]], str]:
    tree = _page(blocks)
    removed = step(tree, mark_page(tree))  # type: ignore[operator]  # either step
    regions = [(chrome.kind, lxml.etree.tostring(chrome.element, encoding="unicode")) for chrome in removed]
    return regions, lxml.etree.tostring(tree, encoding="unicode")


@settings(max_examples=400)
@given(st.lists(_markup(attributes_of=_CHROME_ATTRIBUTES), min_size=1, max_size=4))
def test_the_chrome_step_is_the_oracles(blocks: list[str]) -> None:
    # The regions taken (kind, markup) and the page left: each step on a page of its own.
    assert _chromed(blocks, content.remove_chrome) == _chromed(blocks, oracle_remove_chrome)
