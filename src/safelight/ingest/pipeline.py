"""One file into the hub: read → map and validate → insert → settle duplicates and updates, atomically.

Guarantees (tested):

* ``rows_read == rows_accepted + rows_quarantined`` for every contribution;
* the whole ingest is one transaction: a crash or kill midway leaves no partial contribution;
* re-ingesting the same file (same bytes, same profile) for the same contributor changes
  nothing and says so;
* a record id seen twice in one file keeps its first row and quarantines the others
  (``duplicate_record_id``); a record id already in the hub from an earlier file of the same
  contributor is *updated* (the newer export wins) or counted *unchanged*;
* memory stays flat whatever the file size: a background thread reads and converts chunks
  into in-memory Arrow parts of one DuckDB row group each (122,880 rows), at most two parts
  alive at a time; each part is inserted with one set-wise statement, so DuckDB writes full row
  groups straight to disk and nothing is left for the checkpoint to rewrite, and
  de-duplication and updates are set operations DuckDB can spill.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from safelight import __version__
from safelight.errors import InputFileError
from safelight.ingest.convert import ChunkConverter, Rejected
from safelight.ingest.profile import Profile
from safelight.ingest.readers import (
    ROW,
    BadRow,
    Reader,
    XlsxReader,
    duplicated_headers,
    open_reader,
)
from safelight.standard.schema import SCHEMA_VERSION
from safelight.store.hub import Hub, columns_of, now_utc

log = logging.getLogger("safelight.ingest")
#: DuckDB's memory limit during an ingest: the blocks it has written stay in its buffer cache
#: up to the limit, so a lower one keeps an ingest's memory flat as the file grows (the
#: parts themselves are bounded: at most two in memory).
INGEST_MEMORY_LIMIT = "256MB"

Progress = Callable[[int, int], None]  # (rows read so far, bytes read so far)

QUARANTINE_SCHEMA = pa.schema([("contribution_id", pa.int32()), ("source_row", pa.int64()),
                               ("rules", pa.list_(pa.string())), ("reasons", pa.string()),
                               ("raw", pa.string())])


@dataclass
class IngestResult:
    contribution_id: int
    contributor: str
    file: str
    profile: str
    target: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    already_ingested: bool = False
    notes: list[str] = field(default_factory=list)
    top_rules: list[tuple[str, int]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _quarantine_table(cid: int, rejected: list[Rejected], bad: list[BadRow]) -> pa.Table:
    rows, rules, reasons, raws = [], [], [], []
    for r in rejected:
        rows.append(r.row)
        rules.append(sorted({x.rule for x in r.reasons}))
        reasons.append(json.dumps([x.as_dict() for x in r.reasons], ensure_ascii=False))
        raws.append(r.raw)
    for b in bad:
        rows.append(b.row)
        rules.append([b.rule])
        reasons.append(json.dumps([{"column": None, "rule": b.rule, "value": None, "message": b.message}],
                                  ensure_ascii=False))
        raws.append(b.raw.encode("utf-8", "backslashreplace").decode("utf-8"))
    return pa.table([pa.array([cid] * len(rows), pa.int32()), pa.array(rows, pa.int64()),
                     pa.array(rules, pa.list_(pa.string())), pa.array(reasons, pa.string()),
                     pa.array(raws, pa.string())], schema=QUARANTINE_SCHEMA)


def _open(path: Path, profile: Profile) -> Reader:
    reader = open_reader(path, profile.read)
    if isinstance(reader, XlsxReader):
        wanted = set(profile.source_columns()) | set(profile.aliases)
        reader.choose_sheet(wanted)
    return reader


def ingest_file(hub: Hub, path: str | Path, *, contributor: str, profile: Profile,
                actor: str = "cli", progress: Progress | None = None,
                country: str | None = None) -> IngestResult:
    """Ingest one file for ``contributor`` (in ``country``, when given) under ``profile``
    (see module docstring)."""
    path = Path(path)
    started = dt.datetime.now()
    t0 = now_utc()
    sha = file_sha256(path) if path.is_file() else ""
    reader = _open(path, profile)  # file-level faults raise here, before anything is written
    converter = ChunkConverter(profile, reader.columns, path=str(path), file_sha256=sha,
                               duplicated=duplicated_headers(reader.columns))
    existing = hub.find_contribution(contributor, sha, profile.sha256)
    if existing:
        return IngestResult(existing["contribution_id"], contributor, str(path), profile.ref,
                            profile.target, existing["rows_read"], existing["rows_accepted"],
                            existing["rows_quarantined"], 0, 0, existing["rows_accepted"],
                            already_ingested=True)
    con = hub.con
    cid = int(con.execute("SELECT nextval('contribution_ids')").fetchone()[0])
    result = IngestResult(cid, contributor, str(path), profile.ref, profile.target)
    with hub.memory_limited(INGEST_MEMORY_LIMIT), hub.transaction():
        country_before = hub.ensure_contributor(contributor, country)
        # a background thread reads and converts the next part of the file while this thread
        # inserts the previous one: Python work and DuckDB work overlap on two cores
        for part in _parts(reader, converter, cid, result, progress):
            if part.quarantine is not None:
                _insert(con, "quarantine", "*", part.quarantine)
            if part.main is not None:
                if profile.target == "cases":
                    _insert_cases(con, part, contributor, cid)
                else:
                    _insert_series(con, part, cid)
        if result.rows_read == 0:
            raise InputFileError(path, "has a header but no data rows", "check that the export is complete")
        if profile.target == "cases":
            _settle(con, cid, contributor, converter, result)
        else:
            result.rows_accepted = result.rows_new = con.execute(
                "SELECT count(*) FROM series WHERE contribution_id = ?", [cid]).fetchone()[0]
        result.rows_quarantined = con.execute("SELECT count(*) FROM quarantine WHERE contribution_id = ?",
                                              [cid]).fetchone()[0]
        if result.rows_accepted + result.rows_quarantined != result.rows_read:
            raise AssertionError(  # a bug, never bad input: refuse to commit a lossy ingest
                f"row accounting failed: read {result.rows_read}, accepted {result.rows_accepted}, "
                f"quarantined {result.rows_quarantined}")
        result.notes = list(reader.notes)
        if profile.target == "cases" and profile.generate_record_ids:
            result.notes += _generated_ids(con, cid) + _repeated_export(con, cid, contributor)
        result.top_rules = [(r, n) for r, n in con.execute(
            "SELECT rule, count(*) n FROM (SELECT unnest(rules) rule FROM quarantine WHERE contribution_id = ?)"
            " GROUP BY rule ORDER BY n DESC, rule LIMIT 10", [cid]).fetchall()]
        con.execute("INSERT INTO contributions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            cid, contributor, profile.target, path.name, sha, path.stat().st_size, reader.format_name,
            profile.name, profile.version, profile.sha256,
            profile.crosswalk.ref if profile.crosswalk else None, SCHEMA_VERSION, __version__,
            t0, now_utc(), result.rows_read, result.rows_accepted, result.rows_quarantined,
            result.rows_new, result.rows_updated, result.rows_unchanged, result.notes])
        if profile.target == "cases":
            # a later export never revives a withdrawal (its quarantined rows included: the
            # contribution is recorded now) nor keeps links its consent no longer allows
            hub.apply_withdrawals(contributor, cid)
        # the audit chain is permanent and a file's name may name a person (a hash of a short
        # name is guessed from a list of surnames): the file's content SHA-256 identifies it;
        # the name stays in `contributions`, which an administrator can correct
        hub.audit(actor, "ingest", f"contribution:{cid}", {
            "contributor": contributor, "sha256": sha, "profile": profile.ref,
            "rows_read": result.rows_read, "accepted": result.rows_accepted,
            "quarantined": result.rows_quarantined,
            **({"country_changed_from": country_before} if country_before else {})})
    result.seconds = (dt.datetime.now() - started).total_seconds()
    log.info("ingested contribution %s for %s: %d read, %d accepted, %d quarantined",
             result.contribution_id, contributor, result.rows_read, result.rows_accepted,
             result.rows_quarantined)
    return result


# Rows per part: exactly one DuckDB row group (its default size). Each part is inserted with one
# statement from a single-chunk Arrow table, so DuckDB writes full row groups straight to the
# database file; parts of any other size (or tables of many small chunks, which DuckDB scans in
# parallel) leave partial row groups that stay in memory until the commit and that the checkpoint
# at close must rewrite (measured on 1M rows: +5 CPU-seconds at close, a database file twice the
# size, and memory that grows with the file).
PART_ROWS = 122_880


@dataclass
class _Part:
    """Rows ready for the hub: at most one row group of accepted rows (with their identity rows,
    aligned row for row) and the quarantined rows met while it filled. Any may be ``None``."""

    main: pa.Table | None = None
    identities: pa.Table | None = None
    quarantine: pa.Table | None = None


def _parts(reader: Reader, converter: ChunkConverter, cid: int, result: IngestResult,
           progress: Progress | None) -> Iterator[_Part]:
    """Yield the file's parts as a background thread produces them.

    The thread reads and converts chunks and gathers accepted rows until a part holds
    :data:`PART_ROWS` of them (the last part holds the rest); the caller inserts each part into
    DuckDB (which releases the GIL) while the thread fills the next one. The thread hands a part
    over only once the caller has finished the previous one, so at most two parts are in memory
    whatever the file size; quarantined rows are handed over at the latest every
    :data:`PART_ROWS` rows, so a file of bad rows stays flat too.
    """
    q: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def hand_over(item: object) -> None:
        q.join()  # the previous part is inserted: at most two parts are alive
        q.put(item)

    def produce() -> None:
        try:
            pending = _Pending()
            quarantined: list[pa.Table] = []
            for chunk in reader.chunks():
                if stop.is_set():
                    return
                converted = converter.convert(chunk.table)
                result.rows_read += chunk.rows_read
                if chunk.bad or converted.rejected:
                    quarantined.append(_quarantine_table(cid, converted.rejected, chunk.bad))
                if converted.main.num_rows:
                    identities = None
                    if converted.identities is not None:
                        identities = converted.identities.append_column(ROW, converted.main[ROW])
                    pending.add(converted.main, identities)
                if progress:
                    progress(result.rows_read, reader.bytes_read())
                while pending.rows >= PART_ROWS:
                    hand_over(pending.take(PART_ROWS, _concat(quarantined)))
                    quarantined = []
                if sum(t.num_rows for t in quarantined) >= PART_ROWS:
                    hand_over(_Part(quarantine=_concat(quarantined)))
                    quarantined = []
            hand_over(pending.take(pending.rows, _concat(quarantined)))
            hand_over(done)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)

    worker = threading.Thread(target=produce, name="safelight-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            try:
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
            finally:
                q.task_done()
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting for its turn
            try:
                q.get_nowait()
                q.task_done()
            except queue.Empty:
                worker.join(timeout=0.05)


class _Pending:
    """Accepted rows (and their identity rows, aligned row for row) not yet handed over."""

    def __init__(self) -> None:
        self.main: list[pa.Table] = []
        self.identities: list[pa.Table] = []
        self.rows = 0

    def add(self, main: pa.Table, identities: pa.Table | None) -> None:
        self.main.append(main)
        if identities is not None:
            self.identities.append(identities)
        self.rows += main.num_rows

    def take(self, rows: int, quarantine: pa.Table | None) -> _Part:
        """A part of the first ``rows`` pending rows, each table in one contiguous chunk."""
        part = _Part(quarantine=quarantine)
        if rows == 0:
            return part
        for name, tables in (("main", self.main), ("identities", self.identities)):
            if not tables:
                continue
            table = _concat(tables)
            setattr(part, name, table.slice(0, rows).combine_chunks())
            tables[:] = [table.slice(rows)] if rows < table.num_rows else []
        self.rows -= rows
        return part


def _concat(tables: list[pa.Table]) -> pa.Table | None:
    if not tables:
        return None
    if len(tables) == 1:
        return tables[0]
    schema = tables[0].schema
    return pa.concat_tables([t if t.schema == schema else t.cast(schema) for t in tables])


def _insert(con, table: str, select: str, rows: pa.Table, params: list[Any] | None = None) -> None:
    """``INSERT INTO table SELECT <select> FROM`` the Arrow table ``rows``, scanned in place.

    The table is found by DuckDB's replacement scan (the local name below), not registered as a
    view: a view dropped inside the open transaction would keep its Arrow data alive until the
    commit, and memory would grow with the file.
    """
    _safelight_ingest_part = rows  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f"INSERT INTO {table} SELECT {select} FROM _safelight_ingest_part", params or [])


def _insert_cases(con, part: _Part, contributor: str, cid: int) -> None:
    """Insert a part's rows into ``cases``/``identities`` (raw-value structs become JSON).

    Duplicates and updates are settled by :func:`_settle` in the same transaction.
    """
    provided = {"contributor": "?", "contribution_id": "?", "source_row": f'"{ROW}"'}
    for table, rows in (("cases", part.main), ("identities", part.identities)):
        if rows is None:
            continue
        select = ", ".join(provided.get(c, c) for c in columns_of(con, table))
        _insert(con, table, select, rows, [contributor, cid])


def _settle(con, cid: int, contributor: str, converter: ChunkConverter, result: IngestResult) -> None:
    """Set-based end of a cases ingest, on the rows just inserted under contribution ``cid``.

    * a record id repeated in the file keeps its first row; the others go to the quarantine;
    * a record the hub already holds is *unchanged* when the same profile produced it from the
      same raw values and the same identity fields: the new copy is dropped and the old
      provenance kept; otherwise it is *updated*: the old row is removed;
    * updated records whose consent no longer allows statistics (it did) are counted in
      ``statistics_departures`` (no ids), which the hub's releases check.
    """
    profile = converter.profile
    id_col = profile.record_id_column or "(generated id)"
    case_raw = [c for c in columns_of(con, "cases") if c.endswith("_raw")]
    ident_cols = [c for c in columns_of(con, "identities")
                  if c not in ("contributor", "record_id", "contribution_id", "source_row")]
    raw_pack = ", ".join([f"c.{c}" for c in case_raw] + [f"i.{c}" for c in ident_cols])
    # the repeated ids first (one aggregate over the id column), then the raw values of just
    # those rows: a window over every row joined to every identity row costs 7x more at 5M rows
    con.execute("""CREATE TEMP TABLE _dup AS
        WITH firsts AS (SELECT record_id, min(source_row) AS first_row FROM cases WHERE contribution_id = ?
                        GROUP BY record_id HAVING count(*) > 1)
        SELECT c.source_row, c.record_id, f.first_row FROM cases c JOIN firsts f USING (record_id)
        WHERE c.contribution_id = ? AND c.source_row <> f.first_row""", [cid, cid])
    if con.execute("SELECT count(*) FROM _dup").fetchone()[0]:
        con.execute(f"""INSERT INTO quarantine
            SELECT ?, d.source_row, ['duplicate_record_id'],
                   json_array(json_object('column', ?, 'rule', 'duplicate_record_id', 'value', d.record_id,
                              'message', 'record id already used at row ' || d.first_row || ' of this file')),
                   CAST(to_json(struct_pack({raw_pack})) AS VARCHAR)
            FROM _dup d JOIN (SELECT * FROM cases WHERE contribution_id = ?) c USING (source_row)
            LEFT JOIN (SELECT * FROM identities WHERE contribution_id = ?) i USING (source_row)""",
                    [cid, id_col, cid, cid])
        for table in ("cases", "identities"):
            con.execute(f"""DELETE FROM {table} WHERE contribution_id = ?
                            AND source_row IN (SELECT source_row FROM _dup)""", [cid])
    new_vals = ", ".join([f"n.{c}" for c in case_raw] + [f"ni.{c}" for c in ident_cols])
    old_vals = ", ".join([f"o.{c}" for c in case_raw] + [f"oi.{c}" for c in ident_cols])
    con.execute(f"""CREATE TEMP TABLE _cmp AS
        SELECT n.record_id,
               k.profile_sha256 = ? AND ({new_vals}) IS NOT DISTINCT FROM ({old_vals}) AS unchanged
        FROM (SELECT * FROM cases WHERE contribution_id = ?) n
        JOIN (SELECT * FROM cases WHERE contributor = ? AND contribution_id <> ?) o USING (record_id)
        JOIN contributions k ON k.contribution_id = o.contribution_id
        LEFT JOIN (SELECT * FROM identities WHERE contribution_id = ?) ni USING (record_id)
        LEFT JOIN (SELECT * FROM identities WHERE contributor = ? AND contribution_id <> ?) oi
             USING (record_id)""", [profile.sha256, cid, contributor, cid, cid, contributor, cid])
    total = con.execute("SELECT count(*) FROM cases WHERE contribution_id = ?", [cid]).fetchone()[0]
    updated, unchanged = con.execute(
        "SELECT count(*) FILTER (WHERE NOT unchanged), count(*) FILTER (WHERE unchanged) FROM _cmp").fetchone()
    if updated:  # records this export takes out of statistical use (counted, for releases)
        departed = con.execute("""
            SELECT count(*) FROM (SELECT record_id FROM _cmp WHERE NOT unchanged) m
            JOIN (SELECT record_id FROM cases WHERE contributor = ? AND contribution_id <> ?
                  AND consent_statistics) o USING (record_id)
            JOIN (SELECT record_id FROM cases WHERE contribution_id = ?
                  AND NOT coalesce(consent_statistics, false)) n USING (record_id)""",
                               [contributor, cid, cid]).fetchone()[0]
        if departed:
            con.execute("INSERT INTO statistics_departures VALUES (?, ?, ?)",
                        [cid, now_utc(), departed])
    for table in ("cases", "identities"):
        if unchanged:  # keep the old row and its provenance
            con.execute(f"""DELETE FROM {table} WHERE contribution_id = ? AND record_id IN
                            (SELECT record_id FROM _cmp WHERE unchanged)""", [cid])
        if updated:  # the newer export wins
            con.execute(f"""DELETE FROM {table} WHERE contributor = ? AND contribution_id <> ? AND record_id IN
                            (SELECT record_id FROM _cmp WHERE NOT unchanged)""", [contributor, cid])
    con.execute("DROP TABLE _dup")
    con.execute("DROP TABLE _cmp")
    result.rows_updated, result.rows_unchanged = int(updated), int(unchanged)
    result.rows_new = int(total - updated - unchanged)
    result.rows_accepted = int(total)


#: share of a generated-id file's rows that repeat an earlier contribution row for row, from
#: which the ingest says so (a re-saved copy: new ids, the same people counted twice)
REPEATED_EXPORT_SHARE = 0.9


def _generated_ids(con, cid: int) -> list[str]:
    """A note saying what the ids of contribution ``cid`` (no id column) are: the ones a
    withdrawal of consent names, shown nowhere else (a trial withdrew "2", a row number)."""
    first = con.execute("SELECT record_id, source_row FROM cases WHERE contribution_id = ? "
                        "ORDER BY source_row LIMIT 1", [cid]).fetchone()
    if first is None:
        return []
    return [f"the file has no record id column: each record's id is made from the file and its "
            f"row ({first[0]} is row {first[1]}'s, the row as the quarantine numbers it); "
            "`safelight consent withdraw` takes these ids"]


def _repeated_export(con, cid: int, contributor: str) -> list[str]:
    """A note when contribution ``cid`` (ids generated from the file's hash) repeats an earlier
    contribution of ``contributor`` row for row — the same case values, as converted, at the
    same row numbers: a re-saved copy of an export (Excel rewrites the bytes and often the
    dates' format, so the file's hash and every generated id differ) whose rows were all added
    as new cases. Row order, not values alone, tells a copy from a new export of similar
    people."""
    values = [c for c in columns_of(con, "cases") if not c.endswith("_raw")
              and c not in ("contributor", "record_id", "contribution_id", "source_row")]
    packed = f"hash(struct_pack({', '.join(values)}))"
    total, best, earlier = con.execute(f"""
        WITH n AS (SELECT source_row, {packed} AS h FROM cases WHERE contribution_id = ?),
             o AS (SELECT contribution_id, source_row, {packed} AS h FROM cases
                   WHERE contributor = ? AND contribution_id <> ?),
             m AS (SELECT o.contribution_id, count(*) AS rows FROM n JOIN o USING (source_row, h)
                   GROUP BY o.contribution_id)
        SELECT (SELECT count(*) FROM n), max(rows), arg_max(contribution_id, rows) FROM m""",
                                        [cid, contributor, cid]).fetchone()
    if not total or not best or best < REPEATED_EXPORT_SHARE * total:
        return []
    return [f"{best:,} of {total:,} rows repeat contribution {earlier} row for row: is this a "
            "re-saved copy of that export? Its ids are generated from the file, so its rows were "
            "added as new cases and the people in both are counted twice"]


def _insert_series(con, part: _Part, cid: int) -> None:
    provided = {"contribution_id": "?", "source_row": f'"{ROW}"', "source_row_values": "to_json(source_row)"}
    select = ", ".join(provided.get(c, c) for c in columns_of(con, "series"))
    _insert(con, "series", select, part.main, [cid])


def check_file(path: str | Path, profile: Profile) -> dict[str, Any]:
    """Dry run: read and validate without a hub. Returns counts and the first reasons.

    It predicts what :func:`ingest_file` accepts into an empty hub: a record id repeated in the
    file is counted under ``duplicate_record_id`` after its first valid row, and ``rules``
    counts rows (a row breaking one rule twice counts once), as ingest's summary does.
    """
    path = Path(path)
    reader = _open(path, profile)
    conv = ChunkConverter(profile, reader.columns, path=str(path), file_sha256=file_sha256(path),
                          duplicated=duplicated_headers(reader.columns))
    read = accepted = 0
    rules: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    seen: set[str] = set()

    def count(rule: str) -> None:
        rules[rule] = rules.get(rule, 0) + 1

    for chunk in reader.chunks():
        out = conv.convert(chunk.table)
        read += chunk.rows_read
        accepted += out.main.num_rows
        for r in out.rejected:
            for rule in dict.fromkeys(reason.rule for reason in r.reasons):
                count(rule)
            if len(examples) < 20:
                examples.append({"row": r.row, "reasons": [x.as_dict() for x in r.reasons]})
        for b in chunk.bad:
            count(b.rule)
            if len(examples) < 20:
                examples.append({"row": b.row, "reasons": [{"rule": b.rule, "message": b.message}]})
        if profile.target == "cases" and "record_id" in out.main.column_names:
            for rid, row in zip(out.main["record_id"].to_pylist(), out.main[ROW].to_pylist(),
                                strict=True):
                if rid not in seen:
                    seen.add(rid)
                    continue
                accepted -= 1
                count("duplicate_record_id")
                if len(examples) < 20:
                    examples.append({"row": row, "reasons": [{
                        "rule": "duplicate_record_id",
                        "message": "record id already used earlier in this file"}]})
    if read == 0:
        raise InputFileError(path, "has a header but no data rows")
    return {"rows_read": read, "rows_valid": accepted, "rows_invalid": read - accepted,
            "rules": dict(sorted(rules.items(), key=lambda kv: -kv[1])), "examples": examples,
            "notes": reader.notes}
