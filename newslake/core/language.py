"""Language as a BCP-47 tag: from what the page declares, else from the text itself.

Chinese is always given its script (`zh-Hans` / `zh-Hant`), decided from the characters, because
analysts split Simplified and Traditional sources and a bare `zh` (or a wrong region) hides that.
"""

import hashlib
import re
import warnings
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import hanzidentifier
import numpy as np
import py3langid
from numpy.typing import NDArray

from newslake.core._langid import feature_counts
from newslake.core.prepared import PREPARED_ROOT

UNDETERMINED = "und"
# py3langid's cost grows with the text: 400 characters give the same answers as 3000 on every corpus page
# (300 did not: one page changed) at a seventh of the time. The script of Chinese is told from 1000.
_SAMPLE_CHARS = 400
# ... and its cost is per UTF-8 byte (a DFA step in Python each, over a 39 MB table: cache misses in the
# pipeline), so a sample in a script of two or three bytes a character is cut at this many bytes. 400-800
# gave the same answers on every corpus page.
_SAMPLE_BYTES = 600
_SCRIPT_SAMPLE_CHARS = 1000
# Text that is mostly Han characters without a single kana or hangul is Chinese: Japanese and Korean prose
# of 400 characters always has some. Told without py3langid, whose answer on such text is `zh` (all 35
# Chinese corpus pages) and costs most there: 400 Han characters are 1200 bytes. py3langid also knows
# Cantonese and Wu, written in Han too: text with a character of theirs that standard Chinese next to never
# uses goes to py3langid as before (a false alarm costs only the time saved).
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\uac00-\ud7af]")
_DIALECT = re.compile("[嘅咗喺冇佢哋嚟啲嘢睇諗噉乜侬覅]")
_LETTER = re.compile(r"[^\W\d_]")
_MIN_HAN = 20
_TAG = re.compile(r"^[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{2,8})*$")
_HANT_REGIONS = frozenset({"tw", "hk", "mo"})


def _canonical_case(tag: str) -> str:
    """BCP-47 casing: language lower, script title, region upper (`en-us` -> `en-US`)."""
    parts = tag.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def chinese_script(text: str) -> str:
    """`Hant` when the text is written in Traditional characters, else `Hans`."""
    # hanzidentifier answers TRADITIONAL, SIMPLIFIED, BOTH (only shared characters) or UNKNOWN.
    return "Hant" if hanzidentifier.identify(text[:_SCRIPT_SAMPLE_CHARS]) == hanzidentifier.TRADITIONAL else "Hans"


# py3langid ships its model LZMA-compressed: loading it took 0.60 s a process (0.43 s to decompress 68 MB,
# 0.15 s to copy the DFA into arrays), paid by each flow worker in the middle of its first batch. `make env`
# (`python -m newslake.prepare`) writes the same arrays uncompressed into the environment, named after the
# model they come from; memory-mapped, they load in ~25 ms and the workers share their pages. Where there is
# no such copy (another install, another py3langid), the model loads as py3langid loads it: same answers.
PY3LANGID_MODEL = py3langid.langid.MODEL_DIR / py3langid.langid.MODEL_FILE
# The arrays, as `py3langid.modelio.load_model` returns them: (name, memory-mapped or read whole).
PREPARED_ARRAYS = (("ptc", True), ("pc", False), ("classes", False), ("nextmove", True), ("row", True), ("out", False))
# ... but the feature weights (float16) widened to float32, exactly: numpy multiplies a float16 matrix by a
# float32 vector by converting it first (50 us for a sample's ~360 rows), and the product of the converted
# rows is the same. Part of the copy's name ("f32"), so that a copy laid out otherwise is not taken for this one.
PREPARED_TYPES: dict[str, type[np.generic]] = {"ptc": np.float32}
PREPARED_LAYOUT = "-".join(f"{np.dtype(kind).kind}{8 * np.dtype(kind).itemsize}" for kind in PREPARED_TYPES.values())


def prepared_model_dir(root: Path = PREPARED_ROOT) -> Path:
    """Where the uncompressed copy of py3langid's model is, named after py3langid's version and the model
    file's content (its SHA-256: ~3 ms for 4.5 MB, and a reinstall that rewrites the file still matches)."""
    digest = hashlib.sha256(PY3LANGID_MODEL.read_bytes()).hexdigest()[:16]
    return root / f"py3langid-{version('py3langid')}-{digest}-{PREPARED_LAYOUT}"


# py3langid walks its DFA (an Aho-Corasick automaton over the model's byte n-grams) a byte at a time in
# Python; `_langid.feature_counts` walks it in C (see there) and counts the features in py3langid's order, so
# that the scores are the same floating-point numbers, not merely the same answers; the scoring is
# py3langid's own expression. Its walk rests on this: no state of the model is deeper than `DFA_DEPTH` bytes
# (a breadth-first walk from the start state finds 6; a test holds the model to it).
DFA_DEPTH = 6


class _LangidIdentifier(py3langid.langid.LanguageIdentifier):  # type: ignore[misc]  # py3langid is untyped
    """py3langid's identifier with its feature counting in C; everything else is its own."""

    def __init__(
        self,
        nb_ptc: Any,
        nb_pc: Any,
        nb_classes: list[str],
        tk_nextmove: Any,
        tk_output: Any,
        norm_probs: bool = False,
        min_confidence: float | None = None,
        *,
        tk_row: Any,
    ) -> None:
        # The automaton's rows and outputs (104 583 states each) are arrays here, not the lists py3langid
        # builds: its constructor shifts every row start in a list comprehension, and the prepared copy's
        # arrays had to become lists first: ~13 ms of the ~23 ms a process took to load the model and answer
        # first (now ~10 ms), and the lists held 14.2 MB against the arrays' 1.7 (tracemalloc). py3langid's own
        # walk reads the arrays too, element by element, in `_raw_score` for a text without features.
        super().__init__(nb_ptc, nb_pc, nb_classes, tk_nextmove, (), norm_probs, min_confidence, tk_row=())
        self._next_states = np.ascontiguousarray(tk_nextmove, dtype=np.uint32)  # the memory-mapped copy as is
        # Under py3langid's own names, which its walk and the C walk both read.
        self.tk_row = tk_row
        self._rowbase = np.asarray(tk_row, dtype=np.int64) << 8
        self.tk_output = np.asarray(tk_output, dtype=np.int64)
        # The feature weights as a plain array over the same memory: a `np.memmap` indexed runs its `__getitem__`
        # and `__array_finalize__` in Python, and `take` gathers rows faster than fancy indexing (a sample's
        # ~250 rows: 37 -> 23 us). The same rows, so the same scores.
        self._weights: NDArray[Any] = np.asarray(self.nb_ptc)

    def _count_features(self, text: bytes) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        return feature_counts(text, self._next_states, self._rowbase, self.tk_output, len(self.nb_ptc), DFA_DEPTH)

    def _raw_score(self, text: bytes) -> NDArray[np.float32]:
        found, counts = self._count_features(text)
        if found.size == 0:
            return super()._raw_score(text)  # type: ignore[no-any-return]  # its score for no features
        rows = self._weights.take(found, axis=0)
        scores: NDArray[np.float32] = np.log1p(counts) @ rows + self.nb_pc  # as `_sparse_score`
        return scores


def load_identifier(prepared: Path) -> py3langid.langid.LanguageIdentifier:
    """py3langid's identifier from the prepared copy at `prepared` when there is one, else from py3langid's
    own file. A copy that cannot be read is reported as a warning and skipped: the answers do not depend on
    where the model came from, only the start-up time does."""
    # norm_probs gives a probability to threshold; the module-level `classify` gives raw log scores.
    if prepared.is_dir():
        try:
            arrays = [
                np.load(prepared / f"{name}.npy", mmap_mode="r" if mapped else None, allow_pickle=False)
                for name, mapped in PREPARED_ARRAYS
            ]
        except (OSError, ValueError) as exc:
            warnings.warn(f"the prepared language model {prepared} is unreadable ({exc})", RuntimeWarning, 2)
        else:
            ptc, pc, classes, nextmove, row, out = arrays
            return _LangidIdentifier(ptc, pc, classes.tolist(), nextmove, out, norm_probs=True, tk_row=row)
    return _LangidIdentifier.from_model_file(PY3LANGID_MODEL, norm_probs=True)


@lru_cache(maxsize=1)
def _identifier() -> py3langid.langid.LanguageIdentifier:
    return load_identifier(prepared_model_dir())


def detect_language(text: str) -> str | None:
    """The language of `text` (Chinese by its script, others by py3langid), or None when the text is too short
    or the guess too weak."""
    sample = text[:_SAMPLE_CHARS]
    if len(sample.strip()) < 20:
        return None
    if _is_chinese(sample):
        return "zh"
    data = sample.encode("utf-8", "surrogatepass")  # as py3langid encodes it
    if len(data) > _SAMPLE_BYTES:
        # Cut at a character's first byte (continuation bytes are 0b10xxxxxx), not inside it.
        end = _SAMPLE_BYTES
        while data[end] & 0xC0 == 0x80:
            end -= 1
        sample = data[:end].decode("utf-8", "surrogatepass")
    code, probability = _identifier().classify(sample)
    return str(code) if probability >= 0.5 else None


def _is_chinese(sample: str) -> bool:
    """Most of the letters Han, none of them kana, hangul or Cantonese/Wu (and enough of them to tell)."""
    han = len(_HAN.findall(sample))
    if han < _MIN_HAN or _KANA_HANGUL.search(sample) is not None or _DIALECT.search(sample) is not None:
        return False
    return 2 * han >= len(_LETTER.findall(sample))


def resolve_language(declared: str | None, text: str) -> str:
    """A BCP-47 tag from the declared `lang`/Content-Language (if well-formed) or the text; `und` if neither.

    A declared tag is kept (re-cased) except for Chinese, whose script comes from the text. A page that
    declares a language its text plainly is not in (templates left at `en`) is corrected from the text.
    """
    detected = detect_language(text)
    tag = declared.strip().split(",")[0].strip() if declared else ""
    if tag and _TAG.match(tag) and tag.lower() not in {"und", "x-default", "mul"}:
        tag = _canonical_case(tag)
        primary = tag.split("-")[0]
        if detected is not None and detected != primary:
            tag = detected
    else:
        tag = detected or UNDETERMINED
    if tag.split("-")[0] != "zh":
        return tag
    parts = tag.split("-")
    region = parts[1].lower() if len(parts) > 1 and len(parts[1]) == 2 else ""
    if any(len(p) == 4 for p in parts[1:]):
        return f"zh-{next(p for p in parts[1:] if len(p) == 4)}"
    script = chinese_script(text) if text.strip() else ("Hant" if region in _HANT_REGIONS else "Hans")
    return f"zh-{script}"
