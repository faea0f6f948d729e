"""The prepared (uncompressed) copy of py3langid's model: the same answers as py3langid's own file."""

import array
from pathlib import Path

import numpy as np
import pytest
from py3langid.langid import LanguageIdentifier

from newslake.core.language import PY3LANGID_MODEL, load_identifier, prepared_model_dir
from newslake.prepare import PrepareError, _check, prepare_language_model

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
    assert isinstance(identifier.tk_nextmove, memoryview)  # the copy, memory-mapped, not py3langid's file
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


def test_a_copy_that_differs_is_not_put_in_place(prepared: Path) -> None:
    arrays = {name: np.load(prepared / f"{name}.npy") for name in ("ptc", "pc", "classes", "nextmove", "row", "out")}
    _check(prepared, arrays)
    arrays["row"] = arrays["row"].copy()
    arrays["row"][7] += 1
    with pytest.raises(PrepareError, match="'row'"):
        _check(prepared, arrays)
