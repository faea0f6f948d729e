"""HTML normalisation on small hand-written pages: one behaviour per test."""

import contextlib
import gc
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newslake.core import Article, SeedRejected, extract_article, parse_seed
from newslake.core.language import resolve_language
from newslake.core.model import LinkContext
from tests.conftest import GIVEN_SEED, make_seed

CDN = "https://cdn.example.com"
LONG = "This paragraph has enough words to count as article text for the extractor."


def extract(html: str, url: str = "https://news.example.com/story/1") -> Article:
    return extract_article(parse_seed(make_seed(html, url=url)))


def test_ad_regions_and_scripts_are_dropped() -> None:
    article = extract(
        f"""<main><p>{LONG}</p>
        <section role="region" aria-label="Advertisement"><p>Buy now</p></section>
        <div data-e2e="advertisement"><p>Sponsored</p></div>
        <div aria-hidden="true"><p>hidden placeholder</p></div>
        <script>var x = "not text";</script><style>p {{}}</style>
        <p>{LONG} Second.</p></main>"""
    )
    assert [p.text for p in article.paragraphs] == [LONG, f"{LONG} Second."]


def test_noscript_picture_becomes_one_image_with_largest_candidate() -> None:
    article = extract(
        f"""<main><p>{LONG}</p><div><div><img src="data:image/gif;base64,R0lGOD" alt=""></div>
        <noscript><picture>
          <source srcset="{CDN}/240/a.jpg.webp 240w, {CDN}/800/a.jpg.webp 800w" type="image/webp">
          <source srcset="{CDN}/240/a.jpg 240w, {CDN}/800/a.jpg 800w" type="image/jpeg">
          <img src="https://images.weserv.nl/?url=cdn.example.com/640/a.jpg" alt="A" width="976" height="549">
        </picture></noscript></div><p>{LONG} More.</p></main>"""
    )
    assert len(article.images) == 1
    image = article.images[0]
    assert image.src == "https://cdn.example.com/800/a.jpg"
    assert (image.alt, image.width, image.height) == ("A", 976, 549)


def test_srcset_urls_with_commas_stay_whole() -> None:
    # Image CDNs put commas in the path ("c_fill,w_1600") or the query ("resize=900,600"): a srcset candidate
    # runs to the next whitespace (as on gizmodo.com, morebikes.co.uk and rollingstone.com in the corpus).
    resizer = "https://i.example-cdn.com/image/upload/c_fill,fl_progressive,g_center"
    article = extract(
        f"""<main><p>{LONG}</p><figure><img src="{resizer},w_470/a.jpg"
        srcset="{resizer},w_470/a.jpg 470w, {resizer},h_900,q_80,w_1600/a.jpg 1600w,
        https://x.example/b.jpg?resize=900,600&amp;w=1200 1200w"></figure><p>{LONG} More.</p></main>"""
    )
    assert [image.src for image in article.images] == [f"{resizer},h_900,q_80,w_1600/a.jpg"]


def test_figure_caption_and_credit_are_not_paragraphs() -> None:
    article = extract(
        f"""<article><p>{LONG}</p>
        <figure><img src="/img/a.jpg" alt="alt"><figcaption>Protesters in the square.</figcaption>
        <p>Image source, Getty Images</p></figure><p>{LONG} Two.</p></article>"""
    )
    image = article.images[0]
    assert (image.caption, image.credit) == ("Protesters in the square.", "Getty Images")
    assert image.src == "https://news.example.com/img/a.jpg"
    assert all("Getty" not in p.text and "Protesters" not in p.text for p in article.paragraphs)


def test_a_figcaption_is_the_caption_before_text_earlier_in_the_figure() -> None:
    # A figure's <figcaption> is its caption even when another short text comes first in the group.
    article = extract(
        f"""<article><p>{LONG}</p>
        <figure><p>Swipe for more</p><img src="/img/a.jpg"><figcaption>The square at noon.</figcaption></figure>
        <p>{LONG} Two.</p></article>"""
    )
    assert [image.caption for image in article.images] == ["The square at noon."]


def test_caption_beside_the_picture_container() -> None:
    article = extract(
        f"""<main><p>{LONG}</p><div><div><div><img src="https://x.example/a.jpg">
        <p role="text"><span>图像来源，</span><span>Reuters</span></p></div>
        <div><p>装甲车被部署到阿拉木图街头</p></div></div></div><p>{LONG} Two.</p></main>"""
    )
    image = article.images[0]
    assert (image.caption, image.credit) == ("装甲车被部署到阿拉木图街头", "Reuters")
    assert len(article.paragraphs) == 2


def test_link_only_list_becomes_links_not_paragraphs() -> None:
    article = extract(
        f"""<main><p>{LONG}</p><ul><li><a href="/story/2">Related one</a></li>
        <li><a href="https://other.org/x">Related two</a></li></ul></main>"""
    )
    assert len(article.paragraphs) == 1
    assert [(link.href, link.context, link.is_internal) for link in article.links] == [
        ("https://news.example.com/story/2", LinkContext.LIST, True),
        ("https://other.org/x", LinkContext.LIST, False),
    ]
    assert article.links[0].position == article.links[1].position


def test_text_list_items_are_paragraphs() -> None:
    article = extract(f"<main><p>{LONG}</p><ul><li>First point of the story.</li><li>Second point.</li></ul></main>")
    assert [p.text for p in article.paragraphs][1:] == ["First point of the story.", "Second point."]


def test_bold_standfirst_is_the_lead() -> None:
    article = extract(f"<main><h1>Title</h1><p><b>The standfirst.</b></p><p><b>Bold</b> start only. {LONG}</p></main>")
    assert article.lead == "The standfirst."
    assert [p.is_lead for p in article.paragraphs] == [True, False]


def test_no_lead_without_standfirst() -> None:
    assert extract(f"<main><p>{LONG}</p><p><b>Late bold.</b></p></main>").lead is None


def test_sections_follow_headings_and_positions_are_shared() -> None:
    article = extract(f'<main><p>{LONG}</p><h2 id="one">One</h2><p>{LONG} A.</p><h2>Two</h2><p>{LONG} B.</p></main>')
    assert [p.section for p in article.paragraphs] == [None, "One", "Two"]
    assert [(h.text, h.anchor, h.level) for h in article.headings] == [("One", "one", 2), ("Two", None, 2)]
    positions = sorted([p.position for p in article.paragraphs] + [h.position for h in article.headings])
    assert positions == list(range(5))


def test_dateline_time_is_not_a_paragraph_but_dates_the_article() -> None:
    article = extract(f'<main><div><time datetime="2022-01-13">46 分钟前</time></div><p>{LONG}</p></main>')
    assert [p.text for p in article.paragraphs] == [LONG]
    assert article.published is not None
    assert article.published.at.isoformat() == "2022-01-13T12:27:03+00:00"


def test_unsafe_and_in_page_links_are_dropped_and_counted() -> None:
    article = extract(
        f"""<main><p>{LONG} <a href="javascript:alert(1)">x</a> <a href="mailto:a@b.c">m</a>
        <a href="#section">jump</a> <a href="data:text/html,hi">d</a> <a href="/ok">ok</a></p></main>"""
    )
    assert [link.href for link in article.links] == ["https://news.example.com/ok"]
    assert article.links_dropped == 4


def test_loose_text_between_blocks_is_kept() -> None:
    article = extract(
        f"<body><div>{LONG}<br>Line two of it.<div><p>{LONG} Inner.</p></div>Tail text here.</div></body>"
    )
    assert [p.text for p in article.paragraphs] == [
        f"{LONG} Line two of it.",
        f"{LONG} Inner.",
        "Tail text here.",
    ]


def test_page_without_text_is_rejected() -> None:
    with pytest.raises(SeedRejected) as caught:
        extract("<main><script>only()</script><div> </div></main>")
    assert caught.value.reason == "no_body_text"


def test_extraction_makes_no_reference_cycles() -> None:
    """The flow's workers collect cyclic garbage less often than CPython does (`settle_long_lived`) because
    the core makes none: a cycle made per page, holding its tree, would then live on for many pages."""
    pages = [
        GIVEN_SEED.read_bytes(),
        make_seed(f"<main><h1>T</h1><p>{LONG}</p><a href='/x'>x</a><img src='i.jpg'></main>"),
        make_seed("<main><script>only()</script></main>"),  # rejected: no text
    ]

    def extract_all() -> None:
        for data in pages:
            with contextlib.suppress(SeedRejected):
                extract_article(parse_seed(data))

    extract_all()  # first use: the language model, caches
    gc.collect()
    gc.disable()
    try:
        extract_all()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_whole_document_uses_the_article_region() -> None:
    article = extract(
        f"""<!DOCTYPE html><html lang="en-gb"><head><title>T</title>
        <meta property="article:published_time" content="2021-06-01T08:00:00+00:00">
        <meta name="author" content="Jane Doe"></head><body><nav><a href="/">Home</a></nav>
        <article><h1>Headline</h1><p>{LONG}</p></article><footer><p>Copyright notice text</p></footer></body></html>"""
    )
    assert [p.text for p in article.paragraphs] == [LONG]
    assert article.author == "Jane Doe"
    assert article.language == "en-GB"
    assert article.published is not None and article.published.source.value == "meta"


@pytest.mark.parametrize(
    ("declared", "text", "expected"),
    [
        (
            None,
            "中亚内陆国家哈萨克斯坦被称为俄罗斯的战略后院，也是中国一带一路最重要的伙伴国之一。",
            "zh-Hans",
        ),
        (
            "zh-TW",
            "中亞內陸國家哈薩克斯坦被稱為俄羅斯的戰略後院，也是中國一帶一路最重要的夥伴國之一。",
            "zh-Hant",
        ),
        (
            "zh-CN",
            "中亞內陸國家哈薩克斯坦被稱為俄羅斯的戰略後院，也是中國一帶一路最重要的夥伴國之一。",
            "zh-Hant",
        ),
        ("en-us", "The quick brown fox jumps over the lazy dog in the park every day.", "en-US"),
        ("en", "Der schnelle braune Fuchs springt über den faulen Hund und die Katze im Park.", "de"),
        (None, "", "und"),
        # Mostly kanji, but with kana: Japanese, whatever the page declares (the shortcut for Han text must not
        # take it for Chinese); written Cantonese is Han without kana, and py3langid tells it.
        (
            "zh",
            "国土交通省は来年度予算案の概算要求で、高速道路網整備事業費として前年度比一割増の約二兆円を計上した。"
            "内閣府も同日、経済財政諮問会議で成長戦略を説明した。",
            "ja",
        ),
        (None, "佢哋話今日唔會嚟，因為落緊大雨，我哋都唔知點算好。呢度啲嘢好貴，我冇錢買。", "yue"),
        # Han characters among more Latin letters: left to py3langid, which hears the English.
        (
            None,
            "The ministry said on Monday that the new rules (新规定) would apply to imports from next year, "
            "and that companies had until March to register.",
            "en",
        ),
        # Cyrillic is two bytes a character: the sample is cut at a character, not inside one.
        ("ru", "Министерство иностранных дел России заявило в понедельник о новых правилах въезда. " * 12, "ru"),
    ],
)
def test_language(declared: str | None, text: str, expected: str) -> None:
    assert resolve_language(declared, text) == expected


@given(st.text(alphabet=st.sampled_from("aé Жж中€𝄞-"), min_size=150, max_size=700))
def test_language_sample_is_cut_between_characters(text: str) -> None:
    """Characters of one to four UTF-8 bytes: the byte budget must never cut one (decoding the cut sample
    would raise), and what is detected is a tag the `articles` schema accepts."""
    assert re.fullmatch(r"und|[a-z]{2,3}(-[A-Z][a-z]{3})?", resolve_language(None, text))


def test_base_href_is_honoured() -> None:
    article = extract(
        '<html><head><base href="https://cdn.example.org/root/"></head>'
        f'<body><p>{LONG} <a href="x">x</a></p></body></html>'
    )
    assert [link.href for link in article.links] == ["https://cdn.example.org/root/x"]


_FRAGMENT_PIECES = st.sampled_from(
    ["<p>", "</p>", "<b>", "</b>", "<a href='/x'>", "</a>", "<div>", "</div>", "<br>", "<span>", "</span>",
     "text", " ", "\n  ", "&amp;", "&nbsp;", "中文", "<li>", "<img src='/i.jpg'>", "tail"]
)  # fmt: skip


@given(st.lists(_FRAGMENT_PIECES, max_size=40))
def test_text_of_is_what_text_content_gives(pieces: list[str]) -> None:
    from newslake.core.html import parse_html
    from newslake.core.text import text_of

    tree = parse_html("<html><body><div>" + "".join(pieces) + "</div></body></html>")
    for element in tree.iter():
        assert text_of(element) == element.text_content()


@pytest.mark.parametrize(
    "page",
    [
        '<html lang="en-GB"><body><p>x</p></body></html>',
        '<html lang=""><head><meta http-equiv="content-language" content="fr"></head><body><p>x</p></body></html>',
        "<main><p>x</p></main>",  # a fragment: the parser's <html> has no lang
        '<html><body><div lang="de"><p>x</p></div></body></html>',
        '<!DOCTYPE html><!-- c --><html xml:lang="it" lang="pt-BR"><p>x</p></html>',
    ],
)
def test_declared_language_is_what_html_lang_selects(page: str) -> None:
    import lxml.etree

    from newslake.core.html import PageMeta, parse_html

    tree = parse_html(page)
    langs = lxml.etree.XPath("/html/@lang")(tree)
    assert isinstance(langs, list)
    meta = PageMeta(tree)
    assert meta.declared_language == (str(langs[0]) if langs and langs[0] else meta.meta.get("content-language"))
