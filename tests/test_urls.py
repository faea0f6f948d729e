"""URL handling: canonical URLs, href resolution, proxy unwrapping, srcset parsing."""

from urllib.parse import urljoin

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from newslake.core.model import Link, LinkContext
from newslake.core.text import normalise_text
from newslake.core.urls import (
    LinkTarget,
    SrcsetCandidate,
    UrlError,
    _unwrapped_from_query,
    anchor_rows,
    canonical_url,
    host_of,
    link_contexts,
    link_target,
    normalise_http_url,
    parse_srcset,
    registrable_domain,
    resolve_href,
    unwrap_proxy,
)

BASE = "https://www.bbc.com/zhongwen/simp/world-59967065"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.BBC.COM/zhongwen/simp/world-59967065#top", BASE),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?b=1&utm_source=tw&fbclid=x", "https://example.com/a?b=1"),
        ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize("raw", ["ftp://example.com/a", "javascript:alert(1)", "/relative", "https://", "http://[::1"])
def test_canonical_url_rejects(raw: str) -> None:
    with pytest.raises(UrlError):
        canonical_url(raw)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/zhongwen/simp/world-1", "https://www.bbc.com/zhongwen/simp/world-1"),
        ("world-2", "https://www.bbc.com/zhongwen/simp/world-2"),
        ("//ichef.bbci.co.uk/a.jpg", "https://ichef.bbci.co.uk/a.jpg"),
        ("https://Example.com/x#part", "https://example.com/x#part"),
    ],
)
def test_resolve_href(href: str, expected: str) -> None:
    assert resolve_href(href, BASE) == expected


@pytest.mark.parametrize("href", ["javascript:void(0)", "mailto:a@b.c", "data:image/png;base64,xx", "tel:123", " "])
def test_resolve_href_drops_non_http(href: str) -> None:
    with pytest.raises(UrlError):
        resolve_href(href, BASE)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://images.weserv.nl/?url=ichef.bbci.co.uk/news/640/cpsprodpb/12EA5/production/_1.jpg",
            "https://ichef.bbci.co.uk/news/640/cpsprodpb/12EA5/production/_1.jpg",
        ),
        (
            "https://example.com/_next/image?url=https%3A%2F%2Fcdn.example.com%2Fa.png&w=640",
            "https://cdn.example.com/a.png",
        ),
        ("https://example.com/search?url=not-a-url", "https://example.com/search?url=not-a-url"),
        ("https://example.com/a.jpg", "https://example.com/a.jpg"),
    ],
)
def test_unwrap_proxy(url: str, expected: str) -> None:
    assert unwrap_proxy(url) == expected


# Pieces of resizer and proxy URLs: parameter names plain, percent-encoded or with "+", wrapped values plain,
# encoded once or twice, fragments before and after the query.
_PROXY_PIECES = st.lists(
    st.sampled_from(
        [
            "https://img.example/p.jpg", "//i.example/x", "?", "&", ";", "#", "=", "url=", "src=", "img=", "image=",
            "u%72l=", "sr%63=", "img+=", "+", "w=800", "q=75", "cdn.example.com/a.png", "cdn.example.com",
            "https%3A%2F%2Fcdn.example.com%2Fa.png", "cdn.example.com%252Fa.png", "%2F", "%2f", "/", "%", ":8080/",
            "http://", "HTTPS://", "\t", "\n", " ", "[", "]",
        ]
    ),
    max_size=10,
).map("".join)  # fmt: skip


@given(_PROXY_PIECES)
@example("https://img.example/p.jpg?url=cdn.example.com/a.png")
@example("https://img.example/p.jpg?u%72l=cdn.example.com%2Fa.png")
@example("https://img.example/p.jpg#?url=cdn.example.com/a.png")
@example("https://img.example/p.jpg?w=800&q=75")
def test_unwrap_proxy_answers_as_parsing_every_query(url: str) -> None:
    assert unwrap_proxy(url) == _unwrapped_from_query(url)


def test_parse_srcset() -> None:
    got = parse_srcset("a.jpg 240w, b.jpg 800w,c.jpg 2x, d.jpg")
    assert [(c.url, c.width, c.density) for c in got] == [
        ("a.jpg", 240.0, None),
        ("b.jpg", 800.0, None),
        ("c.jpg", None, 2.0),
        ("d.jpg", None, None),
    ]


def test_registrable_domain() -> None:
    assert registrable_domain("www.bbc.co.uk") == registrable_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"


@given(urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    try:
        once = canonical_url(url)
    except UrlError:
        return
    assert canonical_url(once) == once
    assert "#" not in once


@given(st.text(max_size=200))
def test_resolve_href_gives_http_or_raises(href: str) -> None:
    try:
        resolved = resolve_href(href, BASE)
    except UrlError:
        return
    assert resolved.startswith(("http://", "https://"))


@given(st.text(max_size=300))
def test_srcset_parser_never_raises(srcset: str) -> None:
    for candidate in parse_srcset(srcset):
        assert candidate.url


_srcset_urls = st.from_regex(r"[a-z0-9/:.?=&_-][a-z0-9/:.?=&_,-]*", fullmatch=True).filter(
    lambda url: not url.endswith(",")  # a trailing comma ends a candidate
)
_descriptors = (
    st.none()
    | st.integers(1, 5000).map(lambda w: (float(w), None))
    | st.sampled_from([(None, 1.0), (None, 1.5), (None, 2.0)])
)


@given(st.lists(st.tuples(_srcset_urls, _descriptors), max_size=6), st.sampled_from([",", ", ", " ,\n  "]))
def test_srcset_written_from_candidates_reads_back(
    written: list[tuple[str, tuple[float | None, float | None] | None]], separator: str
) -> None:
    def entry(url: str, descriptor: tuple[float | None, float | None] | None) -> str:
        if descriptor is None:
            return url
        width, density = descriptor
        return f"{url} {int(width)}w" if width is not None else f"{url} {density}x"

    # A candidate without descriptors must be followed by whitespace before a comma that is not its own.
    srcset = separator.join(entry(url, d) + (" " if d is None else "") for url, d in written)
    expected = [SrcsetCandidate(url, *(d or (None, None))) for url, d in written]
    assert parse_srcset(srcset) == expected


def test_srcset_drops_what_html_drops() -> None:
    assert parse_srcset("a.jpg 1x 2x, b.jpg 50h, c.jpg 0w, d.jpg 100q, e.jpg 100w 50h, f 2x 50h, g 1w 2h 3h, ,,") == [
        SrcsetCandidate("e.jpg", 100.0, None)
    ]


_url_parts = st.tuples(
    st.sampled_from(["http", "https", "HTTP", "ftp"]),
    st.sampled_from(
        ["example.com", "Example.COM", "a-b.example.co.uk", "x.com:8080", "x.com:443", "u@x.com", "bücher.de", "x.com."]
    ),
    st.text(alphabet="abcAB/._-~%é ", max_size=12),
    st.sampled_from(["", "?", "?a=1", "?a=1&utm_source=x", "?fbclid=2", "?a=&b=2", "?q=a b"]),
    st.sampled_from(["", "#", "#top", "#a b"]),
)


@given(_url_parts, st.booleans())
def test_fast_path_agrees_with_urllib(parts: tuple[str, str, str, str, str], keep: bool) -> None:
    from newslake.core.urls import _normalise_slowly, host_of, normalise_http_url

    scheme, host, path, query, fragment = parts
    url = f"{scheme}://{host}/{path}{query}{fragment}"
    try:
        slow = _normalise_slowly(url, keep_fragment=keep)
    except UrlError:
        with pytest.raises(UrlError):
            normalise_http_url(url, keep_fragment=keep)
        return
    assert normalise_http_url(url, keep_fragment=keep) == slow
    from urllib.parse import urlsplit

    assert host_of(slow) == (urlsplit(slow).hostname or "")


@given(
    st.text(alphabet="abc/._-~%é ?#=&\\", max_size=24),
    st.sampled_from([BASE, "https://x.com", "http://a.b:8080/p/q?x=1"]),
)
def test_root_relative_fast_path_agrees_with_urljoin(tail: str, base: str) -> None:
    href = "/" + tail
    try:
        expected = normalise_http_url(urljoin(base, href.strip()), keep_fragment=True)
    except UrlError:
        with pytest.raises(UrlError):
            resolve_href(href, base)
        return
    assert resolve_href(href, base) == expected


# Small pools, so that draws meet the same href under different bases (and bases of one origin): the cached
# answers must be the ones each base gives, whatever was resolved before.
_BASES = [
    "https://a.example/news/1",
    "https://a.example/news/2?page=3#top",  # the same directory as the first
    "https://a.example/news/;v=1",  # a last segment that is all parameters
    "https://a.example/sport/2/",
    "https://a.example",  # no path at all
    "http://a.example/news/1",
    "https://b.example.co.uk/x/y",
]
_HREFS = [
    "/p/q", "q.html", "../r", "?page=2", "#top", "/p/q#c", "//cdn.example/t", "https://c.example/s#f",
    "HTTPS://C.EXAMPLE/s", " /p/q ", "", "javascript:void(0)", "mailto:x@a.example", "/a/../b", "/p/q?utm_source=x",
    "http:p/q", "tel:+4412345", "java\nscript:x", "./", ".", "..", ";x", "a/b:c", "//cdn.example", "/p/../q",
    "\x01#top", "http:", "https:?q", "//[::1/x", "q.html?x#y", " r/s ",
]  # fmt: skip


def _fresh_target(raw: str, base: str) -> LinkTarget | str:
    """The answer by urllib's join, not by the resolver under test (its shortcuts must agree with it)."""
    if not raw.strip():
        return "unusable"
    try:
        url = normalise_http_url(urljoin(base, raw.strip()), keep_fragment=True)
    except (UrlError, ValueError):  # ValueError: urljoin's own ("Invalid IPv6 URL")
        return "unusable"
    host = host_of(url)
    return LinkTarget(url, url.partition("#")[0], host, registrable_domain(host))


@given(st.lists(st.tuples(st.sampled_from(_HREFS), st.sampled_from(_BASES)), min_size=1, max_size=40))
def test_link_target_cache_answers_as_resolving_afresh(pairs: list[tuple[str, str]]) -> None:
    for raw, base in pairs:
        target = link_target(raw, base, link_contexts(base))
        assert (target if isinstance(target, LinkTarget) else "unusable") == _fresh_target(raw, base)


def test_link_target_keeps_no_traceback() -> None:
    """An unusable href's answer is kept for the process: it must not hold the frames (and pages) it met."""

    def resolve_in_a_frame(page: list[str]) -> object:
        return link_target("mailto:someone@example.com", BASE, link_contexts(BASE))

    error = resolve_in_a_frame(["a page's worth of objects"])
    assert isinstance(error, UrlError)
    assert error.__traceback__ is None and error.__cause__ is None and error.__context__ is None


_LINK_TEXTS = ["", "  Home ", "新闻\u00a0中心", "e\u0301te", "\u200b", "Read more"]


@given(
    anchors=st.lists(st.tuples(st.sampled_from(_HREFS), st.sampled_from(_LINK_TEXTS)), max_size=30),
    base=st.sampled_from(_BASES),
    page_url=st.sampled_from(_BASES),
    position=st.none() | st.integers(0, 50),
)
def test_anchor_rows_are_the_fresh_targets(
    anchors: list[tuple[str, str]], base: str, page_url: str, position: int | None
) -> None:
    # The rows made in C against urllib's answers: unusable hrefs and jumps within the page (a target whose
    # page is `page_url`) are dropped, each other anchor is a `Link` row. Twice over: the second pass (and
    # earlier draws) meet the answers the first one cached.
    site = registrable_domain(host_of(page_url))
    expected: list[Link] = []
    dropped = 0
    for raw, inside in anchors:
        target = _fresh_target(raw, base)
        if isinstance(target, str) or target.page == page_url:
            dropped += 1
            continue
        text = normalise_text(inside) or None
        expected.append(Link(position, target.url, text, target.host, target.site == site, LinkContext.PAGE))
    rows = anchor_rows(base, page_url, site, Link)
    for _ in range(2):
        rows.add(anchors, position, LinkContext.PAGE)
    assert rows.rows == expected * 2
    assert all(type(row) is Link for row in rows.rows)
    assert rows.dropped == dropped * 2


def test_anchor_rows_refuse_a_row_class_of_other_fields() -> None:
    from typing import NamedTuple

    class Reordered(NamedTuple):
        href: str
        position: int | None
        text: str | None
        domain: str
        is_internal: bool
        context: LinkContext

    with pytest.raises(TypeError, match="field orders"):
        anchor_rows(BASE, BASE, "bbc.com", Reordered)


def test_link_target_keeps_relative_answers_by_directory_until_half_full(monkeypatch: pytest.MonkeyPatch) -> None:
    from newslake.core import urls as url_module

    monkeypatch.setattr(url_module, "_TARGETS", {})
    first, second = "https://a.example/news/1", "https://a.example/news/2?page=3"  # one directory
    link_target("story.html", first, link_contexts(first))
    assert ("story.html", "https://a.example/news/") in url_module._TARGETS
    link_target("story.html", second, link_contexts(second))
    assert len(url_module._TARGETS) == 2  # the kind under the href, the answer under (href, directory)
    # A cache half full of other answers keeps no more directory-keyed ones (a site of a directory per
    # article would fill it with answers nobody asks for again); network-path and absolute ones still go in.
    filler = url_module.UrlError("filler")
    url_module._TARGETS.update({f"https://x.example/{i}": filler for i in range(url_module._DIRECTORY_ROOM)})
    other = "https://a.example/sport/3"
    link_target("story.html", other, link_contexts(other))
    assert ("story.html", "https://a.example/sport/") not in url_module._TARGETS
    link_target("//cdn.example/p.jpg", other, link_contexts(other))
    assert ("//cdn.example/p.jpg", "https") in url_module._TARGETS


# Hrefs around the normal form's edges: case, whitespace (Unicode's too), controls, ports, users, empty labels,
# tracking parameters in any case and place, bare "?" and "#".
_HREF_PIECES = st.lists(
    st.sampled_from(
        [
            "http://", "https://", "HTTP://", "Https://", "//", "ftp://", "a", "Z", "0", "-", ".", "..", "/", "?",
            "#", "&", ";", "=", ":80", "@", "é", " ", "\t", "\u3000", "\x00", "\x1f", "\x7f", "utm_", "UTM_",
            "fbclid", "_ga", "mc_", "x.com", "example.co.uk", "%20", "\\",
        ]
    ),
    max_size=10,
).map("".join)  # fmt: skip


# And hrefs built as a URL is, each part near the normal form or just off it.
_URLISH = st.builds(
    "{}{}{}{}{}{}{}".format,
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["http://", "https://", "HTTP://", "http:/", "ftp://"]),
    st.sampled_from(["x.com", "a-b.example.co.uk", "x..com", "x.com:80", "u@x.com", "X.com", "é.com", "x.com.", "0"]),
    st.sampled_from(["", "/", "/a/", "?", "#", "?q=1&", "?q=1;"]),
    st.text(alphabet="ab/._-~%é ?#&;=\u3000\x00\x1f\x7f", max_size=8),
    st.sampled_from(["", "?utm_x=1", "?a=1&UTM_s=2", "?a=1;fbclid=3", "?mc_=1", "?xutm_=1", "?a=_gax", "#utm_"]),
    st.sampled_from(["", " ", "\u3000"]),
)


@example("http://x.com/a b")
@example("https://x.com/a\u3000b")
@example("http://x.com/?a=1;fbclid=2")
@example("http://x.com/?A=1&UTM_source=2")
@example("http://x.com/?m\u017fclkid=1")  # a long s: the regex folds it to "s", str.lower() does not
@example("http://X.com/")
@example("http://x..com/")
@example(" https://x.com#f ")
@settings(max_examples=400)
@given(_HREF_PIECES | _URLISH)
def test_the_compiled_check_of_normal_urls_agrees_with_the_general_path(href: str) -> None:
    """`_links.normal_absolute` (a link-cache miss's fast path) answers only what the general path answers the
    same: the URL `_normalised_link` makes of an absolute http(s) href and its `host_of`; and it answers every
    href the general path would take through `normalise_http_url`'s pattern without a tracking parameter."""
    from newslake.core._links import normal_absolute
    from newslake.core.urls import _ALREADY_NORMAL, _TRACKING_HINT, _href_kind, _normalised_link, host_of

    stripped, kind = _href_kind(href)
    fast = normal_absolute(href, _TRACKING_HINT)
    general = _ALREADY_NORMAL.fullmatch(stripped)
    takes_the_pattern = (
        kind is None and general is not None and not (general.group(4) and _TRACKING_HINT.search(general.group(4)))
    )
    assert (fast is not None) == takes_the_pattern
    if fast is not None:
        url = _normalised_link(stripped)
        assert fast == (url, host_of(url))


# Root-relative hrefs near the edges of `_plain_absolute_path` (dot and empty segments, backslashes, Unicode
# whitespace) and of the normal form once joined (a tracking parameter, controls), on origins with and without
# a port (a port is not normal form: the general path's).
_ROOTISH = st.builds(
    "{}{}".format,
    st.sampled_from(["/", " /", "\u3000/", "//", "", "/./", "/../"]),
    st.lists(
        st.sampled_from(["a", "news", ".", "..", "/", "./", "\\", " ", "\x1c", "\u3000", "?", "#", "utm_source=1",
                         "&", ";", "é", "\x00", "%2e", ".html", "x."]),
        max_size=8,
    ).map("".join),
)  # fmt: skip
_ROOT_BASES = st.sampled_from(
    ["https://x.com/a/b", "http://x.com", "https://a-b.example.co.uk/?q=1", "https://x.com:8443/a", "https://u@x.com/"]
)


@example("/a/.b", "https://x.com/")
@example("/a../b", "https://x.com/")
@example("/a./b", "https://x.com/")
@example("/a\\b", "https://x.com/")
@example("/a.", "https://x.com/")
@example("/a\x1cb", "https://x.com/")
@example("/a?fbclid=1", "https://x.com/")
@example(" /a ", "https://x.com/")
@settings(max_examples=400)
@given(_ROOTISH | _HREF_PIECES, _ROOT_BASES)
def test_the_compiled_join_of_root_relative_hrefs_agrees_with_the_general_path(href: str, base: str) -> None:
    """`_links.normal_root_relative` answers only what the general path answers the same (`_resolve_kind` of a
    plain root-relative href, and its `host_of`), and every such href whose joined URL takes
    `normalise_http_url`'s pattern without a tracking parameter."""
    from newslake.core._links import normal_root_relative
    from newslake.core.urls import (
        _ALREADY_NORMAL,
        _TRACKING_HINT,
        _href_kind,
        _KeyedBy,
        _resolve_kind,
        host_of,
        url_origin,
    )

    stripped, kind = _href_kind(href)
    fast = normal_root_relative(href, url_origin(base), _TRACKING_HINT)
    general = _ALREADY_NORMAL.fullmatch(url_origin(base) + stripped)
    takes_the_pattern = (
        kind is _KeyedBy.ORIGIN
        and general is not None
        and not (general.group(4) and _TRACKING_HINT.search(general.group(4)))
    )
    assert (fast is not None) == takes_the_pattern
    if fast is not None:
        url = _resolve_kind(stripped, kind, base)
        assert fast == (url, host_of(url))


# Relative paths around what urljoin does besides putting them side by side with the base's directory: dot
# and empty segments (in the href or the base), a scheme before the first "/", queries and fragments holding
# "/" and ":", whitespace and controls.
_RELATIVE = st.lists(
    st.sampled_from(["a", "story.html", ".", "..", "/", "./", "../", ":", "x:", "?", "#", "q=1", "utm_source=1", ";x",
                     "&", ";", "é", " ", "\t", "\x00", "%2e", "\\", "-", "~"]),
    max_size=8,
).map("".join)  # fmt: skip
_DIRECTORY_BASES = st.sampled_from(
    [
        "https://x.com/a/b.html", "https://x.com/", "http://x.com/a/", "https://x.com/a//b/c", "https://x.com/a/./b",
        "https://x.com/a/../b/c", "https://x.com:8443/a/b", "https://x.com/a;p/b;q?r#s", "https://x.com/..",
        "https://x.com", "https://x.com?q=1",
    ]
)  # fmt: skip


@example("story.html", "https://x.com/a/b")
@example("a/./b", "https://x.com/a/b")
@example("a//b", "https://x.com/a/b")
@example("a:b", "https://x.com/a/b")
@example("story.html", "https://x.com/a//b/c")
@example("story.html", "https://x.com/a/../b")
@example("a/..", "https://x.com/a/b")
@example(";x", "https://x.com/a/b")
@example("..;x", "https://x.com/a/b")
@settings(max_examples=400)
@given(_RELATIVE, _DIRECTORY_BASES)
def test_the_compiled_join_of_directory_relative_hrefs_agrees_with_urljoin(href: str, base: str) -> None:
    """`_links.normal_directory_relative` answers only what the general path (urljoin, then normalising)
    answers the same, for the parts of the base `link_contexts` gives it."""
    from newslake.core._links import normal_directory_relative
    from newslake.core.urls import _TRACKING_HINT, _joined_link, _KeyedBy, host_of

    directory = link_contexts(base).get(_KeyedBy.DIRECTORY)
    assert directory is not None
    fast = normal_directory_relative(href, directory, _TRACKING_HINT)
    if fast is not None:
        url = _joined_link(href.strip(), base)
        assert fast == (url, host_of(url))


@pytest.mark.parametrize(
    ("href", "base", "url"),
    [
        ("story.html", "https://x.com/a/b.html", "https://x.com/a/story.html"),
        (" 2024/05/a.html?p=2#c ", "https://x.com/news/", "https://x.com/news/2024/05/a.html?p=2#c"),
        ("x/a:b", "https://x.com/", "https://x.com/x/a:b"),
        ("a", "https://x.com/a;p/b;q?r#s", "https://x.com/a;p/a"),
    ],
)
def test_plain_directory_relative_hrefs_take_the_compiled_join(href: str, base: str, url: str) -> None:
    from newslake.core._links import normal_directory_relative
    from newslake.core.urls import _TRACKING_HINT, _KeyedBy

    directory = link_contexts(base)[_KeyedBy.DIRECTORY]
    assert normal_directory_relative(href, directory, _TRACKING_HINT) == (url, "x.com")


def test_the_compiled_join_takes_a_directory_only() -> None:
    """What it is given must end in "/" (as `link_contexts` cuts it): a base's last segment is not joined to."""
    from newslake.core._links import normal_directory_relative
    from newslake.core.urls import _TRACKING_HINT

    assert normal_directory_relative("b", "https://x.com/a", _TRACKING_HINT) is None
    assert normal_directory_relative("b", "https://x.com", _TRACKING_HINT) is None
    assert normal_directory_relative("b", "https://x.com/a/", _TRACKING_HINT) == ("https://x.com/a/b", "x.com")


# Network-path references around what urljoin keeps of them: case, ports, users, empty and dot segments,
# queries and fragments holding "/", "?" and "#", whitespace and controls (which urllib removes or keeps).
_NETWORK_PATHS = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["//", " //", "///", "/", "//\t"]),
    st.sampled_from(["x.com", "X.com", "x.com:80", "u@x.com", "x..com", "", "[::1]", "é.com", "a-b.example.co.uk"]),
    st.text(alphabet="ab/.?#;=&é \t\x00", max_size=10),
    st.sampled_from(["", "?utm_source=1", "#f", "?", "#"]),
)


@example("//x.com", "https://a.example/b")
@example("//x.com?q#f", "http://a.example/b")
@example("//x.com/a/../b", "https://a.example/b")
@example("//x.com#f?q", "https://a.example/b")
@settings(max_examples=400)
@given(
    _NETWORK_PATHS | _HREF_PIECES,
    st.sampled_from(["https://a.example/b", "http://a.example/", "https://a.example:8443/c"]),
)
def test_the_compiled_join_of_network_paths_agrees_with_urljoin(href: str, base: str) -> None:
    """`_links.normal_network_path` answers only what the general path (urljoin, then normalising) answers the
    same, and every network-path href whose joined URL takes `normalise_http_url`'s pattern without a tracking
    parameter."""
    from newslake.core._links import normal_network_path
    from newslake.core.urls import _ALREADY_NORMAL, _TRACKING_HINT, _href_kind, _joined_link, _KeyedBy, host_of

    scheme = link_contexts(base)[_KeyedBy.SCHEME]
    fast = normal_network_path(href, scheme, _TRACKING_HINT)
    stripped = href.strip()
    general = _ALREADY_NORMAL.fullmatch(f"{scheme}:{stripped}")
    takes_the_pattern = (
        stripped.startswith("//")
        and _href_kind(href)[1] is _KeyedBy.BASE
        and general is not None
        and not (general.group(4) and _TRACKING_HINT.search(general.group(4)))
    )
    assert (fast is not None) == takes_the_pattern
    if fast is not None:
        url = _joined_link(stripped, base)
        assert fast == (url, host_of(url))
