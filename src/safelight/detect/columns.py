"""Compact text columns for the detect pipeline.

Contract
--------
:class:`TextColumn` holds many texts as one UTF-8 buffer with offsets (an Arrow large-string
array) and reads like a ``Sequence[str]``: ``col[i]`` is the ``i``-th text, ``col[a:b]`` a
list of texts, iteration goes chunk by chunk. A million ads of about 400 characters take about
0.5 GB this way instead of about 1.2 GB as Python strings (Cyrillic text is stored with two bytes
per character by Python, and every string carries its own header). It is read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa

__all__ = ["TextColumn"]


class TextColumn(Sequence[str]):
    """Read-only texts in one Arrow ``large_string`` array (see the module docstring)."""

    def __init__(self, array: pa.Array | pa.ChunkedArray | None = None) -> None:
        if array is None:
            array = pa.array([], type=pa.large_string())
        if isinstance(array, pa.ChunkedArray):
            array = (array.combine_chunks() if array.num_chunks
                     else pa.array([], type=array.type))
        if not pa.types.is_large_string(array.type):
            array = array.cast(pa.large_string())
        self._array = array.fill_null("") if array.null_count else array
        # direct views of the offsets and the UTF-8 bytes: one text without an Arrow scalar
        bufs = self._array.buffers()
        off = self._array.offset
        self._offsets = np.frombuffer(bufs[1], dtype=np.int64)[off:off + len(self._array) + 1]
        self._data = memoryview(bufs[2]) if bufs[2] is not None else memoryview(b"")
        self._n = len(self._array)
        # the same offsets as a memoryview: indexing it gives Python ints without NumPy
        # scalars (one text read in about half the time)
        self._off = memoryview(self._offsets).cast("B").cast("q")

    @classmethod
    def from_texts(cls, texts: Iterable[str], chunk: int = 100_000) -> TextColumn:
        """A column from Python strings, converted ``chunk`` at a time."""
        parts: list[pa.Array] = []
        buf: list[str] = []
        for t in texts:
            buf.append(t)
            if len(buf) >= chunk:
                parts.append(pa.array(buf, type=pa.large_string()))
                buf = []
        if buf or not parts:
            parts.append(pa.array(buf, type=pa.large_string()))
        return cls(pa.chunked_array(parts, type=pa.large_string()))

    @classmethod
    def concat(cls, columns: Sequence[TextColumn]) -> TextColumn:
        """The texts of ``columns``, one after the other."""
        arrays = [c._array for c in columns]
        return cls(pa.chunked_array(arrays, type=pa.large_string()) if arrays else None)

    @property
    def nbytes(self) -> int:
        """Bytes held (text buffer and offsets)."""
        return int(self._array.nbytes)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[override]  # noqa: ANN001, ANN204
        if isinstance(i, slice):
            start, stop, step = i.indices(self._n)
            if step == 1:
                return self._array.slice(start, max(0, stop - start)).to_pylist()
            return [self[k] for k in range(start, stop, step)]
        i = int(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"text {i} out of range (0..{self._n - 1})")
        return str(self._data[self._off[i]:self._off[i + 1]], "utf-8")

    def take(self, idx: np.ndarray | Sequence[int]) -> list[str]:
        """``[self[i] for i in idx]`` in one gather (non-negative positions)."""
        return self._array.take(pa.array(np.asarray(idx, dtype=np.int64))).to_pylist()

    def __iter__(self) -> Iterator[str]:
        step = 50_000
        for s in range(0, len(self), step):
            yield from self._array.slice(s, step).to_pylist()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextColumn):
            return self._array.equals(other._array)
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other,
                                                                           strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
