"""HTML normalisation: one pass over the article's content region, dispatching each element by kind.

The walk (`_Walker.walk`) classifies every element once and hands it to the handler for its kind: paragraph,
heading, byline, image (a picture with its caption and credit), gallery, list, or container (descend). Each
handler has the same shape, `(walker, element)`, and appends blocks with the next position, so paragraphs,
headings, images and link lists share one document order. The walk and the handlers of paragraphs, headings,
bylines and containers run in C on libxml2's nodes (`_tree.BlockWalker`, by the rules passed in `_RULES`);
the handlers of images, galleries and lists, and the tests on markup they and the walk ask, are here.
"""

import re
from collections.abc import Iterator
from functools import cache
from itertools import islice

from lxml.html import HtmlElement

from newslake.core._tree import (
    WORDS_GALLERY,
    WORDS_METADATA,
    BlockWalker,
    NodeSet,
    WalkRules,
    joined_text,
    last_texts,
    links_in,
    prune,
)
from newslake.core.content import (
    BODY_WORDS,
    Chrome,
    content_root,
    detach_region,
    mark_page,
    remove_chrome,
    words_of,
)
from newslake.core.dates import decide_published, text_date
from newslake.core.errors import SeedRejected, Stage
from newslake.core.html import PageMeta, parse_html, written_author
from newslake.core.language import resolve_language
from newslake.core.model import Article, Heading, Image, Link, LinkContext, Paragraph
from newslake.core.seed import Seed
from newslake.core.selectors import Selector
from newslake.core.tags import BLOCK_TAGS, DROP_TAGS, HEADING_TAGS, IMAGE_TAGS, LIST_TAGS, PARAGRAPH_TAGS
from newslake.core.text import normalise_text, text_of
from newslake.core.urls import (
    SrcsetCandidate,
    UrlError,
    anchor_rows,
    host_of,
    parse_srcset,
    path_extension,
    registrable_domain,
    resolve_href,
    unwrap_proxy,
)

# --- what to drop -------------------------------------------------------------------------------------
# --- element kinds ------------------------------------------------------------------------------------
# A picture's `<source>` elements and a figure group's `<figcaption>`s are read by `iterdescendants(tag)` (a
# filter in C), not by the XPaths `.//source[@srcset or @data-srcset]` and `.//figcaption`: an XPath call costs
# ~5-10 us of set-up whatever the subtree, two of them a picture (8% of the time of the walk's pictures).
_SOURCE_SRCSET_ATTRS = ("srcset", "data-srcset")
_BLOCK_DESCENDANT_TAGS = (
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "section", "blockquote", "pre",
    "figure", "li", "article", "header", "main",
)  # fmt: skip
_HEADING_OR_LIST_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol")
SEL_H1 = Selector("//h1")
# A figure group's parts, read by `Element.iterdescendants(*tags)`, which filters by tag in C. Rejected: the
# XPaths `.//*[re:test(concat(@class, ' ', @itemprop), 'credit|copyright|byline', 'i')]` (EXSLT's regex calls
# back into Python for each element) and `.//*[self::p or self::figcaption or ...][normalize-space()]`: a
# page's figure groups took 72 us with them, 50 without.
_CREDIT_MARKUP = re.compile("credit|copyright|byline", re.IGNORECASE)  # in the class or itemprop
_TEXT_BLOCK_TAGS = ("p", "figcaption", "span", "div", "small", "cite")
_XML_SPACE = " \t\r\n"  # what XPath's normalize-space() strips
_LEAD_CLASS = re.compile(r"(^|[^a-z])(lead|standfirst|intro|dek|summary|kicker)([^a-z]|$)", re.IGNORECASE)

# "图像来源，Reuters", "Image source, Getty Images", "Photo: AP", "Credit: ...": the label, then the credit.
_CREDIT = re.compile(
    r"^\s*(?:图像来源|圖像來源|图片来源|圖片來源|图片|圖片|image source|image|photo(?:graph)?s?(?: credit)?|"
    r"picture|pic|credit|foto|bild|fuente|source|copyright|©)\s*[,，:：/]\s*(.+?)\s*$|^\s*©\s*(.+?)\s*$",
    re.IGNORECASE,
)
# Class/id words of blocks that carry the article's metadata rather than its text.
_METADATA_WORDS = frozenset(
    {"byline", "bylines", "dateline", "timestamp", "author", "authors", "date", "published", "posted", "meta",
     "metadata"}
)  # fmt: skip
_METADATA_MAX_CHARS = 300
_GALLERY_WORDS = frozenset({"gallery", "slideshow", "carousel", "lightbox", "slider", "swiper"})
_GALLERY_MAX_CHARS = 5000  # captions (often twice: full and truncated), credits and controls of ~10 slides
# A block whose link text is at least this share of its text is a link block, not a paragraph.
_LINK_BLOCK_SHARE = 0.6
# A figure's own text is short; a longer text next to a picture is article text, not its caption.
_CAPTION_MAX_CHARS = 400
_CAPTION_MAX_BLOCKS = 3
_SIZE = re.compile(r"^\s*(\d{1,6})(?:\.\d+)?\s*(?:px)?\s*$")
_LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-url", "data-hi-res-src", "src")
_LAZY_SRCSET_ATTRS = ("srcset", "data-srcset", "data-lazy-srcset")


# Per-block lookups go through Element.iter(tag), which filters in C; an XPath per paragraph cost more than
# the rest of the walk together.
def _imgs(element: HtmlElement) -> list[HtmlElement]:
    """The element itself if it is an <img>, else its <img> descendants."""
    return list(element.iter("img"))


def _tag(element: HtmlElement) -> str:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""


def _text(element: HtmlElement) -> str:
    return normalise_text(text_of(element))


def _has_descendant(element: HtmlElement, tags: tuple[str, ...]) -> bool:
    """Whether any element under `element` has one of `tags`. lxml filters by tag in C and this stops at the
    first: the XPath `.//*[self::h1 or ...]` it replaces tested every predicate on every node of the subtree
    (~60 µs on an article body holding one picture, asked of each container around a picture)."""
    return next(element.iterdescendants(*tags), None) is not None


def _has_blocks(element: HtmlElement) -> bool:
    return _has_descendant(element, _BLOCK_DESCENDANT_TAGS)


def _pictures(element: HtmlElement, limit: int | None = None) -> list[HtmlElement]:
    """The distinct pictures under `element`: one `<img>` per `<picture>`, lazy duplicates merged.

    A lazy-loading page often has a placeholder `<img>` beside the real one in `<noscript>`; both describe
    one picture, so images are keyed by the URL they resolve to and placeholders without a URL are ignored.
    `limit` stops early (deciding "exactly one picture?" needs two at most).
    """
    seen: set[str] = set()
    out: list[HtmlElement] = []
    for img in element.iter("img"):
        key = _raw_src(img)
        if key is None or key in seen:
            continue
        seen.add(key)
        out.append(img)
        if limit is not None and len(out) >= limit:
            break
    return out


def _raw_src(img: HtmlElement) -> str | None:
    for attr in _LAZY_SRC_ATTRS:
        value = (img.get(attr) or "").strip()
        if value and not value.lower().startswith(("data:", "about:", "javascript:")):
            return unwrap_proxy(value)
    for attr in _LAZY_SRCSET_ATTRS:
        candidates = parse_srcset(img.get(attr) or "")
        if candidates:
            return unwrap_proxy(candidates[0].url)
    return None


def _text_leaves(group: HtmlElement) -> list[HtmlElement]:
    """The outermost elements with text and no block inside, in document order (a `<p>` rather than its spans)."""
    chosen: list[HtmlElement] = []
    inside = NodeSet()  # "in one chosen already?" by parent pointers in C, not a proxy per ancestor
    for element in group.iterdescendants(*_TEXT_BLOCK_TAGS):
        if inside.covers(element) or not text_of(element).strip(_XML_SPACE):
            continue
        if not _has_blocks(element) and not _imgs(element):
            chosen.append(element)
            inside.add(element)
    return chosen


def _credit_markup(group: HtmlElement) -> Iterator[HtmlElement]:
    """The elements under `group` whose class or itemprop names a credit, copyright or byline."""
    for element in group.iterdescendants("*"):
        klass, itemprop = element.get("class"), element.get("itemprop")
        if (klass or itemprop) and _CREDIT_MARKUP.search(f"{klass or ''} {itemprop or ''}"):
            yield element


def _is_figure_group(element: HtmlElement) -> bool:
    """One picture and only a little text (its caption and credit), no headings or lists."""
    if len(_pictures(element, limit=2)) != 1 or _has_descendant(element, _HEADING_OR_LIST_TAGS):
        return False
    if len(_text(element)) > _CAPTION_MAX_CHARS:
        return False
    return len(_text_leaves(element)) <= _CAPTION_MAX_BLOCKS


def _word_flags(classes: str, ident: str) -> int:
    """What the walk reads in an element's class and id words: `WORDS_METADATA`, a byline, dateline or
    "article meta" block (read by the date and author logic, not article text); `WORDS_GALLERY`, a slideshow
    or carousel (pictures with captions and controls repeated per slide); neither when a word names the body.
    The walk adds the length tests: a long "meta" block is a wrapper, not a byline (`_METADATA_MAX_CHARS`;
    a gallery `_GALLERY_MAX_CHARS`)."""
    words = words_of(classes, ident)
    if not BODY_WORDS.isdisjoint(words):
        return 0
    metadata = WORDS_METADATA if not _METADATA_WORDS.isdisjoint(words) else 0
    return metadata | (WORDS_GALLERY if not _GALLERY_WORDS.isdisjoint(words) else 0)


def _int_size(value: str | None) -> int | None:
    match = _SIZE.match(value or "")
    if match is None:
        return None
    number = int(match.group(1))
    return number if 0 < number <= 100_000 else None


class _Walker(BlockWalker):
    """State of one article's walk: the next position, the current section, and the rows so far (`paragraphs`,
    `headings`, `images`, `links`: `_tree.BlockWalker`, which walks the content region in C and hands images,
    lists and galleries to the handlers below)."""

    def __init__(self, root: HtmlElement, base_url: str, page_url: str, site: str) -> None:
        # `base_url`: what relative URLs resolve against (the article URL, or the page's <base href>);
        # `page_url`: the article URL, to recognise in-page jumps; `site`: the article's registrable domain.
        super().__init__(root, _RULES, base_url, page_url, site, anchor_rows(base_url, page_url, site, Link))

    def add_page_links(self, tree: HtmlElement, root: HtmlElement, chrome: list[Chrome]) -> None:
        """The links around the article, without a position: chrome regions by kind, the rest as `page`.

        Called after the walk: the article region leaves the tree, so what remains is the rest of the page.
        """
        for region in chrome:
            self.add_links(region.element, None, region.kind)
        if root.getparent() is not None:
            detach_region(root)
            self.add_links(tree, None, LinkContext.PAGE)


# --- handlers: one shape, (walker, element) -> None --------------------------------------------------------
def handle_gallery(walker: _Walker, element: HtmlElement) -> None:
    """Each picture of a slideshow is an image row; its repeated captions and controls are not text."""
    for img in _pictures(element):
        handle_image(walker, img)
    walker.add_links(element, None, LinkContext.CAPTION)


def _is_lead(element: HtmlElement, text: str) -> bool:
    """A bold standfirst (the whole paragraph in <b>/<strong>) or a paragraph marked up as the lead."""
    marked = " ".join(filter(None, (element.get("class"), element.get("itemprop"), element.get("id"))))
    if _LEAD_CLASS.search(marked):
        return True
    bold = normalise_text("".join(text_of(b) for b in element.iter("b", "strong")))
    return bold == text


def _is_dateline(element: HtmlElement, text: str) -> bool:
    """A block that is nothing but a `<time>` ("46 分钟前") is metadata, read by the date logic, not text."""
    times = list(element.iter("time"))
    return bool(times) and normalise_text("".join(text_of(t) for t in times)) == text


def _paragraph_images(walker: _Walker, element: HtmlElement) -> None:
    """The pictures inside a paragraph, each an image row before the paragraph's text."""
    for img in _pictures(element):
        handle_image(walker, img)


def _only_links(item: HtmlElement) -> bool:
    anchors = links_in(item)
    return bool(anchors) and normalise_text("".join(inside for _, inside in anchors)) == _text(item)


def handle_list(walker: _Walker, element: HtmlElement) -> None:
    """A list of nothing but links ("related stories") becomes links; any other list, one paragraph per item."""
    items = [child for child in element if _tag(child) in {"li", "dt", "dd"} and _text(child)]
    if items and all(_only_links(item) for item in items):
        walker.add_links(element, walker.next_position(), LinkContext.LIST)
        return
    for item in element:
        if _tag(item) in {"li", "dt", "dd"} and walker.has_blocks(item):
            walker.walk_children(item)
        elif _tag(item) in {"li", "dt", "dd"}:
            text = _text(item)
            if text:
                position = walker.next_position()
                walker.add_paragraph(position, text, is_lead=False)
                walker.add_links(item, position, LinkContext.LIST)
        else:
            walker.walk(item)


def _best_candidate_src(img: HtmlElement, src: str) -> str:
    """The largest `srcset`/`<source>` candidate of this picture when it is larger than `src`.

    The fallback `src`'s own width is known only when it is listed in a srcset; otherwise a listed
    candidate is taken as larger (srcset exists to offer the bigger renditions). Among equally wide
    candidates the one in the fallback's format wins (a `.jpg` over its `.webp` twin).
    """
    srcsets = [img.get(a) or "" for a in _LAZY_SRCSET_ATTRS]
    # libxml2 does not know <source> as a void element, so unclosed <source> tags nest (and the <img> ends up
    # inside one): the picture's sources are all its descendants, not only its children.
    picture = next(img.iterancestors("picture"), None)
    if picture is not None:
        srcsets += [
            s.get("srcset") or s.get("data-srcset") or ""
            for s in picture.iterdescendants("source")
            if any(s.get(attr) is not None for attr in _SOURCE_SRCSET_ATTRS)
        ]
    candidates = [c for s in srcsets for c in parse_srcset(s) if not c.url.lower().startswith("data:")]
    if not candidates:
        return src
    src_width = next((c.width or 0.0 for c in candidates if unwrap_proxy(c.url) == src), None)
    top = max(map(_candidate_size, candidates))
    # The first of the largest, preferring the fallback's format: what max() by (size, same format) picks,
    # with the extension (a urlsplit) read only for the largest, not for every candidate of a long srcset.
    largest = [c for c in candidates if _candidate_size(c) == top]
    extension = path_extension(src)
    best = next((c for c in largest if path_extension(c.url) == extension), largest[0])
    if src_width is not None and (best.width or 0.0) <= src_width:
        return src
    return unwrap_proxy(best.url)


def _candidate_size(candidate: SrcsetCandidate) -> float:
    return candidate.width if candidate.width is not None else (candidate.density or 1.0)


def _caption_and_credit(group: HtmlElement, img: HtmlElement) -> tuple[str | None, str | None]:
    """Split a figure group's text into caption and credit ("图像来源，Reuters" -> credit "Reuters")."""
    caption: str | None = None
    credit: str | None = None
    for element in _credit_markup(group):
        text = _text(element)
        if text and not _imgs(element):
            match = _CREDIT.match(text)
            credit = normalise_text(match.group(1) or match.group(2)) if match else text
            element.drop_tree()  # so that the credit does not end in the caption's text too
            break
    for block in [*group.iterdescendants("figcaption"), *_text_leaves(group)]:
        text = _text(block)
        match = _CREDIT.match(text)
        if match is not None and credit is None and len(text) < 120:
            credit = normalise_text(match.group(1) or match.group(2))
        elif match is None and caption is None and text:
            caption = text
    return caption, credit


def handle_image(walker: _Walker, element: HtmlElement) -> None:
    """One row per picture, with the caption and credit that its group (figure or container) holds."""
    pictures = _pictures(element)
    if not pictures:
        return
    if len(pictures) > 1:
        for img in pictures:
            handle_image(walker, img)
        return
    img = pictures[0]
    raw = _raw_src(img)
    if raw is None:
        return
    try:
        src = resolve_href(_best_candidate_src(img, raw), walker.base_url)
    except UrlError:
        return
    src = src.partition("#")[0]
    if src in walker.seen_image_srcs:
        return  # the same picture repeated (a lazy placeholder outside the group)
    walker.seen_image_srcs.add(src)
    caption, credit = _caption_and_credit(element, img) if element is not img else (None, None)
    position = walker.next_position()
    walker.images.append(
        Image(
            position=position,
            src=src,
            alt=normalise_text(img.get("alt") or "") or None,
            caption=caption,
            credit=credit,
            width=_int_size(img.get("width")),
            height=_int_size(img.get("height")),
        )
    )
    if element is not img:
        walker.add_links(element, position, LinkContext.CAPTION)


# The walk's rules (`_tree.WalkRules`): it classifies each element as the tag sets and these tests say, and
# handles paragraphs, headings, bylines and containers itself; images, lists and galleries are handed to the
# handlers above, each of one shape, `(walker, element) -> None`.
_RULES = WalkRules(
    drop=DROP_TAGS,
    headings=HEADING_TAGS,
    images=IMAGE_TAGS,
    lists=LIST_TAGS,
    paragraphs=PARAGRAPH_TAGS,
    blocks=BLOCK_TAGS,
    block_descendants=_BLOCK_DESCENDANT_TAGS,
    word_flags=_word_flags,
    metadata_max_chars=_METADATA_MAX_CHARS,
    gallery_max_chars=_GALLERY_MAX_CHARS,
    link_block_share=_LINK_BLOCK_SHARE,
    normalise=normalise_text,
    paragraph_row=Paragraph,
    heading_row=Heading,
    contexts=(LinkContext.PARAGRAPH, LinkContext.LIST, LinkContext.HEADING, LinkContext.BYLINE),
    handle_image=handle_image,
    handle_list=handle_list,
    handle_gallery=handle_gallery,
    is_figure_group=_is_figure_group,
    is_lead=_is_lead,
    is_dateline=_is_dateline,
    paragraph_images=_paragraph_images,
    word_verdicts_max=1 << 16,
)


# --- the article --------------------------------------------------------------------------------------
def _prune(root: HtmlElement) -> None:
    """Drop scripts, styles and form controls; give <br> a newline so that lines do not run together."""
    # Dropped elements leave the tree up front, not only the walk, so that no text_content() sees them: whole
    # subtrees, their tail text kept, in one pass in C with the <br>s' tails (`_tree.prune`; lxml's
    # `strip_elements` and a pass of its own for the <br>s took 0.11 against 0.08 ms a page). (Hidden and ad
    # slots go with the chrome, in one scan: `content.remove_chrome`.)
    prune(root, DROP_TAGS)


def _page_text(tree: HtmlElement) -> str:
    body = tree.find("body")
    return normalise_text(joined_text(body if body is not None else tree, " "))  # " ".join(itertext()), in C


_SIGNATURE_WEIGHT = 8.0
_TITLE_SEPARATORS = re.compile(r"\s[-|–—_:]\s|[|_｜—]")


def _titles(seed: Seed, page: PageMeta, tree: HtmlElement) -> list[str]:
    """What the page's title may be written as: the header's title, its parts ("Story - Site"), the <h1>s."""
    titles = [t for t in (seed.title, page.page_title) if t]
    parts = [part.strip() for t in titles for part in _TITLE_SEPARATORS.split(t)]
    h1s = [normalise_text(text_of(h)) for h in SEL_H1(tree)]
    return [t for t in dict.fromkeys([*titles, *parts, *h1s]) if len(t) >= 4]


def _anchors_in(page_text: str, titles: list[str], root: HtmlElement) -> list[tuple[int, float]]:
    """Where the title and the article's first and last words are in the page text, with their weights."""
    anchors = [(i, 1.0) for t in titles if (i := page_text.find(t)) >= 0]
    # The article's first and last words: a date just before it is its dateline, just after it its signature
    # ("本贴由 X 于 2005年8月12日16:12:21 发表").
    opening = normalise_text(" ".join(islice(root.itertext(), 20)))[:30]
    if opening and (start := page_text.find(opening)) >= 0:
        anchors.append((start, 1.0))
        ending = normalise_text(" ".join(last_texts(root, 20)))[-30:]  # read from the end, in C
        if ending and (end := page_text.find(ending, start)) >= 0:
            # weaker: a blog's own post date after a reprinted article loses to the article's dateline
            anchors.append((end + len(ending), _SIGNATURE_WEIGHT))
    return anchors or [(0, 1.0)]


def _base_url(base_href: str | None, url: str) -> str:
    """The page's `<base href>` (resolved against its URL) when it is a usable http(s) URL, else the URL."""
    if base_href:
        try:
            return resolve_href(base_href, url)
        except UrlError:
            pass  # a broken <base> is ignored, as browsers do
    return url


def extract_article(seed: Seed) -> Article:
    """Normalise a seed's HTML into an article with its paragraphs, headings, images and links.

    Raises `SeedRejected` when the HTML cannot be parsed or holds no article text.
    """
    tree = parse_html(seed.body)
    page = PageMeta(tree)
    _prune(tree)
    # Pages without a machine-readable date or author get them from their text; the text is taken before
    # the chrome (bylines, datelines in headers) leaves the tree, once for both.
    stated = page.has_structured_date() and page.stated_author() is not None
    page_text = None if stated else _page_text(tree)
    marks = mark_page(tree)
    chrome = remove_chrome(tree, marks)
    root = content_root(tree, marks)
    # Where the title and the article's first and last words sit in the page text: found once, for the date
    # and the byline, and only when one of them is looked for.
    anchors = cache(lambda: _anchors_in(page_text or "", _titles(seed, page, tree), root))
    published = decide_published(
        page.date_evidence(root, marks),
        seed.url,
        seed.crawled_at,
        text=None if page_text is None else lambda: text_date(page_text, anchors(), seed.crawled_at),
    )
    if published is None:
        raise SeedRejected(
            Stage.EXTRACT,
            "no_date",
            "no date in the page or its URL and no crawl stamp: the article has no date partition to go to",
        )
    domain = host_of(seed.url)
    walker = _Walker(root, _base_url(page.base_href, seed.url), seed.url, registrable_domain(domain))
    walker.walk(root, is_root=True)
    author = page.author(tree, marks)
    if author is None and page_text is not None:
        author = written_author(page_text, anchors())
    walker.add_page_links(tree, root, chrome)
    if not walker.paragraphs:
        raise SeedRejected(
            Stage.EXTRACT, "no_body_text", "no paragraph of text was found in the article's content region"
        )
    title = seed.title or page.page_title or next((h.text for h in walker.headings if h.level == 1), "")
    if not title:
        raise SeedRejected(Stage.EXTRACT, "no_title", "neither the seed header nor the page gives a title")
    body_text = " ".join(p.text for p in walker.paragraphs)
    return Article(
        url=seed.url,
        domain=domain,
        title=title,
        language=resolve_language(page.declared_language, body_text),
        published=published,
        crawled_at=seed.crawled_at,
        author=author,
        paragraphs=tuple(walker.paragraphs),
        headings=tuple(walker.headings),
        images=tuple(walker.images),
        links=tuple(walker.links.rows),
        links_dropped=walker.links.dropped,
    )
