"""Identity records in, normalised columns out (one NumPy array per comparison input).

Contract: :func:`prepare` takes an Arrow table with the hub's identity columns (``contributor``,
``record_id``, ``given_name``, ``family_name``, ``full_name``, ``birth_year``, ``birth_month``,
``birth_day``, ``sex``, ``nationality``, ``phone``, ``document_number``, ``locality``), the
optional address columns ``street_number``, ``address_line``, ``postcode`` and ``region``, plus an
optional ``phone_region`` column (ISO alpha-2 country of the contributor, for national phone
numbers) and returns :class:`Records`, whose arrays are aligned with the input rows. Missing
columns are treated as all-missing. Normalisation runs once per distinct value.

:attr:`Records.codes` integer-codes the string columns once (:class:`Codes`: ``-1`` for
missing; the name columns share one vocabulary so that a given name can be compared with a
family name), so that comparison works on integers and scores each distinct string pair once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa

from safelight.errors import UsageError
from safelight.identity.mapping import warn_unread_phones
from safelight.identity.normalise import (
    birth_date_parts,
    code_key,
    digits_key,
    document_key,
    expand_distinct,
    family_key,
    fold,
    given_group,
    given_key,
    load_name_tables,
    locality_key,
    map_distinct_arrow,
    match_key,
    nationality_key,
    phone_keys,
    phones_e164,
    phones_from_keys,
    sex_key,
    split_full_names,
    unread_phones,
)
from safelight.link import forked

__all__ = ["NAME_COLUMNS", "Codes", "Records", "encode_strings", "prepare"]

#: The name-key columns of :class:`Records`; they share one vocabulary in :class:`Codes`.
NAME_COLUMNS: tuple[str, ...] = ("given", "given_group", "given_first", "given_last", "family",
                                 "family_first", "family_last", "family_group")


@dataclass(frozen=True)
class Codes:
    """Integer codes of the string columns of :class:`Records` (int32, ``-1`` where missing).

    ``column[name]`` holds the codes of one column; ``vocab[name]`` the strings they index (an
    object array). The :data:`NAME_COLUMNS` share one vocabulary, so equal codes mean equal
    keys across them; every other column has its own.
    """

    column: dict[str, np.ndarray]
    vocab: dict[str, np.ndarray]


def encode_strings(arrays: list[np.ndarray] | list[np.ndarray | pa.Array]
                   ) -> tuple[list[np.ndarray], np.ndarray]:
    """Integer codes (int32, ``-1`` for None) of object arrays of str/None (or Arrow string
    arrays) in one shared vocabulary, and that vocabulary (hash-based, no sort: in the order
    of first appearance)."""
    lengths = [len(v) for v in arrays]
    enc = pa.concat_arrays([v if isinstance(v, pa.Array) else pa.array(v, pa.string())
                            for v in arrays] or [pa.array([], pa.string())]).dictionary_encode()
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    vocab = np.array(enc.dictionary.to_pylist(), dtype=object)
    return np.split(codes, np.cumsum(lengths)[:-1]), vocab


@dataclass
class Records:
    """Normalised identity columns, one entry per record (object arrays hold str or None)."""

    contributor: np.ndarray
    record_id: np.ndarray
    given: np.ndarray  # match key of the whole given name
    given_group: np.ndarray  # name-group key (nicknames, forms, Arabic variants)
    given_first: np.ndarray  # match key of the first / last word
    given_last: np.ndarray
    family: np.ndarray  # family_key (article dropped, Arabic variants folded)
    family_first: np.ndarray
    family_last: np.ndarray
    family_group: np.ndarray  # name-group key of the family name (for swapped names)
    birth_year: np.ndarray  # int16, -1 when missing
    birth_month: np.ndarray
    birth_day: np.ndarray
    sex: np.ndarray
    nationality: np.ndarray
    phone: np.ndarray  # E.164
    document: np.ndarray
    locality: np.ndarray
    street_number: np.ndarray  # digits
    address_line: np.ndarray  # match key of the street line
    postcode: np.ndarray  # digits
    region: np.ndarray

    def __len__(self) -> int:
        return len(self.record_id)

    @cached_property
    def codes(self) -> Codes:
        """The string columns as integer codes (computed once, on first use)."""
        column: dict[str, np.ndarray] = {}
        vocab: dict[str, np.ndarray] = {}
        # the same columns as Arrow arrays when prepare() made them (no row-by-row conversion)
        arrow: dict[str, pa.Array] = getattr(self, "_arrow", {})
        names, name_vocab = encode_strings([arrow.get(c, getattr(self, c)) for c in NAME_COLUMNS])
        for c, v in zip(NAME_COLUMNS, names, strict=True):
            column[c], vocab[c] = v, name_vocab
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name not in column and f.name != "record_id" and v.dtype == object:
                (column[f.name],), vocab[f.name] = encode_strings([arrow.get(f.name, v)])
        return Codes(column, vocab)

    def to_arrow(self) -> pa.Table:
        """The normalised columns as an Arrow table with a ``rid`` (row index) column."""
        cols: dict[str, pa.Array] = {"rid": pa.array(np.arange(len(self), dtype=np.int64))}
        for f in fields(self):
            v = getattr(self, f.name)
            cols[f.name] = pa.array(v) if v.dtype != object else pa.array(list(v), pa.string())
        return pa.table(cols)


def _col(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.nulls(table.num_rows, pa.string())


def _ints(table: pa.Table, name: str) -> np.ndarray:
    a = _col(table, name)
    if pa.types.is_null(a.type) or a.null_count == len(a):
        return np.full(len(a), -1, dtype=np.int16)
    return a.cast(pa.int16()).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int16)


# Articles and particles that many unrelated family names share (al-Shami and al-Khatib, de Souza
# and de Lima): they never count as the "shared word" of two compound names.
_PARTICLES = frozenset({"al", "el", "ul", "ibn", "bin", "ben", "de", "da", "di", "do", "dos", "das",
                        "del", "della", "du", "la", "le", "van", "von", "der", "den", "ter"})


def _words(text: str | None) -> tuple[str | None, str | None]:
    """Match keys of the first and the last word of a name, particles skipped (one fold and
    one split for both)."""
    f = fold(text)
    if not f:
        return None, None
    words = f.split()
    kept = [w for w in words if w not in _PARTICLES] or words
    return match_key(kept[0]), match_key(kept[-1])


def _phones(table: pa.Table) -> np.ndarray:
    """E.164 of the table's phone numbers, in this process (``bench/linkage/run_demo.py``
    cleans splink's input with it)."""
    return phones_e164(_col(table, "phone").cast(pa.string()),
                       _col(table, "phone_region").cast(pa.string()))


#: the distinct phone numbers are normalised in this many parts, and the other columns of
#: :data:`_GROUPS` in theirs, taken one at a time by this process and the worker
_PHONE_PARTS = 32


def _family_forms(name: str | None) -> tuple[str | None, ...]:
    """The keys of one family name: its key, first and last word, name group."""
    return family_key(name), *_words(name), given_group(name)


def _given_forms(name: str | None) -> tuple[str | None, ...]:
    """The keys of one given name: its key, name group, first and last word."""
    return given_key(name), given_group(name), *_words(name)


def _document_forms(number: str | None) -> tuple[str | None, ...]:
    return (document_key(number),)


#: the columns normalised in units either process takes (:class:`_Parts`), after the phones,
#: in the order the worker takes them: ``(input column, parts, function of one distinct value,
#: the Records columns of its results in order)``. This process takes units from the other
#: end (family names first: of a long-tailed population, most of them are distinct).
_GROUPS: tuple[tuple[str, int, Callable[[str | None], tuple[str | None, ...]],
                     tuple[str, ...]], ...] = (
    ("given_name", 4, _given_forms, ("given", "given_group", "given_first", "given_last")),
    ("document_number", 4, _document_forms, ("document",)),
    ("family_name", 16, _family_forms, ("family", "family_first", "family_last",
                                        "family_group")),
)


class _Parts:
    """The costliest normalisation as units of work that either process takes: the
    distinct phone numbers (phonenumbers parses each one) in :data:`_PHONE_PARTS` parts, then
    the distinct values of each column of :data:`_GROUPS` in its parts. The worker takes
    units from the head (phones first), this process from the tail once its other columns
    are done, so that both finish together whatever the mix of the data."""

    def __init__(self, phones: list[str], distinct: list[list[str]]) -> None:
        self.values = [phones, *distinct]
        self.units: list[tuple[int, int, int]] = []  # (group, lo, hi); group 0: the phones
        for g, n_parts in enumerate([_PHONE_PARTS, *(x[1] for x in _GROUPS)]):
            bounds = np.linspace(0, len(self.values[g]), n_parts + 1).astype(np.int64)
            self.units += [(g, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                                    strict=True)]

    def __len__(self) -> int:
        return len(self.units)

    def run(self, k: int) -> list[Any]:
        """Unit ``k``: E.164 of a part of the phones, or the forms (:data:`_GROUPS`) of a
        part of a column's distinct values."""
        g, lo, hi = self.units[k]
        if g == 0:
            return phones_from_keys(self.values[0][lo:hi])
        forms = _GROUPS[g - 1][2]
        return [forms(v) for v in self.values[g][lo:hi]]

    def merged(self, done: dict[int, list[Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The phones' E.164 per distinct phone key (then None) and, per Records column of
        :data:`_GROUPS`, its keys per distinct value (then None), from every unit's result
        ``done[k]``."""
        results: list[list[Any]] = [[] for _ in self.values]
        for k, (g, _, _) in enumerate(self.units):
            results[g] += done[k]
        columns = {}
        for (_, _, _, names), forms in zip(_GROUPS, results[1:], strict=True):
            for j, name in enumerate(names):
                columns[name] = np.array([f[j] for f in forms] + [None], dtype=object)
        return np.array(results[0] + [None], dtype=object), columns


def _worker_parts(parts: _Parts, claims: forked.Claims, parent: int) -> dict[int, list[Any]]:
    """The units of ``parts`` taken from the head of ``claims``, in a forked worker; nothing
    when run in the parent (the serial fallback), which takes every unit from the tail."""
    out: dict[int, list[Any]] = {}
    if os.getpid() != parent:
        while (k := claims.head()) is not None:
            out[k] = parts.run(k)
    return out


def _distinct(values: pa.Array) -> tuple[list[str], np.ndarray]:
    """The distinct strings of ``values`` and each row's index among them (their number
    where null)."""
    enc = values.dictionary_encode()
    uniques = enc.dictionary.to_pylist()
    return uniques, enc.indices.fill_null(len(uniques)).to_numpy(zero_copy_only=False)


def prepare(table: pa.Table, *, parallel: bool = False) -> Records:
    """Normalise the identity columns of ``table`` (see the module docstring). With
    ``parallel``, the phone numbers, names and document numbers (the costliest columns:
    :class:`_Parts`) are normalised partly in a forked worker while this process does the
    rest; the result is the same.

    :raises UsageError: a ``birth_date`` column without ``birth_year`` (it would be read as
        no date at all: every pair's birth date *missing*)."""
    if "birth_date" in table.column_names and "birth_year" not in table.column_names:
        raise UsageError("the table has a birth_date column, which is not read: give "
                         "birth_year, birth_month and birth_day (integers) instead — "
                         "safelight.identity.mapping.read_identities splits and parses dates "
                         "from a file with its map")
    keys, phone_idx = phone_keys(_col(table, "phone").cast(pa.string()),
                                 _col(table, "phone_region").cast(pa.string()))
    given = _col(table, "given_name").cast(pa.string())
    family = _col(table, "family_name").cast(pa.string())
    full = _col(table, "full_name").cast(pa.string())
    # a record with only a full name: its first word is the given name, the rest the family name
    given, family = split_full_names(given, family, full)
    inputs = {"given_name": given, "family_name": family,
              "document_number": _col(table, "document_number").cast(pa.string())}
    distinct = [_distinct(inputs[column]) for column, *_ in _GROUPS]
    parts = _Parts(keys, [values for values, _ in distinct])
    load_name_tables()  # once here, not once in each process after the fork
    claims = forked.Claims(len(parts), shared=parallel)
    job = forked.start("normalisation", _worker_parts, parts, claims, os.getpid(),
                       parallel=parallel)

    def finish() -> tuple[np.ndarray, dict[str, tuple[np.ndarray, pa.Array]]]:
        """The units the worker has not taken, done here; the phone column and the columns
        of :data:`_GROUPS` (object and Arrow arrays)."""
        mine = {}
        while (k := claims.tail()) is not None:
            mine[k] = parts.run(k)
        e164, columns = parts.merged({**job.result(), **mine})
        rows = {name: idx for (_, _, _, names), (_, idx) in zip(_GROUPS, distinct, strict=True)
                for name in names}
        phones = e164[phone_idx]
        warn_unread_phones(unread_phones(_col(table, "phone"), phones))
        return phones, {name: expand_distinct(v, rows[name]) for name, v in columns.items()}

    try:
        return _normalised(table, finish)
    finally:
        job.cancel()  # still running only when the rest failed


def _normalised(table: pa.Table,
                finish: Callable[[], tuple[np.ndarray, dict[str, tuple[np.ndarray, pa.Array]]]]
                ) -> Records:
    arrow: dict[str, pa.Array] = {}  # the str columns as Arrow arrays too, for Records.codes

    def mapped(name: str, values: pa.Array, fn: Callable[..., str | None], *args: Any
               ) -> np.ndarray:
        out, arrow[name] = map_distinct_arrow(values, fn, *args)
        return out

    def coded(name: str, fn: Callable[[str | None], str | None] = code_key) -> np.ndarray:
        return mapped(name, _col(table, name).cast(pa.string()), fn)

    year, month, day = birth_date_parts(_ints(table, "birth_year"), _ints(table, "birth_month"),
                                        _ints(table, "birth_day"))
    cols = dict(
        contributor=np.array(_col(table, "contributor").to_pylist(), dtype=object),
        record_id=np.array(_col(table, "record_id").cast(pa.string()).to_pylist(), dtype=object),
        birth_year=year,
        birth_month=month,
        birth_day=day,
        sex=coded("sex", sex_key),
        nationality=coded("nationality", nationality_key),
        locality=mapped("locality", _col(table, "locality").cast(pa.string()), locality_key),
        street_number=mapped("street_number", _col(table, "street_number").cast(pa.string()),
                             digits_key),
        address_line=mapped("address_line", _col(table, "address_line").cast(pa.string()),
                            locality_key),
        postcode=mapped("postcode", _col(table, "postcode").cast(pa.string()), digits_key),
        region=coded("region"),
    )
    # last: the worker's units are done while this process does the rest
    cols["phone"], part_columns = finish()
    for name, (values, as_arrow) in part_columns.items():
        cols[name], arrow[name] = values, as_arrow
    records = Records(**cols)
    records._arrow = arrow  # read by Records.codes
    return records
