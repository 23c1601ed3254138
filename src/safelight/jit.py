"""numba, where it can be imported: the one place the package imports it.

Contract: :data:`AVAILABLE` says whether numba could be imported; :func:`njit` compiles a
function as every compiled kernel of the package is compiled — no Python objects, cached on
disk where it can be (``cache=True``: a later process loads it in well under a second),
releasing the GIL (``nogil=True``: callers may run it on several threads). The kernels' modules
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
    """``fn`` compiled in nopython mode, cached on disk, releasing the GIL. Where numba finds
    no writable place for its cache (a read-only install and home), numba refuses ``cache=True``
    at decoration; the kernel is then compiled in each process instead of failing the import."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[union-attr]
    except RuntimeError:  # pragma: no cover - depends on the file system
        return numba.njit(nogil=True)(fn)  # type: ignore[union-attr]
