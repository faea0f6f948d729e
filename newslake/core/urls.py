"""URL handling: canonical article URLs, resolving hrefs, unwrapping image proxies, choosing srcset candidates."""

import re
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlparse, urlsplit, urlunsplit

import tldextract

from newslake.core._links import (
    AnchorRows,
    cached_target,
    normal_absolute,
    normal_directory_relative,
    normal_network_path,
    normal_root_relative,
)

HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that only track the click; two URLs differing in them name the same article.
_TRACKING_PARAM = re.compile(r"^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_[a-z]+|_ga)$", re.IGNORECASE)
# Image proxies and CDN resizers name the original in a query parameter (weserv's `url`, Next.js's `url`,
# generic `src`/`image`); only a value that itself looks like a host+path or an absolute URL is taken.
_PROXY_PARAMS = ("url", "src", "image", "img")
_LOOKS_LIKE_HOST = re.compile(r"^(?:https?://|//)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?/", re.IGNORECASE)
# A srcset as HTML's parser reads it: commas and whitespace between candidates; a URL runs to the next
# whitespace (commas included: "…/upload/q_lossy,w_768/a.jpg", "a.jpg?resize=155,78"), unless it ends in
# commas, which end the candidate; its descriptors run to the next comma. (A first version split URLs at every
# comma, making "ret_img" and "w_768/https://…" candidates; it also tried the rest of the pattern after every
# character of a URL: 25 ms a batch's srcsets, 7 now.)
_SRCSET_URL = re.compile(r"[ \t\n\f\r,]*([^ \t\n\f\r,][^ \t\n\f\r]*)")
_SRCSET_DESCRIPTORS = re.compile(r"[^,]*")
_WIDTH = re.compile(r"0*([1-9]\d*)w")  # a width of 0 is no width
_DENSITY = re.compile(r"(\d+(?:\.\d+)?)x")
_HEIGHT = re.compile(r"\d+h")

# The Public Suffix List snapshot bundled with tldextract: no network, no cache directory.
_PSL = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class UrlError(ValueError):
    """A URL that cannot be used (unparseable, or not http/https)."""


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """eTLD+1 of a host (`news.bbc.co.uk` -> `bbc.co.uk`); the host itself for IPs and bare names."""
    parts = _PSL(host)
    return parts.top_domain_under_public_suffix or host


def _clean_netloc(scheme: str, host: str, port: int | None, userinfo: str) -> str:
    netloc = host.encode("idna").decode("ascii") if not host.isascii() else host
    netloc = netloc.lower().rstrip(".")
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return f"{userinfo}@{netloc}" if userinfo else netloc


# URLs already in normal form (lower-case http(s) scheme and ASCII host, no port, user or whitespace, no
# tracking parameter) are most links on a page; they skip urllib's split and join, which cost more than the
# rest of a link. `test_fast_path_agrees_with_urllib` checks both paths give the same answers.
_ALREADY_NORMAL = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[^?#\s\x00-\x1f]*)?(?:\?([^#\s\x00-\x1f]*))?(?:#([^\s\x00-\x1f]*))?"
)
_TRACKING_HINT = re.compile(r"(?:^|[&;])(?:utm_|fbclid|gclid|dclid|msclkid|mc_|_ga)", re.IGNORECASE)


def normalise_http_url(url: str, *, keep_fragment: bool) -> str:
    """Lower-case scheme and host, drop default ports and tracking parameters; raise `UrlError` if not http(s)."""
    fast = _ALREADY_NORMAL.fullmatch(url)
    if fast is not None and not (fast.group(4) and _TRACKING_HINT.search(fast.group(4))):
        scheme, host, path, query, fragment = fast.groups()
        tail = f"?{query}" if query else ""
        if keep_fragment and fragment:
            tail += f"#{fragment}"
        return f"{scheme}://{host}{path or '/'}{tail}"
    return _normalise_slowly(url, keep_fragment=keep_fragment)


def _normalise_slowly(url: str, *, keep_fragment: bool) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname or ""
    except ValueError as exc:  # bad port, bad IPv6 literal
        raise UrlError(f"unparseable URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES:
        raise UrlError(f"not an http/https URL: {url[:200]!r}")
    if not host:
        raise UrlError(f"URL without a host: {url[:200]!r}")
    try:
        userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
        netloc = _clean_netloc(scheme, host, port, userinfo)
    except UnicodeError as exc:
        raise UrlError(f"host is not a valid domain name: {host[:200]!r}") from exc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _TRACKING_PARAM.match(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, parts.fragment if keep_fragment else ""))


def canonical_url(url: str) -> str:
    """The article's canonical URL: normalised, fragment dropped."""
    return normalise_http_url(url, keep_fragment=False)


_NETLOC_SPECIAL = re.compile(r"[@:\[\]]")  # user info, a port, an IPv6 literal: left to urllib


@lru_cache(maxsize=8192)
def host_of(url: str) -> str:
    """The (already lower-cased) host of a normalised URL."""
    netloc = url.split("/", 3)[2] if url.count("/") >= 2 else ""
    if netloc and _NETLOC_SPECIAL.search(netloc) is None:
        return netloc
    return urlsplit(url).hostname or ""


_WHITESPACE = re.compile(r"\s")


def _plain_absolute_path(href: str) -> bool:
    """A root-relative path without dot segments, empty segments, backslashes or whitespace (those need
    urljoin's rules). Substring tests: the per-character regex they replace cost half of resolving a link."""
    return (
        href.startswith("/")
        and "//" not in href
        and "/." not in href
        and ".." not in href
        and "./" not in href
        and not href.endswith(".")
        and "\\" not in href
        and _WHITESPACE.search(href) is None
    )


def url_origin(base: str) -> str:
    """`https://host` of a normalised http(s) URL (what a root-relative path resolves against)."""
    end = base.find("/", base.find("//") + 2)
    return base if end < 0 else base[:end]


class _KeyedBy(StrEnum):
    """What a relative href's answer depends on besides the href (the kind is kept under the href itself in
    `link_target`'s cache, so that the next page meets it in one lookup). A `StrEnum`: a page's cached
    relative links look their kind up in its contexts (~40 a page), and a plain `Enum` member hashes in
    Python (`Enum.__hash__`), a `str` one in C."""

    ORIGIN = "origin"  # a plain root-relative path: the base's `https://host`
    SCHEME = "scheme"  # a network-path reference ("//cdn.example/x"): the base's scheme
    DIRECTORY = "directory"  # any other path: the base's scheme, host and path up to its last "/"
    BASE = "base"  # a query or a fragment alone ("?page=2", "#top"): the whole base


def resolve_href(href: str, base: str) -> str:
    """Resolve a link against the article URL; raise `UrlError` unless the result is http(s)."""
    stripped, keyed_by = _href_kind(href)
    return _resolve_kind(stripped, keyed_by, base)


# A scheme as urllib splits it off. Against an http(s) base, urljoin returns an href with any other scheme
# unchanged (`mailto:`, `javascript:`, `tel:`): unusable whatever the base. "http:x" without slashes is
# joined against an http base, so those two schemes are not taken here.
_OTHER_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")


def _href_kind(href: str) -> tuple[str, _KeyedBy | None]:
    """The stripped href and what its resolution depends on besides itself: nothing (None: an absolute href,
    an empty one or one of another scheme), the base's origin (a plain root-relative path) or the whole base."""
    href = href.strip()
    if not href or href[:8].lower().startswith(("http://", "https://")):
        return href, None
    if _plain_absolute_path(href):
        return href, _KeyedBy.ORIGIN
    scheme = _OTHER_SCHEME.match(href)
    if scheme is not None and scheme.group(1).lower() not in HTTP_SCHEMES:
        return href, None
    return href, _KeyedBy.BASE


def _resolve_kind(href: str, keyed_by: _KeyedBy | None, base: str) -> str:
    if not href:
        raise UrlError("empty href")
    # An absolute http(s) href (most of them) needs no joining, and "/news/1" only the base's origin: urljoin
    # would parse both URLs for nothing. Their results are cached by the URL alone, not by (href, base), so
    # that the menus every page of a site repeats are resolved once per process, not once per page.
    if keyed_by is None:
        return _normalised_link(href)
    if keyed_by is _KeyedBy.ORIGIN:
        return _normalised_link(url_origin(base) + href)
    return _joined_link(href, base)


# Failures raise and are not cached.
@lru_cache(maxsize=16384)
def _normalised_link(url: str) -> str:
    return normalise_http_url(url, keep_fragment=True)


@lru_cache(maxsize=8192)
def _joined_link(href: str, base: str) -> str:
    try:
        joined = urljoin(base, href)
    except ValueError as exc:  # "Invalid IPv6 URL" and the like
        raise UrlError(f"unparseable URL {href[:200]!r}: {exc}") from exc
    return normalise_http_url(joined, keep_fragment=True)


class LinkTarget(NamedTuple):
    """Where an href leads: the resolved URL, it without its fragment, its host, and the host's site."""

    url: str
    page: str  # the URL without its fragment: equal to the page's URL for a jump within the page
    host: str
    site: str  # registrable domain of the host


# What hrefs resolved to (or why they cannot be used), for the process: the menus and footers every page of a
# site repeats resolve once, in one or two lookups, instead of a strip, a scheme test and three cached calls
# (resolve, host, site) per link: ~0.2 ms of a 120-link page seen before (a first sight costs ~0.13 ms more).
# Keyed by what the answer depends on: an absolute href, or one of another scheme, by itself (a str key); a
# relative one by (href, the part of the base it depends on: `link_contexts`), a tuple key never equal to a
# str, with its kind under the href itself. Cleared when full, like the class/id verdicts: 32 768 entries are
# at most ~13 MiB. Read by `_links.cached_target` only (here, and by the link rows in C: `anchor_rows`).
_TARGETS: dict[str | tuple[str, str], LinkTarget | UrlError | _KeyedBy] = {}
_TARGETS_MAX = 1 << 15
# Answers keyed by a directory are kept only while the cache is less than half full: a site whose articles
# each sit in a directory of their own ("/2022/01/13/story/") gives answers no later page asks for, and they
# must not crowd out the menus that every page repeats.
_DIRECTORY_ROOM = _TARGETS_MAX // 2


def link_contexts(base: str) -> dict[_KeyedBy, str]:
    """The parts of `base` that a relative href's answer depends on, by the href's kind, as urljoin reads
    them: the origin, the scheme, and the scheme, host and path up to its last "/" (not the last segment, the
    query or the fragment). What `link_target`'s cache keys relative answers by."""
    contexts = {_KeyedBy.ORIGIN: url_origin(base)}
    try:
        parts = urlparse(base)
    except ValueError:
        return contexts  # answers of the other kinds are then resolved afresh, not kept
    directory = parts.path[: parts.path.rfind("/") + 1]
    contexts[_KeyedBy.SCHEME] = parts.scheme
    contexts[_KeyedBy.DIRECTORY] = f"{parts.scheme}://{parts.netloc}{directory}"
    return contexts


def _relative_kind(href: str) -> _KeyedBy:
    """What a relative href that is not a plain root-relative path depends on, read as urljoin reads it."""
    try:
        parts = urlparse(href)
    except ValueError:
        return _KeyedBy.BASE  # urljoin fails on it too; not kept
    if parts.netloc:
        return _KeyedBy.SCHEME  # joined with the base's scheme alone
    if parts.path or parts.params:
        return _KeyedBy.DIRECTORY  # the base's last segment, query and fragment are dropped
    return _KeyedBy.BASE  # "?q" keeps the base's path, "#f" its query too


def link_target(raw: str, base: str, contexts: dict[_KeyedBy, str]) -> LinkTarget | UrlError:
    """What an `href` resolves to against `base` (whose `link_contexts` the caller keeps), or the `UrlError`
    saying why it cannot be used (a link to drop, not a failure: `javascript:`, `mailto:`, ...)."""
    found = cached_target(_TARGETS, raw, contexts, LinkTarget, UrlError)
    return found if found is not None else _resolved_target(raw, base, contexts)


def _target(url: str, host: str) -> LinkTarget:
    return LinkTarget(url, url.partition("#")[0], host, registrable_domain(host))


# The compiled joins of relative hrefs whose answer is in normal form, by the kind they are kept under (each
# held to `_resolve_kind` by a differential test in `tests/test_urls.py`; their inputs do not overlap): a plain
# root-relative path ("/news/1", 4.4 -> ~1 us a miss), a network-path reference ("//cdn.example/x", ~14 ->
# ~1.5 us) and a plain path relative to the page's directory ("story.html", 13 -> ~1.9 us, urljoin's).
_COMPILED_JOINS = (
    (_KeyedBy.ORIGIN, normal_root_relative),
    (_KeyedBy.SCHEME, normal_network_path),
    (_KeyedBy.DIRECTORY, normal_directory_relative),
)


def _resolved_target(raw: str, base: str, contexts: dict[_KeyedBy, str]) -> LinkTarget | UrlError:
    """`link_target` for an href its cache does not answer: resolved, and kept where its kind allows. The
    link rows in C call this on their own misses, so that the cache is not asked twice."""
    if len(_TARGETS) >= _TARGETS_MAX:
        _TARGETS.clear()
    # Most misses (two thirds of a new page's) are absolute URLs already in normal form: checked and cut in C
    # (`_links.normal_absolute`, held to this module's own path by `tests/test_urls.py`): 2.0 -> 0.8 us each.
    normal = normal_absolute(raw, _TRACKING_HINT)
    if normal is not None:
        return _kept(raw, None, contexts, _target(*normal))
    for kind, join in _COMPILED_JOINS:
        context = contexts.get(kind)
        if context is not None and (normal := join(raw, context, _TRACKING_HINT)) is not None:
            return _kept(raw, kind, contexts, _target(*normal))
    href, keyed_by = _href_kind(raw)
    if keyed_by is None and not href[:8].lower().startswith(("http://", "https://")):
        # Another scheme (mailto:, javascript:, tel:), or nothing: unusable whatever the base, as normalising it
        # would say after urllib's split and an exception caught (~9 -> ~3 us a miss).
        return _kept(raw, None, contexts, UrlError(f"not an http/https URL: {href[:200]!r}"))
    if keyed_by is _KeyedBy.BASE:
        keyed_by = _relative_kind(href)
    target: LinkTarget | UrlError
    try:
        url = _resolve_kind(href, keyed_by, base)
    except UrlError as exc:
        # A new error, not the one caught: that one's traceback holds the caller's frames, and through them
        # the page's tree, for as long as the answer is kept (a first version grew workers to 1.6 GiB).
        target = UrlError(str(exc))
    else:
        target = _target(url, host_of(url))
    return _kept(raw, keyed_by, contexts, target)


def _kept(
    raw: str, keyed_by: _KeyedBy | None, contexts: dict[_KeyedBy, str], target: LinkTarget | UrlError
) -> LinkTarget | UrlError:
    """`target`, kept in the cache as its kind allows: an answer that holds whatever the base under the href;
    a relative one under (href, the part of the base it depends on), its kind under the href. "?page=2" and
    "#top" are not kept: their answers hold for their page alone (keyed by the whole base, a first version
    filled the cache with one page's entries after another: full after ~2 300 pages)."""
    if keyed_by is None:
        _TARGETS[raw] = target
    elif (context := contexts.get(keyed_by)) is not None and (
        keyed_by is not _KeyedBy.DIRECTORY or len(_TARGETS) < _DIRECTORY_ROOM
    ):
        _TARGETS[raw] = keyed_by
        _TARGETS[(raw, context)] = target
    return target


def anchor_rows(base: str, page_url: str, site: str, row_type: type[tuple[Any, ...]]) -> AnchorRows:
    """A page's link rows (`row_type`, e.g. `model.Link`, of the fields `_links.ROW_FIELDS`), made in C from
    its anchors with the targets resolved through this module's cache: links to `page_url` itself and
    unusable hrefs are counted as dropped. `site` is the page's registrable domain (what is internal)."""
    return AnchorRows(
        base,
        link_contexts(base),
        page_url,
        site,
        targets=_TARGETS,
        resolve=_resolved_target,
        target_type=LinkTarget,
        error_type=UrlError,
        row_type=row_type,
    )


def path_extension(url: str) -> str:
    """The lower-cased extension of a URL's path (`jpg`), or "" (also for an unparseable URL)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def unwrap_proxy(url: str) -> str:
    """Return the original image URL that a proxy/resizer URL wraps, or `url` when it wraps none.

    Only a parameter whose value is itself a URL or host/path is taken, so ordinary query strings
    (`?url=` meaning something else) are left alone.
    """
    if "?" not in url:
        return url  # no query, nothing wrapped (most image URLs): urlsplit would only say so more slowly
    after = url[url.index("?") + 1 :]  # the query, and the fragment if there is one
    if "/" not in after and "%" not in after:
        # A wrapped URL's value holds a "/" (`_LOOKS_LIKE_HOST`), as itself or as "%2F": resizers' own
        # queries ("?w=800&q=75") hold neither, and need no urlsplit and parse_qsl (~5 us).
        return url
    return _unwrapped_from_query(url)


def _unwrapped_from_query(url: str) -> str:
    """`unwrap_proxy` without its shortcuts: the URL's query parsed (what the tests hold them to)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return url  # not parseable as a URL: nothing to unwrap, resolving it later rejects it
    if not query:
        return url
    params = dict(parse_qsl(query, keep_blank_values=False))
    for name in _PROXY_PARAMS:
        value = unquote(params.get(name, "")).strip()
        if value and _LOOKS_LIKE_HOST.match(value):
            if value.startswith("//"):
                value = "https:" + value
            elif not value.lower().startswith(("http://", "https://")):
                value = "https://" + value
            return unwrap_proxy(value)
    return url


class SrcsetCandidate(NamedTuple):
    # A tuple, not a frozen dataclass: a long srcset makes a dozen a picture, and a frozen dataclass's
    # __init__ sets each field through object.__setattr__ (~3x the cost).
    url: str
    width: float | None  # `w` descriptor
    density: float | None  # `x` descriptor


def parse_srcset(srcset: str) -> list[SrcsetCandidate]:
    """Parse a `srcset` attribute into candidates (malformed entries are skipped, never raised)."""
    out: list[SrcsetCandidate] = []
    position = 0
    while (url_match := _SRCSET_URL.match(srcset, position)) is not None:
        url = url_match.group(1)
        position = url_match.end()
        descriptors = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            descriptors_match = _SRCSET_DESCRIPTORS.match(srcset, position)
            assert descriptors_match is not None  # matches the empty string
            descriptors, position = descriptors_match.group(), descriptors_match.end()
        candidate = _srcset_candidate(url, descriptors.split())
        if candidate is not None:
            out.append(candidate)
    return out


def _srcset_candidate(url: str, descriptors: list[str]) -> SrcsetCandidate | None:
    """A candidate of no descriptor, a width (with or without a height) or a density; None for any other
    descriptors ("2x 3x", "0w", "100q", a height without a width), which HTML's parser drops too."""
    if not descriptors:
        return SrcsetCandidate(url, None, None)
    width = density = None
    has_height = False
    for descriptor in descriptors:
        if (match := _WIDTH.fullmatch(descriptor)) is not None and width is None and density is None:
            width = float(match.group(1))
        elif (match := _DENSITY.fullmatch(descriptor)) is not None and width is None and density is None:
            density = float(match.group(1))
        elif _HEIGHT.fullmatch(descriptor) is not None and not has_height:
            has_height = True
        else:
            return None
    if width is None and (density is None or has_height):
        return None  # a height alone, or with a density
    return SrcsetCandidate(url, width, density)
