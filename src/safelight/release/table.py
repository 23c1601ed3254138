"""Categorical tables: read a CSV/Parquet file into integer codes, write one back.

Contract: every column is read as text; ``''`` (and a null) means *missing*. A table holds, per
column, the sorted list of its non-missing values and an ``int32`` code matrix where code ``0``
is missing and code ``c >= 1`` is ``values[column][c - 1]``. Missing is **not** a value: it never
forms part of an attribute combination (the convention of CTDC's k-synthetic releases and of
Microsoft's Synthetic Data Showcase), so a release never states "attribute X is unknown for
these people" and never protects such statements either.

:func:`read_table` reads a release input: a column whose header holds the word consent
(``consent``, ``informed_consent``, ``Consent to statistics``, ``Згода``:
:data:`CONSENT_COLUMNS`, any case) is read with the project's consent vocabulary
(:func:`safelight.standard.consent.consent_words`) — rows whose consent does not allow
statistics, or is blank, are left out and counted in a warning; a word the vocabulary cannot
read refuses the file — and is never released. Then the kept columns are checked: one whose
header names a direct identifier (:mod:`safelight.standard.identifiers`) or whose values are
nearly all distinct is refused.
"""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from safelight.errors import InputFileError
from safelight.release.errors import ReleaseUsageError
from safelight.standard.consent import consent_key, consent_words
from safelight.standard.identifiers import (
    fold_accents,
    header_key,
    header_tokens,
    identifier_of_header,
)

MISSING = 0
log = logging.getLogger("safelight.release.table")


@dataclass(frozen=True)
class CategoricalTable:
    """A table of categorical columns as integer codes (``0`` = missing).

    :param columns: column names, in file order.
    :param values: per column, its distinct non-missing values (sorted); code ``c`` is
        ``values[j][c - 1]``.
    :param codes: ``(n_rows, n_columns)`` ``int32`` matrix of codes.
    """

    columns: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]
    codes: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    @property
    def radix(self) -> np.ndarray:
        """Per column, the number of codes including missing (``len(values) + 1``)."""
        return np.array([len(v) + 1 for v in self.values], dtype=np.int64)

    def with_codes(self, codes: np.ndarray) -> CategoricalTable:
        """The same columns and value dictionaries over other rows (e.g. synthetic ones)."""
        codes = np.ascontiguousarray(codes, dtype=np.int32)
        if codes.ndim != 2 or codes.shape[1] != self.n_columns:
            raise ValueError(f"codes must have shape (n, {self.n_columns}), not {codes.shape}")
        return CategoricalTable(self.columns, self.values, codes)

    def select_rows(self, mask: np.ndarray) -> CategoricalTable:
        return self.with_codes(self.codes[mask])

    def decode_column(self, j: int) -> list[str]:
        lookup = np.array(("",) + self.values[j], dtype=object)
        return lookup[self.codes[:, j]].tolist()

    def to_arrow(self) -> pa.Table:
        return pa.table({name: pa.array(self.decode_column(j), pa.string())
                         for j, name in enumerate(self.columns)})


def from_columns(columns: dict[str, Sequence[str | None]]) -> CategoricalTable:
    """Build a table from ``{name: list of values}`` (``''`` or ``None`` = missing)."""
    return from_arrow(pa.table({k: pa.array(list(v), pa.string()) for k, v in columns.items()}))


def _nan_as_null(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A float column's NaN as null (missing): pandas writes a missing number so, and cast to
    text it was the category "nan"."""
    if pa.types.is_floating(col.type):
        return pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
    return col


def from_arrow(table: pa.Table) -> CategoricalTable:
    """Encode an Arrow table; every column is cast to text first."""
    if table.num_columns == 0:
        raise InputFileError("<table>", "has no columns")
    names: list[str] = []
    values: list[tuple[str, ...]] = []
    codes = np.zeros((table.num_rows, table.num_columns), dtype=np.int32)
    for j, name in enumerate(table.column_names):
        col = _nan_as_null(table.column(j))
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        col = pc.fill_null(col, "")
        uniq = pc.unique(col).to_pylist()
        vals = tuple(sorted(v for v in uniq if v != ""))
        dictionary = pa.array(("",) + vals, pa.string())
        idx = pc.index_in(col, value_set=dictionary)
        codes[:, j] = np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int32)
        names.append(str(name))
        values.append(vals)
    return CategoricalTable(tuple(names), tuple(values), codes)



#: Arrow's CSV parse errors end with the offending row's text ("Expected 2 columns, got 3:
#: male,NGA,Olena …"): a person's values, which must not reach a terminal or a cron log
_ROW_ECHO = re.compile(r"(Expected \d+ columns?, got \d+)\s*:.*", re.DOTALL)


def _without_row(message: str, path: Path | None = None) -> str:
    """The first line of an Arrow error, without the row text it quotes; a row with the wrong
    number of fields is named by its line in ``path`` (Arrow does not say where it is)."""
    first = message.splitlines()[0] if message else message
    line = _ragged_line(path) if path is not None and _ROW_ECHO.search(first) else None
    where = f" on line {line}" if line else ""
    return _ROW_ECHO.sub(rf"\1{where} (the row's values are not shown)", first)


def _ragged_line(path: Path) -> int | None:
    """The line (1-based, as an editor counts; a quoted field may span lines) on which the
    first row of the CSV ``path`` whose field count differs from its header's ends, or None."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            width = len(next(reader, []))
            for row in reader:
                if row and len(row) != width:  # Arrow skips empty lines too
                    return reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _where(path: Path, row: int) -> str:
    """Where data row ``row`` (0-based, as read) of ``path`` stands: in a CSV, the line (as an
    editor counts) on which it ends — a quoted field may span lines; empty lines are skipped,
    as Arrow skips them; in a Parquet file, its row number."""
    if path.suffix.lower() in {".parquet", ".pq"}:
        return f"in row {row + 1}"
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            seen = 0
            for fields in reader:
                if fields:
                    if seen == row:
                        return f"on line {reader.line_num}"
                    seen += 1
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return f"in data row {row + 1}"


#: parts of a header (its key without case, blanks, punctuation or diacritics) that make it a
#: consent column wherever they stand — consent, informed_consent, informedconsent, Згода,
#: Einwilligung, Consimţământ — never released
CONSENT_COLUMNS = ("consent", "згод", "соглас", "zgod", "einwillig", "zustimm", "consimt")
#: parts of a header key (without diacritics) that say the column records a refusal or a
#: withdrawal — its "yes" may mean *no* — in the languages of the consent vocabulary
_REFUSAL_WORDS = ("withdr", "refus", "revok", "revoc", "revoq", "denied", "declin", "retract",
                  "rescind", "withheld", "cancel", "optout", "retir", "retrait", "deneg",
                  "negad", "zuruckgez", "entzog", "widerruf", "verweiger", "відклик", "відмов",
                  "скасов", "незгод", "отозв", "отказ", "отклон", "несоглас", "wycof", "odmow",
                  "cofni", "retras", "refuz", "nonconsent", "unconsent", "noconsent")
#: whole words that negate (no_consent, sin_consentimiento, Einwilligung_nein) — unless a
#: word for yes stands beside them (Consent (yes/no))
_NEGATIONS = frozenset({"no", "not", "non", "without", "nein", "nie", "ні", "нет", "sin", "sans",
                        "fara", "kein", "keine", "brak", "opt", "out", "unknown", "missing"})
_YES = frozenset({"yes", "так", "да", "ja", "tak", "si", "oui", "da"})  # da: Romanian
#: the only words a header read as the rows' statistics consent may hold besides a consent
#: word: any other word (contact, sharing, research, date, linkage, signed_by …) makes it a
#: consent to another use or a note about the consent
_STATISTICS_WORDS = frozenset({
    "informed", "status", "given", "statistics", "statistical", "statistic", "stats", "stat",
    "to", "for", "of", "on", "the", "use", "data", "yes", "no", "y", "n", "так", "ні", "да",
    "нет", "ja", "nein", "tak", "nie", "si", "oui", "non", "nu", "statistik",
    "statystyki", "statistique", "statistiques", "estadistica", "estadisticas", "statistica",
    "статистика", "статистики", "статистичн", "de", "do", "для", "на", "zur", "fur", "pour",
    "para", "pentru", "na", "dla", "informat", "informee", "informado", "informada",
    "poinformowana", "інформована", "информированное"})


def consent_header(header: str) -> str | None:
    """What a header says of consent: ``"statistics"`` for a column to read as the rows'
    statistics consent — a consent word and nothing but :data:`_STATISTICS_WORDS`
    (``consent``, ``informed_consent``, ``Consent (yes/no)``, ``consent_to_statistics``,
    ``Згода``); ``"refusal"`` for one whose "yes" may mean *no* (``consent_withdrawn``,
    ``no_consent``, ``consentimiento_retirado``, ``відкликана_згода``); ``"other"`` for consent
    to another use or a note about it (``consent_linkage``, ``consent_to_contact``,
    ``fecha_consentimiento``); None for a column that is not about consent. A release reads
    the first kind, refuses the second, and drops the third beside a statistics consent
    column (refusing it alone): never a consent column released unread."""
    key = fold_accents(header_key(header))
    if not any(c in key for c in CONSENT_COLUMNS):
        return None
    words = [fold_accents(w) for w in header_tokens(header)]
    if any(r in key for r in _REFUSAL_WORDS):
        return "refusal"
    if _NEGATIONS & set(words) and not _YES & set(words):
        return "refusal"
    rest = [w for w in words if not any(c in w for c in CONSENT_COLUMNS)]
    if all(w in _STATISTICS_WORDS or w.startswith("statist") for w in rest):
        return "statistics"
    return "other"


def _consent_filtered(path: Path, table: pa.Table, column: str, rows: np.ndarray
                      ) -> tuple[pa.Table, np.ndarray]:
    """``table`` without ``column`` and without the rows whose consent in it does not allow
    statistics, read with the project's consent vocabulary
    (:func:`~safelight.standard.consent.consent_words`); a blank value allows nothing. The rows
    left out are counted in a warning; a value the vocabulary cannot read is refused, placed
    by its row in the file (``rows``: the file's 0-based data row of each row of ``table``).
    Returns the table and the ``rows`` it keeps."""
    words = consent_words("statistics")
    raw = pc.fill_null(pc.cast(table[column], pa.string()), "")
    distinct = pc.unique(raw).to_pylist()
    unread = [v for v in distinct if consent_key(v) and consent_key(v) not in words]
    if unread:
        bad = pc.is_in(raw, pa.array(unread, pa.string()))
        n_bad = int(pc.sum(bad).as_py() or 0)
        first = int(rows[int(pc.index(bad, True).as_py())])
        raise InputFileError(
            path, f"column {column}: {n_bad} row{'s' if n_bad != 1 else ''} hold"
            f"{'' if n_bad != 1 else 's'} a consent value that is not a consent "
            f"word ({len(unread)} distinct values, not shown), the first {_where(path, first)}",
            "use the standard's consent codes (full, statistics_only, none, withdrawn), their "
            "labels (also in Ukrainian, Russian, Polish, …) or yes/no; recode other words "
            "(e.g. 'agreed' as full) before releasing")
    allowed = pa.array([v for v in distinct if words.get(consent_key(v))], pa.string())
    keep = pc.is_in(raw, allowed)
    left_out = table.num_rows - int(pc.sum(keep).as_py() or 0)
    if left_out:
        blank = int(pc.sum(pc.equal(pc.utf8_trim_whitespace(raw), "")).as_py() or 0)
        log.warning("%s: %d of %d rows left out: their consent (column %s) does not allow "
                    "statistics (%d blank)", path.name, left_out, table.num_rows, column, blank)
    mask = np.asarray(pc.fill_null(keep, False).to_numpy(zero_copy_only=False), dtype=bool)
    return table.filter(keep).drop_columns([column]), rows[mask]


#: a column is "nearly all distinct" when at least this share of its present values is held
#: by one row only, and at least :data:`DISTINCT_MIN_ROWS` rows hold such a value
DISTINCT_SHARE = 0.5
DISTINCT_MIN_ROWS = 20


def _no_identifiers(path: Path, table: pa.Table, allow_distinct: bool) -> None:
    """Refuse a table with a column whose header names a direct identifier
    (:func:`~safelight.standard.identifiers.identifier_of_header`: the standard's identity
    fields and common synonyms, any case) and — unless ``allow_distinct`` — a column whose
    values are nearly all distinct (an id, a name, a date or a phone number: it would leak,
    and every value held by one person only makes ``release aggregates`` crawl)."""
    named = [(c, f) for c in table.column_names if (f := identifier_of_header(c))]
    if named:
        raise InputFileError(
            path, "holds identity column(s) "
            + ", ".join(c if c == f else f"{c} (read as {f})" for c, f in named),
            "release inputs carry case fields only; drop those columns or leave them out "
            "with --columns (a yes/no flag named like one, say telegram, passes under a name "
            "that says so: via_telegram)")
    if allow_distinct:
        return
    for column in table.column_names:
        col = pc.fill_null(pc.cast(table[column], pa.string()), "")
        counts = pc.value_counts(pc.filter(col, pc.not_equal(col, "")))
        present = int(pc.sum(counts.field("counts")).as_py() or 0)
        single = int(pc.sum(pc.equal(counts.field("counts"), 1)).as_py() or 0)
        if single >= DISTINCT_MIN_ROWS and single >= DISTINCT_SHARE * present:
            raise InputFileError(
                path, f"column {column}: {single} of its {present} values are each held by "
                "one row only — an identifier (record id, name, date, phone) that a release "
                "must not carry, and that no count of k or more can use",
                "leave it out with --columns (or recode it into groups); --allow-distinct-columns "
                "releases it anyway")


def _unique_names(path: Path, names: Sequence[str]) -> None:
    """Refuse a header that repeats a column name: which of the two is the column a release
    describes, and ``--columns`` could not name either (ingest renames them ``NAME__2``; a
    release would publish them under a name the contributor never gave)."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, 1):
        seen.setdefault(name, []).append(i)
    repeated = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if repeated:
        raise InputFileError(path, "repeats column name(s) " + "; ".join(
            f"{n} (columns {', '.join(map(str, pos))})" for n, pos in repeated.items()),
            "give each column its own name")


def _without_nameless(path: Path, table: pa.Table) -> pa.Table:
    """``table`` without the columns whose header is blank and that hold no value (a trailing
    comma on every line, as spreadsheets export it), left out with a note.

    :raises InputFileError: a column with a blank header that holds values: a release would
        publish it under no name, and ``--columns`` could not name it."""
    nameless = [i for i, c in enumerate(table.column_names) if not c.strip()]
    if not nameless:
        return table
    holding = []
    for i in nameless:
        col = table.column(i)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.utf8_trim_whitespace(pc.fill_null(col, ""))
            held = pc.any(pc.not_equal(col, "")).as_py()
        else:  # numbers, lists, bytes: any value at all
            held = col.null_count < len(col)
        if held:
            holding.append(i + 1)
    if holding:
        raise InputFileError(path, f"column(s) {', '.join(map(str, holding))} have no name in "
                             "the header but hold values", "give each column a name (or delete "
                             "it) before releasing")
    # said on the console (the docs promise a note; at info level it was never shown)
    log.warning("%s: %d column(s) without a name and without values left out", path.name,
                len(nameless))
    return table.select([i for i in range(table.num_columns) if i not in nameless])


def _consented(path: Path, table: pa.Table) -> pa.Table:
    """Rows whose consent allows statistical use, without the consent columns
    (:func:`consent_header`, :func:`_consent_filtered`): a statistics consent column filters
    the rows; a column about another use or about the consent is dropped beside one.

    :raises InputFileError: a column that records refusals or withdrawals of consent (its
        "yes" means no: read as a consent it released exactly the people who refused), or a
        column about another use of consent with no statistics consent beside it (what the
        rows allow is not known); a consent column of lists or bytes."""
    kinds = {c: consent_header(c) for c in table.column_names}
    _check_types(path, table.select([c for c, kind in kinds.items() if kind]))
    for column, kind in kinds.items():
        if kind == "refusal":
            raise InputFileError(
                path, f"column {column} records refusals or withdrawals of consent, which a "
                "release cannot read as a consent to statistics (its yes means no)",
                "recode it into a consent column (full, statistics_only, none, withdrawn) or "
                "leave those rows out of the file")
    others = [c for c, kind in kinds.items() if kind == "other"]
    if others and "statistics" not in kinds.values():
        raise InputFileError(
            path, f"column(s) {', '.join(others)} speak of consent, but not of consent to "
            "statistics: which rows may be released is not known",
            "add the statistics consent column (full, statistics_only, none, withdrawn), or "
            "drop those columns if every row consents")
    rows = np.arange(table.num_rows)  # each row's place in the file, as rows are left out
    for column, kind in kinds.items():
        if kind == "statistics":
            table, rows = _consent_filtered(path, table, column, rows)
    return table.drop_columns([c for c in others if c in table.column_names])


def read_table(path: str | Path, columns: Sequence[str] | None = None, *,
               allow_distinct: bool = False, report: dict[str, int] | None = None
               ) -> CategoricalTable:
    """Read a CSV (UTF-8, header row) or Parquet file as a categorical table: rows without
    statistics consent left out (module docstring), then ``columns`` kept, then identifiers
    refused (:func:`_no_identifiers`).

    :param columns: keep only these columns (in this order); all by default. Columns left out
        are not checked for identifiers.
    :param allow_distinct: release a column whose values are nearly all distinct.
    :param report: receives ``rows_without_statistics_consent``, the rows left out for their
        consent (for the release's ``settings.json``), and ``content_sha256``, the whole
        file's :func:`content_fingerprint` (before consent and ``columns``).
    :raises InputFileError: the file is missing, empty, unreadable, its one header field
        holds a ';' or a tab (a file with another delimiter), it repeats a column name, a
        consent column holds a
        word that is not a consent word, or a kept column is an identifier.
    :raises ReleaseUsageError: a column of ``columns`` is not in the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            table = pq.read_table(path)
        else:
            with path.open("r", encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh), None)
            if not header:
                raise InputFileError(path, "is empty", "give a CSV with a header row")
            if len(header) == 1 and any(d in header[0] for d in ";\t"):
                raise InputFileError(path, "the whole header is one column: the delimiter is "
                                     "probably wrong", "release tables are comma-separated; "
                                     "save the file with ',' between fields")
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding="utf8"),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in header},
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
    except InputFileError:
        raise
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot be read ({_without_row(str(exc), path)})",
                             "give a UTF-8 CSV with a header row, or a Parquet file") from None
    # headers in NFC too: "région" typed with a combining accent is the domain's "région"
    table = table.rename_columns([unicodedata.normalize("NFC", c) for c in table.column_names])
    table = _without_nameless(path, table)
    _unique_names(path, table.column_names)
    table = _nfc(table)
    table = pa.table([_nan_as_null(c) for c in table.columns], names=table.column_names)
    if columns:
        columns = [unicodedata.normalize("NFC", c) for c in columns]
    read = table.num_rows
    if report is not None:
        report["content_sha256"] = content_fingerprint(table)
    table = _consented(path, table)
    if report is not None:
        report["rows_without_statistics_consent"] = read - table.num_rows
    if columns:
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            consent = [c for c in missing if consent_header(c)]
            raise ReleaseUsageError(
                f"--columns: no column(s) {', '.join(missing)} in {path}; columns are "
                f"{', '.join(table.column_names)}" + (
                    f" ({', '.join(consent)}: a consent column is read, never released)"
                    if consent else ""))
        table = table.select(list(columns))
    _check_types(path, table)
    _no_identifiers(path, table, allow_distinct)
    _warn_placeholders(path, table)
    if table.num_rows == 0:
        if read:
            raise InputFileError(path, f"none of its {read} rows has consent to statistical "
                                 "use: nothing to release")
        raise InputFileError(path, "has a header but no rows")
    return from_arrow(table)


def content_fingerprint(table: pa.Table) -> str:
    """SHA-256 of a table's content: its column names and its rows as text (null = ``''``),
    blind to what a re-save changes — line ends, a BOM, quoting, the order of the rows and
    of the columns, CSV or Parquet. A ledger knows a file released before by it even when its
    bytes differ (a trial re-saved a table with Windows line ends and drew on a second
    budget); a row added, removed or changed makes another table.

    Each row is a 64-bit hash (each value hashed once per distinct value, the columns mixed
    in name order); the sorted row hashes are hashed with the names. 1,000,000 rows × 10
    columns: 0.3 s."""
    import hashlib
    import json

    names = sorted(table.column_names)
    digest = hashlib.sha256(json.dumps(names, ensure_ascii=False).encode())
    rows = np.zeros(table.num_rows, np.uint64)
    mix = np.uint64(0x9E3779B97F4A7C15)
    for name in names:
        col = pc.fill_null(_as_text(table.column(name)), "")
        enc = col.combine_chunks().dictionary_encode()
        value_hashes = np.frombuffer(b"".join(
            hashlib.blake2b(v.encode(), digest_size=8).digest()
            for v in enc.dictionary.to_pylist()), np.uint64)
        with np.errstate(over="ignore"):
            rows = (rows * mix) ^ value_hashes[enc.indices.to_numpy()]
    digest.update(np.sort(rows).tobytes())
    return digest.hexdigest()


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as text for :func:`content_fingerprint`: cast, or — a type Arrow does not cast
    to text (a Parquet list column, which the checks after refuse) — each value's JSON."""
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        import json

        return pa.chunked_array([pa.array(
            [None if v is None else json.dumps(v, default=str, ensure_ascii=False)
             for v in column.to_pylist()], pa.string())])


#: values that usually stand for *missing* in exported tables (lower case, trimmed); a release
#: reads only ``''`` as missing, so these would be released as a category of their own.
#: "na" counts only in a column that is not of two-letter codes (it is Namibia's); CTDC's
#: "Unknown" and "Not specified" are categories of its code book and are not listed
PLACEHOLDERS = frozenset({"na", "n/a", "#n/a", "n.a.", "null", "none", "nan", "-", "--", "?"})


def _warn_placeholders(path: Path, table: pa.Table) -> None:
    """Warn, per column, of the rows whose value is a :data:`PLACEHOLDERS` word or blanks
    only: they are released as a value, not as missing (the contributor may mean either).
    Reads each column's distinct values only (a NaN is null by now: :func:`read_table`)."""
    for column in table.column_names:
        counts = pc.value_counts(pc.cast(table[column], pa.string()))
        values, held = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
        odd = {v: c for v, c in zip(values, held, strict=True)
               if v and v.strip().lower() in PLACEHOLDERS | {""}}
        if not odd:
            continue
        others = [v for v in values if v and v not in odd]
        if "NA" in odd and others and all(re.fullmatch("[A-Z]{2}", v) for v in others):
            del odd["NA"]  # a column of two-letter codes: NA is Namibia
        found: dict[str, int] = {}
        for v, c in odd.items():
            label = repr(v) if v.strip() else "blanks only"
            found[label] = found.get(label, 0) + c
        if found:
            n = sum(found.values())
            log.warning("%s: column %s: %d %s %s, which a release takes as a value of its "
                        "own, not as missing; if they mean unknown, blank them ('' is "
                        "missing)", path.name, column, n, "row holds" if n == 1 else
                        "rows hold", ", ".join(f"{w} ({c})" for w, c in found.items()))


def _nfc(table: pa.Table) -> pa.Table:
    """``table`` with every text in Unicode NFC, dictionary-encoded text (a pandas category)
    decoded first: a "Côte d’Ivoire" typed with a combining accent is the same value (it was
    two released rows of 13 people; each of 6 + 6 would have been suppressed)."""
    for i, f in enumerate(table.schema):
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            col = table.column(i).cast(pa.string()) if t is not f.type else table.column(i)
            table = table.set_column(i, f.name, pc.utf8_normalize(col, "NFC"))
    return table


def _check_types(path: Path, table: pa.Table) -> None:
    """:raises InputFileError: a (kept) column of lists, structs, maps or bytes: no
    categorical value."""
    bad = [f.name for f in table.schema
           if pa.types.is_nested(f.type) or pa.types.is_binary(f.type)
           or pa.types.is_large_binary(f.type) or pa.types.is_fixed_size_binary(f.type)]
    if bad:
        raise InputFileError(path, f"column(s) {', '.join(bad)} hold lists, records or bytes, "
                             "not categorical values", "flatten them into text columns first, "
                             "or leave them out with --columns")


def write_csv(table: CategoricalTable, path: str | Path) -> None:
    """Write the table as UTF-8 CSV (missing as an empty field)."""
    pacsv.write_csv(table.to_arrow(), str(path),
                    write_options=pacsv.WriteOptions(quoting_style="needed"))


__all__ = ["MISSING", "CategoricalTable", "content_fingerprint", "from_arrow", "from_columns", "read_table", "write_csv"]
