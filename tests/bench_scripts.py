"""Load a benchmark script (``bench/...``, not a package) as a module, for the tests of it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def bench_module(relpath: str) -> Iterator[ModuleType]:
    """The script at ``REPO / relpath`` as a module named after its file, registered in
    ``sys.modules`` while in use (a dataclass in it resolves its annotations through it)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)
