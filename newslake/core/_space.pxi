# Whitespace as `str.isspace` and `str.split` see it (`Py_UNICODE_ISSPACE`), included by `_text.pyx` and
# `_tree.pyx`. CPython answers a character above ASCII with a call into its Unicode database for each one: for
# the text of a Cyrillic or CJK page (~20 000 characters) that call was most of `normalise_text`'s time. No
# character outside the ranges below is whitespace (a test holds this to every code point of the running
# Python's data); inside them CPython still decides.

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch) nogil


cdef inline bint _is_space(Py_UCS4 ch) noexcept nogil:
    if ch < 0x80:
        return ch == 0x20 or 0x09 <= ch <= 0x0D or 0x1C <= ch <= 0x1F
    if ch == 0x85 or ch == 0xA0 or ch == 0x1680 or ch == 0x180E or 0x2000 <= ch <= 0x205F or ch == 0x3000:
        return Py_UNICODE_ISSPACE(ch)
    return False
