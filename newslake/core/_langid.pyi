"""Types of `_langid.pyx` (mypy reads this; the module is built by `uv sync`)."""

import numpy as np
from numpy.typing import NDArray

def feature_counts(
    text: bytes,
    next_states: NDArray[np.uint32],
    row_starts: NDArray[np.int64],
    state_features: NDArray[np.int64],
    n_features: int,
    depth: int,
) -> tuple[NDArray[np.intp], NDArray[np.float32]]: ...
