# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The core's reads of a page's tree, walking libxml2's nodes in C instead of through lxml's element proxies.

`content.mark_page` and `content.score` visit every element of a page (~545): through lxml each visit made a
proxy object and read attributes and text through the Python API, 1.3 ms a page together, where a walk of
the same nodes in C costs a few microseconds. Here they read the nodes lxml's tree is made of (its public C
API: an element's `_c_node`, `elementFactory` for the proxies handed back) and make a proxy only for an
element that is handed back. What they decide is the Python code's decision, unchanged: the rules (which
tags, attributes and words, how points are credited) stay in `content.py`, which passes them in; the names
read here are the fields of `content.PageMarks` (article, main, itemprop=articleBody, role=main, rel=author).
The text readers below (`text_content`, `links_in`, `joined_text`, `text_length`) serve the walk and the
chrome step the same way; `prune` is the one write (dropped subtrees, and the text after each <br>).
`BlockWalker` is the article's walk itself (`extract`'s rules, passed in as `WalkRules`).

The semantics are lxml's, to the character: an element's text is the text nodes before its first child
element-like node (element, comment, processing instruction, entity reference), its tail the text nodes
after it; a tag is the node's name when the node has no namespace; an attribute's value is its text nodes.

Rejected: a pure-Python fallback beside this (two implementations of one rule drift apart); the extension is
built by `uv sync` (setuptools and Cython, against the installed lxml: see `setup.py`).
"""

cimport cython
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, strcmp, strlen
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_New, PyCapsule_SetContext
from lxml.includes cimport tree, xmlerror, xmlparser
from lxml.includes.htmlparser cimport HTML_PARSE_COMPACT, HTML_PARSE_NONET, HTML_PARSE_RECOVER
from lxml.includes.etreepublic cimport (
    LXML_VERSION_STRING,
    _Document,
    _Element,
    elementFactory,
    import_lxml__etree,
    setNodeText,
    setTailText,
    tailOf,
    textOf,
)

cdef extern from "string.h" nogil:
    # GNU's (Python.h defines _GNU_SOURCE); Cython's libc.string does not declare it.
    const void* memmem(const void* haystack, size_t haystack_size, const void* needle, size_t needle_size)

import lxml.etree

# The structs read here are lxml's as they were at compile time: another lxml installed since (a hand-run
# `pip install -U lxml`) may lay them out otherwise, and reading them would go wrong silently. `make env`
# (uv sync) rebuilds this module whenever uv.lock changes.
BUILT_AGAINST_LXML = (<bytes>LXML_VERSION_STRING).decode("ascii")
if lxml.etree.__version__ != BUILT_AGAINST_LXML:
    raise ImportError(
        f"newslake.core._tree was compiled against lxml {BUILT_AGAINST_LXML} but lxml {lxml.etree.__version__} "
        "is installed: rebuild it (`make env`, or `uv sync --reinstall-package newslake`)"
    )
import_lxml__etree()


# --- libxml2's own functions ------------------------------------------------------------------------------
# `prune` unlinks and frees nodes, which lxml's public C API does not offer. They must be freed by the libxml2
# that made them: the one inside lxml.etree (its wheels link it statically), whose symbols a module loaded
# after it cannot see by name (Python loads extensions RTLD_LOCAL). So they are looked up in lxml.etree's own
# loaded image (`RTLD_NOLOAD`: the handle of the copy already in the process, never a second one).
cdef extern from "dlfcn.h" nogil:
    void* dlopen(const char* filename, int flags)
    void* dlsym(void* handle, const char* symbol)
    char* dlerror()
    int RTLD_LAZY
    int RTLD_NOLOAD

ctypedef void (*_NodeFunction)(tree.xmlNode*) noexcept nogil
ctypedef tree.const_xmlChar* (*_DictExists)(tree.xmlDict*, tree.const_xmlChar*, int) noexcept nogil


cdef void* _libxml2_function(void* image, const char* name) except NULL:
    cdef void* found = dlsym(image, name)
    if found is NULL:
        raise ImportError(f"lxml.etree does not export libxml2's {name.decode()} (needed by newslake.core._tree)")
    return found


cdef void* _lxml_image = dlopen(lxml.etree.__file__.encode(), RTLD_LAZY | RTLD_NOLOAD)
if _lxml_image is NULL:
    raise ImportError(f"cannot find lxml.etree's loaded image: {dlerror().decode()}")
cdef _NodeFunction _unlink_node = <_NodeFunction>_libxml2_function(_lxml_image, "xmlUnlinkNode")
cdef _NodeFunction _free_node = <_NodeFunction>_libxml2_function(_lxml_image, "xmlFreeNode")
cdef _DictExists _dict_exists = <_DictExists>_libxml2_function(_lxml_image, "xmlDictExists")


# --- parsing ------------------------------------------------------------------------------------------------
# A page is parsed here, by the libxml2 inside lxml.etree (its functions looked up as above), and handed to
# lxml whole (`adopt_external_document`), instead of through `lxml.html.document_fromstring`: after libxml2's
# parse, lxml walks the new tree and looks every element and attribute name up in its dictionary again
# (`_fixHtmlDictNames`, ~1700 lookups a corpus page, 2.6% of a warm pass's instructions), for libxml2
# versions that left names out of it. The names are in it already: lxml's own start-of-document hook puts
# them there (`dictNames`), and so does `_start_document` below; a test holds every name of a parsed page to
# the document's dictionary, which the passes here compare names by. The rest is what lxml's `HTMLParser`
# does with the options `html._parser` gives it: its default options (recover, no network, compact text),
# comments and processing instructions not made and raw text as text nodes, not CDATA (no SAX callbacks for
# them), no table of ids (`XML_SKIP_IDS`),
# the bytes read as UTF-8; a test holds the trees to lxml's, page for page.
cdef extern from "libxml/parser.h":
    int XML_SKIP_IDS

cdef extern from "libxml/xmlerror.h":
    int XML_ERR_RESOURCE_LIMIT

ctypedef xmlparser.xmlParserCtxt* (*_NewContext)() noexcept nogil
ctypedef void (*_FreeContext)(xmlparser.xmlParserCtxt*) noexcept nogil
ctypedef tree.xmlDoc* (*_ReadMemory)(
    xmlparser.xmlParserCtxt*, const char*, int, const char*, const char*, int
) noexcept nogil
ctypedef void (*_DocumentFunction)(void*) noexcept nogil
ctypedef int (*_DictReference)(tree.xmlDict*) noexcept nogil
ctypedef void (*_ErrorHandler)(void*, const xmlerror.xmlError*) noexcept nogil
ctypedef void (*_SetErrorHandler)(xmlparser.xmlParserCtxt*, _ErrorHandler, void*) noexcept nogil
ctypedef void (*_FreeDocument)(tree.xmlDoc*) noexcept nogil

cdef _NewContext _new_html_context = <_NewContext>_libxml2_function(_lxml_image, "htmlNewParserCtxt")
cdef _FreeContext _free_html_context = <_FreeContext>_libxml2_function(_lxml_image, "htmlFreeParserCtxt")
cdef _ReadMemory _read_html = <_ReadMemory>_libxml2_function(_lxml_image, "htmlCtxtReadMemory")
cdef _DocumentFunction _sax2_start_document = <_DocumentFunction>_libxml2_function(
    _lxml_image, "xmlSAX2StartDocument"
)
cdef _DictReference _dict_reference = <_DictReference>_libxml2_function(_lxml_image, "xmlDictReference")
cdef _SetErrorHandler _set_error_handler = <_SetErrorHandler>_libxml2_function(_lxml_image, "xmlCtxtSetErrorHandler")
cdef _FreeDocument _free_document = <_FreeDocument>_libxml2_function(_lxml_image, "xmlFreeDoc")
_adopt = lxml.etree.adopt_external_document
cdef int _HTML_OPTIONS = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_COMPACT  # lxml's HTMLParser's defaults


cdef void _start_document(void* context) noexcept nogil:
    """libxml2's start of a document, then what lxml's own hook (`_initSaxDocument`) adds to it: the document
    shares the parser's dictionary, names go into it, and no table of ids is kept (`collect_ids=False`)."""
    cdef xmlparser.xmlParserCtxt* parser = <xmlparser.xmlParserCtxt*>context
    _sax2_start_document(context)
    cdef tree.xmlDoc* document = parser.myDoc
    if document is not NULL and parser.dict is not NULL and document.dict is NULL:
        # libxml2's HTML parser puts element and attribute names into the dictionary by itself; with
        # `dictNames` short blank texts go there too instead of each into a block of its own (as under lxml).
        parser.dictNames = 1
        document.dict = parser.dict
        _dict_reference(parser.dict)
    parser.loadsubset |= XML_SKIP_IDS


cdef void _count_limits(void* limits, const xmlerror.xmlError* error) noexcept nogil:
    """The parse's error handler: counts the errors of a limit met (the depth libxml2 stops building the tree
    at); the others (mismatched tags and the like, which recovery mends) are not wanted, as before."""
    if error is not NULL and error.code == XML_ERR_RESOURCE_LIMIT:
        (<int*>limits)[0] += 1


cdef void _free_capsule_document(object capsule) noexcept:
    """A parsed document's capsule dropped before lxml took the document over: free it."""
    cdef void* document = PyCapsule_GetPointer(capsule, b"libxml2:xmlDoc")
    if document is not NULL:
        _free_document(<tree.xmlDoc*>document)


@cython.final
cdef class HtmlParse:
    """A libxml2 HTML parser context of this thread's, reused page after page (as lxml reuses its own)."""

    cdef xmlparser.xmlParserCtxt* _context
    cdef int _limits
    cdef object _lxml_parser

    def __cinit__(self, lxml_parser not None):
        self._context = _new_html_context()
        if self._context is NULL:
            raise MemoryError()
        self._context.sax.startDocument = _start_document
        self._context.sax.comment = NULL  # `remove_comments`: no comment node is made
        self._context.sax.processingInstruction = NULL  # `remove_pis`
        self._context.sax.cdataBlock = NULL  # `strip_cdata`: raw text (a <noscript>'s) as text nodes
        _set_error_handler(self._context, _count_limits, &self._limits)
        self._lxml_parser = lxml_parser

    def __dealloc__(self):
        if self._context is not NULL:
            _free_html_context(self._context)

    def parse(self, bytes html not None):
        """The `<html>` element of the UTF-8 `html` parsed (None when there is no element at all), and whether
        the parse met a limit of libxml2's (it stops building the tree 256 elements deep)."""
        if len(html) > 0x7FFFFFFF:
            raise ValueError("a page of 2 GiB or more")
        cdef const char* data = html
        cdef int size = <int>len(html)
        cdef tree.xmlDoc* document
        self._limits = 0
        with nogil:
            document = _read_html(self._context, data, size, NULL, b"utf-8", _HTML_OPTIONS)
        if document is NULL:
            return None, self._limits > 0
        capsule = PyCapsule_New(document, b"libxml2:xmlDoc", _free_capsule_document)
        PyCapsule_SetContext(capsule, b"destructor:xmlFreeDoc")  # lxml takes it over, not a copy of it
        return _adopt(capsule, self._lxml_parser).getroot(), self._limits > 0


def names_in_dictionary(_Element root not None):
    """Whether the name of every element and attribute under `root` is its document's dictionary's own copy
    (what the passes here compare names by): for the tests."""
    cdef tree.xmlDict* names = _names_of(root._c_node)
    cdef tree.xmlNode* node = root._c_node
    cdef tree.xmlAttr* attr
    while node is not NULL:
        if node.type == tree.XML_ELEMENT_NODE:
            if _dict_exists(names, node.name, -1) is not node.name:
                return False
            attr = node.properties
            while attr is not NULL:
                if _dict_exists(names, attr.name, -1) is not attr.name:
                    return False
                attr = attr.next
        node = _next_in_document(node, root._c_node)
    return True


# --- reading nodes ----------------------------------------------------------------------------------------
cdef inline bint _is_element_like(tree.xmlNode* node) noexcept nogil:
    # lxml's `_isElement`: what iterating an element yields.
    return (
        node.type == tree.XML_ELEMENT_NODE
        or node.type == tree.XML_COMMENT_NODE
        or node.type == tree.XML_ENTITY_REF_NODE
        or node.type == tree.XML_PI_NODE
    )


cdef inline bint _is_text(tree.xmlNode* node) noexcept nogil:
    return node.type == tree.XML_TEXT_NODE or node.type == tree.XML_CDATA_SECTION_NODE


cdef inline tree.xmlNode* _next_element_like(tree.xmlNode* node) noexcept nogil:
    while node is not NULL and not _is_element_like(node):
        node = node.next
    return node


cdef inline str _utf8(const char* data, Py_ssize_t size):
    return data[:size].decode("utf-8")


cdef inline str _content(tree.xmlNode* node):
    """A text node's content as str ("" when it has none)."""
    if node.content is NULL:
        return ""
    return _utf8(<const char*>node.content, strlen(<const char*>node.content))


cdef bytes _text_run(tree.xmlNode* first):
    """lxml's text (or tail) from `first` on, as UTF-8: the content of the adjacent text nodes there, joined;
    None when there is no text node (b"" when they are all empty)."""
    cdef tree.xmlNode* node = first
    if node is NULL or not _is_text(node):
        return None
    if node.next is NULL or not _is_text(node.next):  # one node: most texts and tails
        return <bytes>(<const char*>node.content) if node.content is not NULL else b""
    cdef list run = []
    while node is not NULL and _is_text(node):
        if node.content is not NULL:
            run.append(<bytes>(<const char*>node.content))
        node = node.next
    return b"".join(run)


cdef inline int _append_run(tree.xmlNode* first, list parts) except -1:
    """Append lxml's text (or tail) from `first` on to `parts` as one piece, when there is one."""
    cdef bytes run = _text_run(first)
    if run is not None:
        parts.append(run)
    return 0


cdef str _attribute_value(tree.xmlAttr* attr):
    """The attribute's value as lxml's `get` gives it (its text nodes joined; "" for a bare `hidden`)."""
    cdef tree.xmlNode* child = attr.children
    if child is NULL:
        return ""
    if child.next is NULL:
        return _content(child)
    parts = []
    while child is not NULL:
        parts.append(_content(child))
        child = child.next
    return "".join(parts)


cdef inline bint _named(tree.xmlNode* node, const char* name) noexcept nogil:
    return node.ns is NULL and strcmp(<const char*>node.name, name) == 0


cdef inline bint _attr_named(tree.xmlAttr* attr, const char* name) noexcept nogil:
    return attr.ns is NULL and strcmp(<const char*>attr.name, name) == 0


cdef tree.xmlAttr* _attribute(tree.xmlNode* node, const char* name) noexcept nogil:
    """The first attribute of that name without a namespace (what lxml's `get` reads), or NULL."""
    cdef tree.xmlAttr* attr = node.properties
    while attr is not NULL:
        if _attr_named(attr, name):
            return attr
        attr = attr.next
    return NULL


cdef object _get(tree.xmlNode* node, const char* name):
    """lxml's `get(name)`: the value of the first attribute of that name without a namespace, else None."""
    cdef tree.xmlAttr* attr = _attribute(node, name)
    return _attribute_value(attr) if attr is not NULL else None


cdef inline tree.xmlNode* _next_in_document(tree.xmlNode* node, tree.xmlNode* top) noexcept nogil:
    """The node after `node` in document order within `top`'s subtree (children of elements only), or NULL."""
    if node.type == tree.XML_ELEMENT_NODE and node.children is not NULL:
        return node.children
    return _after_subtree(node, top)


cdef inline tree.xmlNode* _after_subtree(tree.xmlNode* node, tree.xmlNode* top) noexcept nogil:
    """The node after `node`'s subtree in document order within `top`'s subtree, or NULL."""
    while node is not top and node.next is NULL:
        node = node.parent
    if node is top:
        return NULL
    return node.next


cdef inline _Element _proxy(_Document doc, tree.xmlNode* node):
    return elementFactory(doc, node)


# --- where an element is ---------------------------------------------------------------------------------
# Asked through lxml, "is it inside that?" walks `iterancestors()`, which makes a proxy for every ancestor
# (~100 ns each warm, several times that on a page out of the caches): the chrome step asked it of ~115
# candidates a page, ~10 ancestors each. Here the parent pointers are compared in C, in the tree as it is now
# (a detached element has no parent).
def is_within(_Element inner not None, _Element outer not None):
    """Whether `inner` is `outer` or inside it."""
    cdef tree.xmlNode* node = inner._c_node
    while node is not NULL:
        if node is outer._c_node:
            return True
        node = node.parent
    return False


cdef class NodeSet:
    """Elements collected to ask of others "is it one of them, or inside one?" (`covers`).

    The elements are kept (a proxy keeps its node); a few dozen a page, compared by node in C."""

    cdef list _held
    cdef tree.xmlNode** _nodes
    cdef Py_ssize_t _count, _room

    def __cinit__(self):
        self._held = []
        self._nodes = NULL
        self._count = self._room = 0

    def __dealloc__(self):
        free(self._nodes)

    def __len__(self):
        return self._count

    def add(self, _Element element not None):
        self._add(element)

    def covers(self, _Element element not None):
        """Whether `element` or one of its ancestors is in the set."""
        return self._covers(element._c_node)

    cdef int _add(self, _Element element) except -1:
        self._nodes = <tree.xmlNode**>_with_room(self._nodes, self._count, &self._room, sizeof(tree.xmlNode*))
        self._nodes[self._count] = element._c_node
        self._count += 1
        self._held.append(element)
        return 0

    cdef bint _covers(self, tree.xmlNode* node) noexcept nogil:
        cdef Py_ssize_t i
        while node is not NULL:
            for i in range(self._count):
                if self._nodes[i] is node:
                    return True
            node = node.parent
        return False


# --- the page pass ----------------------------------------------------------------------------------------
cdef enum:
    _MOST_NAMES = 16  # names `_intern` takes at once


cdef tree.xmlDict* _names_of(tree.xmlNode* node) except NULL:
    """The dictionary where libxml2 keeps one copy of each element and attribute name of the node's document:
    a name is then compared by its address, and a name the dictionary lacks is on no node."""
    if node.doc is NULL or node.doc.dict is NULL:
        raise ValueError("the document has no dictionary of names (not one lxml's parser made)")
    return node.doc.dict


cdef Py_ssize_t _intern(
    tree.xmlDict* names, names_in, tree.const_xmlChar** out, Py_ssize_t room = _MOST_NAMES
) except -1:
    """`out[i]`: the address of the i-th name of `names_in` (str) in `names`, or NULL when it is on no node
    (so that no node's name is it); returns how many. `out` holds `room` names."""
    cdef Py_ssize_t count = 0
    cdef bytes encoded
    for name in names_in:
        if count == room:
            raise ValueError(f"at most {room} names at once")
        encoded = name.encode("utf-8")
        out[count] = _dict_exists(names, <tree.const_xmlChar*><const char*>encoded, len(encoded))
        count += 1
    return count


cdef inline bint _is_one_of(tree.const_xmlChar* name, tree.const_xmlChar** names, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(count):
        if names[i] is name:
            return True
    return False


cdef inline size_t _address_slot(const void* address, size_t mask) noexcept nogil:
    """The first slot of an address in an open-addressed table of `mask + 1` slots (a power of two)."""
    # Fibonacci hashing: the product's high bits, where every bit of the address has had its say.
    return <size_t>((<uint64_t><size_t>address * <uint64_t>11400714819323198485ULL) >> 32) & mask


@cython.final
cdef class _AddressMap:
    """Values by address (nodes; names in a document's dictionary), open-addressed, grown to stay at most half
    full. A key is compared by its address alone, never read: the walk's holders, the tally's totals and a
    page's tag names each keep one."""

    cdef const void** keys
    cdef Py_ssize_t* values
    cdef size_t mask, count

    def __cinit__(self):
        self.mask, self.count = 63, 0
        self.keys = <const void**>calloc(self.mask + 1, sizeof(void*))
        self.values = <Py_ssize_t*>calloc(self.mask + 1, sizeof(Py_ssize_t))
        if self.keys is NULL or self.values is NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.keys)
        free(self.values)

    cdef inline size_t _slot(self, const void* key) noexcept nogil:
        cdef size_t slot = _address_slot(key, self.mask)
        while self.keys[slot] is not NULL and self.keys[slot] is not key:
            slot = (slot + 1) & self.mask
        return slot

    cdef inline Py_ssize_t get(self, const void* key, Py_ssize_t missing) noexcept nogil:
        cdef size_t slot = self._slot(key)
        return self.values[slot] if self.keys[slot] is not NULL else missing

    cdef int put(self, const void* key, Py_ssize_t value) except -1:
        cdef size_t slot = self._slot(key)
        if self.keys[slot] is NULL:
            if 2 * (self.count + 1) > self.mask + 1:
                self._grow()
                slot = self._slot(key)
            self.keys[slot] = key
            self.count += 1
        self.values[slot] = value
        return 0

    cdef int _grow(self) except -1:
        cdef const void** old_keys = self.keys
        cdef Py_ssize_t* old_values = self.values
        cdef size_t old_size = self.mask + 1, i, slot
        self.mask = 2 * old_size - 1
        self.keys = <const void**>calloc(self.mask + 1, sizeof(void*))
        self.values = <Py_ssize_t*>calloc(self.mask + 1, sizeof(Py_ssize_t))
        if self.keys is NULL or self.values is NULL:
            free(old_keys)
            free(old_values)
            raise MemoryError()
        for i in range(old_size):
            if old_keys[i] is not NULL:
                slot = self._slot(old_keys[i])
                self.keys[slot], self.values[slot] = old_keys[i], old_values[i]
        free(old_keys)
        free(old_values)
        return 0


cdef bint _may_hide(tree.xmlAttr* style):
    """Whether an inline style may be one `hides` is true of: its value holds "none" or "hidden" in any case
    (what `display: none` and `visibility: hidden` need after lower-casing), or a non-ASCII byte (lower-casing
    one can give an ASCII letter: then `hides` decides). Most inline styles hold neither, and no str, lower-
    cased copy and regex call is made for them (~60 a page, ~1 us each)."""
    cdef bytes value = _attribute_bytes(style)
    cdef const unsigned char* data = value
    cdef Py_ssize_t size = len(value), i
    cdef unsigned char byte
    for i in range(size):
        byte = data[i]
        if byte >= 0x80:
            return True
        if byte | 0x20 == ord("n") and i + 4 <= size and _folded_at(data + i, b"none", 4):
            return True
        if byte | 0x20 == ord("h") and i + 6 <= size and _folded_at(data + i, b"hidden", 6):
            return True
    return False


cdef inline bint _folded_at(const unsigned char* data, const char* word, Py_ssize_t size) noexcept nogil:
    """Whether `data` starts with the lower-case ASCII `word` in any case."""
    cdef Py_ssize_t i
    for i in range(size):
        if data[i] | 0x20 != <unsigned char>word[i]:
            return False
    return True


cdef bytes _attribute_bytes(tree.xmlAttr* attr):
    """The attribute's value as UTF-8, as `_attribute_value` reads it ("" when absent or bare)."""
    if attr is NULL or attr.children is NULL:
        return b""
    cdef tree.xmlNode* child = attr.children
    if child.next is NULL:
        return <bytes>(<const char*>child.content) if child.content is not NULL else b""
    parts = []
    while child is not NULL:
        if child.content is not NULL:
            parts.append(<bytes>(<const char*>child.content))
        child = child.next
    return b"".join(parts)


cdef bytes _verdict_key(tree.xmlAttr* klass, tree.xmlAttr* ident):
    # The class and id values as UTF-8 with a NUL between (a value cannot hold one): one bytes object to hash
    # and compare, where a tuple of two decoded strings cost two decodes and three hashes an element.
    return _attribute_bytes(klass) + b"\0" + _attribute_bytes(ident)


cdef object _kept(dict answers, Py_ssize_t most, key, compute, tuple args):
    """`compute(*args)`, kept in `answers` under `key` (cleared when it holds `most`)."""
    found = answers.get(key, answers)  # the dict itself: no answer yet (None is one)
    if found is answers:
        if len(answers) >= most:
            answers.clear()
        found = answers[key] = compute(*args)
    return found


cdef object _by_class_and_id(tree.xmlAttr* klass, tree.xmlAttr* ident, dict answers, Py_ssize_t most, compute):
    """`compute(classes, ident)` of an element's class and id attributes (NULL: absent), kept in `answers` by
    the values (`_verdict_key`): a site's templates repeat them."""
    cdef bytes key = _verdict_key(klass, ident)
    found = answers.get(key, answers)
    if found is not answers:
        return found
    classes, _, identifier = key.decode("utf-8").partition("\0")
    return _kept(answers, most, key, compute, (classes, identifier))


# The attributes the page pass reads the values of, and where each is found in its `read` array.
cdef enum:
    _ITEMPROP, _ROLE, _REL, _CLASS, _ID, _STYLE, _DATETIME, _PUBDATE, _READ_COUNT
_READ = ("itemprop", "role", "rel", "class", "id", "style", "datetime", "pubdate")  # in the enum's order


def page_marks(
    _Element root not None,
    region_tags,
    marking_attributes,
    frozenset author_itemprops not None,
    dict verdicts not None,
    judge,
    hides,
):
    """`content.mark_page`'s lists, in document order: (regions, marked, classed, styled, authors, bylines,
    article_bodies, articles, mains, main_roles, times, published): `times` the <time> elements with a
    datetime, a pubdate or itemprop=datePublished, `published` the other elements with that itemprop.

    `region_tags`: the tags of chrome regions; `marking_attributes`: the attributes that mark an element for
    the chrome step (with itemprop=articleBody); `author_itemprops`: the itemprops of author markup (with
    <a rel=author>). `verdicts` maps an element's class and id (as UTF-8, a NUL between) to (names chrome
    or a hiding class, may name a byline); `judge(key)` answers (and records) a key it does not hold.
    `hides(style)` tells whether a lower-cased inline style hides.
    """
    cdef _Document doc = root._doc
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* node = top
    cdef tree.xmlAttr* attr
    cdef tree.xmlAttr* read[_READ_COUNT]  # the first attribute of each name in _READ, or NULL
    cdef tree.xmlAttr* itemprop
    cdef tree.xmlAttr* role
    cdef tree.xmlAttr* rel
    cdef tree.xmlAttr* klass
    cdef tree.xmlAttr* ident
    cdef tree.xmlAttr* style
    cdef Py_ssize_t i
    cdef bint marking, is_body
    cdef list regions = [], marked = [], classed = [], styled = [], authors = [], bylines = []
    cdef list article_bodies = [], articles = [], mains = [], main_roles = [], times = [], published = []
    # Names by their addresses in the document's dictionary: a tag or attribute name is one pointer compare.
    cdef tree.xmlDict* names = _names_of(top)
    cdef tree.const_xmlChar* region_names[_MOST_NAMES]
    cdef tree.const_xmlChar* marking_names[_MOST_NAMES]
    cdef tree.const_xmlChar* read_names[_MOST_NAMES]
    cdef Py_ssize_t region_count = _intern(names, region_tags, region_names)
    cdef Py_ssize_t marking_count = _intern(names, marking_attributes, marking_names)
    _intern(names, _READ, read_names)
    cdef tree.const_xmlChar* article = _dict_exists(names, <tree.const_xmlChar*>b"article", 7)
    cdef tree.const_xmlChar* main = _dict_exists(names, <tree.const_xmlChar*>b"main", 4)
    cdef tree.const_xmlChar* anchor = _dict_exists(names, <tree.const_xmlChar*>b"a", 1)
    cdef tree.const_xmlChar* time = _dict_exists(names, <tree.const_xmlChar*>b"time", 4)
    cdef _Element element
    while node is not NULL:
        if node.type != tree.XML_ELEMENT_NODE:
            node = _next_in_document(node, top)
            continue
        element = None
        if node.ns is NULL and _is_one_of(node.name, region_names, region_count):
            element = _proxy(doc, node)
            regions.append(element)
        elif node.ns is NULL and node.name is article:
            element = _proxy(doc, node)
            articles.append(element)
        elif node.ns is NULL and node.name is main:
            element = _proxy(doc, node)
            mains.append(element)
        attr = node.properties
        if attr is NULL:
            node = _next_in_document(node, top)
            continue
        for i in range(_READ_COUNT):
            read[i] = NULL
        marking = False
        while attr is not NULL:
            if attr.ns is NULL:
                for i in range(_READ_COUNT):
                    if read[i] is NULL and attr.name is read_names[i]:
                        read[i] = attr  # the first one, as lxml's get() answers
                        break
                marking = marking or _is_one_of(attr.name, marking_names, marking_count)
            attr = attr.next
        itemprop, role, rel = read[_ITEMPROP], read[_ROLE], read[_REL]
        klass, ident, style = read[_CLASS], read[_ID], read[_STYLE]
        # Most elements have no itemprop: None is not compared with the names below (a rich comparison each).
        item = _attribute_value(itemprop) if itemprop is not NULL else None
        is_body = item is not None and item == "articleBody"
        if is_body or marking:
            if element is None:
                element = _proxy(doc, node)
            if is_body:
                article_bodies.append(element)
            marked.append(element)
            if role is not NULL and _attribute_value(role) == "main":
                main_roles.append(element)
        if (item is not None and item in author_itemprops) or (
            rel is not NULL and node.ns is NULL and node.name is anchor and _attribute_value(rel) == "author"
        ):
            if element is None:
                element = _proxy(doc, node)
            authors.append(element)
        if klass is not NULL or ident is not NULL:
            key = _verdict_key(klass, ident)
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = judge(key)
            if verdict[0]:
                if element is None:
                    element = _proxy(doc, node)
                classed.append(element)
            if verdict[1]:
                if element is None:
                    element = _proxy(doc, node)
                bylines.append(element)
        if style is not NULL and _may_hide(style) and hides(_attribute_value(style).lower()):
            if element is None:
                element = _proxy(doc, node)
            styled.append(element)
        if node.ns is NULL and node.name is time:
            if read[_DATETIME] is not NULL or read[_PUBDATE] is not NULL or (
                item is not None and item == "datePublished"
            ):
                if element is None:
                    element = _proxy(doc, node)
                times.append(element)
        elif item is not None and item == "datePublished":
            if element is None:
                element = _proxy(doc, node)
            published.append(element)
        node = _next_in_document(node, top)
    return (
        regions, marked, classed, styled, authors, bylines, article_bodies, articles, mains, main_roles, times,
        published,
    )


# --- the text tally of scoring ----------------------------------------------------------------------------
cdef enum:
    _MOST_BLOCK_TAGS = 64  # block tags `scored_tally` takes (the core has 37)


cdef struct _Block:
    tree.xmlNode* node
    Py_ssize_t chars  # characters of its own text pieces, each stripped
    Py_ssize_t link_chars  # of those, the characters inside links
    Py_ssize_t commas
    Py_ssize_t order  # when its first text piece was met (-1: none yet)


cdef struct _Total:
    tree.xmlNode* node
    Py_ssize_t chars
    Py_ssize_t link_chars


# `str.isspace` for one character (`_is_space`), so that the tally strips exactly what `str.strip()` strips.
include "_space.pxi"


# --- what a class and id say --------------------------------------------------------------------------------
cdef enum:
    _LONGEST = 63  # the longest chrome word or hiding class `ClassVerdicts` takes (it lower-cases on the stack)


cdef class ClassVerdicts:
    """`page_marks`'s `judge`: the verdict on a class/id pair it meets first (its key: class and id as UTF-8,
    a NUL between), kept in `verdicts` (cleared when it holds `limit`), as `content.class_verdict` gives it:
    (a word of the class or id is a chrome word, or a name in either is a hiding class; the class may name a
    byline).

    A pair of ASCII values (nearly all) is judged here, on the key's bytes: a chrome word is a maximal run of
    [a-z0-9] after lower-casing (what the trie between its lookarounds matches), a hiding class a maximal run
    of non-whitespace (the NUL between the values parts them, as the newline `class_verdict` puts there), a
    byline one of `byline_parts` in the class as written. Any other pair is `class_verdict`'s (`general`):
    lower-casing a non-ASCII letter can give an ASCII one (the Kelvin sign is "k"). ~90 first pairs a new page
    took ~1.3 us each through the regexes in Python.
    """

    cdef dict verdicts
    cdef Py_ssize_t limit, longest_word, longest_name
    cdef frozenset words, names
    cdef tuple byline_parts
    cdef object general

    def __init__(self, dict verdicts not None, Py_ssize_t limit, words, names, byline_parts, general):
        self.verdicts, self.limit, self.general = verdicts, limit, general
        self.words = frozenset(word.encode("ascii") for word in words)
        self.names = frozenset(name.encode("ascii") for name in names)
        if any(word.strip(b"abcdefghijklmnopqrstuvwxyz0123456789") for word in self.words):
            raise ValueError("chrome words are runs of [a-z0-9]")
        if any(name != name.lower() or any(chr(c).isspace() for c in name) for name in self.names):
            raise ValueError("hiding classes are lower-case and hold no whitespace")
        self.longest_word = max(map(len, self.words), default=0)
        self.longest_name = max(map(len, self.names), default=0)
        if max(self.longest_word, self.longest_name) > _LONGEST:
            raise ValueError(f"words and names of {_LONGEST} characters at most")
        self.byline_parts = tuple(part.encode("ascii") for part in byline_parts)

    def __call__(self, bytes key not None):
        if len(self.verdicts) >= self.limit:
            self.verdicts.clear()
        verdict = self.verdicts[key] = self.judge(key)
        return verdict

    cpdef tuple judge(self, bytes key):
        """The verdict on `key`, not kept."""
        cdef const unsigned char* data = key
        cdef Py_ssize_t size = len(key), i, classes_end = -1
        for i in range(size):
            if data[i] >= 0x80:
                text, _, ident = key.decode("utf-8").partition("\0")
                return self.general(text, ident)
            if data[i] == 0 and classes_end < 0:
                classes_end = i
        if classes_end < 0:
            classes_end = size
        # memmem, not `part in key[:classes_end]`: bytes' `in` first tries its operand as an integer, and the
        # TypeError it formats and clears made a verdict ~1.0 us instead of ~0.5 (a corpus page meets ~355
        # pairs first: 2% of the instructions of a first pass over the corpus).
        cdef bint byline = False
        cdef bytes part
        for part in self.byline_parts:
            if memmem(data, classes_end, <const char*>part, len(part)) is not NULL:
                byline = True
                break
        return (self._has_run(data, size, True) or self._has_run(data, size, False), byline)

    cdef bint _has_run(self, const unsigned char* data, Py_ssize_t size, bint alnum):
        """Whether a maximal run, lower-cased, is among the words (`alnum`: runs of [a-z0-9]) or the hiding
        names (runs of non-whitespace, the NUL a separator)."""
        cdef Py_ssize_t start = 0, end, longest = self.longest_word if alnum else self.longest_name
        cdef frozenset among = self.words if alnum else self.names
        while start < size:
            if not _in_run(data[start], alnum):
                start += 1
                continue
            end = start
            while end < size and _in_run(data[end], alnum):
                end += 1
            if end - start <= longest and _lowered(data + start, end - start) in among:
                return True
            start = end
        return False


cdef inline bint _in_run(unsigned char byte, bint alnum) noexcept nogil:
    if alnum:
        return (0x61 <= byte <= 0x7A) or (0x41 <= byte <= 0x5A) or (0x30 <= byte <= 0x39)
    return byte != 0 and not Py_UNICODE_ISSPACE(byte)


cdef bytes _lowered(const unsigned char* data, Py_ssize_t size):
    """`size` (at most `_LONGEST`) ASCII bytes, lower-cased, as a new bytes object."""
    cdef unsigned char lowered[_LONGEST]
    cdef Py_ssize_t i
    for i in range(size):
        lowered[i] = data[i] + 0x20 if 0x41 <= data[i] <= 0x5A else data[i]
    return (<char*>lowered)[:size]


cdef inline uint32_t _decode_at(const unsigned char* text, Py_ssize_t* at) noexcept nogil:
    """The code point starting at text[at[0]] (libxml2 holds valid UTF-8), advancing `at` past it."""
    cdef unsigned char lead = text[at[0]]
    cdef uint32_t code
    cdef int extra
    if lead < 0x80:
        at[0] += 1
        return lead
    if lead >= 0xF0:
        code, extra = lead & 0x07, 3
    elif lead >= 0xE0:
        code, extra = lead & 0x0F, 2
    else:
        code, extra = lead & 0x1F, 1
    at[0] += 1
    while extra and text[at[0]] != 0:
        code = (code << 6) | (text[at[0]] & 0x3F)
        at[0] += 1
        extra -= 1
    return code


cdef enum:
    _MAX_COMMAS = 8


cdef Py_ssize_t _stripped_length(
    const unsigned char* text,
    const uint32_t* comma_codes,
    Py_ssize_t comma_count,
    const uint64_t* ascii_commas,
    Py_ssize_t* commas,
) noexcept nogil:
    """`len(text.strip())` of a UTF-8 string (whitespace as `str.isspace`); adds its commas (any of the
    `comma_count` code points; those below 128 also as bits of `ascii_commas`) to `commas`."""
    cdef Py_ssize_t at = 0, count = 0, pending = 0, i
    cdef bint started = False, space
    cdef uint32_t code
    cdef unsigned char byte
    while True:
        byte = text[at]
        if byte == 0:
            return count
        # An ASCII character (most of a page's text, and all of its markup's spaces) is judged by two bit
        # tests, not by the list of commas: that loop for every character was about half of the tally's time.
        if byte < 0x80:
            at += 1
            if (ascii_commas[byte >> 6] >> (byte & 63)) & 1:
                commas[0] += 1
            space = _is_space(byte)
        else:
            code = _decode_at(text, &at)
            for i in range(comma_count):
                if code == comma_codes[i]:
                    commas[0] += 1
                    break
            space = _is_space(code)
        if space:
            if started:
                pending += 1
        else:
            started = True
            count += pending + 1
            pending = 0


cdef void* _with_room(void* items, Py_ssize_t count, Py_ssize_t* room, size_t size) except NULL:
    """`items` (`count` of `size` bytes each, `room[0]` allocated) with room for one more: grown twofold when
    full (and `room` updated), the same pointer otherwise."""
    cdef void* grown
    if items is not NULL and count < room[0]:
        return items
    room[0] = max(64, 2 * room[0])
    grown = realloc(items, room[0] * size)
    if grown is NULL:
        raise MemoryError()
    return grown


cdef class ScoreRules:
    """`content.score`'s rules for `scored_tally`: which blocks score (`skipped`: never; `parents_only`: credit
    their ancestors, not themselves), which candidates are never scored (`unscored`), and a candidate's initial
    weight: `tag_weights` by its tag plus `class_weight(classes, ident)` of its class and id attributes, kept
    in `answers` by their values (cleared at `kept_most`)."""

    cdef frozenset skipped, parents_only, unscored
    cdef dict tag_weights, answers
    cdef object class_weight
    cdef Py_ssize_t kept_most

    def __init__(
        self,
        *,
        frozenset skipped not None,
        frozenset parents_only not None,
        frozenset unscored not None,
        dict tag_weights not None,
        class_weight,
        Py_ssize_t kept_most,
    ):
        self.skipped, self.parents_only, self.unscored = skipped, parents_only, unscored
        self.tag_weights, self.class_weight, self.kept_most = dict(tag_weights), class_weight, kept_most
        self.answers = {}
        if any(not isinstance(weight, int) for weight in self.tag_weights.values()):
            raise ValueError("tag weights are whole numbers")


cdef struct _Credit:
    tree.xmlNode* node
    double total


cdef class TextTally:
    """Each block's own text under a root, tallied in one pass over the nodes (see `content.score`).

    A block is the root or an element with a block tag; its own text is its text, the text and tails of the
    inline elements inside it, and the tails of its children. `scores` is made with the tally (keyed by
    proxies, which keep their nodes); `chars` and `link_chars` compare node addresses and never read a node
    again, so a tree changed since cannot make them read freed memory (they answer for the tree as it was).
    """

    cdef readonly dict scores
    cdef _Element _root
    cdef _Block* _blocks
    cdef Py_ssize_t _block_count, _block_room
    cdef _Total* _totals
    cdef Py_ssize_t _total_count, _total_room
    cdef Py_ssize_t _pieces_met
    cdef tree.const_xmlChar* _block_names[_MOST_BLOCK_TAGS]  # by address in the page's dictionary
    cdef Py_ssize_t _block_name_count
    cdef _AddressMap _indices  # `_totals`' indices by their nodes
    cdef uint32_t _comma_codes[_MAX_COMMAS]
    cdef Py_ssize_t _comma_count
    cdef uint64_t _ascii_commas[2]  # the commas below 128, as bits

    def __cinit__(self):
        self._blocks = NULL
        self._totals = NULL

    def __dealloc__(self):
        free(self._blocks)
        free(self._totals)

    cdef Py_ssize_t _new_block(self, tree.xmlNode* node) except -1:
        self._blocks = <_Block*>_with_room(self._blocks, self._block_count, &self._block_room, sizeof(_Block))
        self._blocks[self._block_count] = _Block(node, 0, 0, 0, -1)
        self._block_count += 1
        return self._block_count - 1

    cdef Py_ssize_t _new_total(self, tree.xmlNode* node) except -1:
        self._totals = <_Total*>_with_room(self._totals, self._total_count, &self._total_room, sizeof(_Total))
        self._totals[self._total_count] = _Total(node, 0, 0)
        self._total_count += 1
        return self._total_count - 1

    cdef int _piece(self, Py_ssize_t block, tree.xmlNode* first, bint in_link) except -1:
        """Add the text nodes from `first` on (an element's text or tail, as lxml collects it) to `block`."""
        cdef _Block* owner = &self._blocks[block]
        cdef bytes run
        cdef const unsigned char* text
        if first is NULL or not _is_text(first):
            return 0
        # Adjacent text nodes are one piece, as lxml joins them: stripping each apart would count the spaces
        # between them differently. A lone node (nearly all) is read where it is, not copied into a bytes.
        if first.next is NULL or not _is_text(first.next):
            text = <const unsigned char*>first.content
        else:
            run = _text_run(first)
            text = <const unsigned char*>(<const char*>run)
        if text is NULL or text[0] == 0:
            return 0
        cdef Py_ssize_t chars = _stripped_length(
            text, self._comma_codes, self._comma_count, self._ascii_commas, &owner.commas
        )
        if owner.order < 0:
            owner.order = self._pieces_met
            self._pieces_met += 1
        owner.chars += chars
        if in_link:
            owner.link_chars += chars
        return 0

    cdef int _visit(self, tree.xmlNode* element, Py_ssize_t owner, bint in_link, Py_ssize_t* sums) except -1:
        """`content._visit`: the pieces of `element`'s children and their subtrees, to their owners; adds the
        children's totals (their subtrees' block text) to `sums` (characters, link characters)."""
        cdef tree.xmlNode* child = _next_element_like(element.children)
        cdef Py_ssize_t child_owner, total
        cdef Py_ssize_t inner[2]
        cdef bint child_link, is_block
        while child is not NULL:
            if child.type == tree.XML_ELEMENT_NODE:
                total = self._new_total(child)
                is_block = child.ns is NULL and _is_one_of(child.name, self._block_names, self._block_name_count)
                child_owner = self._new_block(child) if is_block else owner
                child_link = in_link or _named(child, "a")
                inner[0] = inner[1] = 0
                self._piece(child_owner, child.children, child_link)
                self._visit(child, child_owner, child_link, inner)
                if is_block:  # complete now: its own tail goes to its owner, not to it
                    inner[0] += self._blocks[child_owner].chars
                    inner[1] += self._blocks[child_owner].link_chars
                self._totals[total].chars = inner[0]
                self._totals[total].link_chars = inner[1]
                sums[0] += inner[0]
                sums[1] += inner[1]
                self._piece(owner, child.next, in_link)
            child = _next_element_like(child.next)
        return 0

    def chars(self, _Element element not None):
        """The characters of the text of the blocks in `element` (itself included); 0 outside the root."""
        return self._total(element, False)

    def link_chars(self, _Element element not None):
        """Of `chars(element)`, those inside links."""
        return self._total(element, True)

    cdef Py_ssize_t _total(self, _Element element, bint links):
        if self._indices is None:
            return 0  # not made by `scored_tally`: no totals
        cdef Py_ssize_t i = self._indices.get(element._c_node, -1)
        if i < 0:
            return 0
        return self._totals[i].link_chars if links else self._totals[i].chars

    cdef dict _scores(self, Py_ssize_t min_chars, ScoreRules rules):
        """`content.score`'s loop: the blocks of at least `min_chars` characters (not `skipped`) in the order
        their text is first met, each crediting 1 + its commas + one point per 100 characters (at most 3) to
        itself (unless `parents_only`) and its ancestors up to the root, three at most, the nearest first: in
        full, a half, a third; then each credited element but the `unscored`, in the order it was first
        credited: (its tag's weight + its class weight + credits) x (1 - its link density). The same floating-
        point operations in the same order as the rule written in Python (a test holds them to it)."""
        cdef tree.xmlDict* names = _names_of(self._root._c_node)
        cdef tree.const_xmlChar* skipped[_MOST_BLOCK_TAGS]
        cdef tree.const_xmlChar* parents_only[_MOST_BLOCK_TAGS]
        cdef tree.const_xmlChar* unscored[_MOST_NAMES]
        cdef Py_ssize_t skipped_count = _intern(names, rules.skipped, skipped, _MOST_BLOCK_TAGS)
        cdef Py_ssize_t parents_count = _intern(names, rules.parents_only, parents_only, _MOST_BLOCK_TAGS)
        cdef Py_ssize_t unscored_count = _intern(names, rules.unscored, unscored, _MOST_NAMES)
        # The blocks by the order of their first pieces: orders are handed out 0, 1, 2... as pieces are met.
        cdef Py_ssize_t* by_order = <Py_ssize_t*>calloc(max(self._pieces_met, 1), sizeof(Py_ssize_t))
        cdef _Credit* credits = NULL
        cdef Py_ssize_t credit_count = 0, credit_room = 0
        cdef _AddressMap credit_index = _AddressMap()
        cdef Py_ssize_t i, at, level, points, levels, index
        cdef tree.xmlNode* credited[3]  # the block and two ancestors, or three ancestors
        cdef tree.xmlNode* above
        cdef _Block* block
        if by_order is NULL:
            raise MemoryError()
        try:
            for i in range(self._block_count):
                if self._blocks[i].order >= 0:
                    by_order[self._blocks[i].order] = i
            for at in range(self._pieces_met):
                block = &self._blocks[by_order[at]]
                if block.chars < min_chars or block.chars == 0:
                    continue
                if block.node.ns is NULL and _is_one_of(block.node.name, skipped, skipped_count):
                    continue
                points = 1 + block.commas + min(block.chars // 100, 3)
                levels = 0
                if not (block.node.ns is NULL and _is_one_of(block.node.name, parents_only, parents_count)):
                    credited[levels] = block.node
                    levels += 1
                above = block.node
                while above is not self._root._c_node and levels < 3:
                    above = above.parent
                    credited[levels] = above
                    levels += 1
                for level in range(levels):
                    index = credit_index.get(credited[level], -1)
                    if index < 0:
                        credits = <_Credit*>_with_room(credits, credit_count, &credit_room, sizeof(_Credit))
                        credits[credit_count] = _Credit(credited[level], 0.0)
                        index = credit_count
                        credit_index.put(credited[level], index)
                        credit_count += 1
                    credits[index].total += <double>points / <double>(level + 1)
            return self._weighed(credits, credit_count, unscored, unscored_count, rules)
        finally:
            free(by_order)
            free(credits)

    cdef dict _weighed(
        self, _Credit* credits, Py_ssize_t count, tree.const_xmlChar** unscored, Py_ssize_t unscored_count,
        ScoreRules rules,
    ):
        """The credited elements' scores, keyed by their elements (proxies), in the order of `credits`."""
        cdef dict scores = {}
        cdef _Document doc = self._root._doc
        cdef tree.xmlNode* node
        cdef Py_ssize_t i, chars, total
        cdef double density
        for i in range(count):
            node = credits[i].node
            initial = 0
            if node.ns is NULL:
                if _is_one_of(node.name, unscored, unscored_count):
                    continue
                initial = rules.tag_weights.get(_utf8(<const char*>node.name, strlen(<const char*>node.name)), 0)
            initial += _by_class_and_id(
                _attribute(node, "class"), _attribute(node, "id"), rules.answers, rules.kept_most, rules.class_weight
            )
            total = self._indices.get(node, -1)
            chars = self._totals[total].chars if total >= 0 else 0
            density = <double>self._totals[total].link_chars / <double>chars if chars else 0.0
            scores[_proxy(doc, node)] = (<double>initial + credits[i].total) * (1.0 - density)
        return scores

    cdef int _free_blocks(self) except -1:
        """Drop the blocks once `scores` holds what was needed of them."""
        free(self._blocks)
        self._blocks = NULL
        self._block_count = self._block_room = 0
        return 0

    cdef int _index_totals(self) except -1:
        """`_indices`: the totals by their nodes, for `_total` (a scan of them all was ~700 compares a
        question, ~50 questions a page)."""
        cdef Py_ssize_t i
        self._indices = _AddressMap()
        for i in range(self._total_count):
            self._indices.put(self._totals[i].node, i)
        return 0


def scored_tally(
    _Element root not None, frozenset block_tags not None, str commas not None, Py_ssize_t min_chars, ScoreRules rules
):
    """Tally the own text of every block under `root` (`block_tags`: the tags that start a block; `commas`: the
    characters counted as commas, at most 8) and score each candidate readability credits with the text of
    the blocks of at least `min_chars` characters, by `rules` (see `content.score`, whose rules they are)."""
    cdef TextTally tally = _tallied(root, block_tags, commas)
    tally._index_totals()  # before the scores: they are weighed by link density
    tally.scores = tally._scores(min_chars, rules)
    tally._free_blocks()
    return tally


cdef TextTally _tallied(_Element root, frozenset block_tags, str commas):
    """The tally's pass over `root`'s nodes: its blocks' pieces and every element's totals."""
    if len(commas) > _MAX_COMMAS:
        raise ValueError(f"at most {_MAX_COMMAS} comma characters, not {len(commas)}")
    cdef TextTally tally = TextTally.__new__(TextTally)
    tally._root = root
    tally._block_name_count = _intern(_names_of(root._c_node), block_tags, tally._block_names, _MOST_BLOCK_TAGS)
    tally._ascii_commas[0] = tally._ascii_commas[1] = 0
    for i, character in enumerate(commas):
        tally._comma_codes[i] = ord(character)
        if ord(character) < 128:
            tally._ascii_commas[ord(character) >> 6] |= (<uint64_t>1) << (ord(character) & 63)
    tally._comma_count = len(commas)
    cdef Py_ssize_t sums[2]
    sums[0] = sums[1] = 0
    cdef Py_ssize_t total = tally._new_total(root._c_node)
    cdef Py_ssize_t owner = tally._new_block(root._c_node)
    tally._piece(owner, root._c_node.children, False)
    tally._visit(root._c_node, owner, False, sums)
    tally._totals[total].chars = sums[0] + tally._blocks[owner].chars
    tally._totals[total].link_chars = sums[1] + tally._blocks[owner].link_chars
    return tally


# --- text -------------------------------------------------------------------------------------------------
cdef int _append_descendant_text(tree.xmlNode* node, list parts) except -1:
    """The content of every text and CDATA node under `node`, in document order, appended to `parts`."""
    cdef tree.xmlNode* child = node.children
    while child is not NULL:
        if _is_text(child):
            if child.content is not NULL and child.content[0] != 0:
                parts.append(<bytes>(<const char*>child.content))
        elif child.type == tree.XML_ELEMENT_NODE:
            _append_descendant_text(child, parts)
        child = child.next
    return 0


cdef str _descendant_text(tree.xmlNode* node):
    cdef tree.xmlNode* child = node.children
    if child is NULL:
        return ""
    if child.next is NULL and _is_text(child):  # most links and many paragraphs: one text node
        return _content(child)
    cdef list parts = []
    _append_descendant_text(node, parts)
    return b"".join(parts).decode("utf-8")


def text_content(_Element element not None):
    """All the text inside `element` (its descendants' text and tails, not its own tail), as lxml.html's
    `text_content()` and `tostring(method="text", with_tail=False)` give it."""
    return _descendant_text(element._c_node)


def links_in(_Element element not None):
    """(href, text inside) of every `<a>` with an href in `element`'s subtree (itself included), in document
    order: what `element.iter("a")` with `get("href")` and `text_content()` give, without a proxy per link."""
    return _links_under(element._c_node, [])


cdef list _links_under(tree.xmlNode* top, list found):
    """`links_in`'s (href, text inside) of `top`'s subtree, appended to `found`, which is returned."""
    cdef tree.xmlNode* node = top
    while node is not NULL:
        if node.type == tree.XML_ELEMENT_NODE and _named(node, "a"):
            href = _get(node, "href")
            if href is not None:
                found.append((href, _descendant_text(node)))
        node = _next_in_document(node, top)
    return found


cdef int _itertext(tree.xmlNode* element, list parts) except -1:
    cdef tree.xmlNode* child
    _append_run(element.children, parts)
    child = _next_element_like(element.children)
    while child is not NULL:
        if child.type == tree.XML_ELEMENT_NODE:
            _itertext(child, parts)
        _append_run(child.next, parts)  # a comment's or processing instruction's tail too, as lxml yields it
        child = _next_element_like(child.next)
    return 0


cdef inline tree.xmlNode* _previous_element_like(tree.xmlNode* node) noexcept nogil:
    while node is not NULL and not _is_element_like(node):
        node = node.prev
    return node


cdef int _itertext_backwards(tree.xmlNode* element, list parts, Py_ssize_t limit) except -1:
    """`_itertext`'s pieces from the last one back, until `parts` holds `limit` of them."""
    cdef tree.xmlNode* child = _previous_element_like(element.last)
    while child is not NULL and len(parts) < limit:
        _append_run(child.next, parts)  # its tail comes after its own pieces
        if child.type == tree.XML_ELEMENT_NODE and len(parts) < limit:
            _itertext_backwards(child, parts, limit)
        child = _previous_element_like(child.prev)
    if len(parts) < limit:
        _append_run(element.children, parts)
    return 0


def last_texts(_Element element not None, Py_ssize_t count):
    """The last `count` of `element.itertext()`'s pieces, in document order: what `deque(element.itertext(),
    maxlen=count)` holds, read from the end instead of making a string of every piece before them."""
    cdef list parts = []
    if count > 0:
        _itertext_backwards(element._c_node, parts, count)
    parts.reverse()
    return [(<bytes>part).decode("utf-8") for part in parts]


def joined_text(_Element element not None, str separator not None):
    """`separator.join(element.itertext())`: the texts and tails inside `element` (not its own tail)."""
    cdef list parts = []
    _itertext(element._c_node, parts)
    return separator.encode("utf-8").join(parts).decode("utf-8")


cdef inline Py_ssize_t _utf8_length(const unsigned char* text, Py_ssize_t size) noexcept nogil:
    """The characters of `size` bytes of UTF-8: a character starts at every byte but continuations
    (0b10xxxxxx), counted eight bytes at a time (a byte at a time up to the NUL was ~1.7% of a page's
    instructions: `text_length` is asked of whole regions)."""
    cdef Py_ssize_t at = 0, continuations = 0
    cdef uint64_t word
    while at + 8 <= size:
        memcpy(&word, text + at, 8)
        # A byte's bit 7 set and bit 6 clear: `word << 1` moves each byte's bit 6 to its bit 7. The flags,
        # moved to each byte's bit 0, are summed by one multiplication into the top byte (at most 8): gcc
        # builds for any x86-64 without the POPCNT instruction, and `__builtin_popcountll` was a call to
        # libgcc's `__popcountdi2` (0.4% of a page's instructions).
        continuations += (((word & ~(word << 1) & 0x8080808080808080ULL) >> 7) * 0x0101010101010101ULL) >> 56
        at += 8
    while at < size:
        continuations += (text[at] & 0xC0) == 0x80
        at += 1
    return size - continuations


cdef Py_ssize_t _descendant_length(tree.xmlNode* node) noexcept nogil:
    cdef tree.xmlNode* child = node.children
    cdef const unsigned char* text
    cdef Py_ssize_t length = 0
    while child is not NULL:
        if _is_text(child):
            text = <const unsigned char*>child.content
            if text is not NULL:
                length += _utf8_length(text, <Py_ssize_t>strlen(<const char*>text))
        elif child.type == tree.XML_ELEMENT_NODE:
            length += _descendant_length(child)
        child = child.next
    return length


def text_length(_Element element not None):
    """The characters of all the text inside `element`: XPath's `string-length(.)`, without the string."""
    return _descendant_length(element._c_node)


# --- page metadata ----------------------------------------------------------------------------------------
def page_metadata(_Element root not None, str json_ld_type not None):
    """The parts of the page's metadata elements under `root`, each in document order: (metas, json_ld,
    base_hrefs, title). `metas`: (property, name, http-equiv, itemprop, content) of each <meta> with a
    content attribute, each as `get` gives it; `json_ld`: the `.text` of each <script> whose type is
    `json_ld_type`; `base_hrefs`: each <base>'s href; `title`: the `.text` of the first <title> not inside an
    <svg> (an <svg>'s names the graphic, not the page, and its text may be cut before the parse:
    `_text.without_unread_bodies`), None when there is none, as when it is empty. Read without a proxy for
    each of the page's ~30 metas and ~25 scripts (`iter(*tags)` and `get` through lxml: 49 us a page)."""
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* node = top
    cdef list metas = [], json_ld = [], bases = []
    cdef bint titled = False
    cdef tree.const_xmlChar* tags[_MOST_NAMES]  # meta, script, base, title, svg: compared by address
    _intern(_names_of(top), ("meta", "script", "base", "title", "svg"), tags)
    title = None
    while node is not NULL:
        if node.type == tree.XML_ELEMENT_NODE and node.ns is NULL:
            if node.name is tags[0]:
                content = _get(node, "content")
                if content is not None:
                    metas.append(
                        (_get(node, "property"), _get(node, "name"), _get(node, "http-equiv"), _get(node, "itemprop"),
                         content)
                    )
            elif node.name is tags[1]:
                if _get(node, "type") == json_ld_type:
                    json_ld.append(textOf(node))
            elif node.name is tags[2]:
                bases.append(_get(node, "href"))
            elif node.name is tags[3] and not titled and not _has_ancestor(node, tags[4], top):
                title, titled = textOf(node), True
        node = _next_in_document(node, top)
    return metas, json_ld, bases, title


cdef bint _has_ancestor(tree.xmlNode* node, tree.const_xmlChar* name, tree.xmlNode* top) noexcept nogil:
    """Whether an element named `name` (its dictionary's copy) is above `node`, up to `top`."""
    while node is not top and node.parent is not NULL:
        node = node.parent
        if node.type == tree.XML_ELEMENT_NODE and node.name is name:
            return True
    return False


# --- the one write: pruning ------------------------------------------------------------------------------
cdef enum:
    _MOST_DROPPED = 64  # names `prune` takes (the core drops 20)


cdef bint _has_proxy(tree.xmlNode* top) noexcept nogil:
    """Whether a node of `top`'s subtree has an lxml proxy (lxml keeps it in the node's `_private`)."""
    cdef tree.xmlNode* node = top
    while node is not NULL:
        if node._private is not NULL:
            return True
        node = _next_in_document(node, top)
    return False


def prune(_Element root not None, names):
    """Drop the elements under `root` named by one of `names` with their subtrees, their tails kept, and give
    each <br> left a "\n" before its tail, in one pass: lxml's `strip_elements(root, *names,
    with_tail=False)` after `br.tail = "\n" + (br.tail or "")` for each <br>.

    As `strip_elements` does, a dropped subtree is unlinked, then freed unless a node of it has a proxy (it
    then lives on detached, and lxml frees it with its last proxy); the HTML parser makes no namespaces, so
    there are none to carry over. A name is compared by its address in the document's dictionary, where
    libxml2 keeps one copy of each (a name the dictionary lacks is on no element). The tails go through
    lxml's public C API (`tailOf`, `setTailText`: text nodes, which have no proxies). lxml's strip matched
    every element against each of the 20 names through its tag matcher and made the subtrees' nodes
    self-contained one by one: ~115 us a corpus page, and the <br> pass another walk of the tree."""
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlDict* names_dict = _names_of(top)
    cdef tree.const_xmlChar* dropped[_MOST_DROPPED]
    cdef Py_ssize_t count = _intern(names_dict, names, dropped, _MOST_DROPPED)
    cdef tree.const_xmlChar* br = _dict_exists(names_dict, <tree.const_xmlChar*>b"br", 2)
    cdef tree.xmlNode* node
    cdef tree.xmlNode* after
    node = _next_in_document(top, top)  # `root` itself stays, as with `strip_elements`
    while node is not NULL:
        if node.type != tree.XML_ELEMENT_NODE or node.ns is not NULL:
            node = _next_in_document(node, top)
            continue
        if _is_one_of(node.name, dropped, count):
            after = _after_subtree(node, top)
            _unlink_node(node)
            if not _has_proxy(node):
                _free_node(node)
            node = after
            continue
        if br is not NULL and node.name is br:
            tail = tailOf(node)
            setTailText(node, "\n" + tail if tail is not None else "\n")
        node = _next_in_document(node, top)


# --- the article's walk -----------------------------------------------------------------------------------
# `extract`'s walk over the content region: each element classified once and handed to the handler of its
# kind. Through lxml it made a proxy for every element it met, its tag a str lower-cased and looked up in
# five sets, and a Python frame for each step (~13 us an element, 0.46-0.48 ms a corpus page). Here the elements
# are classified and the containers, paragraphs, headings and bylines handled on libxml2's nodes; images,
# galleries and lists (~6 a page: their rules read pictures, captions and items) and the rare tests on
# markup (figure groups, leads, datelines, class words) stay in `extract.py`, called with a proxy of the
# element. The rules are `extract`'s, passed in as `WalkRules`; the rows are its `Paragraph` and `Heading`.

# What an element's name says, by bit.
cdef enum:
    _DROP = 1 << 0
    _HEADING = 1 << 1
    _IMAGE = 1 << 2
    _LIST = 1 << 3
    _PARAGRAPH = 1 << 4
    _BLOCK = 1 << 5
    _IMG = 1 << 6  # "img": its own picture (`has_img`)
    _TIME = 1 << 7  # "time": its own date (`has_time`)
    # Matched as written, as lxml's `iter(tag)` matches (the other bits are of the lower-cased name, as `_tag`):
    _BLOCK_DESCENDANT = 1 << 8  # an element that makes its ancestors hold blocks
    _IMG_AS_WRITTEN = 1 << 9
    _TIME_AS_WRITTEN = 1 << 10

# What an element holds (its descendants), by bit: what `extract` kept in three sets of proxies (`_Shape`).
cdef enum:
    _HOLDS_BLOCKS = 1
    _HOLDS_IMG = 2
    _HOLDS_TIME = 4

# What the class/id words of an element say (`WalkRules.word_flags`), by bit.
cdef enum:
    _METADATA_WORDS = 1
    _GALLERY_WORDS = 2
WORDS_METADATA, WORDS_GALLERY = _METADATA_WORDS, _GALLERY_WORDS  # for `word_flags` to answer with

# The kinds of block the walk hands elements to.
cdef enum:
    _SKIP_KIND, _HEADING_KIND, _IMAGE_KIND, _LIST_KIND, _METADATA_KIND, _GALLERY_KIND, _PARAGRAPH_KIND, _CONTAINER_KIND


cdef class WalkRules:
    """What the walk decides by, from `extract.py`: its tag sets, limits, row types, link contexts and the
    handlers and tests that stay in Python (each called with an element's proxy)."""

    cdef dict kinds  # lower-cased name -> its bits (`_DROP` ... `_TIME`)
    cdef dict as_written  # name -> its bits matched as written (`_BLOCK_DESCENDANT`, `_IMG_AS_WRITTEN` ...)
    cdef object word_flags, normalise, paragraph_row, heading_row
    cdef object paragraph_context, list_context, heading_context, byline_context
    cdef object handle_image, handle_list, handle_gallery
    cdef object is_figure_group, is_lead, is_dateline, paragraph_images
    cdef Py_ssize_t metadata_max_chars, gallery_max_chars
    cdef double link_block_share
    cdef dict word_verdicts
    cdef Py_ssize_t word_verdicts_max
    cdef list names  # (name as UTF-8, its bits): what `_name_kinds` looks up in each page's dictionary

    def __init__(
        self, *, drop, headings, images, lists, paragraphs, blocks, block_descendants, word_flags,
        Py_ssize_t metadata_max_chars, Py_ssize_t gallery_max_chars, double link_block_share, normalise,
        paragraph_row, heading_row, contexts, handle_image, handle_list, handle_gallery, is_figure_group,
        is_lead, is_dateline, paragraph_images, Py_ssize_t word_verdicts_max,
    ):  # fmt: skip
        self.kinds = {}
        for names, bit in (
            (drop, _DROP), (headings, _HEADING), (images, _IMAGE), (lists, _LIST), (paragraphs, _PARAGRAPH),
            (blocks, _BLOCK), (("img",), _IMG), (("time",), _TIME),
        ):  # fmt: skip
            for name in names:
                if name != name.lower() or not name.isascii():
                    raise ValueError(f"tag names are lower-case ASCII: {name!r}")
                self.kinds[name] = self.kinds.get(name, 0) | bit
        self.as_written = {}
        for names, bit in (
            (block_descendants, _BLOCK_DESCENDANT), (("img",), _IMG_AS_WRITTEN), (("time",), _TIME_AS_WRITTEN)
        ):  # fmt: skip
            for name in names:
                self.as_written[name] = self.as_written.get(name, 0) | bit
        self.names = [
            (name.encode("utf-8"), self.kinds.get(name, 0) | self.as_written.get(name, 0))
            for name in sorted(set(self.kinds) | set(self.as_written))
        ]
        if any(not (name.startswith("h") and name[1:].isdigit() and len(name) == 2) for name in headings):
            raise ValueError("heading tags are h1 ... h9")
        self.word_flags, self.normalise = word_flags, normalise
        self.metadata_max_chars, self.gallery_max_chars = metadata_max_chars, gallery_max_chars
        self.link_block_share = link_block_share
        self.paragraph_row, self.heading_row = paragraph_row, heading_row
        self.paragraph_context, self.list_context, self.heading_context, self.byline_context = contexts
        self.handle_image, self.handle_list, self.handle_gallery = handle_image, handle_list, handle_gallery
        self.is_figure_group, self.is_lead, self.is_dateline = is_figure_group, is_lead, is_dateline
        self.paragraph_images = paragraph_images
        self.word_verdicts, self.word_verdicts_max = {}, word_verdicts_max


cdef _AddressMap _name_kinds(tree.xmlDict* names, WalkRules rules):
    """The bits of each of the rules' names on the page, by its address in the page's dictionary (a name the
    dictionary lacks is on no element)."""
    cdef _AddressMap table = _AddressMap()
    cdef tree.const_xmlChar* address
    cdef bytes encoded
    for encoded, bits in rules.names:
        address = _dict_exists(names, <tree.const_xmlChar*><const char*>encoded, len(encoded))
        if address is not NULL:
            table.put(address, bits)
    return table


cdef inline bint _plain_lower(tree.const_xmlChar* name) noexcept nogil:
    """Whether lower-casing the name leaves it as it is: no ASCII capital, nothing but ASCII."""
    cdef size_t i = 0
    while name[i] != 0:
        if name[i] >= 0x80 or (name[i] >= b"A" and name[i] <= b"Z"):
            return False
        i += 1
    return True


cdef unsigned int _element_bits(_AddressMap table, tree.xmlNode* node, WalkRules rules) except? 0:
    """The bits of an element's name: 0 for any other node, and for a name with a namespace (lxml's tag is
    then "{ns}name", in none of the sets)."""
    if node.type != tree.XML_ELEMENT_NODE or node.ns is not NULL:
        return 0
    cdef unsigned int bits = table.get(node.name, 0)
    if bits or _plain_lower(node.name):
        return bits
    # A name the parser did not lower-case (an element made through lxml's API; or a non-ASCII letter, which
    # Python lower-cases and libxml2 does not: the Kelvin sign is "k"): `_tag`'s lower-cased str decides.
    return rules.kinds.get((<bytes>(<const char*>node.name)).decode("utf-8").lower(), 0)


cdef class BlockWalker:
    """One article's walk (`extract._Walker`'s base): the next position, the current section, the rows so far,
    and the walk over the content region in C.

    `walk` classifies an element (as the walk in Python before it did: the oracle of `tests/test_tree.py`) and
    hands it to its kind's handler; `walk_children`
    gathers the loose text and inline elements between blocks into anonymous paragraphs. The handlers of
    paragraphs, headings, bylines and containers are here; images, lists and galleries are the rules'
    (Python, with a proxy: `handler(walker, element)`), which call back `walk`, `walk_children`,
    `next_position`, `add_paragraph`, `add_links` and `add_anchors`.

    A handler may take elements out from inside the element it is given (a credit leaves its figure), never
    that element itself or its siblings: the walk holds their nodes, not proxies, and a node lxml has no
    proxy for is freed when it leaves the tree."""

    cdef readonly list paragraphs, headings, images
    cdef readonly set seen_image_srcs
    cdef public Py_ssize_t position
    cdef public object section
    cdef readonly str base_url, page_url, site
    cdef readonly object links  # `_links.AnchorRows`: the link rows so far, and how many anchors were dropped
    cdef object _add_anchors  # its `add`
    cdef WalkRules rules
    cdef _Document doc
    # What holds a block, an <img> or a <time> (`_HOLDS_*` bits), by node. Filled before the walk, read during
    # it: the walk only ever takes nodes out (a credit leaves a caption, `element.drop_tree()`), and a node
    # a holder's address could be given to again is a text node.
    cdef _AddressMap holders
    cdef _AddressMap names  # the rules' tag names' bits, by address in the page's dictionary

    def __init__(self, _Element root not None, WalkRules rules not None, str base_url, str page_url, str site, links):
        self.paragraphs, self.headings, self.images, self.seen_image_srcs = [], [], [], set()
        self.position, self.section = 0, None
        self.base_url, self.page_url, self.site = base_url, page_url, site
        self.links, self._add_anchors = links, links.add
        self.rules, self.doc = rules, root._doc
        self.names = _name_kinds(_names_of(root._c_node), rules)
        self.holders = _AddressMap()
        self._find_holders(root._c_node)

    cdef int _find_holders(self, tree.xmlNode* top) except -1:
        """The ancestors of each block element, <img> and <time> under `top` (itself included), up to the
        document's root, as `iterancestors` gives them: what holds blocks, pictures and times."""
        cdef tree.xmlNode* node = top
        cdef unsigned int bits
        while node is not NULL:
            if node.type == tree.XML_ELEMENT_NODE and node.ns is NULL:
                bits = self.names.get(node.name, 0)
                if bits & _BLOCK_DESCENDANT:
                    self._mark_ancestors(node, _HOLDS_BLOCKS)
                if bits & _IMG_AS_WRITTEN:
                    self._mark_ancestors(node, _HOLDS_IMG)
                if bits & _TIME_AS_WRITTEN:
                    self._mark_ancestors(node, _HOLDS_TIME)
            node = _next_in_document(node, top)
        return 0

    cdef int _mark_ancestors(self, tree.xmlNode* node, Py_ssize_t held) except -1:
        cdef tree.xmlNode* ancestor = node.parent
        cdef Py_ssize_t bits
        while ancestor is not NULL and ancestor.type == tree.XML_ELEMENT_NODE:
            bits = self.holders.get(ancestor, 0)
            if bits & held:
                break  # its ancestors have the bit already
            self.holders.put(ancestor, bits | held)
            ancestor = ancestor.parent
        return 0

    # --- what an element holds (for the rules' handlers too) --------------------------------------------
    def has_blocks(self, _Element element not None):
        return self.holders.get(self._node(element), 0) & _HOLDS_BLOCKS != 0

    def has_img(self, _Element element not None):
        return self._has(self._node(element), _IMG, _HOLDS_IMG)

    def has_time(self, _Element element not None):
        return self._has(self._node(element), _TIME, _HOLDS_TIME)

    cdef tree.xmlNode* _node(self, _Element element) except NULL:
        """The element's node, when it is of the walked page (whose names the walk knows)."""
        if element._doc is not self.doc:
            raise ValueError("the element is not of the page this walker walks")
        return element._c_node

    cdef bint _has(self, tree.xmlNode* node, unsigned int own, Py_ssize_t held) except -1:
        return _element_bits(self.names, node, self.rules) & own or self.holders.get(node, 0) & held

    # --- rows ---------------------------------------------------------------------------------------------
    def next_position(self):
        return self._next_position()

    cdef inline Py_ssize_t _next_position(self):
        self.position += 1
        return self.position - 1

    def add_paragraph(self, Py_ssize_t position, str text not None, *, bint is_lead):
        self.paragraphs.append(self.rules.paragraph_row(position, self.section, text, is_lead))

    def add_links(self, _Element element not None, position, context):
        self._add_anchors(_links_under(element._c_node, []), position, context)

    def add_anchors(self, list anchors not None, position, context):
        # In C (~120 links a page, most of them menus): a row for each href that leads somewhere else, the
        # unusable ones and jumps within this page counted as dropped (`_links.AnchorRows`).
        self._add_anchors(anchors, position, context)

    def lead_allowed(self):
        return self._lead_allowed()

    cdef bint _lead_allowed(self) except -1:
        """A standfirst opens the article: no paragraph and no sub-heading before it."""
        if self.paragraphs:
            return False
        for heading in self.headings:
            if heading.level > 1:
                return False
        return True

    # --- dispatch -----------------------------------------------------------------------------------------
    def walk(self, _Element element not None, *, bint is_root=False):
        self._walk(self._node(element), is_root)

    def walk_children(self, _Element element not None):
        self._walk_children(self._node(element))

    cdef int _walk(self, tree.xmlNode* node, bint is_root) except -1:
        cdef int kind = self._classify(node, is_root)
        if kind == _CONTAINER_KIND:
            self._walk_children(node)
        elif kind == _PARAGRAPH_KIND:
            self._paragraph(node)
        elif kind == _HEADING_KIND:
            self._heading(node)
        elif kind == _METADATA_KIND:
            # A byline or dateline leaves no row of text; its links (the author's page) are kept.
            self._add_anchors(_links_under(node, []), None, self.rules.byline_context)
        elif kind == _IMAGE_KIND:
            self.rules.handle_image(self, _proxy(self.doc, node))
        elif kind == _LIST_KIND:
            self.rules.handle_list(self, _proxy(self.doc, node))
        elif kind == _GALLERY_KIND:
            self.rules.handle_gallery(self, _proxy(self.doc, node))
        return 0  # `_SKIP_KIND`: dropped elements leave no row

    cdef int _classify(self, tree.xmlNode* node, bint is_root) except -1:
        """The kind of block an element is: dropped, heading, image, list; then (below the root) byline by its
        class words and length, gallery, figure group; then paragraph unless it is a block holding blocks."""
        cdef unsigned int bits = _element_bits(self.names, node, self.rules)
        cdef bint has_img
        cdef int words
        if node.type != tree.XML_ELEMENT_NODE or bits & _DROP:
            return _SKIP_KIND
        if bits & _HEADING:
            return _HEADING_KIND
        if bits & _IMAGE:
            return _IMAGE_KIND
        if bits & _LIST:
            return _LIST_KIND
        if not is_root:
            words = self._word_flags(node)
            if words & _METADATA_WORDS and len(_descendant_text(node)) <= self.rules.metadata_max_chars:
                return _METADATA_KIND
            has_img = bits & _IMG or self.holders.get(node, 0) & _HOLDS_IMG
            if has_img and words & _GALLERY_WORDS and len(_descendant_text(node)) <= self.rules.gallery_max_chars:
                return _GALLERY_KIND
            if has_img and not bits & _PARAGRAPH and self.rules.is_figure_group(_proxy(self.doc, node)):
                return _IMAGE_KIND
        if not bits & _BLOCK or not self.holders.get(node, 0) & _HOLDS_BLOCKS:
            return _PARAGRAPH_KIND
        return _CONTAINER_KIND

    cdef int _word_flags(self, tree.xmlNode* node) except -1:
        """What the words of the element's class and id say (`WalkRules.word_flags`), kept by the values."""
        cdef tree.xmlAttr* klass = _attribute(node, "class")
        cdef tree.xmlAttr* ident = _attribute(node, "id")
        if klass is NULL and ident is NULL:
            return 0  # no words
        rules = self.rules
        return _by_class_and_id(klass, ident, rules.word_verdicts, rules.word_verdicts_max, rules.word_flags)

    # --- handlers -----------------------------------------------------------------------------------------
    cdef int _paragraph(self, tree.xmlNode* node) except -1:
        cdef _Element element = None
        if self._has(node, _IMG, _HOLDS_IMG):
            element = _proxy(self.doc, node)
            self.rules.paragraph_images(self, element)  # most paragraphs hold none: no search for them
        text = self.rules.normalise(_descendant_text(node))
        if not text:
            return 0
        if self._has(node, _TIME, _HOLDS_TIME):
            element = element if element is not None else _proxy(self.doc, node)
            if self.rules.is_dateline(element, text):
                return 0
        cdef Py_ssize_t position = self._next_position()
        cdef list anchors = _links_under(node, [])
        if self._link_block(anchors, text):
            self._add_anchors(anchors, position, self.rules.list_context)
            return 0
        cdef bint is_lead = False
        if self._lead_allowed():
            is_lead = self.rules.is_lead(element if element is not None else _proxy(self.doc, node), text)
        self.paragraphs.append(self.rules.paragraph_row(position, self.section, text, is_lead))
        self._add_anchors(anchors, position, self.rules.paragraph_context)
        return 0

    cdef bint _link_block(self, list anchors, str text) except -1:
        """Text that is mostly link text ("· Headline (date)" lists, "Read more: ...") is navigation, not prose."""
        cdef Py_ssize_t inside = 0
        normalise = self.rules.normalise
        for anchor in anchors:
            inside += len(normalise((<tuple>anchor)[1]))
        return inside >= self.rules.link_block_share * len(text)

    cdef int _heading(self, tree.xmlNode* node) except -1:
        text = self.rules.normalise(_descendant_text(node))
        if not text:
            return 0
        cdef Py_ssize_t position = self._next_position()
        level = int((<bytes>(<const char*>node.name)).decode("utf-8").lower()[1])
        anchor = (_get(node, "id") or "").strip() or None
        self.headings.append(self.rules.heading_row(position, level, text, anchor))
        self.section = text
        self._add_anchors(_links_under(node, []), position, self.rules.heading_context)
        return 0

    cdef int _walk_children(self, tree.xmlNode* node) except -1:
        """Descend, gathering loose text and inline elements between blocks into anonymous paragraphs."""
        cdef list run = []
        cdef list inline = []  # the run's inline elements (their links), by address
        cdef tree.xmlNode* child = _next_element_like(node.children)
        cdef tree.xmlNode* after
        cdef unsigned int bits
        cdef _Element held  # a child handed to Python, alive until its tail is read
        _append_run(node.children, run)
        while child is not NULL:
            after = _next_element_like(child.next)  # as lxml's iterator, found before the child is handled
            bits = _element_bits(self.names, child, self.rules)
            if (
                child.type == tree.XML_ELEMENT_NODE
                and not bits & (_BLOCK | _DROP)
                and not self.holders.get(child, 0) & _HOLDS_BLOCKS
            ):
                if bits & (_IMAGE | _IMG) or self.holders.get(child, 0) & _HOLDS_IMG:
                    self._flush_run(run, inline)
                    run, inline = [], []
                    held = _proxy(self.doc, child)
                    self.rules.handle_image(self, held)
                else:
                    _append_descendant_text(child, run)
                    inline.append(<size_t>child)
            else:
                self._flush_run(run, inline)
                run, inline = [], []
                self._walk(child, False)
            _append_run(child.next, run)
            child = after
        self._flush_run(run, inline)
        return 0

    cdef int _flush_run(self, list run, list inline) except -1:
        text = self.rules.normalise(b"".join(run).decode("utf-8"))
        if not text:
            return 0
        cdef Py_ssize_t position = self._next_position()
        cdef list anchors = []
        for address in inline:
            _links_under(<tree.xmlNode*><size_t>address, anchors)
        if self._link_block(anchors, text):
            self._add_anchors(anchors, position, self.rules.list_context)
            return 0
        self.paragraphs.append(self.rules.paragraph_row(position, self.section, text, False))
        self._add_anchors(anchors, position, self.rules.paragraph_context)
        return 0


# --- the chrome step --------------------------------------------------------------------------------------
# `content.remove_chrome`'s loop over the page pass's candidates (~115 a corpus page: regions, marked, classed
# and styled elements): through lxml each read its attributes a `get` at a time, built and lower-cased a string
# of its class and id for two regexes, and each region left the tree through lxml's `remove`, which walks
# the subtree to fix namespaces the HTML parser never makes (0.21 ms a page). Here the attributes are read on
# the node; the decisions on class names, roles, styles and labels are `content`'s, passed in as
# `ChromeRules`, and kept per class/id (a site's templates repeat them).
cdef class ChromeRules:
    """What the chrome step decides by, from `content.py`."""

    cdef dict region_kinds  # tag -> kind: a region by its tag
    cdef frozenset never  # tags never chrome as a whole (named content, the whole page)
    cdef dict role_kinds  # role (stripped, lower-cased) -> kind
    cdef object class_kind, hiding_classes, hides, ad_label
    cdef double most_share
    cdef dict kinds_by_words, hiding_by_classes
    cdef Py_ssize_t kept_most

    def __init__(
        self, *, dict region_kinds not None, never not None, dict role_kinds not None, class_kind, hiding_classes,
        hides, ad_label, double most_share, Py_ssize_t kept_most,
    ):  # fmt: skip
        self.region_kinds, self.never, self.role_kinds = region_kinds, frozenset(never), role_kinds
        self.class_kind, self.hiding_classes, self.hides, self.ad_label = class_kind, hiding_classes, hides, ad_label
        self.most_share, self.kept_most = most_share, kept_most
        self.kinds_by_words, self.hiding_by_classes = {}, {}


cdef inline str _value_or_empty(tree.xmlAttr* attr):
    return _attribute_value(attr) if attr is not NULL else ""


cdef bint _is_dropped_region(tree.xmlNode* node, ChromeRules rules) except -1:
    """`data-e2e="advertisement"`, `aria-hidden="true"`, `hidden`, an inline style that hides, a hiding class,
    or a `role="region"` slot labelled an ad (the label's test and the hiding classes are `content`'s)."""
    cdef tree.xmlAttr* attr = _attribute(node, "aria-hidden")
    if attr is not NULL and _attribute_value(attr) == "true":
        return True
    if _attribute(node, "hidden") is not NULL:
        return True
    attr = _attribute(node, "data-e2e")
    if attr is not NULL and _attribute_value(attr) == "advertisement":
        return True
    attr = _attribute(node, "style")
    if attr is not NULL and _may_hide(attr) and rules.hides(_attribute_value(attr).lower()):
        return True
    cdef tree.xmlAttr* klass = _attribute(node, "class")
    if klass is not NULL:
        classes = _attribute_value(klass)
        if classes and _kept(rules.hiding_by_classes, rules.kept_most, classes, rules.hiding_classes, (classes,)):
            return True
    attr = _attribute(node, "role")
    if attr is NULL or _attribute_value(attr) != "region":
        return False
    label = " ".join(filter(None, (
        _value_or_empty(_attribute(node, "aria-label")), _value_or_empty(klass), _value_or_empty(_attribute(node, "id"))
    )))  # fmt: skip
    return bool(rules.ad_label(label))


cdef object _chrome_kind(tree.xmlNode* node, ChromeRules rules):
    """The kind of chrome an element is by its tag, ARIA role or class/id words (`content.class_chrome_kind`);
    None when it is not chrome."""
    cdef str tag = ""
    if node.ns is NULL:
        tag = (<bytes>(<const char*>node.name)).decode("utf-8")
    if tag in rules.never:
        return None
    kind = rules.region_kinds.get(tag)
    if kind is not None:
        return kind
    cdef tree.xmlAttr* role = _attribute(node, "role")
    cdef str role_value = _attribute_value(role).strip().lower() if role is not NULL else ""
    kind = rules.role_kinds.get(role_value)
    if kind is not None:
        return kind
    cdef tree.xmlAttr* itemprop = _attribute(node, "itemprop")
    if role_value == "main" or (itemprop is not NULL and _attribute_value(itemprop) == "articleBody"):
        return None
    return _by_class_and_id(
        _attribute(node, "class"), _attribute(node, "id"), rules.kinds_by_words, rules.kept_most, rules.class_kind
    )


cdef bint _holds_one_of(tree.xmlNode* node, list elements) except -1:
    """Whether `node` is a (strict) ancestor of one of `elements`."""
    cdef tree.xmlNode* ancestor
    for element in elements:
        ancestor = (<_Element>element)._c_node.parent
        while ancestor is not NULL:
            if ancestor is node:
                return True
            ancestor = ancestor.parent
    return False


cdef int _detach(tree.xmlNode* node) except -1:
    """Take the element out, leaving its tail text in place (tails belong to the surrounding text): what
    `element.tail = None`, `parent.remove(element)` and the tail appended to the element-like node before it
    (or the parent's text) give, without lxml's walk of the subtree for namespaces."""
    cdef tree.xmlNode* parent = node.parent
    if parent is NULL or not _is_element_like(parent):
        return 0  # no parent element: `getparent()` is None
    tail = tailOf(node)
    setTailText(node, None)
    cdef tree.xmlNode* previous = _previous_element_like(node.prev)
    _unlink_node(node)  # an element handed in has a proxy: lxml frees the subtree with its last one
    if tail:
        if previous is not NULL:
            before = tailOf(previous)
            setTailText(previous, before + tail if before is not None else tail)
        else:
            before = textOf(parent)
            setNodeText(parent, before + tail if before is not None else tail)
    return 0


def take_chrome(_Element page not None, list candidates not None, list article_bodies not None, ChromeRules rules):
    """`content.remove_chrome`'s step: of `candidates` (the page pass's regions, marked, classed and styled
    elements, in that order), detach every hidden element and ad slot, and every chrome region (outermost
    first) that holds no marked article body and at most `most_share` of the page's text; return the
    regions as (kind, element), in order. Hidden ones leave first, then the regions: a detached element
    still belongs to the document, so the decisions are all made on the page as it was."""
    cdef Py_ssize_t total = _descendant_length(page._c_node) or 1
    cdef NodeSet taken = NodeSet()
    cdef tree.xmlNode* node
    cdef list hidden = [], removed = []
    for element in candidates:
        node = (<_Element?>element)._c_node
        if taken._covers(node):
            continue  # inside a region already taken (outermost first within regions, and within classes)
        if _is_dropped_region(node, rules):
            hidden.append(element)  # even around an articleBody: a hidden copy of the article is not it
        elif _holds_one_of(node, article_bodies):
            continue  # chrome that holds the marked article body is a wrapper
        else:
            kind = _chrome_kind(node, rules)
            if kind is None or _descendant_length(node) > rules.most_share * total:
                continue
            removed.append((kind, element))
        taken._add(element)
    for element in hidden:
        _detach((<_Element>element)._c_node)
    for _, element in removed:
        _detach((<_Element>element)._c_node)
    return removed


def detach(_Element element not None):
    """Take `element` out of its parent, its tail text left where it was (`_detach`); nothing when it has no
    parent element."""
    _detach(element._c_node)
