"""Opening, migrating and querying a hub database (see the package docstring)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from safelight import __version__
from safelight.errors import StoreError, UsageError
from safelight.standard import geography
from safelight.store.migrations import LATEST_VERSION, MIGRATIONS

log = logging.getLogger("safelight.store")

GENESIS_HASH = "0" * 64
DEFAULT_MEMORY_LIMIT = "512MB"
#: what a quarantined row of a withdrawn record holds instead of its raw row (see
#: :meth:`Hub.apply_withdrawals`)
REDACTED_RAW = "{\"redacted\": \"consent withdrawn\"}"
#: (quarantined row, record id) pairs where a row carries an id of the table ``w`` (one column,
#: ``record_id``) — as a value of its raw row (a JSON object) or of a reason, or as a field of a
#: raw line that is not JSON (split at , ; tab |, quotes dropped), trimmed as ingest trims
#: ids; rows in ``{scope}`` (one parameter) and not redacted already (a second parameter,
#: :data:`REDACTED_RAW`). A blank value is no id: an empty id matched every row with a blank
#: cell (a trial's ``consent withdraw HUB ""`` redacted four other people's rows), and an id
#: found anywhere inside a raw line matched rows that held it only as part of a date or a
#: phone. What a withdrawal redacts (:meth:`Hub.apply_withdrawals`), so also what makes an id
#: known to it.
_QUARANTINE_ID_MATCHES = """
    WITH q AS (SELECT rowid AS row_key, raw, reasons FROM quarantine WHERE {scope} AND raw <> ?),
         vals AS (
             SELECT row_key, trim(unnest(CAST(json_extract_string(
                 reasons, '$[*].value') AS VARCHAR[]))) AS v FROM q
             UNION ALL
             SELECT row_key, trim(unnest(json_extract_string(
                 CASE WHEN json_valid(raw) AND json_type(raw) = 'OBJECT' THEN raw ELSE '{{}}' END,
                 '$.*'))) FROM q
             UNION ALL
             SELECT row_key, trim(unnest(regexp_split_to_array(raw, '[,;\t|]')),
                                  ' "' || chr(39)) FROM q WHERE NOT json_valid(raw))
    SELECT DISTINCT row_key, w.record_id FROM vals JOIN w ON w.record_id = vals.v
    WHERE vals.v <> ''"""


def withdrawal_ids(record_ids: list[str]) -> list[str]:
    """The record ids of a consent withdrawal, once each, checked: a blank id (an empty shell
    variable: ``consent withdraw HUB ""``) names no record — it redacted every quarantined row
    with a blank cell — and an id holding a tab or another control character is most likely a
    row pasted from a spreadsheet, the person's name in it, which the withdrawal would keep
    for good. Both are refused (:class:`UsageError`), nothing withdrawn."""
    ids = list(dict.fromkeys(record_ids))
    if not ids:
        raise UsageError("give the record ids whose consent is withdrawn")
    if any(not r.strip() for r in ids):
        raise UsageError("a record id is empty or blank (an empty variable?): nothing was "
                         "withdrawn; give the ids of the records")
    if any(not r.isprintable() for r in ids):
        raise UsageError("a record id holds a tab or another control character: give the ids "
                         "alone, one per line — nothing was withdrawn")
    return ids


def package_records_bytes(table: Any) -> bytes:
    """A PPRL package's records as the hub stores them in ``pprl_packages.records``: Parquet,
    zstd, no statistics, no metadata (the caller drops the schema's)."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=False)
    return buf.getvalue()


def now_utc() -> dt.datetime:
    """The current UTC time, naive (how the hub stores timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    object: str | None
    details: dict[str, Any] | None
    prev_hash: str
    hash: str


def _entry_hash(prev_hash: str, seq: int, at: dt.datetime, actor: str, action: str,
                obj: str | None, details_json: str | None) -> str:
    payload = json.dumps([prev_hash, seq, at.isoformat(), actor, action, obj, details_json],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of ``table`` in order."""
    return [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]


class Hub:
    """A hub database. Use :func:`open_hub`; close with :meth:`close` or a ``with`` block."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection,
                 memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
        self.path = path
        self.con = con
        self.memory_limit = memory_limit  # as opened; a stage that lowers it restores this

    @contextmanager
    def memory_limited(self, limit: str) -> Iterator[None]:
        """Run a block with DuckDB's memory limit lowered to ``limit`` (e.g. a long ingest, whose
        buffer cache would otherwise grow with the file up to the hub's limit), then restore the
        limit the hub was opened with."""
        self.con.execute(f"SET memory_limit = '{limit}'")
        try:
            yield
        finally:
            self.con.execute(f"SET memory_limit = '{self.memory_limit}'")

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # ---- schema

    def schema_version(self) -> int:
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
        ).fetchone()[0]
        if not exists:
            return 0
        return int(self.con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])

    def migrate(self) -> list[int]:
        """Apply every migration the hub has not had yet, in version order; returns the versions
        applied. A hub written by a newer safelight is refused."""
        self.con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)""")
        current = self.schema_version()
        if current > LATEST_VERSION:
            raise StoreError(f"{self.path}: the hub has schema version {current}, newer than this "
                             f"safelight knows ({LATEST_VERSION}); upgrade safelight")
        done = {v for (v,) in self.con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, description, sql in MIGRATIONS:  # every missing version, in order
            if version in done:
                continue
            with self.transaction():
                self.con.execute(sql)
                self.con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                 [version, description, now_utc()])
            applied.append(version)
            log.info("hub %s migrated to schema version %d", self.path, version)
        if applied and current > 0:  # an existing hub changed: said, and on the record
            log.warning("%s: the hub was upgraded from schema version %d to %d (by this "
                        "safelight %s); older safelight versions can no longer open it",
                        self.path, current, max(applied), __version__)
            with self.transaction():
                self.audit("safelight", "schema_upgrade", None,
                           {"from": current, "to": max(applied), "software": __version__})
        return applied

    @contextmanager
    def transaction(self):
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # ---- audit log

    def audit(self, actor: str, action: str, obj: str | None = None,
              details: dict[str, Any] | None = None) -> AuditEntry:
        """Append an entry chained to the previous one (call inside the caller's transaction)."""
        last = self.con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        prev_hash = last[1] if last else GENESIS_HASH
        seq = (last[0] + 1) if last else 1
        at = now_utc()
        details_json = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str) if details is not None else None
        h = _entry_hash(prev_hash, seq, at, actor, action, obj, details_json)
        self.con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [seq, at, actor, action, obj, details_json, prev_hash, h])
        return AuditEntry(seq, at, actor, action, obj, details, prev_hash, h)

    def verify_audit(self, head: tuple[int, str] | None = None) -> tuple[bool, str]:
        """Recompute the hash chain. Returns (ok, message naming the first broken entry, or
        the chain's head ``seq:hash`` when intact).

        The chain shows an entry altered or removed in its middle, not its newest entries
        removed (nothing after them refers to them): ``head``, a ``(seq, hash)`` recorded
        outside the hub earlier (the message of an earlier verification), must still be in the
        chain."""
        prev = GENESIS_HASH
        expected_seq = 1
        n = 0
        for seq, at, actor, action, obj, details, prev_hash, h in self.con.execute(
                "SELECT seq, logged_at, actor, action, object, CAST(details AS VARCHAR), prev_hash, hash "
                "FROM audit_log ORDER BY seq").fetchall():
            if seq != expected_seq:
                return False, f"entry {expected_seq} is missing (next entry is {seq})"
            if prev_hash != prev:
                return False, f"entry {seq} does not chain to entry {seq - 1}"
            if _entry_hash(prev_hash, seq, at, actor, action, obj, details) != h:
                return False, f"entry {seq} ({action}) was altered"
            if head is not None and seq == head[0] and h != head[1]:
                return False, f"entry {seq} is not the one recorded as the head earlier"
            prev, expected_seq, n = h, expected_seq + 1, n + 1
        if head is not None and head[0] > n:
            return False, (f"the chain ends at entry {n}, before the head recorded earlier "
                           f"(entry {head[0]}): its newest entries were removed")
        return True, f"{n} entries, chain intact; head {n}:{prev}"

    # ---- queries used by the CLI and later stages

    def contributions(self) -> list[dict[str, Any]]:
        cur = self.con.execute("SELECT * FROM contributions ORDER BY contribution_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def find_contribution(self, contributor: str, file_sha256: str, profile_sha256: str) -> dict | None:
        cur = self.con.execute(
            "SELECT * FROM contributions WHERE contributor = ? AND file_sha256 = ? AND profile_sha256 = ?",
            [contributor, file_sha256, profile_sha256])
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def ensure_contributor(self, name: str, country: str | None = None) -> str | None:
        """Register contributor ``name`` (and its ``country``, kept when given). Returns the
        country it was registered in when ``country`` changes it (else None), after a
        warning: the persons seen in several countries and the reports count the contributor
        in its new country from then on (callers write the change into their audit entry).

        :raises UsageError: ``country`` is given but names no country."""
        code = geography.resolve_country(country) if country else None
        if country and code is None:
            raise UsageError(f"--country {country!r} is not a country (give an ISO code such "
                             "as UA or UKR, or a country's name)")
        row = self.con.execute("SELECT country FROM contributors WHERE name = ?",
                               [name]).fetchone()
        before = row[0] if row and row[0] and code and row[0] != code else None
        if before:
            log.warning("contributor %s was registered in %s and is now in %s (--country %s): "
                        "persons seen in several countries and the reports count it in %s from "
                        "now on", name, before, code, country, code)
        self.con.execute("""INSERT INTO contributors VALUES (?, ?, ?)
                            ON CONFLICT DO UPDATE SET country = coalesce(excluded.country, contributors.country)""",
                         [name, code, now_utc()])
        return before

    def known_contributors(self) -> set[str]:
        """Contributors the hub knows: with ingested cases (or registered), a stored package
        or recorded withdrawals — a name outside them is more likely a typo than new."""
        rows = self.con.execute("SELECT name FROM contributors UNION SELECT contributor FROM "
                                "pprl_packages UNION SELECT contributor FROM "
                                "consent_withdrawals").fetchall()
        return {r[0] for r in rows}

    def withdrawal_pending(self, contributor: str, record_ids: list[str], *,
                           not_yet_received: bool, record_anyway: str) -> list[str]:
        """The ids of a consent withdrawal (once each) that name nothing the hub holds of
        ``contributor`` — all of them for a contributor it does not know — which wait for their
        records. Unless ``not_yet_received`` they are refused as typos, for every interface
        alike: :class:`UsageError` naming them (a few) and what a row number given for an export
        without an id column stands for; ``record_anyway`` says, in the interface's terms, how
        to record them all the same ("add --not-yet-received")."""
        ids = withdrawal_ids(record_ids)
        if contributor not in self.known_contributors():
            if not not_yet_received:
                raise UsageError(f"the hub has no contributor named {contributor!r} "
                                 "(`safelight status` lists them); for one that has sent "
                                 f"nothing yet, {record_anyway}")
            return ids
        unknown = self.unknown_record_ids(contributor, ids)
        if not unknown or not_yet_received:
            return unknown
        shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more"
                                                      if len(unknown) > 5 else "")
        msg = (f"{len(unknown)} of {len(ids)} record id(s) name nothing of {contributor!r} in "
               f"the hub: {shown} — nothing was withdrawn.")
        for rid in (r for r in unknown if r.isdigit()):
            meant = self.generated_ids_ending(contributor, rid)
            if meant:
                msg += (f" {rid!r} looks like a row number: {contributor}'s exports without an "
                        f"id column have ids made from the file and the row "
                        f"({' or '.join(meant)}).")
                break
        raise UsageError(f"{msg} Check the ids with the contributor, or {record_anyway} to "
                         "record the withdrawal for records the hub has not received yet.")

    def unknown_record_ids(self, contributor: str, record_ids: list[str]) -> list[str]:
        """The ids of ``record_ids`` (in their order, once each) that name nothing of
        ``contributor`` in the hub — no case, no quarantined row a withdrawal would redact, no
        record of its stored PPRL package, no recorded withdrawal: a withdrawal of them would
        act on nothing held now."""
        import io

        import pyarrow.parquet as pq

        scope = ("contribution_id IN (SELECT contribution_id FROM contributions "
                 "WHERE contributor = ?)")
        known = {r for (r,) in self.con.execute(
            "SELECT record_id FROM cases WHERE contributor = ? AND list_contains(?, record_id) "
            "UNION SELECT record_id FROM consent_withdrawals WHERE contributor = ? "
            "AND list_contains(?, record_id) UNION "
            "SELECT record_id FROM (WITH w AS (SELECT unnest(?::VARCHAR[]) AS record_id) "
            f"SELECT record_id FROM ({_QUARANTINE_ID_MATCHES.format(scope=scope)}))",
            [contributor, record_ids, contributor, record_ids, record_ids, contributor,
             REDACTED_RAW]).fetchall()}
        package = self.con.execute("SELECT records FROM pprl_packages WHERE contributor = ?",
                                   [contributor]).fetchone()
        if package is not None:
            ids = pq.read_table(io.BytesIO(bytes(package[0])), columns=["record_id"])
            known |= set(ids["record_id"].to_pylist()) & set(record_ids)
        return [r for r in dict.fromkeys(record_ids) if r not in known]

    def generated_ids_ending(self, contributor: str, row: str, limit: int = 3) -> list[str]:
        """Record ids of ``contributor`` generated by ingest for row ``row`` of an export
        without an id column (``<file hash>-<row>``): what a row number given as an id meant."""
        return [r for (r,) in self.con.execute(
            "SELECT record_id FROM cases WHERE contributor = ? AND "
            "regexp_full_match(record_id, '[0-9a-f]{12}-' || ?) ORDER BY contribution_id DESC "
            "LIMIT ?", [contributor, row, limit]).fetchall()]

    def withdraw_consent(self, contributor: str, record_ids: list[str], *, actor: str,
                         reason: str | None = None) -> dict[str, int]:
        """Withdraw consent for records of ``contributor``; returns counts.

        The cases stay (their consent becomes ``withdrawn``, so they are excluded from linkage
        and from every later release) and their identity data is erased, since identities exist
        only for linkage. The withdrawal is recorded and re-applied to later exports of the same
        records (see :meth:`apply_withdrawals`); unknown record ids are reported, not invented.
        ``reason`` is kept with the withdrawal; the permanent audit chain keeps only that one
        was given — neither the text, which may name the person, nor a hash of it, which a list
        of names would reverse.
        """
        record_ids = withdrawal_ids(record_ids)
        with self.transaction():
            known = {r for (r,) in self.con.execute(
                "SELECT record_id FROM cases WHERE contributor = ? AND list_contains(?, record_id)",
                [contributor, record_ids]).fetchall()}
            now = now_utc()
            # records whose consent allowed statistics until now leave the released set: a
            # departure (counts only) that the hub's releases check; one that never had that
            # consent was in no release and blocks none
            departing = self.con.execute(
                "SELECT count(*) FROM cases WHERE contributor = ? AND list_contains(?, record_id) "
                "AND consent_statistics", [contributor, record_ids]).fetchone()[0]
            if departing:
                self.con.execute("INSERT INTO statistics_departures VALUES (NULL, ?, ?)",
                                 [now, departing])
            for rid in record_ids:
                self.con.execute("INSERT INTO consent_withdrawals VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                 [contributor, rid, now, actor, reason])
            applied = self.apply_withdrawals(contributor)
            self.audit(actor, "withdraw_consent", f"contributor:{contributor}",
                       {"records": len(record_ids), "known": len(known),
                        "reason_given": reason is not None, **applied})
        return {"requested": len(record_ids), "known": len(known), **applied}

    def apply_withdrawals(self, contributor: str, contribution_id: int | None = None
                          ) -> dict[str, int]:
        """Make ``contributor``'s recorded withdrawals hold, and its records' current linkage
        consent (call inside a transaction; ingest calls it after every export of cases, with
        its ``contribution_id``: only that contribution's quarantined rows are new, the earlier
        ones were redacted when they came or when the withdrawal was recorded).

        * a withdrawn record's case is marked ``withdrawn`` and its identity erased;
        * its quarantined rows (a duplicate of it, or a row of it that failed validation) are
          redacted: the raw row and the reasons' values and messages go, rules and counts stay;
        * its referral consents end (``withdrawn_at``) and lose their note, and its referrals
          lose their ``details`` (free text: where to meet the person, by whom);
        * its record in the contributor's stored PPRL package (``pprl_packages``: Bloom filters
          and keyed blocking keys, pseudonymous identity data) is erased, the package rewritten
          without it (manifest counts and SHA-256 updated);
        * the person links and review pairs of every record of ``contributor`` whose consent
          does not allow linkage now — withdrawn, or set to ``none`` / ``statistics_only`` by a
          later export — are deleted with their accepted links (``person_links``), not left
          to the next link run, and the persons those records belonged to are re-formed from
          the links that remain (:func:`safelight.link.hub.reform_persons`: the record that
          left may have been the only link between them; reviewers' decisions still hold).
        """
        withdrawn = "SELECT record_id FROM consent_withdrawals WHERE contributor = ?"
        updated = self.con.execute(f"""
            UPDATE cases SET consent = 'withdrawn', consent_linkage = false, consent_statistics = false
            WHERE contributor = ? AND consent IS DISTINCT FROM 'withdrawn'
              AND record_id IN ({withdrawn})""", [contributor, contributor]).fetchone()[0]
        erased = self.con.execute(f"""
            DELETE FROM identities WHERE contributor = ? AND record_id IN ({withdrawn})""",
                                  [contributor, contributor]).fetchone()[0]
        redacted = self._redact_quarantine(contributor, contribution_id)
        # referral consents end, and the free text of consents and referrals (a caseworker's
        # note, where to meet the person) goes; the referral's service, date and needs stay
        now = now_utc()
        referral_texts = self.con.execute(f"""
            UPDATE refer_consents SET note = NULL, withdrawn_at = coalesce(withdrawn_at, ?)
            WHERE contributor = ? AND record_id IN ({withdrawn})
              AND (note IS NOT NULL OR withdrawn_at IS NULL)""",
                                          [now, contributor, contributor]).fetchone()[0]
        referral_texts += self.con.execute(f"""
            UPDATE refer_referrals SET details = NULL
            WHERE contributor = ? AND record_id IN ({withdrawn}) AND details IS NOT NULL""",
                                           [contributor, contributor]).fetchone()[0]
        encodings = self._erase_package_records(contributor)
        unlinkable = f"""{withdrawn} UNION ALL SELECT record_id FROM cases
                         WHERE contributor = ? AND NOT consent_linkage"""
        former = self.con.execute(f"""
            DELETE FROM persons WHERE contributor = ? AND record_id IN ({unlinkable})
            RETURNING person_id""", [contributor, contributor, contributor]).fetchall()
        for table in ("link_review", "person_links"):
            self.con.execute(f"""
                DELETE FROM {table}
                WHERE (left_contributor = ? AND left_record_id IN ({unlinkable}))
                   OR (right_contributor = ? AND right_record_id IN ({unlinkable}))""",
                             [contributor, contributor, contributor,
                              contributor, contributor, contributor])
        if former:
            from safelight.link.hub import reform_persons  # link imports the store

            reform_persons(self, [p for (p,) in former])
        # the ledger's true combination counts of earlier k-aggregate releases (hub-internal,
        # kept for the successive-release audit) describe the withdrawn people too: dropped, so
        # the next audit falls back to the published bounds
        forgotten = 0
        if updated or erased:
            forgotten = self.con.execute("""
                UPDATE releases
                SET params = json_merge_patch(params, '{"published_intervals": {"true": null}}')
                WHERE json_exists(params, '$.published_intervals.true')""").fetchone()[0]
        return {"cases_withdrawn": int(updated), "identities_erased": int(erased),
                "quarantined_rows_redacted": int(redacted),
                "encoded_records_erased": int(encodings),
                "person_links_removed": len(former),
                "release_true_counts_dropped": int(forgotten),
                "referral_rows_cleared": int(referral_texts)}

    def _erase_package_records(self, contributor: str) -> int:
        """Rewrite ``contributor``'s stored PPRL package without its withdrawn records, as the
        hub stores it (:func:`package_records_bytes`); returns the records erased."""
        import io

        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        row = self.con.execute("SELECT manifest, records FROM pprl_packages WHERE contributor = ?",
                               [contributor]).fetchone()
        if row is None:
            return 0
        withdrawn = pa.array([r for (r,) in self.con.execute(
            "SELECT record_id FROM consent_withdrawals WHERE contributor = ?",
            [contributor]).fetchall()], pa.string())
        table = pq.read_table(io.BytesIO(bytes(row[1])))
        keep = pc.invert(pc.is_in(table["record_id"], withdrawn))
        table_kept = table.filter(keep)
        erased = table.num_rows - table_kept.num_rows
        if not erased:
            return 0
        data = package_records_bytes(table_kept)
        sha = hashlib.sha256(data).hexdigest()
        manifest = json.loads(row[0])
        manifest.update(records=table_kept.num_rows, records_sha256=sha,
                        records_with_consent_to_linkage=int(pc.sum(pc.fill_null(
                            table_kept["consent_linkage"], False)).as_py() or 0))
        self.con.execute("UPDATE pprl_packages SET records = ?, records_sha256 = ?, manifest = ? "
                         "WHERE contributor = ?", [data, sha, json.dumps(manifest), contributor])
        return erased

    def _redact_quarantine(self, contributor: str, contribution_id: int | None = None) -> int:
        """Redact ``contributor``'s quarantined rows (of one contribution, when given) that
        carry a withdrawn record id — as a value of the raw row (a JSON object) or of a reason
        (a duplicate id), trimmed as ingest trims ids, or inside a raw line that is not JSON —
        keeping the row, its rules and the reasons' columns and rules (the values and the
        messages, which quote them, go), so that the ingest's row accounting still adds up.
        Returns the rows redacted.

        A row is attributed by value, not by column (the raw row's keys are the source's own
        column names): a quarantined row of another record whose some value equals a withdrawn
        id (e.g. an age "2" when record "2" withdraws) is redacted too — privacy first; real
        record ids rarely collide with other values. Values are matched by a hash join, so the
        cost grows with the rows' values, not with rows × withdrawals."""
        scope = "contribution_id = ?" if contribution_id is not None else \
            "contribution_id IN (SELECT contribution_id FROM contributions WHERE contributor = ?)"
        scope_arg = contribution_id if contribution_id is not None else contributor
        return self.con.execute(f"""
            UPDATE quarantine SET raw = ?,
                   reasons = to_json(list_transform(CAST(reasons AS JSON[]), lambda r: json_object(
                       'column', json_extract_string(r, '$.column'),
                       'rule', json_extract_string(r, '$.rule'))))
            WHERE rowid IN (
                WITH w AS (SELECT record_id FROM consent_withdrawals WHERE contributor = ?)
                SELECT row_key FROM ({_QUARANTINE_ID_MATCHES.format(scope=scope)}))""",
                                [REDACTED_RAW, contributor, scope_arg, REDACTED_RAW]).fetchone()[0]

    def status(self) -> dict[str, Any]:
        q = self.con.execute
        per_contributor = q("""
            SELECT c.contributor,
                   count(*) AS cases,
                   count(*) FILTER (WHERE consent_linkage) AS linkable,
                   count(*) FILTER (WHERE NOT consent_statistics) AS excluded_from_statistics,
                   (SELECT count(*) FROM identities i WHERE i.contributor = c.contributor) AS identities
            FROM cases c GROUP BY c.contributor ORDER BY c.contributor""").fetchall()
        quarantine = q("""
            SELECT k.contributor, count(*) FROM quarantine qq
            JOIN contributions k USING (contribution_id) GROUP BY k.contributor""").fetchall()
        top_rules = q("""
            SELECT rule, count(*) AS n FROM (SELECT unnest(rules) AS rule FROM quarantine)
            GROUP BY rule ORDER BY n DESC LIMIT 10""").fetchall()
        persons = q("""SELECT count(DISTINCT person_id),
                              count(DISTINCT person_id) FILTER (WHERE n_contributors > 1)
                       FROM persons""").fetchone()
        several_countries = q("""SELECT count(*) FROM (
                SELECT p.person_id FROM persons p JOIN contributors c ON c.name = p.contributor
                GROUP BY p.person_id HAVING count(DISTINCT c.country) > 1)""").fetchone()[0]
        by_contributors = q("""SELECT n, count(*) FROM (SELECT person_id,
                count(DISTINCT contributor) AS n FROM persons GROUP BY person_id)
                WHERE n > 1 GROUP BY n ORDER BY n""").fetchall()
        last_run = q("""SELECT run_id, finished_at,
                coalesce(json_extract_string(settings, '$.mode'), 'clear'),
                records, candidate_pairs, linked_pairs, persons, review_pairs
                FROM link_runs ORDER BY finished_at DESC LIMIT 1""").fetchone()
        queue = q("""SELECT count(*) FILTER (WHERE decision IS NULL),
                            count(*) FILTER (WHERE decision IS NOT NULL) FROM link_review""").fetchone()
        return {
            "path": str(self.path),
            "persons": persons[0],
            "persons_seen_by_several_contributors": persons[1],
            "persons_seen_in_several_countries": several_countries,
            # persons seen by 2, 3, ... contributors (JSON keys are strings)
            "persons_by_contributor_count": {str(n): c for n, c in by_contributors},
            "last_link_run": None if last_run is None else dict(zip(
                ("run_id", "finished_at", "mode", "records", "candidate_pairs", "linked_pairs",
                 "persons", "review_pairs"), last_run, strict=True)),
            "review_queue": {"open": queue[0], "decided": queue[1]},
            "schema_version": self.schema_version(),
            "contributions": q("SELECT count(*) FROM contributions").fetchone()[0],
            "cases": q("SELECT count(*) FROM cases").fetchone()[0],
            "identities": q("SELECT count(*) FROM identities").fetchone()[0],
            "quarantined_rows": q("SELECT count(*) FROM quarantine").fetchone()[0],
            "series_rows": q("SELECT count(*) FROM series").fetchone()[0],
            "audit_entries": q("SELECT count(*) FROM audit_log").fetchone()[0],
            "per_contributor": [
                {"contributor": r[0], "cases": r[1], "linkable": r[2],
                 "excluded_from_statistics": r[3], "identities": r[4]} for r in per_contributor],
            "quarantine_per_contributor": dict(quarantine),
            "top_quarantine_rules": [{"rule": r, "rows": n} for r, n in top_rules],
        }


def _remove_abandoned_spools(path: Path) -> None:
    """Remove the spool folders a killed process left beside the hub: an ingest's, and a web
    upload's (``.<hub>.upload-*``: the uploaded file itself, names and all, which the
    server removes when the request ends — unless the server was killed during it).

    Safe because we hold the hub's write lock: no other ingest can be running, and the web
    server holds the lock for as long as it serves uploads.
    """
    import shutil

    for pattern, what in ((f"{path.name}.ingest-*", "an interrupted ingest (nothing of it was "
                                                    "committed)"),
                          (f".{path.name}.upload-*", "an interrupted web upload")):
        for leftover in path.parent.glob(pattern):
            if leftover.is_dir():
                log.warning("removing %s, left by %s", leftover, what)
                shutil.rmtree(leftover, ignore_errors=True)


def _is_duckdb_file(path: Path) -> bool:
    """Whether ``path`` starts as a DuckDB database file does (its magic after 8 bytes)."""
    with path.open("rb") as fh:
        return fh.read(12)[8:12] == b"DUCK"


def open_hub(path: str | Path, *, create: bool = False, read_only: bool = False,
             memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Hub:
    """Open the hub at ``path``; with ``create`` make it (and migrate) if it does not exist."""
    path = Path(path)
    if not path.exists() and not create:
        raise StoreError(f"{path}: no hub here — create one with `safelight init {path}`")
    if path.exists() and path.is_dir():
        raise StoreError(f"{path} is a directory; a hub is a single database file (e.g. hub.duckdb)")
    new = create and not path.exists()
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not new and path.stat().st_size and not _is_duckdb_file(path):
        # DuckDB opens some files (CSV, Parquet, JSON …) as an empty in-memory database: an
        # ingest into `safelight ingest jan.csv feb.csv` (HUB forgotten) reported rows stored
        # and kept nothing
        raise StoreError(f"{path}: not a safelight hub (not a database file; a hub is made "
                         f"with `safelight init`)")
    try:
        con = duckdb.connect(str(path), read_only=read_only,
                             config={"memory_limit": memory_limit, "threads": 2})
        con.execute("SET enable_progress_bar = false")
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            raise StoreError(f"{path}: the hub is in use by another safelight process; wait for it "
                             "to finish — a running `safelight serve` holds it until it is "
                             "stopped (use the web application meanwhile)") from None
        raise StoreError(f"{path}: cannot open the hub ({msg.splitlines()[0]})") from None
    except duckdb.Error as exc:
        if not _is_duckdb_file(path):
            raise StoreError(f"{path}: not a safelight hub (not a database file; a hub is made "
                             f"with `safelight init`)") from None
        raise StoreError(f"{path}: not a safelight hub ({str(exc).splitlines()[0]})") from None
    if new:  # clear identities live here: the owner's alone, whatever the umask
        os.chmod(path, 0o600)
    hub = Hub(path, con, memory_limit)
    if not read_only:
        hub.migrate()
        _remove_abandoned_spools(path)
    else:
        version = hub.schema_version()
        if version == 0:
            raise StoreError(f"{path}: not a safelight hub (no schema)")
        if version > LATEST_VERSION:  # read-only: not refused, but what it says may be wrong
            log.warning("%s: the hub has schema version %d, newer than this safelight knows "
                        "(%d): what it reads may be incomplete — upgrade safelight", path,
                        version, LATEST_VERSION)
    return hub


def compact_hub(path: str | Path, *, actor: str = "cli") -> tuple[int, int]:
    """Rewrite the hub at ``path`` into a fresh file holding only its live data, and put it in
    the hub's place; returns the file's size before and after, in bytes.

    Why: deleting rows (a consent withdrawal erases the person's identity; a quarantined row is
    redacted) frees their blocks inside the database file, but DuckDB does not overwrite freed
    blocks, so the erased names and numbers stay readable in the file's bytes until new data
    happens to reuse them (found by a privacy review: a withdrawn person's name and phone were
    still in the file after a checkpoint). ``COPY FROM DATABASE`` into a new file copies the
    tables, sequences and constraints, not the freed blocks.

    The copy is checked (the same tables with the same row counts, the same schema version,
    an intact audit chain) and audited before it replaces the hub — atomically, owner-only,
    with the hub's owner kept where the caller may set it — and the hub stays open (so locked
    against every other writer) until then: no write can land in the old file after the copy.
    A symlink to the hub compacts the file it points to."""
    path = Path(path).resolve()
    before = path.stat().st_size
    fresh = path.with_name(f".{path.name}.compact")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    try:
        with open_hub(path) as hub:  # held until the copy has replaced it
            ok, why = hub.verify_audit()
            if not ok:
                raise StoreError(f"{path}: the audit log's chain is broken ({why}) — restore "
                                 "the hub from a backup before compacting it")
            hub.con.execute("CHECKPOINT")
            name = hub.con.execute("SELECT current_database()").fetchone()[0]
            counts = _row_counts(hub.con, name)
            version = hub.schema_version()
            hub.con.execute(f"ATTACH '{_sql_text(fresh)}' AS compacted")
            try:
                hub.con.execute(f'COPY FROM DATABASE "{name}" TO compacted')
                copied = _row_counts(hub.con, "compacted")
            finally:
                hub.con.execute("DETACH compacted")
            if copied != counts:
                raise StoreError(f"{path}: the compacted copy does not hold the hub's rows "
                                 "(nothing was replaced)")
            _owner_only_like(fresh, path)
            with open_hub(fresh) as copy:
                if copy.schema_version() != version or not copy.verify_audit()[0]:
                    raise StoreError(f"{path}: the compacted copy does not check out (nothing "
                                     "was replaced)")
                with copy.transaction():
                    copy.audit(actor, "compact", path.name,
                               {"bytes_before": before, "bytes_after": fresh.stat().st_size})
                copy.con.execute("CHECKPOINT")
            os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
        Path(f"{fresh}.wal").unlink(missing_ok=True)
    return before, path.stat().st_size


def _owner_only_like(path: Path, like: Path) -> None:
    """Make ``path`` readable by its owner only, and owned as ``like`` is where the caller
    may change it (root compacting a service's hub leaves it the service's)."""
    os.chmod(path, 0o600)
    st = like.stat()
    try:
        os.chown(path, st.st_uid, st.st_gid)
    except PermissionError:
        pass  # not root: the file is the caller's, as the hub was if the caller could open it


def _row_counts(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    """Rows per base table of a database ``catalog``."""
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND "
        "table_type = 'BASE TABLE' ORDER BY 1", [catalog]).fetchall()]
    return {t: con.execute(f'SELECT count(*) FROM "{catalog}"."{t}"').fetchone()[0]
            for t in tables}


def _sql_text(path: Path) -> str:
    """A path as the inside of a SQL string literal."""
    return str(path).replace("'", "''")
