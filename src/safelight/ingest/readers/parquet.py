"""Parquet files, streamed by row batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from safelight.errors import InputFileError
from safelight.ingest.readers.base import (
    ROW,
    Chunk,
    Reader,
    ReadOptions,
    cell_text,
    clean_header,
    guard_decoder,
)


class ParquetReader(Reader):
    """Parquet, streamed by row batch; every column is cast to text (lists joined with ``;``)."""

    format_name = "parquet"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFileError(path, f"is not a readable Parquet file ({exc})") from None
        self.columns, notes = clean_header(list(self._file.schema_arrow.names), path)
        self.notes += notes
        self._emitted = 0

    def bytes_read(self) -> int:
        """How far into the file the reader is, for progress bars: the file's size times the
        share of its rows read (Parquet reads its columns in place, not front to back)."""
        total = self._file.metadata.num_rows
        return self.path.stat().st_size * self._emitted // total if total else 0

    def _chunks(self) -> Iterator[Chunk]:
        import pyarrow.compute as pc

        start = 1
        for batch in self._file.iter_batches(batch_size=self.options.chunk_rows):
            arrays = []
            for col in batch.columns:
                t = col.type
                if pa.types.is_string(t) or pa.types.is_large_string(t):
                    arrays.append(col.cast(pa.string()))
                elif (pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_date(t)
                      or pa.types.is_decimal(t)):
                    arrays.append(pc.cast(col, pa.string()))
                else:
                    arrays.append(pa.array([cell_text(v) for v in col.to_pylist()], type=pa.string()))
            n = batch.num_rows
            arrays.append(pa.array(range(start, start + n), type=pa.int64()))
            start += n
            self._emitted += n
            yield Chunk(pa.Table.from_arrays(arrays, names=[*self.columns, ROW]))

    def chunks(self) -> Iterator[Chunk]:
        return guard_decoder(self.path, "Parquet file", self._chunks())
