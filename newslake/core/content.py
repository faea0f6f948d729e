"""Finding the article in a whole page: page chrome out first, then the densest region of prose.

Both steps are general rules about markup and text, never about a site:

1. Chrome leaves the tree before anything is measured: `<nav>`, `<aside>`, `<footer>`, ARIA landmarks that
   are not content, and elements whose class or id names them as chrome (comments, share bars, related
   stories, newsletter and cookie boxes, ad slots). They are detached, not destroyed: the caller records
   their links with the kind of region they came from.
   Hidden elements (`aria-hidden`, `hidden`, inline `display:none`) and ad slots leave too, unrecorded.
2. The article region is scored the way readability does it: each block's own text (inline children
   included, block children not) of 25+ characters scores 1 + its commas + one per 100 characters (at most
   3), credited to its parent, half to its grandparent and a third to the level above; a candidate's total
   is weighted by the words of its class and id and discounted by its link density. Markup that names the
   article (`itemprop=articleBody`, `<article>`, `<main>`, `role=main`) is taken when it agrees with the
   scores (it holds the best region and not much more text, or most of the best region's text), and is
   passed over when it names something else (a teaser `<article>` in a rail, a `<main>` with the rails).
   On a thread or an index page (alike, dated boxes) the opening post is the article.

Rejected: taking the first named region (a teaser card wins on many pages), and text density alone without
the chrome step (share bars and comment threads are dense text too).
"""

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from lxml.html import HtmlElement

from newslake.core._tree import (
    ChromeRules,
    ClassVerdicts,
    ScoreRules,
    TextTally,
    detach,
    is_within,
    page_marks,
    scored_tally,
    take_chrome,
)
from newslake.core.dates import dates_in_text
from newslake.core.model import LinkContext
from newslake.core.tags import BLOCK_TAGS, HEADING_TAGS, PARAGRAPH_TAGS

# --- chrome ------------------------------------------------------------------------------------------------
_REGION_TAGS = {"nav": LinkContext.NAVIGATION, "aside": LinkContext.ASIDE, "footer": LinkContext.FOOTER}
_REGION_ROLES = {
    "navigation": LinkContext.NAVIGATION,
    "banner": LinkContext.NAVIGATION,
    "search": LinkContext.NAVIGATION,
    "menu": LinkContext.NAVIGATION,
    "menubar": LinkContext.NAVIGATION,
    "complementary": LinkContext.ASIDE,
    "contentinfo": LinkContext.FOOTER,
    "dialog": LinkContext.PAGE,
    "alertdialog": LinkContext.PAGE,
}
# Words of class/id attributes (split at anything not a letter or digit) that name chrome, by the kind of
# region they are. Rejected: "ad" alone ("non-ad-column" holds an article), "widget" (Blogger's post is one),
# "paywall" (the paid part of the article sits in it).
# Whole words only: "comment" but not "commentary", "share" but not "shareholder".
_CHROME_WORDS: dict[LinkContext, frozenset[str]] = {
    LinkContext.NAVIGATION: frozenset(
        {"nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "masthead", "topbar", "pagination",
         "pager", "skiplink", "skip"}
    ),
    LinkContext.ASIDE: frozenset(
        {"sidebar", "related", "recommended", "recommendations", "popular", "trending", "mostread",
         "outbrain", "taboola", "promo", "promoted", "rail", "teaser", "teasers"}
    ),
    LinkContext.FOOTER: frozenset({"footer", "copyright"}),
    LinkContext.COMMENTS: frozenset({"comment", "comments", "disqus", "replies", "respond"}),
    LinkContext.SHARE: frozenset({"share", "sharing", "sharebar", "social", "socials", "sharetools"}),
    LinkContext.PAGE: frozenset(
        {"newsletter", "subscribe", "subscription", "signup", "cookie", "cookies", "consent", "gdpr", "modal",
         "popup", "advert", "advertisement", "ads", "adunit", "sponsor", "sponsored", "tags",
         "tagcloud", "print", "login"}
    ),
}  # fmt: skip
# Words that name the article's own text; they veto a chrome word in the same attribute (chrome inside the
# article, "comment-body" in "comments", goes with its outer region).
BODY_WORDS = frozenset({"articlebody", "body", "content", "entry", "text", "prose", "story", "richtext"})
_CHROME_KIND = {word: kind for kind, words in _CHROME_WORDS.items() for word in words}
_WORD = re.compile(r"[a-z0-9]+")


# One regex over each candidate's lower-cased class and id finds the chrome words; the candidates come from
# one XPath. (Rejected: an XPath of `contains(translate(...))` tests, one per word: 40 ms a page.)
def word_trie(words: Iterable[str]) -> str:
    """A regex alternation of `words` as a trie ("n(?:av(?:bar)?|ewsletter)"): the regex engine tries each
    branch at every position, so shared prefixes tried once made the chrome search 1.7x faster."""
    groups: dict[str, list[str]] = {}
    ends = False
    for word in words:
        if word:
            groups.setdefault(word[0], []).append(word[1:])
        else:
            ends = True
    branches = [re.escape(first) + word_trie(rest) for first, rest in sorted(groups.items())]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


_CHROME_WORD = re.compile(r"(?<![a-z0-9])" + word_trie(_CHROME_KIND) + r"(?![a-z0-9])")
# Chrome holding more than this share of the page's text is a wrapper with an unlucky name ("page-with-
# sidebar", "has-comments"), not chrome.
_CHROME_MAX_SHARE = 0.5


def class_words(element: HtmlElement) -> frozenset[str]:
    """The words of an element's class and id, lower-cased ("l-article-body" -> l, article, body)."""
    return words_of(element.get("class") or "", element.get("id") or "")


@lru_cache(maxsize=1 << 16)
def words_of(classes: str, ident: str) -> frozenset[str]:
    # Cached for the process, like the page pass's verdicts: a site's templates repeat their class names.
    return frozenset(_WORD.findall(f"{classes} {ident}".lower()))


def class_chrome_kind(classes: str, ident: str) -> LinkContext | None:
    """The kind of chrome the words of an element's class and id name; None when they name none (the rest of
    the chrome test, by tag and ARIA role, is `_tree.take_chrome`'s: `_CHROME_RULES`)."""
    attrs = f"{classes} {ident}".lower()
    if _CHROME_WORD.search(attrs) is None:
        return None
    words = _WORD.findall(attrs)
    if not BODY_WORDS.isdisjoint(words):
        return None  # "l-sidebar-fixed l-article-body-segment": losing the article costs more than keeping chrome
    return next((_CHROME_KIND[w] for w in words if w in _CHROME_KIND), None)


# Ad slots and hidden placeholders, by markup rather than by site: `data-e2e="advertisement"`,
# `aria-hidden="true"` (hidden from readers, so not article content), `role="region"` slots labelled as ads.
_AD_LABEL = re.compile(
    r"(^|[^a-z])(ad|ads|advert|advertisement|sponsor|sponsored)([^a-z]|$)|广告|廣告|anzeige|publicit", re.IGNORECASE
)


# Utility classes of CSS frameworks that hide an element, as whole class names: "hidden", not the word in
# Drupal's "field-label-hidden" (which wraps article bodies).
_HIDDEN_CLASSES = frozenset(
    {"hidden", "hide", "d-none", "is-hidden", "visually-hidden", "sr-only", "screen-reader-text", "invisible"}
)
# The same names found in the joined class/id values (whole names: bounded by spaces or the separator).
_HIDING_CLASS = re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, sorted(_HIDDEN_CLASSES))) + r")(?!\S)")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")  # on lower-cased text
# Author markup (read by `html.PageMeta.author`): the class test is the substring test it always was
# ("yline", "uthor" in lower or upper case), the word test comes after.
_AUTHOR_ITEMPROPS = frozenset({"author", "name"})
_BYLINE_PARTS = ("yline", "uthor", "YLINE", "UTHOR")
_BYLINE_CLASS = re.compile("|".join(_BYLINE_PARTS))
_CHROME_OR_HIDING = re.compile(f"{_CHROME_WORD.pattern}|{_HIDING_CLASS.pattern}")
# What a (class, id) pair says: (names chrome or a hiding class, may name a byline).
# Kept for the process, not the page: a site's templates repeat their class names on every page, so the
# pages of an archive mostly meet pairs already judged (the two regex searches, 1.3 µs a pair, were a
# quarter of the page pass). Cleared when full rather than evicted one by one: a dict lookup is all the hot
# path pays.
# Keyed as the page pass meets the pair: class and id as UTF-8 with a NUL between (`_tree._verdict_key`).
_VERDICTS: dict[bytes, tuple[bool, bool]] = {}
_VERDICTS_MAX = 1 << 16


def class_verdict(classes: str, ident: str) -> tuple[bool, bool]:
    """What a class and id say: (names chrome or a hiding class, may name a byline)."""
    return (
        _CHROME_OR_HIDING.search(f"{classes}\n{ident}".lower()) is not None,
        bool(_BYLINE_CLASS.search(classes)),
    )


# The verdict on a pair the page pass meets first, kept in `_VERDICTS`: in C on the key's bytes for ASCII
# values (the same words and names as the patterns above; `tests/test_content.py` holds the two to each other),
# by `class_verdict` for any other. A new page meets ~90 such pairs: 1.3 -> ~0.2 us each.
_JUDGE = ClassVerdicts(_VERDICTS, _VERDICTS_MAX, _CHROME_KIND, _HIDDEN_CLASSES, _BYLINE_PARTS, class_verdict)


def _hiding_classes(classes: str) -> bool:
    """Whether a class attribute names a CSS framework's hiding class."""
    return not _HIDDEN_CLASSES.isdisjoint(classes.lower().split())


def _ad_label(label: str) -> bool:
    return _AD_LABEL.search(label) is not None


# The chrome step's rules (`_tree.take_chrome`). Regions are chrome by their tag or ARIA role, or by the words
# of their class and id (kept per class/id, like the page pass's verdicts); <html>, <body>, <main> and
# <article> never are, as a whole (named content, or the whole page). Hidden elements and ad slots leave too:
# `data-e2e="advertisement"`, `aria-hidden="true"` (hidden from readers, so not article content), `hidden`,
# an inline `display: none` or `visibility: hidden`, a hiding class, or a `role="region"` slot labelled an ad.
_CHROME_RULES = ChromeRules(
    region_kinds=_REGION_TAGS,
    never=("html", "body", "main", "article"),
    role_kinds=_REGION_ROLES,
    class_kind=class_chrome_kind,
    hiding_classes=_hiding_classes,
    hides=_HIDDEN_STYLE.search,
    ad_label=_ad_label,
    most_share=_CHROME_MAX_SHARE,
    kept_most=_VERDICTS_MAX,
)


@dataclass
class Chrome:
    """A region taken out of the page, kept for its links."""

    kind: LinkContext
    element: HtmlElement


# Attributes that mark a region, a hidden slot or an ad slot (`itemprop` only as `articleBody`).
_MARKING_ATTRIBUTES = frozenset({"role", "aria-hidden", "hidden", "data-e2e"})


@dataclass
class PageMarks:
    """The elements the chrome and the article region are looked for in, found in one pass, in document order."""

    regions: list[HtmlElement] = field(default_factory=list)  # <nav>, <aside>, <footer>
    marked: list[HtmlElement] = field(default_factory=list)  # role, aria-hidden, hidden, data-e2e, articleBody
    classed: list[HtmlElement] = field(default_factory=list)  # class/id with a chrome word or a hiding class
    styled: list[HtmlElement] = field(default_factory=list)  # an inline style that hides
    # Author markup: itemprop author or name, <a rel=author>; class attributes that may name a byline.
    authors: list[HtmlElement] = field(default_factory=list)
    bylines: list[HtmlElement] = field(default_factory=list)
    # Markup naming the article: itemprop=articleBody, <article>, <main>, role=main.
    article_bodies: list[HtmlElement] = field(default_factory=list)
    articles: list[HtmlElement] = field(default_factory=list)
    mains: list[HtmlElement] = field(default_factory=list)
    main_roles: list[HtmlElement] = field(default_factory=list)
    # Date markup: <time> with datetime, pubdate or itemprop=datePublished; other itemprop=datePublished.
    times: list[HtmlElement] = field(default_factory=list)
    published: list[HtmlElement] = field(default_factory=list)

    def named(self) -> tuple[list[HtmlElement], ...]:
        """The markup naming the article, most specific first."""
        return self.article_bodies, self.articles, self.mains, self.main_roles


def mark_page(tree: HtmlElement) -> PageMarks:
    """One walk over the page's elements that reads each one's attributes once (in C: `_tree.page_marks`;
    the decisions on class names and styles are this module's, passed in).

    Rejected after measuring: XPaths over the attributes (`//@class | //@id`, `//@role | ...`, `//@style`)
    with one regex over the joined values (1.15 ms a page: each value a smart string that makes its
    element's proxy), and named-region XPaths after the chrome left (four more scans); the same pass in
    Python, through lxml's proxies, was 0.7 ms.
    """
    return PageMarks(
        *page_marks(
            tree,
            tuple(_REGION_TAGS),
            _MARKING_ATTRIBUTES,
            _AUTHOR_ITEMPROPS,
            _VERDICTS,
            _JUDGE,
            _HIDDEN_STYLE.search,
        )
    )


def remove_chrome(tree: HtmlElement, marks: PageMarks) -> list[Chrome]:
    """Detach every chrome region (outermost first) and return them; the tree keeps the rest. Hidden
    elements and ad slots are detached too, without a record: they are not part of the page a reader sees.
    A region holding the marked article body is a wrapper, and one holding more than `_CHROME_MAX_SHARE` of
    the page's text a wrapper with an unlucky name: they stay. (In C: `_tree.take_chrome`.)"""
    body = tree.find("body")
    candidates = [*marks.regions, *marks.marked, *marks.classed, *marks.styled]
    regions = take_chrome(body if body is not None else tree, candidates, marks.article_bodies, _CHROME_RULES)
    return [Chrome(kind, element) for kind, element in regions]


# --- scoring -----------------------------------------------------------------------------------------------
_MIN_BLOCK_CHARS = 25
_COMMAS = ",，、;；"  # counted by the tally, a character at a time
_POSITIVE_WORDS = frozenset(
    {"article", "articlebody", "body", "content", "entry", "main", "page", "post", "text", "blog", "story",
     "hentry", "prose", "richtext"}
)  # fmt: skip
_NEGATIVE_WORDS = frozenset(_CHROME_KIND) | {"meta", "footnote", "caption", "credit", "extra", "shoutbox"}
_TAG_WEIGHT = {
    "div": 5, "section": 3, "article": 5, "main": 3, "pre": 3, "td": 3, "blockquote": 3, "address": -3,
    "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "th": -5,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5,
}  # fmt: skip


def class_weight(classes: str, ident: str) -> int:
    """A candidate's weight by the words of its class and id: +25 for a word of prose, -25 for one of chrome."""
    words = words_of(classes, ident)
    return 25 * (bool(words & _POSITIVE_WORDS) - bool(words & _NEGATIVE_WORDS))


# `score`'s rules, for its loop in C (`_tree.scored_tally`): headings score nothing, a paragraph credits its
# ancestors (loose text in a container is a paragraph of that container, as readability wraps it in a <p>,
# so the container itself is credited first), and <html> and <body> are never candidates.
_SCORE_RULES = ScoreRules(
    skipped=frozenset(HEADING_TAGS),
    parents_only=frozenset(PARAGRAPH_TAGS),
    unscored=frozenset({"html", "body"}),
    tag_weights=_TAG_WEIGHT,
    class_weight=class_weight,
    kept_most=_VERDICTS_MAX,
)


@dataclass
class Scores:
    """Readability scores of the candidates, and the text they hold (chars, link chars) for comparisons."""

    score: dict[HtmlElement, float]
    tally: TextTally

    def chars(self, element: HtmlElement) -> int:
        return self.tally.chars(element)

    def link_density(self, element: HtmlElement) -> float:
        chars = self.tally.chars(element)
        return self.tally.link_chars(element) / chars if chars else 0.0


def score(root: HtmlElement) -> Scores:
    """Score every element that holds prose under `root` (see the module doc), with the text it holds.

    Each block's own text (its text, its inline elements' text and tails, its children's tails; a block is
    `root` or an element with a block tag) is tallied in one pass over the nodes in C, and the points it
    credits summed there too (`_tree.scored_tally`, with `_SCORE_RULES`): through lxml's proxies the pass
    was 0.4 ms a page (a proxy per element, a string per text and tail), and the crediting loop in Python
    over the tally's blocks (a proxy for each block and its ancestors) ~0.05 ms more.
    """
    tally = scored_tally(root, BLOCK_TAGS, _COMMAS, _MIN_BLOCK_CHARS, _SCORE_RULES)
    return Scores(tally.scores, tally)


def best_region(root: HtmlElement, scores: Scores) -> HtmlElement | None:
    """Readability's choice: the top scorer, moved up to an ancestor that several near-top scorers share or
    that scores higher still."""
    if not scores.score:
        return None
    ranked = sorted(scores.score.items(), key=lambda pair: pair[1], reverse=True)
    top, top_score = ranked[0]
    if top_score <= 0:
        return None
    top = _opening_post(top, top_score, scores)
    near = [set(e.iterancestors()) for e, s in ranked[1:5] if s >= 0.75 * top_score]
    for ancestor in top.iterancestors():
        if ancestor is root or ancestor.tag in ("html", "body"):
            break
        if sum(ancestor in chain for chain in near) >= 3:
            top = ancestor
            break
    last = scores.score.get(top, top_score)
    threshold = last / 3
    for ancestor in top.iterancestors():
        if ancestor is root or ancestor.tag in ("html", "body"):
            break
        if ancestor not in scores.score:
            continue
        if scores.score[ancestor] < threshold:
            break
        if scores.score[ancestor] > last:
            top = ancestor
            break
        last = scores.score[ancestor]
    parent = top.getparent()
    while parent is not None and parent is not root and parent.tag not in ("html", "body") and len(parent) == 1:
        top, parent = parent, parent.getparent()
    return top


# A thread or an index page repeats one kind of box (same tag and class, each in a box of its own) for each
# post; the opening post is the article. Boxes scoring under this share of the best are not posts.
_POST_MIN_SHARE = 0.1
_POSTS_MIN = 3


def _opening_post(top: HtmlElement, top_score: float, scores: Scores) -> HtmlElement:
    """The first of the posts when `top` is one of several alike boxes under different parents, else `top`."""
    kind = (top.tag, top.get("class"))
    if not kind[1]:
        return top
    posts = [
        e for e, s in scores.score.items() if (e.tag, e.get("class")) == kind and s >= _POST_MIN_SHARE * top_score
    ]  # in document order: scores are credited in the order the text is met
    if len(posts) < _POSTS_MIN or len({id(p.getparent()) for p in posts}) < len(posts):
        return top  # siblings: paragraphs of one article, not posts
    # Posts are dated, each in its own box; an article cut into sections by figures is not.
    boxes = Counter(box for post in posts for box in post.iterancestors())
    dated = sum(_is_dated(post, boxes) for post in posts)
    return posts[0] if 2 * dated >= len(posts) else top


def _is_dated(post: HtmlElement, boxes: Counter[HtmlElement]) -> bool:
    """Whether a date is written in the post's own box (its largest ancestor holding no other post), outside
    the post's text."""
    box = None
    for ancestor in post.iterancestors():
        if boxes[ancestor] > 1:
            break
        box = ancestor
    if box is None:
        return False
    return bool(dates_in_text("".join(box.itertext()).replace("".join(post.itertext()), " ", 1)))


# A named region that holds the best-scoring region may add this much text to it (captions, headings, the
# standfirst) and still be the article; more than that, and it holds rails and teasers too.
_NAMED_MAX_EXTRA = 1.6
# A named region inside the best region must hold this share of its text to stand for it.
_NAMED_MIN_SHARE = 0.6


def contains(outer: HtmlElement, inner: HtmlElement) -> bool:
    """Whether `inner` is `outer` or inside it (in the tree as it is now: detached chrome is in no page)."""
    return is_within(inner, outer)  # parent pointers in C, not a proxy per ancestor


def content_root(tree: HtmlElement, marks: PageMarks) -> HtmlElement:
    """The element holding the article (see the module doc); `<body>` when the page has no prose region.

    `marks` are the page's marks from before the chrome left: a named region that left with it holds no
    scored text here, so it is passed over like one without text.
    """
    body = tree.find("body")
    page = body if body is not None else tree
    scores = score(page)
    best = best_region(page, scores)
    for candidates in marks.named():
        named = [e for e in candidates if scores.chars(e) >= 50]
        if not named:
            continue
        if best is None:
            return max(named, key=scores.chars)
        best_chars = scores.chars(best)
        for element in sorted(named, key=scores.chars):
            chars = scores.chars(element)
            if contains(element, best) and chars <= _NAMED_MAX_EXTRA * best_chars:
                return element
            if contains(best, element) and chars >= _NAMED_MIN_SHARE * best_chars:
                return element
    return best if best is not None else page


def detach_region(element: HtmlElement) -> None:
    """Take the article region out of the page (after it was read) so that what remains is the page's rest,
    its tail left in place (`_tree.detach`)."""
    detach(element)
