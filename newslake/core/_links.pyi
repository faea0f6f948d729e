"""Types of `_links.pyx` (mypy reads this; the module is built by `uv sync`)."""

import re
from typing import Any, TypeVar

_T = TypeVar("_T")
_E = TypeVar("_E", bound=Exception)

TARGET_FIELDS: tuple[str, ...]
ROW_FIELDS: tuple[str, ...]

def cached_target(
    targets: dict[Any, Any], raw: str, contexts: dict[Any, str], target_type: type[_T], error_type: type[_E]
) -> _T | _E | None: ...

class AnchorRows:
    rows: list[Any]
    dropped: int
    def __init__(
        self,
        base: str,
        contexts: dict[Any, str],
        page_url: str,
        site: str,
        *,
        targets: dict[Any, Any],
        resolve: Any,
        target_type: type[Any],
        error_type: type[Exception],
        row_type: type[Any],
    ) -> None: ...
    def add(self, anchors: list[tuple[str, str]], position: int | None, context: Any) -> None: ...

def normal_absolute(raw: str, tracking: re.Pattern[str]) -> tuple[str, str] | None: ...
def normal_root_relative(raw: str, origin: str, tracking: re.Pattern[str]) -> tuple[str, str] | None: ...
def normal_directory_relative(raw: str, directory: str, tracking: re.Pattern[str]) -> tuple[str, str] | None: ...
def normal_network_path(raw: str, scheme: str, tracking: re.Pattern[str]) -> tuple[str, str] | None: ...
