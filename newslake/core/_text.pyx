# cython: language_level=3, boundscheck=False, wraparound=False
"""Text in C: `normalise_text` (NFC, invisible characters out, whitespace runs collapsed, ends stripped), the
counts of control and non-ASCII bytes that seed reading and parsing ask for, `utf8_valid`, which tells a
UTF-8 seed without decoding it, and `columns`, the fields of a batch's records a list each.

The collapse gives what `" ".join(text.split())` gives after the invisible characters are deleted, in one
pass over the code points and one string made (`split` made a string per word and a list, ~210 calls a
page, most of them short link texts); the text itself when nothing changes. Whitespace is what
`str.split()` splits on (`Py_UNICODE_ISSPACE`, what regex `\\s` matches); a property test compares with the
regex form. `normalise_text` itself is here, not in `text.py`, so that its callers in C (`_links`) and in
Python pay no Python frame for it (~330 calls a page).
"""

from unicodedata import combining, decomposition, is_normalized, normalize

from cpython.unicode cimport (
    PyUnicode_DATA,
    PyUnicode_FromKindAndData,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.tuple cimport PyTuple_Check, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memchr, memcpy


cdef extern from *:
    # Cython's own: readies a string made by Python 3.11's legacy APIs (its kind and data are read below),
    # nothing on 3.12 and later, where every string is ready.
    int __Pyx_PyUnicode_READY(object text) except -1
    bint PyUnicode_IS_ASCII(object text)

include "_space.pxi"

ctypedef fused _Unit:  # a string's code units, by its kind (Py_UCS1, Py_UCS2, Py_UCS4)
    uint8_t
    uint16_t
    uint32_t


cdef inline bint _invisible(Py_UCS4 ch) noexcept nogil:
    # Zero-width and formatting characters editors leave in text: soft hyphen, zero-width space, non-joiner
    # and joiner, word joiner, BOM (test_seed's property test lists them again).
    return ch == 0xAD or ch == 0x200B or ch == 0x200C or ch == 0x200D or ch == 0x2060 or ch == 0xFEFF


def normalise_text(str raw not None):
    """NFC-normalise, drop invisible characters, collapse whitespace runs, strip the ends."""
    # One pass: the collapse asks of each character whether NFC leaves it alone (a few instructions, where a
    # call of `normalize` took ~16 000, ~40 calls a corpus page, most of them on text in NFC already) and
    # gives up at the first it might not; the text is then normalised and collapsed again. A Latin-1 text is
    # in NFC whatever it holds (no character below U+0300 changes).
    collapsed = _collapse(raw, True)
    return collapsed if collapsed is not None else _collapse(_nfc(raw), False)


cdef inline bint _nfc_stable(Py_UCS4 ch) noexcept nogil:
    # Characters NFC leaves as they are wherever they stand: in NFC alone, of combining class 0, and the
    # second character of no canonical composition (test_seed checks every one this answers for against the
    # Unicode data of the running Python). A text of nothing else is in NFC: there is nothing to decompose,
    # reorder or compose (Unicode's quick check answers "yes" for it). The scripts of most news text: Latin to
    # U+02FF, Cyrillic, general punctuation and currency signs, CJK punctuation, kana, the CJK unified
    # ideographs, Hangul syllables, fullwidth forms. The rest of the BMP is asked of `_STABLE_BMP`.
    if ch < 0x300:
        return True
    if ch < 0x2010:
        return 0x400 <= ch <= 0x482 or 0x48A <= ch <= 0x52F
    if ch < 0x3000:
        return ch <= 0x2027 or 0x2030 <= ch <= 0x205E or 0x20A0 <= ch <= 0x20C0
    if ch < 0x4E00:
        return ch <= 0x3029 or 0x3030 <= ch <= 0x303F or 0x3041 <= ch <= 0x3096 or 0x309B <= ch <= 0x30FF
    return ch <= 0x9FFF or 0xAC00 <= ch <= 0xD7A3 or 0xFF01 <= ch <= 0xFFEE


# The same answer for every character of the BMP, a bit each, made from this Python's Unicode data the first
# time a text holds a character outside the ranges above (~30 ms, once a process: a process reading only
# Latin, Cyrillic and CJK text never makes it). Without it, a text with one arrow, star, Greek, Arabic or
# Hebrew letter went to `unicodedata` whole: 40 of the 172 corpus pages' texts, a third of the time their
# normalising took. Characters above the BMP still go to `unicodedata`.
cdef bytes _STABLE_BMP = None
# Hangul's vowel and trailing jamo are second characters of compositions that are not in the Unicode data's
# decompositions (they are algorithmic).
_HANGUL_SECONDS = range(0x1161, 0x1176), range(0x11A8, 0x11C3)
# No canonical decomposition is of a character above this (the CJK compatibility supplement's last).
_LAST_DECOMPOSED = 0x2FFFF


cdef bytes _stable_bmp():
    """The BMP's characters NFC leaves as they are wherever they stand, as bits (bit `c & 7` of byte `c >> 3`):
    in NFC alone, of combining class 0, and the second character of no canonical composition pair."""
    seconds = {code for hangul in _HANGUL_SECONDS for code in hangul}
    for code in range(_LAST_DECOMPOSED + 1):
        parts = decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    bits = bytearray(0x10000 // 8)
    for code in range(0x10000):
        char = chr(code)
        if code not in seconds and not combining(char) and is_normalized("NFC", char):
            bits[code >> 3] |= 1 << (code & 7)
    return bytes(bits)


def stable_bmp_table():
    """The BMP's table `normalise_text` reads (a bit a character), computed from this Python's Unicode data:
    what `newslake.prepare` writes, so that a process takes it (`use_stable_bmp_table`) instead of computing
    it (~21 ms, in the first batch of each flow worker whose pages hold such a character)."""
    return _stable_bmp()


def use_stable_bmp_table(bytes table not None):
    """Take `table` (`stable_bmp_table`'s, prepared before from the same Unicode data) as the BMP's table."""
    global _STABLE_BMP
    if len(table) != 0x10000 // 8:
        raise ValueError(f"a table of the BMP is {0x10000 // 8} bytes, not {len(table)}")
    _STABLE_BMP = table


def nfc_stable(Py_UCS4 ch):
    """Whether `normalise_text` may skip NFC for a text of such characters (for the test against the data)."""
    return _nfc_stable(ch) or _in_stable_bmp(ch)


cdef bint _in_stable_bmp(Py_UCS4 ch) except -1:
    """`_STABLE_BMP`'s answer for `ch` (False above the BMP), the table made on first use."""
    global _STABLE_BMP
    cdef const unsigned char* bits
    cdef unsigned int code
    if ch > 0xFFFF:
        return False
    if _STABLE_BMP is None:
        _STABLE_BMP = _stable_bmp()
    bits = _STABLE_BMP
    code = ch  # as a number: Cython makes a Py_UCS4 shifted a string
    return (bits[code >> 3] >> (code & 7)) & 1


# A text this long that is not in NFC is normalised a stretch of at least `_NFC_STRETCH` characters at a time.
cdef enum:
    _NFC_LONG = 2048
    _NFC_STRETCH = 256


cdef inline bint _nfc_boundary(Py_UCS4 ch) noexcept nogil:
    # Printable ASCII and the CJK unified ideographs: starters in NFC that decompose to nothing else and are
    # the second character of no canonical composition (test_seed checks every character `nfc_boundary`
    # answers for against the Unicode data), so NFC composes and reorders nothing across the place before one.
    return 0x20 <= ch < 0x7F or 0x4E00 <= ch <= 0x9FFF


def nfc_boundary(Py_UCS4 ch):
    """Whether `_nfc` may cut a long text before `ch` (for the test that holds it to the Unicode data)."""
    return _nfc_boundary(ch)


cdef str _nfc(str text):
    """`normalize("NFC", text)`. CPython normalises a text that is not in NFC whole, at ~100 ns a character
    (two corpus page texts of 22 000 characters, six characters of them not in NFC: 2.1 ms each). A long
    one is cut before characters NFC cannot join to what precedes them (`_nfc_boundary`) and normalised a
    stretch at a time: the stretches in NFC cost a quick check, and their NFC forms joined are the text's."""
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(text), start = 0, end
    if size < _NFC_LONG:
        return normalize("NFC", text)
    if is_normalized("NFC", text):
        return text
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef list stretches = []
    while start < size:
        end = start + _NFC_STRETCH
        while end < size and not _nfc_boundary(PyUnicode_READ(kind, data, end)):
            end += 1
        if end > size:
            end = size
        stretches.append(normalize("NFC", text[start:end]))
        start = end
    return "".join(stretches)


cdef str _collapse(str text, bint nfc_checked):
    """`text` without invisible characters, each run of whitespace one space, no whitespace at either end
    (the text itself when nothing changes); with `nfc_checked`, None as soon as a character NFC might change
    is met (`_nfc_stable`, `_in_stable_bmp`)."""
    __Pyx_PyUnicode_READY(text)
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(text), out = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void* buffer = malloc(size * kind + 1)
    if buffer == NULL:
        raise MemoryError()
    try:
        if kind == 1:  # Latin-1: in NFC whatever it holds
            out = _collapsed(<uint8_t*>PyUnicode_DATA(text), size, <uint8_t*>buffer, False)
        elif kind == 2:
            out = _collapsed(<uint16_t*>PyUnicode_DATA(text), size, <uint16_t*>buffer, nfc_checked)
        else:
            out = _collapsed(<uint32_t*>PyUnicode_DATA(text), size, <uint32_t*>buffer, nfc_checked)
        if out == _NOT_NFC:
            return None
        if out == _UNCHANGED:
            return text
        return PyUnicode_FromKindAndData(kind, buffer, out)
    finally:
        free(buffer)


cdef enum:
    _UNCHANGED = -1  # `_collapsed`'s answers besides a length
    _NOT_NFC = -2


cdef Py_ssize_t _collapsed(const _Unit* text, Py_ssize_t size, _Unit* out, bint nfc_checked) except -3:
    """The collapse of `text` into `out`: its length, `_UNCHANGED` when it is `text` as it was, `_NOT_NFC`
    (with `nfc_checked`) at a character NFC might change. Written once for each kind of string, so that each
    character is read as what it is rather than through a test of the kind."""
    cdef Py_ssize_t i, written = 0, run = 0
    cdef Py_UCS4 ch, run_start = 0
    cdef bint changed = False
    for i in range(size):
        ch = text[i]
        if nfc_checked and not _nfc_stable(ch) and not _in_stable_bmp(ch):
            return _NOT_NFC
        if ch >= 0xAD and _invisible(ch):
            changed = True
            continue
        if _is_space(ch):
            if run == 0:
                run_start = ch
            run += 1
            continue
        if run:
            if written:
                out[written] = 0x20
                written += 1
                changed = changed or run > 1 or run_start != 0x20
            else:
                changed = True  # leading whitespace
            run = 0
        out[written] = <_Unit>ch
        written += 1
    if run:
        changed = True  # trailing whitespace
    return written if changed else _UNCHANGED


def is_space(Py_UCS4 ch):
    """`_is_space(ch)` (for the test that holds it to `str.isspace` over every code point)."""
    return _is_space(ch)


def control_bytes(bytes data not None, Py_ssize_t limit):
    """How many of the first `limit` bytes of `data` are C0 control bytes other than tab, LF and CR.

    A branch-free count the compiler vectorises at -O3 (setup.py): 11 us a corpus page where
    `bytes.translate` deleting them, to compare lengths, took 55 and copied the page. Most pages hold none,
    and then nothing is copied at all.
    """
    cdef const unsigned char* at = <const unsigned char*>data
    cdef Py_ssize_t size = min(len(data), max(limit, 0)), start = 0, end, i, count = 0
    cdef unsigned char byte, block
    with nogil:
        # Blocks of 255 bytes counted in a byte (which cannot overflow), so that the comparisons run on
        # vectors of bytes; a wider counter per byte kept the loop ~4x slower.
        while start < size:
            end = min(start + 255, size)
            block = 0
            for i in range(start, end):
                byte = at[i]
                block += (byte < 0x20) & (byte != 0x09) & (byte != 0x0A) & (byte != 0x0D)
            count += block
            start = end
    return count


def high_bytes(bytes data not None):
    """How many bytes of `data` are 0x80 or above (non-ASCII), counted like `control_bytes`."""
    cdef const unsigned char* at = <const unsigned char*>data
    cdef Py_ssize_t size = len(data), start = 0, end, i, count = 0
    cdef unsigned char block
    with nogil:
        while start < size:
            end = min(start + 255, size)
            block = 0
            for i in range(start, end):
                block += at[i] >> 7
            count += block
            start = end
    return count


def utf8_valid(bytes data not None):
    """Whether `data` decodes as UTF-8 (`data.decode("utf-8")` succeeds), without making the string.

    What CPython's decoder accepts: the well-formed sequences of the Unicode Standard's table 3-7 (no
    overlong forms, no surrogates, nothing above U+10FFFF, nothing cut short). ASCII is skipped 32 bytes
    at a time. A property test compares it with the decoder.
    """
    cdef const unsigned char* at = <const unsigned char*>data
    cdef Py_ssize_t size = len(data)
    cdef bint valid
    with nogil:
        valid = _utf8_valid(at, size)
    return valid


cdef bint _utf8_valid(const unsigned char* at, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t i = 0, end
    cdef unsigned char lead, second
    cdef uint64_t word, more, most, last
    while i < size:
        # A block of 32 bytes is skipped when it is ASCII (most of a page's markup); one that is not is read
        # a byte at a time, and a sequence may run past its end. 8-byte steps alone took 23 us a corpus page,
        # these 15; a 32-byte test before each character of a CJK run made those pages slower (25 -> 29 us).
        if i + 32 <= size:
            memcpy(&word, at + i, 8)
            memcpy(&more, at + i + 8, 8)
            memcpy(&most, at + i + 16, 8)
            memcpy(&last, at + i + 24, 8)
            if (word | more | most | last) & 0x8080808080808080ULL == 0:
                i += 32
                continue
            end = i + 32
        else:
            end = size
        while i < end:
            lead = at[i]
            if lead < 0x80:
                i += 1
                continue
            if lead < 0xC2 or lead > 0xF4:  # a continuation byte, an overlong two-byte lead, or beyond U+10FFFF
                return False
            if lead < 0xE0:
                if i + 1 >= size or at[i + 1] & 0xC0 != 0x80:
                    return False
                i += 2
                continue
            if i + 1 >= size:
                return False
            second = at[i + 1]
            if lead < 0xF0:
                if lead == 0xE0 and second < 0xA0:  # overlong
                    return False
                if lead == 0xED and second > 0x9F:  # a surrogate
                    return False
                if second & 0xC0 != 0x80 or i + 2 >= size or at[i + 2] & 0xC0 != 0x80:
                    return False
                i += 3
                continue
            if lead == 0xF0 and second < 0x90:  # overlong
                return False
            if lead == 0xF4 and second > 0x8F:  # beyond U+10FFFF
                return False
            if second & 0xC0 != 0x80 or i + 3 >= size or at[i + 2] & 0xC0 != 0x80 or at[i + 3] & 0xC0 != 0x80:
                return False
            i += 4
    return True


# --- script, style and svg bodies, out before the parse ------------------------------------------------
# Half of a corpus page's bytes (71 of 140 KB on average) are the bodies of <script> and <style>, which
# libxml2 reads a byte at a time, copies into text nodes and frees again, and which `extract._prune` drops
# unread. Everything reads them but `html.PageMeta`, and it only the JSON-LD scripts'. Taken out of the bytes
# first, the parse and free of the corpus took 7.63M instructions a page instead of 8.71M; the scan 0.41M.
#
# Where a body ends is where libxml2 2.14's tokenizer (HTML5's, HTMLparser.c) ends it, so the tree is the
# one it would build, less those text nodes (a test compares the two trees over the corpus and over generated
# markup). The scan follows the tokenizer through what can hide a tag: comments, bogus comments, the DOCTYPE,
# quoted attribute values, and the raw-text elements whose content is not markup (`_RAW_NAMES`).

cdef enum _Mode:
    _RCDATA = 1  # title, textarea: to their end tag
    _RAWTEXT = 2  # style, iframe, noembed, noframes, xmp: to their end tag
    _PLAINTEXT = 3  # plaintext: to the end of the page
    _SCRIPT = 4  # script: to its end tag, but not inside an escaped "<!-- <script> ... </script> -->"
    _SCRIPT_ESCAPED = 5
    _SCRIPT_DOUBLE_ESCAPED = 6

# The raw-text elements, from libxml2's element table's data modes (HTMLparser.c, html40ElementTable).
cdef const char* _RAW_NAMES[9]
cdef int _RAW_MODES[9]
_RAW_NAMES[:] = [b"script", b"style", b"iframe", b"noembed", b"noframes", b"xmp", b"title", b"textarea", b"plaintext"]
_RAW_MODES[:] = [_SCRIPT, _RAWTEXT, _RAWTEXT, _RAWTEXT, _RAWTEXT, _RAWTEXT, _RCDATA, _RCDATA, _PLAINTEXT]
# Bodies dropped: the first two (script, style); of scripts, those that cannot be JSON-LD (`_keeps_body`).
cdef enum:
    _DROPPED = 2


# What ends a name or value in a tag, a bit each in a table of the 256 bytes (one load a byte, not five
# comparisons): HTML's whitespace as libxml2 has it (IS_WS_HTML: space, tab, LF, FF, CR), and ">", "/", "=".
cdef enum:
    _SPACE = 1
    _GT = 2
    _SLASH = 4
    _EQUALS = 8
cdef unsigned char _CLASS[256]
for _byte, _bits in ((0x20, _SPACE), (0x09, _SPACE), (0x0A, _SPACE), (0x0C, _SPACE), (0x0D, _SPACE),
                     (0x3E, _GT), (0x2F, _SLASH), (0x3D, _EQUALS)):
    _CLASS[_byte] = _bits


cdef inline bint _space(unsigned char c) noexcept nogil:
    return _CLASS[c] & _SPACE


cdef inline bint _letter(unsigned char c) noexcept nogil:
    return (c | 0x20) >= 0x61 and (c | 0x20) <= 0x7A


cdef inline Py_ssize_t _skip_space(const unsigned char* at, Py_ssize_t size, Py_ssize_t i) noexcept nogil:
    while i < size and _space(at[i]):
        i += 1
    return i


cdef inline Py_ssize_t _past(const unsigned char* at, Py_ssize_t size, Py_ssize_t i, unsigned char c) noexcept nogil:
    """Just past the first `c` at or after `i`; the end when there is none."""
    cdef const unsigned char* found = <const unsigned char*>memchr(at + i, c, size - i) if i < size else NULL
    return size if found == NULL else found - at + 1


cdef Py_ssize_t _comment_end(const unsigned char* at, Py_ssize_t size, Py_ssize_t i) noexcept nogil:
    """Past a comment whose "<!--" ends before `i`: "<!-->" and "<!--->" are whole, else the first "-->" or
    "--!>"; the end of the page when there is none."""
    if i < size and at[i] == b">":
        return i + 1
    if i + 1 < size and at[i] == b"-" and at[i + 1] == b">":
        return i + 2
    while i < size:
        i = _past(at, size, i, b"-")
        if i + 1 < size and at[i] == b"-":
            if at[i + 1] == b">":
                return i + 2
            if at[i + 1] == b"!" and i + 2 < size and at[i + 2] == b">":
                return i + 3
    return size


cdef inline Py_ssize_t _name_end(const unsigned char* at, Py_ssize_t size, Py_ssize_t i) noexcept nogil:
    """Where a tag name whose first character is before `i` ends: at whitespace, "/" or ">" (htmlParseHTMLName)."""
    while i < size and not _CLASS[at[i]] & (_SPACE | _GT | _SLASH):
        i += 1
    return i


cdef Py_ssize_t _tag_end(const unsigned char* at, Py_ssize_t size, Py_ssize_t i) noexcept nogil:
    """Where a tag whose name ends at `i` ends: the index of its ">" or of the "/" of its "/>" (the end of the
    page when it has neither), past its attributes as libxml2 reads them (htmlParseStartTag): a stray "/" is
    skipped; a name runs to whitespace, "/", ">" or "=" (its first character whatever it is); a value after
    "=" is quoted (to the same quote) or runs to whitespace or ">"."""
    cdef unsigned char quote
    i = _skip_space(at, size, i)
    while i < size and at[i] != b">" and not (at[i] == b"/" and i + 1 < size and at[i + 1] == b">"):
        if at[i] == b"/":
            i = _skip_space(at, size, i + 1)
            continue
        i += 1
        while i < size and not _CLASS[at[i]] & (_SPACE | _GT | _SLASH | _EQUALS):
            i += 1
        i = _skip_space(at, size, i)
        if i < size and at[i] == b"=":
            i = _skip_space(at, size, i + 1)
            if i < size and (at[i] == b'"' or at[i] == b"'"):
                quote = at[i]
                i = _past(at, size, i + 1, quote)
            else:
                while i < size and not _CLASS[at[i]] & (_SPACE | _GT):
                    i += 1
        i = _skip_space(at, size, i)
    return i


cdef inline bint _end_tag_at(
    const unsigned char* at, Py_ssize_t size, Py_ssize_t i, const unsigned char* name, Py_ssize_t length
) noexcept nogil:
    """Whether `name` (lower case) starts at `i`, in any case, followed by whitespace, "/" or ">"."""
    cdef Py_ssize_t k
    if i + length >= size:
        return False
    for k in range(length):
        if at[i + k] | 0x20 != name[k]:
            return False
    return _CLASS[at[i + length]] & (_SPACE | _GT | _SLASH)


cdef Py_ssize_t _raw_end(
    const unsigned char* at, Py_ssize_t size, Py_ssize_t i, const unsigned char* name, Py_ssize_t length, int mode
) noexcept nogil:
    """The index of the "<" of the end tag that ends a raw-text body starting at `i` (htmlParseCharData), the
    end of the page when none does."""
    cdef const unsigned char* found
    cdef bint solidus
    cdef Py_ssize_t j
    while i < size:
        if mode == _RAWTEXT or mode == _RCDATA or mode == _SCRIPT:
            found = <const unsigned char*>memchr(at + i, b"<", size - i)
            if found == NULL:
                return size
            i = found - at
        elif at[i] == b"-":  # escaped script: "-->" ends the escape
            if i + 2 < size and at[i + 1] == b"-" and at[i + 2] == b">":
                mode = _SCRIPT
            i += 1
            continue
        elif at[i] != b"<":
            i += 1
            continue
        j = i + 1
        if mode == _SCRIPT and j < size and at[j] == b"!":
            if j + 2 < size and at[j + 1] == b"-" and at[j + 2] == b"-":
                mode = _SCRIPT_ESCAPED
        else:
            solidus = j < size and at[j] == b"/"
            if (solidus or mode == _SCRIPT_ESCAPED) and _end_tag_at(at, size, j + solidus, name, length):
                if mode == _SCRIPT_ESCAPED and not solidus:
                    mode = _SCRIPT_DOUBLE_ESCAPED
                elif mode == _SCRIPT_DOUBLE_ESCAPED:
                    mode = _SCRIPT_ESCAPED
                else:
                    return i
        i += 1
    return size


cdef bint _keeps_body(const unsigned char* at, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """Whether the script whose open tag is `at[start:end]` may be JSON-LD, read by `PageMeta`: the tag names
    "ld+json" (in any case), or holds a character reference, which could spell it ("ld&#43;json")."""
    cdef const unsigned char* word = b"ld+json"
    cdef Py_ssize_t i, k
    if memchr(at + start, b"&", end - start) != NULL:
        return True
    for i in range(start, end - 6):
        for k in range(7):
            if at[i + k] | 0x20 != word[k]:
                break
        else:
            return True
    return False


cdef int _raw_kind(const unsigned char* at, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """The index in `_RAW_NAMES` of the tag name `at[start:end]` (in any case), -1 for any other name."""
    if end - start < 3 or end - start > 9:  # "xmp" to "plaintext"
        return -1
    return _name_index(at, start, end, _RAW_NAMES, 9)


cdef int _name_index(
    const unsigned char* at, Py_ssize_t start, Py_ssize_t end, const char** names, int count
) noexcept nogil:
    """The index in `names` (`count` lower-case names) of the name `at[start:end]` in any case, -1 for none."""
    cdef int kind
    cdef Py_ssize_t k
    cdef const char* name
    for kind in range(count):
        name = names[kind]
        k = 0
        while start + k < end and name[k] != 0 and at[start + k] | 0x20 == <unsigned char>name[k]:
            k += 1
        if start + k == end and name[k] == 0:
            return kind
    return -1


# The content of an <svg> (~4% of a corpus page's elements and attributes: icons' paths, symbols, uses) is
# dropped with it by `extract._prune`, and nothing reads it before (`html.PageMeta` reads the first <title>
# outside any <svg>). Cut from the bytes (all but 2 of the corpus's svgs, 0.83 of its 24 MB), a warm pass of
# the core executes 1.6% fewer instructions (2741M -> 2698M): the parse, the passes before the prune and the
# free all meet fewer nodes. It is cut only where the tree outside the <svg> is the one libxml2 builds from the
# whole page: a body of SVG's own elements (names libxml2's HTML element table does not have, whose tags it
# only nests) and of <title> and <style> (their text read as libxml2's tokenizer reads it), every element
# closed in order, up to the first end tag met with none open inside (the </svg>). Any other tag inside (an
# HTML element's, <script>, <a>, <foreignObject>, a name with a prefix), an end tag that is not of the element
# last opened inside, or no end tag at all, and the body stays: HTML inside an <svg> can shape the tree
# around it (`<p>x<svg><p><div></div></p></svg>y` closes the outer <p> at the inner </p>), and libxml2 may
# close the <svg> elsewhere.
cdef enum:
    _SVG_NAME_COUNT = 66
cdef const char* _SVG_NAMES[_SVG_NAME_COUNT]
_SVG_NAMES[:] = [  # "svg" first: `_is_svg`
    b"svg", b"g", b"path", b"use", b"symbol", b"defs", b"circle", b"ellipse", b"line", b"polygon", b"polyline",
    b"rect", b"text", b"tspan", b"textpath", b"desc", b"title", b"style", b"lineargradient", b"radialgradient",
    b"stop", b"clippath", b"mask", b"pattern", b"filter", b"marker", b"metadata", b"switch", b"view",
    b"animate", b"animatemotion", b"animatetransform", b"set", b"mpath", b"feblend", b"fecolormatrix",
    b"fecomponenttransfer", b"fecomposite", b"feconvolvematrix", b"fediffuselighting", b"fedisplacementmap",
    b"fedistantlight", b"fedropshadow", b"feflood", b"fefunca", b"fefuncb", b"fefuncg", b"fefuncr",
    b"fegaussianblur", b"feimage", b"femerge", b"femergenode", b"femorphology", b"feoffset", b"fepointlight",
    b"fespecularlighting", b"fespotlight", b"fetile", b"feturbulence", b"hatch", b"hatchpath", b"solidcolor",
    b"discard", b"meshgradient", b"meshrow", b"meshpatch",
]
# Elements open inside an <svg> body at most: a deeper one stays.
cdef enum:
    _SVG_DEPTH = 32


cdef bint _same_name(
    const unsigned char* at, Py_ssize_t start, Py_ssize_t end, Py_ssize_t other, Py_ssize_t other_end
) noexcept nogil:
    """Whether the names at[start:end] and at[other:other_end] are the same in any case."""
    cdef Py_ssize_t k
    if end - start != other_end - other:
        return False
    for k in range(end - start):
        if at[start + k] | 0x20 != at[other + k] | 0x20:
            return False
    return True


cdef inline bint _is_svg(const unsigned char* at, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """Whether at[start:end] is "svg" in any case."""
    return _name_index(at, start, end, _SVG_NAMES, 1) == 0


cdef bint _svg_name(const unsigned char* at, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """Whether at[start:end] is one of `_SVG_NAMES` in any case."""
    return _name_index(at, start, end, _SVG_NAMES, _SVG_NAME_COUNT) >= 0


cdef Py_ssize_t _svg_body_end(const unsigned char* at, Py_ssize_t size, Py_ssize_t i) noexcept nogil:
    """The index of the "<" of the end tag that ends the content to cut of an <svg> whose body starts at `i` (see
    `_SVG_NAMES`); -1 when its body is not one to cut."""
    cdef Py_ssize_t open_start[_SVG_DEPTH]
    cdef Py_ssize_t open_end[_SVG_DEPTH]
    cdef Py_ssize_t depth = 0, name_start, name_end, end
    cdef const unsigned char* found
    cdef unsigned char c
    cdef int kind
    while i < size:
        found = <const unsigned char*>memchr(at + i, b"<", size - i)
        if found == NULL or found - at + 1 >= size:
            return -1
        i = found - at
        c = at[i + 1]
        if c == b"!":
            if i + 3 < size and at[i + 2] == b"-" and at[i + 3] == b"-":
                i = _comment_end(at, size, i + 4)
            else:
                i = _past(at, size, i + 2, b">")
        elif c == b"?":
            i = _past(at, size, i + 1, b">")
        elif c == b"/":
            if i + 2 >= size or not _letter(at[i + 2]):
                return -1  # "</>" or a bogus comment: left to libxml2
            name_start = i + 2
            name_end = _name_end(at, size, i + 3)
            if depth == 0:
                # The </svg>, or an end tag libxml2 closes the <svg> at (an element's opened outside) or passes
                # over (one open nowhere): what is before it is inside the <svg> either way.
                return i
            if not _same_name(at, name_start, name_end, open_start[depth - 1], open_end[depth - 1]):
                return -1
            depth -= 1
            i = _past(at, size, _tag_end(at, size, name_end), b">")
        elif _letter(c):
            name_start = i + 1
            name_end = _name_end(at, size, i + 2)
            if not _svg_name(at, name_start, name_end):
                return -1
            end = _tag_end(at, size, name_end)
            if end >= size:
                return -1
            if at[end] == b"/":  # "<path/>": an empty element
                i = end + 2
                continue
            if depth == _SVG_DEPTH:
                return -1
            open_start[depth] = name_start
            open_end[depth] = name_end
            depth += 1
            i = end + 1
            kind = _raw_kind(at, name_start, name_end)
            if kind >= 0:  # <title>, <style>: their text as the tokenizer reads it, to their end tag
                i = _raw_end(
                    at, size, i, <const unsigned char*>_RAW_NAMES[kind], name_end - name_start, _RAW_MODES[kind]
                )
        else:
            i += 1
    return -1


def without_unread_bodies(bytes data not None):
    """`data` (HTML) without the text of its <script> elements (JSON-LD's kept) and <style> elements, and
    without what is inside its <svg> elements where that can be cut (`_svg_body_end`): the same tree from
    libxml2 less those text nodes and those elements' content. `data` itself when it has none."""
    cdef const unsigned char* at = data
    cdef Py_ssize_t size = len(data), i = 0, name_start, name_end, end, body_end, kept = 0, length = 0, n
    cdef const unsigned char* found
    cdef unsigned char c
    cdef int kind
    cdef bint json_ld
    cdef list cuts = []  # the start and end of each body dropped, in turn
    while i < size:
        found = <const unsigned char*>memchr(at + i, b"<", size - i)
        if found == NULL or found - at + 1 >= size:
            break
        i = found - at
        c = at[i + 1]
        if c == b"!":
            if i + 3 < size and at[i + 2] == b"-" and at[i + 3] == b"-":
                i = _comment_end(at, size, i + 4)
            else:  # a DOCTYPE, or a bogus comment: to the next ">" either way
                i = _past(at, size, i + 2, b">")
        elif c == b"?":
            i = _past(at, size, i + 1, b">")
        elif c == b"/":
            if i + 2 >= size:
                break
            if at[i + 2] == b">":
                i += 3
            elif not _letter(at[i + 2]):
                i = _past(at, size, i + 2, b">")  # a bogus comment
            else:
                i = _past(at, size, _tag_end(at, size, _name_end(at, size, i + 3)), b">")
        elif _letter(c):
            name_start = i + 1
            name_end = _name_end(at, size, i + 2)
            end = _tag_end(at, size, name_end)
            if end >= size:
                break  # a tag the page ends in: libxml2 drops it
            if at[end] == b"/":  # "<script/>": an empty element, no body (htmlParseElementInternal)
                i = end + 2
                continue
            i = end + 1
            if _is_svg(at, name_start, name_end):
                body_end = _svg_body_end(at, size, i)
                if body_end > i:
                    cuts += (i, body_end)
                    length += body_end - i
                    i = body_end
                continue  # (an <svg> whose body stays is read on like any other element's)
            kind = _raw_kind(at, name_start, name_end)
            if kind < 0:
                continue
            if _RAW_MODES[kind] == _PLAINTEXT:
                break
            body_end = _raw_end(
                at, size, i, <const unsigned char*>_RAW_NAMES[kind], name_end - name_start, _RAW_MODES[kind]
            )
            json_ld = _RAW_MODES[kind] == _SCRIPT and _keeps_body(at, name_end, end)
            if kind < _DROPPED and body_end > i and not json_ld:
                cuts += (i, body_end)
                length += body_end - i
            i = body_end
        else:
            i += 1
    if not cuts:
        return data
    out = PyBytes_FromStringAndSize(NULL, size - length)
    cdef char* into = PyBytes_AS_STRING(out)
    cdef Py_ssize_t written = 0
    for n in range(0, len(cuts), 2):
        i, body_end = cuts[n], cuts[n + 1]
        memcpy(into + written, at + kept, i - kept)
        written += i - kept
        kept = body_end
    memcpy(into + written, at + kept, size - kept)
    return out


# --- records to columns ---------------------------------------------------------------------------------
def columns(list records not None, Py_ssize_t width):
    """The first `width` fields of `records` (tuples, named tuples among them) as `width` lists, one a field:
    what `[list(map(itemgetter(i), records)) for i in range(width)]` gives, in one pass over the records.

    A batch's element rows are ~100 000 named tuples (~83 000 of them links); a map of `itemgetter` a field
    cost ~22 ms a 750-seed batch, most of it a Python call a cell."""
    cdef Py_ssize_t count = PyList_GET_SIZE(records), row, field
    cdef list fields = [[None] * count for _ in range(width)]
    cdef list column
    cdef object record
    for row in range(count):
        record = <object>PyList_GET_ITEM(records, row)
        if not PyTuple_Check(record) or PyTuple_GET_SIZE(record) < width:
            raise TypeError(f"record {row} is not a tuple of {width} fields at least: {record!r:.200}")
        for field in range(width):
            column = <list><object>PyList_GET_ITEM(fields, field)
            column[row] = <object>PyTuple_GET_ITEM(record, field)
    return fields
