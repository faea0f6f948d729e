"""Builds the core's compiled modules: `newslake.core._tree` against the lxml it runs with, `_langid`, `_text`,
`_links`.

Everything else about the package is in pyproject.toml. The module reads lxml's element structs through
lxml's public C API, so it must be compiled against the same lxml as the one installed: pyproject.toml asks
uv to build with the runtime's lxml (`match-runtime`), and uv.lock is one of the project's cache keys, so a
new lock rebuilds it.
"""

import lxml
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension("newslake.core._tree", ["newslake/core/_tree.pyx"], include_dirs=lxml.get_include()),
            Extension("newslake.core._langid", ["newslake/core/_langid.pyx"]),
            # -O3: the control-byte count's loop is vectorised at -O3 only (11 vs 101 us a corpus page).
            Extension("newslake.core._text", ["newslake/core/_text.pyx"], extra_compile_args=["-O3"]),
            Extension("newslake.core._links", ["newslake/core/_links.pyx"]),
        ],
        compiler_directives={"language_level": 3},
    )
)
