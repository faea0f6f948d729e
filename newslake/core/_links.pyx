# cython: language_level=3, boundscheck=False, wraparound=False
"""Link rows in C: the loop over a block's anchors (~120 a page, most of them menus and footers).

Each anchor's target comes from `urls.link_target`'s cache by the lookups `cached_target` makes (which
`link_target` makes through it too, so the cache's protocol is written once); only a miss calls back into
Python (`resolve`: what resolves an href the cache does not answer). A row is made as `Link`'s own
`__new__` makes it (a tuple of the class), without its Python frame. The classes come from the caller
(`urls` imports this module, so this one cannot import it).
"""

from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_Append
from cpython.object cimport PyObject
from cpython.unicode cimport Py_UNICODE_ISSPACE

from newslake.core._text import normalise_text

# Field orders the rows and targets are read and made in; checked against the classes given to `AnchorRows`.
TARGET_FIELDS = ("url", "page", "host", "site")
ROW_FIELDS = ("position", "href", "text", "domain", "is_internal", "context")


def cached_target(
    dict targets not None, str raw not None, dict contexts not None, type target_type, type error_type
):
    """What `raw` resolved to before (a target, or the error saying why it is unusable), or None.

    An href whose answer holds whatever the base (absolute, or of another scheme) is kept under itself; a
    relative one under (href, the part of the base its answer depends on), with a marker of its kind under
    the href itself: `contexts` gives that part of this page's base for each kind of marker."""
    return _cached(targets, raw, contexts, target_type, error_type)


cdef object _cached(dict targets, str raw, dict contexts, type target_type, type error_type):
    cdef PyObject* found = PyDict_GetItem(targets, raw)
    if found is NULL:
        return None
    if _is_answer(<object>found, target_type, error_type):
        return <object>found
    # A kind marker: the answer, if any, is kept under (href, what of the base it depends on).
    cdef PyObject* context = PyDict_GetItem(contexts, <object>found)
    if context is NULL:
        return None
    found = PyDict_GetItem(targets, (raw, <object>context))
    if found is NULL or not _is_answer(<object>found, target_type, error_type):
        return None
    return <object>found


cdef inline bint _is_answer(object found, type target_type, type error_type):
    return type(found) is target_type or isinstance(found, error_type)


cdef class AnchorRows:
    """Link rows for one page: its base (and the parts of it relative hrefs depend on), URL and site, the rows
    so far and the anchors dropped."""

    cdef readonly list rows
    cdef readonly Py_ssize_t dropped
    cdef str base, page_url, site
    cdef dict contexts, targets, resolved
    cdef type target_type, error_type, row_type
    cdef object resolve

    def __init__(
        self,
        str base not None,
        dict contexts not None,
        str page_url not None,
        str site not None,
        *,
        dict targets not None,
        resolve,
        type target_type,
        type error_type,
        type row_type,
    ):
        if target_type._fields != TARGET_FIELDS or row_type._fields != ROW_FIELDS:
            raise TypeError("AnchorRows reads and makes tuples in the field orders it declares")
        self.rows = []
        self.resolved = {}
        self.dropped = 0
        self.base, self.contexts, self.page_url, self.site = base, contexts, page_url, site
        self.targets, self.resolve = targets, resolve
        self.target_type, self.error_type, self.row_type = target_type, error_type, row_type

    def add(self, list anchors not None, object position, object context):
        """A row for each (href, text inside) whose href leads somewhere but this page."""
        cdef tuple anchor, target
        cdef str raw
        for anchor in anchors:
            raw = anchor[0]  # checked: a str
            found = _cached(self.targets, raw, self.contexts, self.target_type, self.error_type)
            if found is None:
                # This page's own answers: the cache does not keep those that hold for one page alone ("#",
                # "?page=2"), and a page repeats them (~2.4 such anchors a page, 1 distinct, in the bench).
                found = self.resolved.get(raw)
                if found is None:
                    found = self.resolve(raw, self.base, self.contexts)
                    self.resolved[raw] = found
            if type(found) is not self.target_type:
                self.dropped += 1  # unusable: not a link to anything
                continue
            target = <tuple>found
            if <str>target[1] == self.page_url:
                self.dropped += 1  # a jump within this page
                continue
            text = normalise_text(<str>anchor[1]) or None
            row = tuple.__new__(
                self.row_type,
                (
                    position,
                    <str>target[0],
                    text,
                    <str>target[2],
                    <str>target[3] == self.site,
                    context,
                ),
            )
            PyList_Append(self.rows, row)


# An href that is an absolute http(s) URL already in normal form: what `urls.normalise_http_url`'s
# `_ALREADY_NORMAL` pattern matches in full (lower-case scheme and host of letters, digits, hyphens and dots
# between labels; then a path, a query and a fragment free of whitespace and C0 controls; no port, user or
# IPv6 literal), with no tracking parameter in its query. Two thirds of a new page's link-cache misses: in
# Python (strip, kind, resolve, normalise, host) such a miss cost 2.0 us, here 0.8 (the others: 4.4 us).


cdef inline bint _url_char(Py_UCS4 ch) noexcept:
    return ch > 0x1F and not Py_UNICODE_ISSPACE(ch)


cdef inline bint _host_char(Py_UCS4 ch) noexcept:
    return (0x61 <= ch <= 0x7A) or (0x30 <= ch <= 0x39) or ch == 0x2D  # a-z 0-9 -


def normal_absolute(str raw not None, tracking not None):
    """(URL, host) of an href that is an absolute http(s) URL already in normal form, as `urls._normalised_link`
    and `urls.host_of` give them (`tests/test_urls.py` holds the two to each other); None for any other href,
    which the caller resolves the general way. `tracking` is the pattern `urls` tells a query with a tracking
    parameter by (its own, so that case folding is the regex engine's here too)."""
    return _normal(raw.strip(), tracking)


# A plain root-relative href ("/news/1": most of the rest of a new page's misses, ~20 a page) joined to its
# page's origin gives such a URL too. `urls._href_kind` tells it by `_plain_absolute_path`, whose substring
# tests are asked here; its whitespace test is not: `_normal` takes no whitespace anywhere in a URL. In Python
# (kind, join, normalise, host) such a miss cost ~4.4 us.


cdef bint _plain_absolute_path(str href):
    cdef Py_ssize_t size = len(href), i
    cdef Py_UCS4 ch, after
    if size == 0 or href[0] != "/" or href[size - 1] == ".":
        return False
    for i in range(size):
        ch = href[i]
        if ch == "\\":
            return False
        if i + 1 < size:
            after = href[i + 1]
            # "//", "/.", "..", "./": dot segments and empty segments are urljoin's to resolve.
            if (ch == "/" or ch == ".") and (after == "/" or after == "."):
                return False
    return True


def normal_root_relative(str raw not None, str origin not None, tracking not None):
    """(URL, host) of a plain root-relative href joined to `origin` (its page's `https://host`, `urls.url_origin`)
    when the result is in normal form, as `urls._resolve_kind` and `urls.host_of` give them; None otherwise."""
    cdef str href = raw.strip()
    if not _plain_absolute_path(href):
        return None
    return _normal(origin + href, tracking)


# A network-path reference ("//cdn.example/x.js": ~1 of a new page's misses, ~14 us each in urllib) is its
# page's scheme and the href side by side: urljoin takes the href's host, path, query and fragment as they are.


def normal_network_path(str raw not None, str scheme not None, tracking not None):
    """(URL, host) of a network-path href ("//host/path") under `scheme` (its page's, `urls.link_contexts`) when
    the result is in normal form, as `urls._resolve_kind` and `urls.host_of` give them; None otherwise."""
    return _normal(scheme + ":" + raw.strip(), tracking)  # (only an href of "//" gives "scheme://" there)


# A path relative to its page's directory ("story.html", "2024/05/a.html"; ~2 of a new page's misses at ~13 us
# each in urllib, ~1.9 here) is that directory and the href side by side, as `urllib.parse.urljoin` joins them, when
# neither holds a dot segment or an empty one (urljoin resolves the first and drops the second) and the href
# has no scheme (no ":" before its first "/") and no parameters (";" in its path). `directory` is the page's
# `urls.link_contexts` DIRECTORY part.


cdef bint _plain_segments(str path, Py_ssize_t start, Py_ssize_t end):
    """No segment of path[start:end] is empty (but a last one), "." or ".."."""
    cdef Py_ssize_t i = start, segment
    while i < end:
        segment = i
        while i < end and path[i] != "/":
            i += 1
        if i < end and i == segment:
            return False  # "//": an empty segment before another
        if (i - segment == 1 and path[segment] == ".") or (
            i - segment == 2 and path[segment] == "." and path[segment + 1] == "."
        ):
            return False
        i += 1
    return True


def normal_directory_relative(str raw not None, str directory not None, tracking not None):
    """(URL, host) of a plain directory-relative href joined to `directory` ("https://host/path/") when the result
    is in normal form, as `urls._resolve_kind` and `urls.host_of` give them; None otherwise."""
    cdef str href = raw.strip()
    cdef Py_ssize_t size = len(href), path_end = 0, authority, path_start, dsize = len(directory)
    if size == 0 or href[0] == "?" or href[0] == "#":  # (a first "/" is an empty first segment, below)
        return None
    while path_end < size and href[path_end] != "?" and href[path_end] != "#":
        if href[path_end] == ":" and href.find("/", 0, path_end) < 0:
            return None  # a scheme, perhaps
        if href[path_end] == ";":
            return None  # parameters: urljoin reads the last segment's dots without them (";x" is no path at all)
        path_end += 1
    if not _plain_segments(href, 0, path_end):
        return None
    authority = directory.find("://")
    path_start = directory.find("/", authority + 3) if authority > 0 else -1
    if path_start < 0 or directory[dsize - 1] != "/" or not _plain_segments(directory, path_start + 1, dsize):
        return None
    return _normal(directory + href, tracking)


cdef object _normal(str href, tracking):
    cdef Py_ssize_t size = len(href), start, i, host_end, path_end, query_end
    cdef Py_UCS4 ch
    if href.startswith("https://"):
        start = 8
    elif href.startswith("http://"):
        start = 7
    else:
        return None
    # The host: labels of [a-z0-9-], one dot between two.
    i = start
    while True:
        if i >= size or not _host_char(href[i]):
            return None  # an empty label
        while i < size and _host_char(href[i]):
            i += 1
        if i < size and href[i] == ".":
            i += 1
            continue
        break
    host_end = i
    if i < size and href[i] == "/":
        while i < size:
            ch = href[i]
            if ch == "?" or ch == "#":
                break
            if not _url_char(ch):
                return None
            i += 1
    elif i < size and href[i] != "?" and href[i] != "#":
        return None  # a port, user information or anything else after the host
    path_end = i
    if i < size and href[i] == "?":
        i += 1
        while i < size and href[i] != "#":
            if not _url_char(href[i]):
                return None
            i += 1
    query_end = i
    if i < size:  # "#" and the fragment
        i += 1
        while i < size:
            if not _url_char(href[i]):
                return None
            i += 1
    cdef str host = href[start:host_end]
    cdef str path = href[host_end:path_end] or "/"
    cdef str query = href[path_end + 1:query_end] if query_end > path_end else ""
    cdef str fragment = href[query_end + 1:] if query_end < size else ""
    if query and tracking.search(query) is not None:
        return None
    cdef str url = href[:host_end] + path
    if query:
        url += "?" + query
    if fragment:
        url += "#" + fragment
    return url, host
