"""Compiled kernel of the hub's comparison of encoded records (numba), with the same results
as the NumPy code it stands in for.

Contract
--------
* :data:`AVAILABLE` (:mod:`safelight.jit`) says whether numba could be imported. When it is
  false :data:`and_counts` is ``None`` and :mod:`safelight.link.encoded` gathers the filter
  rows and counts their common bits in NumPy: the same counts either way, only slower
  (``tests/test_link_kernels.py`` compares the two).
* :func:`and_counts` — for each pair ``(a[i], b[i])`` and each term ``t``, the set bits of
  ``xs[t][a[i]] & ys[t][b[i]]`` (packed uint64 filter rows), straight from the filter
  matrices. The NumPy code first copies both rows of every pair and field into temporaries
  (the copies were about half of the 1M × 1M comparison's time: the reads are random, one
  record's rows at a time); here each pair's rows are read once, in place, for all its terms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from safelight.jit import AVAILABLE, njit

__all__ = ["AVAILABLE", "and_counts"]

and_counts: Callable[..., np.ndarray] | None = None

if AVAILABLE:
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def _popcount(typingctx, x):  # noqa: ANN001, ANN202 - numba's intrinsic signature
        """LLVM's ``ctpop`` on a uint64 (one POPCNT instruction)."""
        del typingctx

        def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
            del context, signature
            return builder.ctpop(args[0])

        return types.uint64(x), codegen

    @njit
    def _and_counts(xs, ys, a, b, out):  # noqa: ANN001, ANN202
        for i in range(a.size):
            ra, rb = a[i], b[i]
            for t in range(len(xs)):
                x, y = xs[t], ys[t]
                c = 0
                for w in range(x.shape[1]):
                    c += _popcount(x[ra, w] & y[rb, w])
                out[i, t] = c
        return out

    def and_counts(xs: tuple[np.ndarray, ...], ys: tuple[np.ndarray, ...], a: np.ndarray,  # type: ignore[no-redef]
                   b: np.ndarray) -> np.ndarray:
        """int32 ``(len(a), len(xs))``: common set bits of ``xs[t][a[i]]`` and
        ``ys[t][b[i]]``; ``xs[t]`` and ``ys[t]`` are uint64 matrices of equal width."""
        xs = tuple(np.ascontiguousarray(x, dtype=np.uint64) for x in xs)
        ys = tuple(np.ascontiguousarray(y, dtype=np.uint64) for y in ys)
        a = np.ascontiguousarray(a, dtype=np.int64)
        b = np.ascontiguousarray(b, dtype=np.int64)
        for x, y in zip(xs, ys, strict=True):
            if x.ndim != 2 or x.shape[1] != y.shape[1]:
                raise ValueError("and_counts: each pair of matrices needs the same width")
            # the compiled loop does not check bounds: an index outside a matrix would read
            # other memory, where NumPy's gather raises
            for idx, m in ((a, x), (b, y)):
                if len(idx) and (idx.min() < 0 or idx.max() >= len(m)):
                    raise IndexError("and_counts: a row index is outside its matrix")
        out = np.empty((len(a), len(xs)), dtype=np.int32)
        return _and_counts(xs, ys, a, b, out)

