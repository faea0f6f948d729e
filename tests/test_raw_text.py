"""`_text.without_unread_bodies` against libxml2 itself: the tree of a page without its script and style
bodies and its <svg> elements' content is the tree libxml2 builds of the whole page, less the text of those
elements and the content of the <svg>s, and JSON-LD keeps its text. A difference in where the scan thinks a
body ends (comments, quoted attribute values, escaped scripts, raw-text elements, a page that stops mid-tag,
an <svg> that libxml2 closes elsewhere or whose content shapes the tree around it) shows as a different tree.
"""

import lxml.etree
import lxml.html
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newslake.core._text import without_unread_bodies
from newslake.core.html import PageMeta, _parser, parse_html
from newslake.core.seed import parse_seed
from newslake.core.text import C0_CONTROL_BYTES
from tests.conftest import CORPUS_SEEDS, corpus_files, requires_corpus

_JSON_LD = "application/ld+json"  # what `PageMeta` reads


def _tree(data: bytes) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(data, parser=_parser())


def _shape(tree: lxml.html.HtmlElement) -> tuple[bytes, list[str | None]]:
    """The tree without any script or style text and without the content of its <svg>s (whether the scan cut
    it or not: the tree around them is what must not change), and the text of each JSON-LD script."""
    json_ld = [script.text for script in tree.iter("script") if script.get("type") == _JSON_LD]
    for svg in [svg for svg in tree.iter("svg") if not any(a.tag == "svg" for a in svg.iterancestors())]:
        svg.text = None
        for child in list(svg):
            svg.remove(child)  # with its tail: text inside the <svg>
    for element in tree.iter("script", "style"):
        element.text = None
    return lxml.etree.tostring(tree), json_ld


def _same_tree(data: bytes) -> None:
    data = data.translate(None, C0_CONTROL_BYTES)  # as `parse_html` has it
    try:
        expected = _shape(_tree(data))
    except lxml.etree.ParserError:  # "Document is empty": nothing but blanks, a comment, a DOCTYPE
        with pytest.raises(lxml.etree.ParserError):
            _tree(without_unread_bodies(data))
        return
    assert _shape(_tree(without_unread_bodies(data))) == expected


# Markup that decides where a body ends, and text around it.
_PIECES = st.sampled_from(
    [
        "<script>", "</script>", "<SCRIPT>", "</Script >", "</script/>", "</scriptx>", "<script src=x/>",
        "<script/>", "<script />",
        "<script a='>'>", '<script a=">" b>', "<script type=application/ld+json>", "<script type='ld+json'>",
        '<script type="application/ld&#43;json">', "<script\n>", "< script>", "<style>", "</style>", "<STYLE>",
        "<!--", "-->", "--!>", "<!-->", "<!--->", "<!---->", "<!DOCTYPE html>", "<!x>", "<?x>", "</ x>", "</>",
        "</", "<textarea>", "</textarea>", "<title>", "</title>", "<xmp>", "</xmp>", "<iframe>", "</iframe>",
        "<plaintext>", "<noscript>", "<p>", "</p>", '<div class="a>b">', "<a href='x' title=\"<script>\">",
        "<p/>", "<br/>", "<html>", "<body>", "<head>", "x", " ", "\n", "\r", "<", ">", "/", "=", '"', "'", "-",
        "!", "é", "ld+json", "a<b", "&amp;",
    ]
)  # fmt: skip
# ... and what decides whether an <svg>'s content can go and where it ends.
_SVG_PIECES = st.sampled_from(
    [
        "<svg>", "</svg>", "<SVG viewBox='0 0 1 1'>", "</svg >", "<svg/>", "<svg a='</svg>'>", "<svgx>", "</svgx>",
        "<set>", "</set>", "<path d='M0 0'/>", "<path>", "</path>", "<g>", "</g>", "<G>", "<use href='#a'/>",
        "<symbol id=a>", "</symbol>", "<title>", "</title>", "<style>", "</style>", "<desc>", "</desc>",
        "<text>", "</text>", "<a href='x'>", "</a>", "<script>", "</script>", "<foreignObject>", "<p>", "</p>",
        "<div>", "</div>", "<span>", "</span>", "<li>", "<table>", "<td>", "<image href=x>", "<img src=x>",
        "<br>", "<meta content=x>", "<rdf:RDF>", "</rdf:RDF>", "<!-- </svg> -->", "<![CDATA[ </svg> ]]>", "x",
        " ", "<", "</", "</>", ">",
    ]
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(["", "<html><body>", "<!DOCTYPE html><head>"]), st.lists(_PIECES, max_size=40).map("".join))
@example("<html><body>", "<p>a<script>var s = '<!-- <script> </script>'; x</script>b</p>")  # escaped twice
@example("<html><body>", "<script><!-- </script> --> x</script><p>after</p>")  # escaped: the first end tag ends it
@example("<html><body>", "<!-- <script> --><p>kept</p><script>x</script>")  # a script tag inside a comment is no tag
@example("<html><body>", '<div title="</script>"><script a=">">x</script></div>')  # ">" and end tags in quoted values
@example("<html><body>", "<textarea><script>x</textarea><p>y</p>")  # no script inside a textarea
@example("<html><body>", "<script src='a.js' /><p>not script text</p>")  # "<script/>": an empty element here
@example("<html><body>", "<script src=a.js/><p>script text</p>")  # ... but "a.js/" is the value
@example("<html><body>", '<script type="application/ld+json">{"a": "</p>"}</script><style>p{}</style><p>x</p>')
@example("<html><body>", "<p>x<script>never closed")  # a body to the end of the page
@example("<html><body>", "<p>x</p><script a='never")  # a page that stops inside a tag
def test_the_tree_is_libxml2s_less_the_bodies(opening: str, html: str) -> None:
    _same_tree((opening + html).encode("utf-8"))


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(["", "<html><body>", "<!DOCTYPE html><head>", "<p>", "<div><a href=x>"]),
    st.lists(st.one_of(_SVG_PIECES, _PIECES), max_size=30).map("".join),
)
@example("<html><body>", "<p>a<svg><path d='M0'/><title>x</title></svg>b</p>")  # cut
@example("<html><body>", "<div><svg><path></div><p>after</p>")  # </div> closes the <svg> with the <path> open
@example("<html><body>", "<div><svg><path/></div><p>after</p>")  # </div> closes the <svg>: cut to it
@example("<html><body>", "<p>x<svg><p>a<div>b</div></p></svg>y</p>")  # HTML inside: the inner </p> closes the outer
@example("<html><body>", "<p>x<svg><g></p></svg>y</p>")  # an end tag of no element opened inside
@example("<html><body>", "<p>a<svg><g></svg>b</p>")  # a <g> left open: libxml2 closes it at </svg>, kept
@example("<html><body>", "<svg><svg><g/></svg><circle/></svg><p>x</p>")  # nested
@example("<html><body>", "<svg><title>a</svg>b</title></svg><p>x</p>")  # </svg> inside a title is its text
@example("<html><body>", "<svg><style>g{}</style><rdf:RDF></rdf:RDF></svg><p>x</p>")  # a prefixed name: kept
@example("<html><body>", "<svg><set></set></svg><p>x</p>")  # <set> is not </svg>
@example("<html><body>", "<svg><g>never closed")  # no </svg>: kept
@example("", "<title>page</title><svg><title>icon</title></svg>")
def test_the_tree_around_svgs_is_libxml2s(opening: str, html: str) -> None:
    _same_tree((opening + html).encode("utf-8"))


def test_an_svgs_content_leaves_the_bytes_and_its_title_is_not_the_pages() -> None:
    page = b"<html><body><p>a<svg class=i><title>Share</title><path d='M0 0'/></svg>b</p><svg><foreignObject>"
    assert without_unread_bodies(page) == b"<html><body><p>a<svg class=i></svg>b</p><svg><foreignObject>"
    fragment = b"<main><svg><title>Share</title></svg><h1>Story</h1><title>Page</title></main>"
    assert PageMeta(parse_html(fragment)).page_title == "Page"
    assert PageMeta(lxml.html.document_fromstring(fragment, parser=_parser())).page_title == "Page"


@requires_corpus
@pytest.mark.parametrize("seed_file", corpus_files() or ["(no corpus)"])
def test_corpus_page_tree_is_the_same(seed_file: str) -> None:
    _same_tree(parse_seed((CORPUS_SEEDS / seed_file).read_bytes()).body)


def test_bodies_leave_the_bytes_and_json_ld_stays() -> None:
    page = (
        b'<html><head><script type="application/ld+json">{"x": 1}</script><style>p {}</style>'
        b"<script>var a = 1;</script></head><body><p>text</p><script src=b.js></script></body></html>"
    )
    assert without_unread_bodies(page) == (
        b'<html><head><script type="application/ld+json">{"x": 1}</script><style></style>'
        b"<script></script></head><body><p>text</p><script src=b.js></script></body></html>"
    )
    plain = b"<html><body><p>no script</p></body></html>"
    assert without_unread_bodies(plain) is plain  # nothing to take out: no copy
    tree = parse_html(page)
    assert [s.text for s in tree.iter("script")] == ['{"x": 1}', None, None]


def test_a_script_past_libxml2s_text_limit_no_longer_stops_the_parse() -> None:
    # libxml2 stops at a text node of 10 MB (ERR_RESOURCE_LIMIT: `parse_html` rejected such a page, and the
    # paragraph after the script was lost); the body never reaches it now. A seed may hold 10 MiB.
    page = b"<html><body><p>before</p><script>" + b"x" * 10_200_000 + b"</script><p>after</p></body></html>"
    assert [p.text for p in parse_html(page).iter("p")] == ["before", "after"]
