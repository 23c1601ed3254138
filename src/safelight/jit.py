"""numba, where it can be imported: the one place the package imports it.

Contract: :data:`AVAILABLE` says whether numba could be imported; :func:`njit` compiles a
function as every compiled kernel of the package is compiled — no Python objects, cached on
disk (``cache=True``: a later process loads it in well under a second), releasing the GIL
(``nogil=True``: callers may run it on several threads). The kernels' modules
(:mod:`safelight.detect.kernels`, :mod:`safelight.link.kernels`) define them only when
:data:`AVAILABLE` is true, and their callers then run the NumPy code they stand in for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["AVAILABLE", "njit", "numba"]

try:  # an optional accelerator: the NumPy code runs without it
    import numba
except ImportError:  # pragma: no cover - depends on the environment
    numba = None

AVAILABLE = numba is not None


def njit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled in nopython mode, cached on disk, releasing the GIL."""
    return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[union-attr]
