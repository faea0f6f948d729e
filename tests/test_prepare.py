"""What `make env` prepares for the core: py3langid's model as the core loads and runs it (the prepared,
uncompressed copy and the DFA walked in C give the scores py3langid gives from its own file), and the table of
NFC-stable characters `normalise_text` reads."""

import array
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from py3langid.langid import LanguageIdentifier, visit_counts

from newslake.core._text import nfc_stable, stable_bmp_table, use_stable_bmp_table
from newslake.core.language import DFA_DEPTH, PY3LANGID_MODEL, _identifier, load_identifier, prepared_model_dir
from newslake.core.prepared import load_nfc_table, nfc_table_path
from newslake.prepare import PrepareError, prepare_language_model, prepare_nfc_table

TEXTS = [
    "The council approved the budget on Tuesday after a long debate about schools and roads.",
    "Le conseil a approuvé le budget mardi après un long débat sur les écoles et les routes.",
    "Der Rat hat den Haushalt am Dienstag nach einer langen Debatte über Schulen verabschiedet.",
    "Совет утвердил бюджет во вторник после долгих споров о школах и дорогах.",
    "議会は火曜日、学校と道路をめぐる長い議論の末に予算を承認した。",
    "المجلس وافق على الميزانية يوم الثلاثاء بعد نقاش طويل حول المدارس والطرق.",
    "ok",
]


@pytest.fixture(scope="module")
def own() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(PY3LANGID_MODEL, norm_probs=True)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_language_model(tmp_path_factory.mktemp("share"))


def test_prepared_copy_gives_py3langid_answers(prepared: Path, own: LanguageIdentifier) -> None:
    identifier = load_identifier(prepared)
    assert isinstance(identifier.tk_nextmove, np.memmap)  # the copy, memory-mapped, not py3langid's file
    assert [identifier.classify(text) for text in TEXTS] == [own.classify(text) for text in TEXTS]
    assert [identifier.rank(text)[:5] for text in TEXTS] == [own.rank(text)[:5] for text in TEXTS]


def test_prepared_copy_is_named_after_its_model_and_replaces_others(prepared: Path) -> None:
    root = prepared.parent
    assert prepared == prepared_model_dir(root)
    stale = root / "py3langid-0.0.1-1-1"
    stale.mkdir()
    assert prepare_language_model(root) == prepared  # there already: kept, not written again
    assert sorted(p.name for p in root.iterdir()) == [prepared.name]


def test_without_a_copy_py3langid_loads_its_own(tmp_path: Path, own: LanguageIdentifier) -> None:
    identifier = load_identifier(tmp_path / "absent")
    assert isinstance(identifier.tk_nextmove, array.array)
    assert identifier.classify(TEXTS[0]) == own.classify(TEXTS[0])


def test_an_unreadable_copy_is_reported_and_skipped(tmp_path: Path, prepared: Path, own: LanguageIdentifier) -> None:
    broken = tmp_path / prepared.name
    broken.mkdir()
    for name in ("pc", "classes", "nextmove", "row", "out"):
        (broken / f"{name}.npy").write_bytes((prepared / f"{name}.npy").read_bytes())
    (broken / "ptc.npy").write_bytes((prepared / "ptc.npy").read_bytes()[:1000])  # cut short
    with pytest.warns(RuntimeWarning, match="unreadable"):
        identifier = load_identifier(broken)
    assert isinstance(identifier.tk_nextmove, array.array)
    assert identifier.classify(TEXTS[1]) == own.classify(TEXTS[1])


def test_a_copy_that_differs_is_not_put_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = np.save

    def corrupting_save(file: Any, values: Any, **kwargs: Any) -> None:
        if Path(file.name).name == "row.npy":
            values = values.copy()
            values[7] += 1
        real_save(file, values, **kwargs)

    monkeypatch.setattr(np, "save", corrupting_save)
    with pytest.raises(PrepareError, match="'row'"):
        prepare_language_model(tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the copy nor its scratch directory is left


@pytest.fixture(scope="module")
def depths(own: LanguageIdentifier) -> tuple[np.ndarray, dict[int, bytes]]:
    """Each state's depth (the shortest path to it from the start, which in an Aho-Corasick automaton is the
    length of the n-gram prefix it stands for), and the bytes that reach each state."""
    moves = np.asarray(own.tk_nextmove, dtype=np.int64)
    starts = np.asarray(own.tk_row, dtype=np.int64) << 8
    depth = np.full(len(starts), -1)
    depth[0] = 0
    path: dict[int, bytes] = {0: b""}
    frontier, level = np.array([0]), 0
    while frontier.size:
        sources = np.repeat(frontier, 256)
        letters = np.tile(np.arange(256), frontier.size)
        targets = moves[starts[sources] + letters]
        new = depth[targets] < 0
        level += 1
        depth[targets[new]] = level
        for source, letter, target in zip(sources[new], letters[new], targets[new], strict=True):
            path.setdefault(int(target), path[int(source)] + bytes([letter]))
        frontier = np.unique(targets[new])
    return depth, path


def test_no_state_of_the_model_is_deeper_than_the_walk(depths: tuple[np.ndarray, dict[int, bytes]]) -> None:
    """The walk in C rests on this: no state is deeper than DFA_DEPTH."""
    depth, _ = depths
    assert depth.min() == 0  # every state reached
    assert depth.max() == DFA_DEPTH  # deeper would break the walk; shallower would waste its steps


@pytest.mark.parametrize("size", [7, 40, 100, 601])
def test_the_deepest_states_are_reached_at_every_position(
    own: LanguageIdentifier, depths: tuple[np.ndarray, dict[int, bytes]], size: int
) -> None:
    """The walk is cut into stretches, each begun a few bytes early: an n-gram of the model's full depth
    ending anywhere (at a stretch's first byte too) is counted as py3langid's byte-by-byte walk counts it."""
    depth, path = depths
    mine = _identifier()
    deepest = [way for state, way in sorted(path.items()) if depth[state] == DFA_DEPTH][:3]
    assert deepest
    for gram in deepest:
        for end in range(len(gram), size + 1):
            text = bytearray(b"x" * size)
            text[end - len(gram) : end] = gram
            found, counts = mine._count_features(bytes(text))
            expected = visit_counts(own.tk_nextmove, own._rowbase, own.tk_output, bytes(text)) or {}
            assert list(zip(found.tolist(), counts.tolist(), strict=True)) == list(expected.items())


@settings(deadline=None)  # the first example may load the core's model
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=700), st.sampled_from(TEXTS)))
@example(text=b"")  # no feature: py3langid's own walk, over the automaton as the identifier holds it (arrays)
@example(text=b"\x00\x01")
def test_walk_in_c_gives_py3langid_scores(own: LanguageIdentifier, text: str | bytes) -> None:
    mine = _identifier()
    encoded = own._encode(text)
    assert np.array_equal(mine._raw_score(encoded), own._raw_score(encoded))
    assert mine.classify(text) == own.classify(text)


def test_the_nfc_table_is_prepared_as_computed_and_replaces_others(tmp_path: Path) -> None:
    stale = tmp_path / "nfc-stable-bmp-0.0.0.bin"
    stale.write_bytes(b"old")
    path = prepare_nfc_table(tmp_path)
    assert path == nfc_table_path(tmp_path) and path.read_bytes() == stable_bmp_table()
    assert not stale.exists()
    assert prepare_nfc_table(tmp_path) == path  # there already: kept


def test_the_nfc_table_is_loaded_and_a_broken_one_reported(tmp_path: Path) -> None:
    assert load_nfc_table(tmp_path / "absent.bin") is False  # not prepared: computed at first use, no warning
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"\xff" * 10)
    with pytest.warns(RuntimeWarning, match="is not one"):
        assert load_nfc_table(broken) is False
    assert load_nfc_table(prepare_nfc_table(tmp_path)) is True


def test_a_loaded_table_is_the_one_normalise_text_reads(tmp_path: Path) -> None:
    table = bytearray(stable_bmp_table())
    assert nfc_stable("→")  # U+2192: in the table, outside the ranges written in C
    table[0x2192 >> 3] &= ~(1 << (0x2192 & 7)) & 0xFF
    path = tmp_path / "edited.bin"
    path.write_bytes(bytes(table))
    try:
        assert load_nfc_table(path) is True
        assert not nfc_stable("→")
    finally:
        use_stable_bmp_table(stable_bmp_table())
    assert nfc_stable("→")
