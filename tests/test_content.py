"""Finding the article in whole pages: chrome out (links kept), scoring, threads, bylines, link blocks."""

import re
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml.html import HtmlElement

from newslake.core import Article, content, extract_article, html, parse_seed
from newslake.core.html import byline_name, written_author
from newslake.core.model import LinkContext
from tests.conftest import make_seed

LONG = "This paragraph has enough words, and commas, to count as article text for the extractor."
URL = "https://news.example.com/story/1"


def extract(html: str, url: str = URL) -> Article:
    return extract_article(parse_seed(make_seed(html, url=url)))


def page(article_html: str, extra: str = "") -> str:
    return f"""<html><body>
    <header><nav><a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
    {article_html}
    <aside><h3>Most read</h3><ul><li><a href="/a">Another story that many people read today</a></li></ul></aside>
    {extra}
    <footer><a href="https://other.org/terms">Terms</a> Copyright 2022</footer>
    </body></html>"""


def test_chrome_never_becomes_text_and_its_links_keep_their_kind() -> None:
    article = extract(page(f"<div><p>{LONG}</p><p>{LONG} Two.</p></div>"))
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Two."]
    assert not article.headings  # "Most read" was in the aside
    contexts = {link.href: (link.context, link.position) for link in article.links}
    assert contexts["https://news.example.com/world"] == (LinkContext.NAVIGATION, None)
    assert contexts["https://news.example.com/a"] == (LinkContext.ASIDE, None)
    assert contexts["https://other.org/terms"] == (LinkContext.FOOTER, None)


def test_comment_threads_and_share_bars_by_class_are_chrome() -> None:
    article = extract(
        page(
            f"""<div class="story"><p>{LONG}</p>
            <div class="share-bar"><a href="https://twitter.com/share">Share on Twitter</a></div>
            <p>{LONG} Two.</p></div>
            <section id="comments"><p>{LONG} A reader's comment, long enough to be prose.</p>
            <a href="/user/9">reader</a></section>"""
        )
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Two."]
    kinds = {link.href: link.context for link in article.links}
    assert kinds["https://twitter.com/share"] == LinkContext.SHARE
    assert kinds["https://news.example.com/user/9"] == LinkContext.COMMENTS


def test_a_word_of_the_article_vetoes_a_chrome_word() -> None:
    # "sidebar" names chrome, "article-body" the article: losing the article would cost more.
    article = extract(page(f'<div class="l-sidebar-fixed l-article-body-segment"><p>{LONG}</p></div>'))
    assert [p.text for p in article.paragraphs] == [LONG]


def test_a_teaser_article_in_a_rail_does_not_win_over_the_prose() -> None:
    teaser = '<article><a href="/x">A teaser headline that is long enough to count</a> 9h ago</article>'
    article = extract(
        page(f"""<div class="rail">{teaser}</div><div class="content"><p>{LONG}</p><p>{LONG} Two.</p>
        <p>{LONG} Three.</p></div>""")
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Two.", f"{LONG} Three."]


def test_link_blocks_become_links_not_paragraphs() -> None:
    article = extract(
        f"""<main><p>{LONG}</p>
        <p>· <a href="/r1">A related headline of some length</a> (2005-04-27)</p>
        <p>{LONG} Two.</p></main>"""
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Two."]
    related = next(link for link in article.links if link.href.endswith("/r1"))
    assert related.context == LinkContext.LIST


def test_bylines_are_not_paragraphs_and_give_the_author() -> None:
    article = extract(
        f"""<main><div class="byline">By <a href="/people/jd">Jane Doe</a> | Reuters</div>
        <p>{LONG}</p></main>"""
    )
    assert [p.text for p in article.paragraphs] == [LONG]
    assert article.author == "Jane Doe"
    assert next(link for link in article.links if link.href.endswith("/people/jd")).context == LinkContext.BYLINE


def test_the_opening_post_of_a_dated_thread_is_the_article() -> None:
    posts = "".join(
        f"""<table><tr><td class="post-title">Post {n} 2005-03-{21 - n} 01:20:44</td></tr>
        <tr><td class="post-body">{LONG} Post {n}, {"longer, " * (10 * n)}</td></tr></table>"""
        for n in range(1, 5)
    )
    article = extract(f"<html><body>{posts}</body></html>")
    assert [p.text for p in article.paragraphs] == [f"{LONG} Post 1, {'longer, ' * 10}".strip()]
    assert article.published.at.date().isoformat() == "2005-03-20"


def test_boxes_without_dates_are_not_posts() -> None:
    # Three alike boxes, the second the wordiest: undated, they are not a thread, so its first box is not
    # taken for the article; the best-scoring box is.
    sections = "".join(
        f'<section><div class="post-content"><p>{LONG} Part {n}, {"more, " * (20 if n == 2 else 1)}</p></div>'
        "</section><figure></figure>"
        for n in range(1, 4)
    )
    article = extract(f"<html><body><div>{sections}</div></body></html>")
    assert any("Part 2" in p.text for p in article.paragraphs)


def test_byline_names() -> None:
    assert byline_name("By Jane Doe | Reuters") == "Jane Doe"
    assert byline_name("作者：张三 2005-03-21") == "张三"
    assert byline_name("By") is None


def test_written_bylines_nearest_the_article_win() -> None:
    text = "首页 作者：站长 新闻 标题在这里 作者：芊草凡凡 时间：2005-08-22 正文开始"
    assert written_author(text, [(text.index("标题"), 1.0)]) == "芊草凡凡"
    assert written_author("发布时间 2005/03/15 22:36:13 by duscha 〓", [(0, 1.0)]) == "duscha"
    assert written_author("本贴由 大卫 于2005年8月12日发表", [(0, 1.0)]) == "大卫"
    assert written_author("楼主 一个中子撞击铀原子时铀原子变成了", [(0, 1.0)]) is None  # prose, not a name


# The byline pattern as it reads, with the lookbehind before "by" (html.py writes it after the word, for speed).
_READABLE_WRITTEN_BYLINE = re.compile(
    r"(?:作者|作\s者|编辑|編輯|记者|記者|撰文|楼主|樓主)(?:\s*[:：]\s*|\s+)([\w&·]{2,20})"
    r"|(?<![A-Za-z])(?:by|By|BY)\s+([\w&·]{2,20}(?:\s+[A-Z][a-z][\w'’-]*){0,2})"
    r"|由\s*([\w&·]{2,12}?)\s*(?:张贴|張貼|于|於|发表|發表)"
)


@given(
    st.lists(
        st.sampled_from(
            ["by", "By", "BY", "b", "y", "x", "ab", "3", " ", "\n", "Jane", "Doe", "作者", "：", "由", "于", "张三"]
        ),
        max_size=14,
    ).map("".join)
)
def test_fast_byline_patterns_find_what_their_readable_form_finds(text: str) -> None:
    # html.py scans the three kinds apart (`leftmost_first`); the readable form is one alternation.
    readable = [
        (m.span(), next(i for i, group in enumerate(m.groups()) if group is not None), m.group(m.lastindex or 0))
        for m in _READABLE_WRITTEN_BYLINE.finditer(text)
    ]
    fast = [(m.span(), kind, m.group(1)) for kind, m in html.leftmost_first(html._WRITTEN_BYLINES, text)]
    assert fast == readable


def test_by_in_running_prose_is_not_a_byline() -> None:
    assert written_author("The brewery, owned by Kirin since 2009, said", [(0, 1.0)]) is None
    assert written_author("By Louis Jacobson LATEST news", [(0, 1.0)]) == "Louis Jacobson"
    assert written_author("作者的粗略估计", [(0, 1.0)]) is None


def test_comment_form_markup_does_not_give_the_author() -> None:
    article = extract(
        page(
            f"<div><p>{LONG}</p></div>",
            extra='<div id="comments"><label class="comment-author">Nama</label><p>A reader wrote this.</p></div>',
        )
    )
    assert article.author is None


def test_inline_hidden_elements_are_dropped_even_around_an_article_body() -> None:
    # A hidden schema.org copy of the article (itemprop=articleBody inside display:none) is not the article.
    article = extract(
        page(
            f"""<div class="story"><p>{LONG}</p><p>{LONG} Two.</p></div>
            <div style="display: none" itemscope><div itemprop="articleBody"><p>{LONG} Hidden copy.</p></div>
            <div itemprop="datePublished">2019-11-13T23:06:00+01:00</div></div>
            <p style="visibility:hidden">{LONG} Invisible.</p>"""
        )
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Two."]


_CLASS_VOCABULARY = st.sampled_from(
    ["nav", "navigation", "nav-item", "canvas", "share", "shareholder", "Comments", "commentary", "side_bar",
     "sidebar", "x", "main", "ad", "ads", "post-footer", "FOOTER", "related-links", "unrelated", "hidden",
     "d-none", "label-hidden", "sr-only x", ""]
)  # fmt: skip


@given(st.lists(st.tuples(_CLASS_VOCABULARY, _CLASS_VOCABULARY, st.integers(0, 3)), min_size=1, max_size=30))
def test_chrome_regexes_find_exactly_the_elements_whose_words_name_chrome(specs: list[tuple[str, str, int]]) -> None:
    # The page pass tests class and id with two regexes (a word trie, whole class names); the oracle splits
    # them into words and class names and looks each up, the way the rules are stated.
    from newslake.core.content import _CHROME_KIND, _HIDDEN_CLASSES, mark_page
    from newslake.core.html import parse_html

    def box(cls: str, ident: str, depth: int) -> str:
        attrs = (f' class="{cls}"' if cls else "") + (f' id="{ident}"' if ident else "")
        return f"<div{attrs}>{'<span>' * depth}t{'</span>' * depth}</div>"

    def names_chrome(element: HtmlElement) -> bool:
        joined = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        return bool(set(re.findall("[a-z0-9]+", joined)) & set(_CHROME_KIND) or set(joined.split()) & _HIDDEN_CLASSES)

    html = "".join(box(*spec) for spec in specs)
    tree = parse_html(f"<html><body>{html}</body></html>")
    assert mark_page(tree).classed == [e for e in tree.iter() if names_chrome(e)]


def test_framework_hiding_classes_hide_but_a_hidden_label_does_not() -> None:
    article = extract(
        page(
            f"""<div class="story"><p>{LONG}</p>
            <div class="gallery-overlay hidden"><p>{LONG} Overlay.</p></div>
            <span class="sr-only">Skip to the next slide, a control for screen readers</span>
            <div class="field field-label-hidden"><p>{LONG} Body field.</p></div></div>"""
        )
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Body field."]


def test_a_slideshow_gives_images_but_no_paragraphs() -> None:
    slides = "".join(
        f'<li><img src="/p/{n}.jpg"><div class="caption">Slide {n}: a caption long enough to look like text.</div>'
        f'<div class="credit">Photo: Agency</div></li>'
        for n in range(1, 4)
    )
    article = extract(
        page(
            f"""<div class="article-body"><div class="asset_gallery"><ul>{slides}</ul>
            <div class="controls">Caption Close Back to Gallery</div></div>
            <p>{LONG}</p><p>{LONG} Two.</p></div>"""
        )
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Two."]
    assert [i.src for i in article.images] == [f"https://news.example.com/p/{n}.jpg" for n in range(1, 4)]


@given(
    st.lists(st.sampled_from(["nav", "navbar", "na", "comment", "comments", "commentary", "-", " ", "x", "ad", "ads"]))
)
def test_the_chrome_word_trie_matches_where_the_plain_alternation_does(parts: list[str]) -> None:
    import re

    from newslake.core.content import _CHROME_KIND, _CHROME_WORD

    text = "".join(parts)
    plain = re.compile(r"(?<![a-z0-9])(?:" + "|".join(sorted(_CHROME_KIND, key=len, reverse=True)) + r")(?![a-z0-9])")
    assert [m.span() for m in _CHROME_WORD.finditer(text)] == [m.span() for m in plain.finditer(text)]


_AUTHOR_ATTRS = st.sampled_from(
    ["", ' itemprop="author"', ' itemprop="name"', ' rel="author"', ' class="byline"', ' class="Author-name"',
     ' class="AUTHOR"', ' class="ByLine"', ' class="gone"', ' id="byline"', ' class="author gone"']
)  # fmt: skip
_AUTHOR_TAGS = st.sampled_from(["div", "span", "a", "p"])


@st.composite
def _author_markup(draw: st.DrawFn, depth: int = 0) -> str:
    tag, attrs = draw(_AUTHOR_TAGS), draw(_AUTHOR_ATTRS)
    children = draw(st.lists(_author_markup(depth + 1), max_size=3)) if depth < 3 else []
    return f"<{tag}{attrs}>x{''.join(children)}</{tag}>"


@given(st.lists(_author_markup(), min_size=1, max_size=4))
def test_author_markup_from_the_page_pass_is_what_the_xpaths_select(blocks: list[str]) -> None:
    # The readable XPaths the page pass replaced, evaluated after some elements left the tree (as chrome does).
    from lxml.etree import XPath

    from newslake.core._tree import detach
    from newslake.core.content import mark_page
    from newslake.core.html import byline_candidates, itemprop_authors, parse_html

    tree = parse_html(f"<html><body>{''.join(blocks)}</body></html>")
    marks = mark_page(tree)
    for element in [e for e in tree.iter() if "gone" in (e.get("class") or "")]:
        detach(element)
    authors = XPath(
        "//*[@itemprop='author']//*[@itemprop='name'] | //*[@itemprop='author'][not(.//*[@itemprop='name'])]"
        " | //a[@rel='author']"
    )
    bylines = XPath(
        "//*[contains(@class, 'yline') or contains(@class, 'uthor') or contains(@class, 'YLINE')"
        " or contains(@class, 'UTHOR')][not(.//p)]"
    )
    assert itemprop_authors(marks, tree) == authors(tree)
    assert byline_candidates(marks, tree) == bylines(tree)


# Class and id values around the verdict's edges: chrome words and hiding classes whole, cut or run on, in any
# case, between ASCII separators (the information separators \x1c-\x1f are whitespace to `str.split` and
# `\s`); byline parts; non-ASCII letters whose lower case is ASCII (Kelvin sign, dotted capital I, long s).
_CLASS_PIECES = st.lists(
    st.sampled_from(
        [
            "nav", "NAV", "navbar", "sidebar", "Footer", "comments", "share", "ads", "ad", "d-none", "D-NONE",
            "sr-only", "hidden", "hide", "visually-hidden", "body", "x", "s", "1", "-", "_", " ", "\t", "\n",
            "\x0b", "\x1c", "\x1f", ".", ":", "yline", "UTHOR", "Author", "é", "\u212a", "\u0130", "\u017f",
            "\u3000", "\u00a0",
        ]
    ),
    max_size=8,
).map("".join)  # fmt: skip


@given(_CLASS_PIECES, _CLASS_PIECES)
def test_the_compiled_class_verdict_answers_as_class_verdict(classes: str, ident: str) -> None:
    """`_tree.ClassVerdicts` (the page pass's verdict on a class/id pair met first) answers as `class_verdict`,
    the rule's patterns, for every pair: ASCII ones on their bytes, the others through `class_verdict`."""
    key = classes.encode() + b"\0" + ident.encode()
    assert content._JUDGE.judge(key) == content.class_verdict(classes, ident)


def _longest(words: Iterable[str]) -> str:
    return max(words, key=len)


@pytest.mark.parametrize(
    ("classes", "ident"),
    [
        ("nav1", ""),  # a digit runs on: not the word
        ("x 1nav", ""),
        ("x\u3000d-none", ""),  # Unicode whitespace parts a hiding class from what comes before
        ("coo\u212aie", ""),  # a Kelvin sign lower-cases to "k": "cookie"
        ("Bylines", "\u00e9"),
        (_longest(content._CHROME_KIND), ""),  # the longest word and name are taken whole
        ("", _longest(content._HIDDEN_CLASSES)),
        (_longest(content._CHROME_KIND) + "s", ""),
    ],
)
def test_the_compiled_class_verdict_at_its_edges(classes: str, ident: str) -> None:
    key = classes.encode() + b"\0" + ident.encode()
    assert content._JUDGE.judge(key) == content.class_verdict(classes, ident)


def test_class_verdicts_are_kept_until_the_cache_is_full() -> None:
    from newslake.core._tree import ClassVerdicts

    kept: dict[bytes, tuple[bool, bool]] = {}
    judge = ClassVerdicts(kept, 2, content._CHROME_KIND, content._HIDDEN_CLASSES, ("yline",), content.class_verdict)
    assert judge(b"nav\0") == (True, False) and judge(b"byline\0x") == (False, True)
    assert kept == {b"nav\0": (True, False), b"byline\0x": (False, True)}
    assert judge(b"x\0") == (False, False)
    assert kept == {b"x\0": (False, False)}  # cleared when full, then kept


def test_class_verdicts_refuse_words_they_cannot_match() -> None:
    from newslake.core._tree import ClassVerdicts

    with pytest.raises(ValueError, match="runs of"):
        ClassVerdicts({}, 2, ["nav-bar"], [], [], lambda c, i: (False, False))
    with pytest.raises(ValueError, match="no whitespace"):
        ClassVerdicts({}, 2, [], ["sr only"], [], lambda c, i: (False, False))
