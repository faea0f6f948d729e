# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""py3langid's feature counting (the walk of its DFA over a sample's bytes) in C.

py3langid walks its automaton a byte at a time in Python (`visit_counts`); `language._LangidIdentifier`
calls this instead and keeps the rest of py3langid's scoring. What this returns is what `visit_counts`
counts, in its order (the features in order of first occurrence, as its `Counter` keeps them), so that the
scores computed from it are the same floating-point numbers, not merely the same answers (a property test
compares them with py3langid's own).

The automaton's table is 39 MB, and each page's sample meets it cold: a walk is a chain of dependent cache
misses (~0.24 us a byte measured, 0.14 ms a 600-byte sample). Its state after a byte is the longest suffix of
the bytes so far that is a prefix of one of its n-grams, never longer than the model's depth (`depth`, which
`language.DFA_DEPTH` holds and a test checks); so the walk from the start state over the last `depth` bytes
reaches the same state as the walk over all of them. The sample is cut into `_LANES` stretches, each walked
from `depth - 1` bytes before its start, all of them a step at a time in turn: their misses overlap instead
of following each other. The features are then counted in the order of their positions. Scoring a corpus
page's sample with the caches flushed before it: 0.27 ms with the numpy walk below and float16 weights,
0.13 ms with this walk (0.06 ms of it) and the weights prepared as float32 (see `language.PREPARED_TYPES`).

Rejected after measuring: the walk for every position at once in numpy (six array passes, then `np.unique`
and an argsort for the order; session 7: 0.16 ms cold with the counting), which this replaces (0.06 ms); a
single walk in C (the chain above: 0.14-0.16 ms cold); the tables in huge pages (no faster: the misses are
the cost, not the TLB).
"""

from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

# How many stretches are walked side by side (the misses a core keeps in flight, roughly).
cdef enum:
    _LANES = 8


cdef struct _Slot:
    int64_t feature  # -1: a free entry
    Py_ssize_t slot  # where the feature sits in the output


cdef Py_ssize_t _table_size(Py_ssize_t positions) noexcept nogil:
    """A power of two of at least twice `positions` (and 16): at most half the entries are ever taken."""
    cdef Py_ssize_t size = 16
    while size < 2 * positions:
        size *= 2
    return size


cdef inline _Slot* _entry(_Slot* table, Py_ssize_t mask, int64_t feature) noexcept nogil:
    """The entry of `feature` in `table` (`mask`: its size minus one), or the free one where it goes."""
    # Fibonacci hashing spreads the feature numbers (dense integers) over the table; probing is linear.
    cdef Py_ssize_t i = <Py_ssize_t>((<uint64_t>feature * <uint64_t>0x9E3779B97F4A7C15) >> 32) & mask
    while table[i].feature >= 0 and table[i].feature != feature:
        i = (i + 1) & mask
    return &table[i]


def feature_counts(
    const unsigned char[::1] text not None,
    const uint32_t[::1] next_states not None,
    const int64_t[::1] row_starts not None,
    const int64_t[::1] state_features not None,
    Py_ssize_t n_features,
    Py_ssize_t depth,
):
    """The features the automaton (`next_states`, `row_starts`: py3langid's `tk_nextmove`, and its `tk_row`
    shifted by 8 bits; no state deeper than `depth`) outputs over `text`, and how often each: two arrays
    (feature numbers as `intp`, counts as `float32`), in order of first occurrence. A model whose tables do
    not agree raises `ValueError`."""
    cdef Py_ssize_t size = text.shape[0], n = 0, i, lane, _step, stretch, move
    cdef Py_ssize_t n_moves = next_states.shape[0], n_states = row_starts.shape[0]
    cdef Py_ssize_t position[_LANES]
    cdef Py_ssize_t start[_LANES]
    cdef Py_ssize_t end[_LANES]
    cdef uint32_t state[_LANES]
    cdef int64_t feature
    if depth < 1:
        raise ValueError(f"the automaton's depth must be positive, not {depth}")
    found = np.empty(size, dtype=np.intp)
    counts = np.empty(size, dtype=np.float32)
    cdef Py_ssize_t[::1] found_at = found
    cdef float[::1] count_at = counts
    # Each position's feature (-1: none); then a table from each feature met so far to where it sits in the
    # output: open addressing over twice as many entries as there can be features (one a position), made for
    # each call, so that threads sharing the identifier share nothing here. Rejected: an array indexed by
    # feature, zeroed for each call: the model has ~100 000 features, so that was 800 KB set to zero a page
    # (3% of a page's instructions, and the page's tree pushed out of the cache) for ~300 features met.
    cdef Py_ssize_t table_size = _table_size(size)
    cdef int64_t* at = <int64_t*>malloc((size + 1) * sizeof(int64_t))
    cdef _Slot* table = <_Slot*>malloc(table_size * sizeof(_Slot))
    cdef _Slot* entry
    if at == NULL or table == NULL:
        free(at)
        free(table)
        raise MemoryError()
    for i in range(table_size):
        table[i].feature = -1
    try:
        stretch = (size + _LANES - 1) // _LANES
        for lane in range(_LANES):
            start[lane] = min(size, lane * stretch)
            end[lane] = min(size, start[lane] + stretch)
            position[lane] = max(0, start[lane] - (depth - 1))  # its first state: the walk over `depth` bytes
            state[lane] = 0
        for _step in range(stretch + depth - 1):
            for lane in range(_LANES):
                i = position[lane]
                if i >= end[lane]:
                    continue
                move = row_starts[state[lane]] + text[i]
                if move < 0 or move >= n_moves:
                    raise ValueError(f"the language model's automaton has no move {move}")
                state[lane] = next_states[move]
                if state[lane] >= n_states:
                    raise ValueError(f"the language model's automaton has no state {state[lane]}")
                if i >= start[lane]:
                    at[i] = state_features[state[lane]]
                position[lane] = i + 1
        for i in range(size):
            feature = at[i]
            if feature < 0:
                continue
            if feature >= n_features:
                raise ValueError(f"the language model has no feature {feature}")
            entry = _entry(table, table_size - 1, feature)
            if entry.feature < 0:
                entry.feature = feature
                entry.slot = n
                found_at[n] = feature
                count_at[n] = 1
                n += 1
            else:
                count_at[entry.slot] += 1
    finally:
        free(at)
        free(table)
    return found[:n], counts[:n]
