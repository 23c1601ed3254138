"""JSON documents (a list of records) and JSON Lines."""

from __future__ import annotations

import codecs
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safelight.errors import InputFileError
from safelight.ingest.readers.base import (
    SNIFF_BYTES,
    BadRow,
    Chunk,
    Reader,
    ReadOptions,
    _emit,
    _printable,
    _to_table,
    cell_text,
)


def _record_chunk(records: list[tuple[int, Any]], path: Path) -> Chunk:
    """Records (number, parsed JSON value) → chunk; non-objects become bad rows."""
    bad: list[BadRow] = []
    good: list[tuple[int, dict]] = []
    for number, rec in records:
        if isinstance(rec, dict):
            good.append((number, rec))
        else:
            bad.append(BadRow(number, "not_an_object",
                              f"expected an object with named fields, found {type(rec).__name__}",
                              json.dumps(rec, ensure_ascii=False, default=str)[:10_000]))
    keys: dict[str, None] = {}
    for _, rec in good:
        keys.update(dict.fromkeys(rec))
    # names must be valid text even when the bytes were not
    columns = [str(k).strip().encode("utf-8", "backslashreplace").decode("utf-8") for k in keys]
    rows = [[cell_text(rec.get(k)) if k in rec else None for k in keys] for _, rec in good]
    return _emit(columns, rows, [n for n, _ in good], bad, _printable)


class JsonReader(Reader):
    """A JSON document holding a list of records (objects), streamed with ijson.

    ``read.records_path`` names the key holding the list when the document is an object
    (e.g. ``records`` for ``{"records": [...]}``). Columns are the union of the keys seen; a key
    absent from a record is a missing value.
    """

    format_name = "json"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
        if not stripped:
            raise InputFileError(path, "the file is blank")
        if b"\x00" in head[:4096]:
            raise InputFileError(path, "looks like a binary file, not JSON")
        first = stripped[:1]
        self._prefix = "item"
        if options.records_path:
            self._prefix = f"{options.records_path}.item"
            if first != b"{":
                raise InputFileError(path, f"read.records_path is {options.records_path!r} but "
                                     "the document is not an object")
        elif first == b"{":
            parts = stripped.split(b"\n", 2)
            try:
                json.loads(parts[0])
                if len(parts) > 1 and parts[1].lstrip().startswith(b"{"):
                    raise InputFileError(path, "holds one JSON object per line (JSON Lines), not a list",
                                         "name it .jsonl or .ndjson")
            except json.JSONDecodeError:
                pass
            keys = self._top_level_keys()
            raise InputFileError(
                path, f"the document is an object (keys: {', '.join(keys[:10])}), not a list of records",
                "if the records are under one key, set read.records_path to it")
        elif first != b"[":
            raise InputFileError(path, "is not JSON: it must be a list of records like [{...}, {...}]")
        self.columns = self._peek_columns()

    def _top_level_keys(self) -> list[str]:
        import ijson

        keys = []
        try:
            with open(self.path, "rb") as fh:
                for prefix, event, value in ijson.parse(fh):
                    if prefix == "" and event == "map_key":
                        keys.append(value)
        except ijson.JSONError:
            pass
        return keys

    _backend = "yajl2_c"

    def _items(self, skip: int = 0) -> Iterator[Any]:
        import ijson

        try:
            backend = ijson.get_backend(self._backend)
        except ImportError:
            backend = ijson.get_backend("python")
        with open(self.path, "rb") as fh:
            self._raw = fh  # bytes_read() follows the parser through the file
            yield from itertools.islice(backend.items(fh, self._prefix, use_float=True), skip, None)

    def _records(self) -> Iterator[Any]:
        """The records; the C parser is used unless a number overflows it (then pure Python)."""
        import ijson

        emitted = 0
        while True:
            try:
                for rec in self._items(skip=emitted):
                    emitted += 1
                    yield rec
                return
            except ijson.JSONError as exc:
                if "overflow" in str(exc) and self._backend != "python":
                    self._backend = "python"  # big integers: the C parser gives up, Python does not
                    continue
                raise

    def _peek_columns(self) -> list[str]:
        import ijson

        keys: dict[str, None] = {}
        seen = 0
        try:
            for rec in itertools.islice(self._records(), 1000):
                seen += 1
                if isinstance(rec, dict):
                    keys.update(dict.fromkeys(str(k).strip() for k in rec))
        except ijson.JSONError as exc:
            if not seen:  # broken before the first record: nothing to salvage
                raise InputFileError(self.path, f"is not valid JSON ({' '.join(str(exc).split())})") from None
        return list(keys)

    def chunks(self) -> Iterator[Chunk]:
        import ijson

        batch: list[tuple[int, Any]] = []
        number = 0
        try:
            for number, rec in enumerate(self._records(), start=1):
                batch.append((number, rec))
                if len(batch) >= self.options.chunk_rows:
                    yield _record_chunk(batch, self.path)
                    batch = []
        except ijson.JSONError as exc:
            if batch:
                yield _record_chunk(batch, self.path)
                batch = []
            yield Chunk(_to_table([], [], []),
                        [BadRow(number + 1, "malformed_json",
                                f"the JSON is broken after record {number} ({exc}); the rest of the "
                                "file cannot be read", "")])
        if batch:
            yield _record_chunk(batch, self.path)


class JsonLinesReader(Reader):
    """JSON Lines: one object per line; a line that does not parse is a bad row."""

    format_name = "jsonl"

    def __init__(self, path: Path, options: ReadOptions) -> None:
        super().__init__(path, options)
        keys: dict[str, None] = {}
        with open(path, "rb") as fh:
            if b"\x00" in fh.read(4096):
                raise InputFileError(path, "looks like a binary file, not JSON Lines")
        for _, rec in itertools.islice(self._records(), 1000):
            if isinstance(rec, dict):
                keys.update(dict.fromkeys(str(k).strip() for k in rec))
        if not keys:
            raise InputFileError(path, "has no JSON object in its first lines",
                                 "each line must be an object like {\"id\": 1, ...}")
        self.columns = list(keys)

    def _records(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, encoding="utf-8-sig", errors="surrogateescape") as fh:
            self._raw = fh.buffer  # bytes_read(): the text layer's tell() is not a byte offset
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, _Unparsed(line.rstrip("\n"), str(exc))

    def chunks(self) -> Iterator[Chunk]:
        batch: list[tuple[int, Any]] = []
        pending_bad: list[BadRow] = []
        for number, rec in self._records():
            if isinstance(rec, _Unparsed):
                pending_bad.append(BadRow(number, "malformed_json", f"the line is not valid JSON ({rec.error})",
                                          rec.text.encode("utf-8", "backslashreplace").decode()))
                continue
            batch.append((number, rec))
            if len(batch) >= self.options.chunk_rows:
                chunk = _record_chunk(batch, self.path)
                chunk.bad.extend(pending_bad)
                yield chunk
                batch, pending_bad = [], []
        if batch or pending_bad:
            chunk = _record_chunk(batch, self.path)
            chunk.bad.extend(pending_bad)
            yield chunk


@dataclass
class _Unparsed:
    text: str
    error: str
