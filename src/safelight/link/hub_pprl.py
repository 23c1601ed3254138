"""Privacy-preserving linkage inside a hub: store contribution packages, link them to persons.

Contract: :func:`receive_package` checks a contribution package (format, key fingerprint
consistent with the packages already stored, same encoding settings) and stores it in the
hub's ``pprl_packages`` table (store migration 7), replacing that contributor's previous
package; the person links and review pairs (decisions included) of records the new package
withdraws from linkage or no longer holds are deleted with it, with their accepted links, and the
persons they belonged to re-formed from the links that remain (as for a withdrawal,
:func:`safelight.link.hub.reform_persons`). :func:`link_hub_encoded` links every stored package with
:func:`safelight.link.pprl.link_encoded` and writes ``persons``, ``link_review`` and
``link_runs`` exactly as the clear :func:`safelight.link.hub.link_hub` does — so ``safelight
status`` and reports count persons the same way. Only records whose package flag allows linkage
take part, and none whose case at the hub refuses it (consent ``none``, ``statistics_only``,
withdrawn) or whose withdrawal the hub recorded. The hub never holds a key or a clear
identifier in this mode.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import io
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safelight.errors import RefusedError, UsageError
from safelight.identity.encode import BLOCKING_RULES, EncodingSettings
from safelight.link.decisions import index_decisions, load_decisions
from safelight.link.encoded import (
    EncodedRecords,
    check_manifest_counts,
    from_parts,
    read_package,
)
from safelight.link.hub import HubLinkResult, reform_persons, store_run
from safelight.link.pprl import PPRLSettings, link_encoded, warn_if_nothing_linked
from safelight.store import Hub
from safelight.store.hub import package_records_bytes

__all__ = ["link_hub_encoded", "load_hub_packages", "receive_package"]

log = logging.getLogger("safelight.link.hub_pprl")


def _stored(hub: Hub) -> list[tuple[str, str, bytes]]:
    cur = hub.con.cursor()
    try:
        return cur.execute("SELECT contributor, manifest, records FROM pprl_packages "
                           "ORDER BY contributor").fetchall()
    finally:
        cur.close()


def _without_refused_cases(hub: Hub, contributor: str, table: pa.Table) -> pa.Table:
    """``table`` (a stored package's records) without the records whose case at the hub does
    not allow linkage (``cases.consent_linkage`` false: consent ``none``, ``statistics_only``
    or ``withdrawn``). Applies only where the hub holds cases of ``contributor``; records with
    no case there keep their package flag, and their count is logged as a warning (the hub
    cannot check their consent)."""
    con = hub.con.cursor()
    try:
        if not con.execute("SELECT count(*) FROM cases WHERE contributor = ?",
                           [contributor]).fetchall()[0][0]:
            return table
        con.register("_pprl_ids", pa.table({"record_id": table["record_id"]}))
        refused = pa.array([r for (r,) in con.execute("""
            SELECT DISTINCT record_id FROM cases WHERE contributor = ? AND NOT consent_linkage
              AND record_id IN (SELECT record_id FROM _pprl_ids)""", [contributor]
                                                       ).fetchall()], pa.string())
        caseless = con.execute("""
            SELECT count(*) FROM _pprl_ids WHERE record_id NOT IN
              (SELECT record_id FROM cases WHERE contributor = ?)""", [contributor]
                               ).fetchall()[0][0]
    finally:
        con.close()
    if len(refused):
        log.info("%s: %d package records left out: their case at the hub does not allow "
                 "linkage", contributor, len(refused))
        table = table.filter(pc.invert(pc.is_in(table["record_id"], refused)))
    if caseless:
        log.warning("%s: %d package records have no case at the hub; their consent is taken "
                    "from the package's flag alone", contributor, caseless)
    return table


def load_hub_packages(hub: Hub) -> EncodedRecords:
    """All stored packages as :class:`EncodedRecords`: records with consent to linkage in their
    package, no withdrawal recorded at the hub and — where the hub holds the contributor's
    cases — a case whose consent allows linkage (:func:`_without_refused_cases`)."""
    rows = _stored(hub)
    if not rows:
        raise UsageError(f"{hub.path}: no contribution packages stored — receive them with "
                         "`safelight link receive HUB PACKAGE`")
    withdrawn: dict[str, set[str]] = {}
    for c, rid in hub.con.execute("SELECT contributor, record_id FROM consent_withdrawals").fetchall():
        withdrawn.setdefault(c, set()).add(rid)
    parts = []
    for c, m, r in rows:
        table = pq.read_table(io.BytesIO(bytes(r)))
        if withdrawn.get(c):  # a withdrawal recorded at the hub holds against the package
            keep = pc.invert(pc.is_in(table["record_id"],
                                      pa.array(sorted(withdrawn[c]))))
            table = table.filter(keep)
        table = _without_refused_cases(hub, c, table)
        parts.append((json.loads(m), table))
    return from_parts(parts, [f"{hub.path}:pprl_packages[{c}]" for c, _, _ in rows])


_MANIFEST_KEYS = ("format", "format_version", "contributor", "created", "key_fingerprint",
                  "blocking_rules", "records", "records_with_consent_to_linkage")


def _only_what_safelight_writes(path: Path, manifest: dict, table: pa.Table
                                ) -> tuple[dict, pa.Table, bytes]:
    """The package reduced to what `safelight identity encode` writes, so that nothing else a
    sender put in it (a clear name column, Parquet metadata, extra manifest keys) reaches the
    hub: unexpected columns refuse the package, the Parquet file is written anew without
    metadata, and the manifest keeps only its known keys."""
    settings = EncodingSettings.from_dict(manifest["settings"])
    expected = {"record_id": pa.types.is_string, "consent_linkage": pa.types.is_boolean}
    expected |= {f"bf_{f.name}": pa.types.is_fixed_size_binary for f in settings.fields}
    expected |= {f"bk_{rule}": pa.types.is_int64 for rule in BLOCKING_RULES}
    unexpected = [c for c in table.column_names if c not in expected]
    wrong = [c for c in table.column_names if c in expected and not expected[c](table.schema.field(c).type)]
    if unexpected or wrong:
        raise UsageError(f"{path}: the package holds columns safelight does not write "
                         f"({', '.join(unexpected + wrong)}); it may carry clear data and is refused — "
                         "encode the contribution again with `safelight identity encode`")
    table = table.replace_schema_metadata(None)
    data = package_records_bytes(table)
    clean = {k: manifest[k] for k in _MANIFEST_KEYS if k in manifest}
    clean["settings"] = settings.to_dict()
    clean["fields_present"] = {f.name: int(manifest.get("fields_present", {}).get(f.name, 0))
                               for f in settings.fields}
    clean["records_sha256"] = hashlib.sha256(data).hexdigest()
    return clean, table, data


def _forget_unlinkable(hub: Hub, contributor: str, table: pa.Table) -> dict[str, int]:
    """Delete the ``persons`` and ``link_review`` rows (decisions, notes and reasons included)
    of ``contributor``'s records that its new package ``table`` withdraws from linkage (consent
    flag off) or no longer holds — as :meth:`safelight.store.Hub.apply_withdrawals` does for
    withdrawals recorded at the hub — so that no review decision outlives the withdrawal and
    binds a later run — and their ``person_links``, and re-form the persons they belonged to
    from the links that remain (:func:`safelight.link.hub.reform_persons`). Call inside a
    transaction."""
    consent = pc.fill_null(table["consent_linkage"], False)
    kept = pa.table({"record_id": pc.filter(table["record_id"], consent)})
    con = hub.con
    con.register("_pprl_kept", kept)
    try:
        former = con.execute("""
            DELETE FROM persons WHERE contributor = ?
              AND record_id NOT IN (SELECT record_id FROM _pprl_kept)
            RETURNING person_id""", [contributor]).fetchall()
        reviews = con.execute("""
            DELETE FROM link_review
            WHERE (left_contributor = ? AND left_record_id NOT IN (SELECT record_id FROM _pprl_kept))
               OR (right_contributor = ? AND right_record_id NOT IN
                       (SELECT record_id FROM _pprl_kept))""",
                              [contributor, contributor]).fetchone()[0]
        con.execute("""
            DELETE FROM person_links
            WHERE (left_contributor = ? AND left_record_id NOT IN (SELECT record_id FROM _pprl_kept))
               OR (right_contributor = ? AND right_record_id NOT IN
                       (SELECT record_id FROM _pprl_kept))""", [contributor, contributor])
    finally:
        con.unregister("_pprl_kept")
    reform_persons(hub, [p for (p,) in former])
    if former or reviews:
        log.info("%s: %d person links and %d review pairs of records withdrawn from linkage "
                 "removed", contributor, len(former), reviews)
    return {"person_links_removed": len(former), "review_pairs_removed": int(reviews)}


def receive_package(hub: Hub, path: Path, *, actor: str = "link",
                    new_contributor: bool = False, country: str | None = None,
                    allow_older: bool = False) -> dict[str, object]:
    """Check and store the package at ``path``; returns its manifest,
    ``encoded_records_erased`` (its records that withdrawals recorded at the hub erased) and
    ``unchanged`` (true when it is the package already stored: nothing of it is written; then
    ``country_set`` is the country ``country`` registered, if it set or changed one — audited
    as ``contributor_country``).

    A package encoded before the one stored for its contributor (manifest ``created``) is
    refused unless ``allow_older``: it would undo what the newer export changed — consent
    withdrawn at the contributor since, records removed. A changed ``country`` is warned
    about and written to the audit entry.

    The package's contributor must be known to the hub — it has ingested cases, sent a
    package before or has consent withdrawals recorded — unless ``new_contributor``
    (``link receive --new-contributor``): withdrawals and cases are matched by contributor
    name, so a misspelt name would bring withdrawn records back into linkage. ``country``
    (ISO code or name) registers the contributor's country, as ``ingest --country`` does, for
    the persons seen in several countries.

    :raises UsageError: no contributor named, an unknown one, or a package that does not
        fit what is stored (another key or settings).
    :raises RefusedError: a package older than the stored one, without ``allow_older`` (exit
        8: it would undo consent withdrawn since)."""
    manifest, table = read_package(path)  # format, SHA-256 and record count checks
    check_manifest_counts(path, manifest, table)
    manifest, table, data = _only_what_safelight_writes(path, manifest, table)
    contributor = str(manifest.get("contributor") or "")
    if not contributor:
        raise UsageError(f"{path}: the package names no contributor — encode it with "
                         "`--contributor NAME` (or `contributor:` in MAP.yaml)")
    known = hub.known_contributors()
    if contributor not in known and not new_contributor:
        close = difflib.get_close_matches(contributor, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"{path}: the hub knows no contributor named {contributor!r}{hint}; "
                         "a misspelt name would escape its consent withdrawals. For a "
                         "contributor new to the hub, receive with --new-contributor")
    before = hub.con.execute("SELECT records_sha256, manifest FROM pprl_packages WHERE "
                             "contributor = ?", [contributor]).fetchone()
    if before is not None and before[0] == hashlib.sha256(data).hexdigest():
        log.info("%s: the package stored for %s already", path, contributor)
        country_set = None
        if country is not None:  # the country still counts (and setting it is audited)
            with hub.transaction():
                was = hub.con.execute("SELECT country FROM contributors WHERE name = ?",
                                      [contributor]).fetchone()
                changed = hub.ensure_contributor(contributor, country)
                now = hub.con.execute("SELECT country FROM contributors WHERE name = ?",
                                      [contributor]).fetchone()[0]
                if now != (was[0] if was else None):
                    country_set = now
                    hub.audit(actor, "contributor_country", contributor,
                              {"country": now, **({"country_changed_from": changed}
                                                  if changed else {})})
        return {**manifest, "encoded_records_erased": 0, "unchanged": True,
                "country_set": country_set}
    if before is not None and not allow_older:
        stored = str(json.loads(before[1]).get("created") or "")
        created = str(manifest.get("created") or "")
        if created < stored:  # ISO 8601 UTC times order as text; a missing one is oldest
            when = created or "at an unknown time"
            raise RefusedError(
                f"{path}: this package of {contributor} was encoded {when}, before the one the "
                f"hub holds ({stored}) — receiving it would undo what the newer export changed "
                "(consent withdrawn since, records removed). Receive the newest export, or add "
                "--allow-older if this one is meant to replace it")
    others = [row for row in _stored(hub) if row[0] != contributor]
    if others:  # refused unless made with the same key and settings as what is stored
        c0, m0, r0 = others[0]
        from_parts([(json.loads(m0), pq.read_table(io.BytesIO(bytes(r0)))), (manifest, table)],
                   [f"{hub.path}:pprl_packages[{c0}]", str(path)])
    con = hub.con
    con.complete()
    with hub.transaction():
        country_before = (hub.ensure_contributor(contributor, country) if country is not None
                          else None)
        con.execute("DELETE FROM pprl_packages WHERE contributor = ?", [contributor])
        con.execute("INSERT INTO pprl_packages VALUES (?, ?, ?, ?, ?, ?)", [
            contributor, manifest["key_fingerprint"], hashlib.sha256(data).hexdigest(),
            json.dumps(manifest), data, dt.datetime.now(dt.UTC).replace(tzinfo=None)])
        forgotten = _forget_unlinkable(hub, contributor, table)
        # withdrawals recorded at the hub before this package came: their records are not kept
        forgotten["encoded_records_erased"] = hub.apply_withdrawals(contributor)[
            "encoded_records_erased"]
        hub.audit(actor, "pprl_receive", contributor, {
            "records": manifest.get("records"), "key_fingerprint": manifest["key_fingerprint"],
            **forgotten, **({"country_changed_from": country_before} if country_before else {})})
    log.info("stored the package of %s (%s records)", contributor, manifest.get("records"))
    return {**manifest, "encoded_records_erased": forgotten["encoded_records_erased"],
            "unchanged": False}


def link_hub_encoded(hub: Hub, settings: PPRLSettings | None = None, *, actor: str = "link"
                     ) -> HubLinkResult:
    """Link the stored packages and write persons, review queue and run (module docstring)."""
    s = settings or PPRLSettings()
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    er = load_hub_packages(hub)
    if len(er) < 2:
        raise UsageError(f"{hub.path}: fewer than two encoded records with consent to linkage")
    reviewed = None
    if s.learn_from_reviews:
        reviewed = index_decisions(load_decisions(hub), er.contributor, er.record_id)
    res = link_encoded(er, s, reviewed)
    warn_if_nothing_linked(er, res.labels)
    return store_run(hub, res, er.contributor, er.record_id,
                     {"mode": "pprl", **s.to_dict(), "key_fingerprint": er.key_fingerprint,
                      "encoding": er.settings.to_dict()},
                     s.threshold, s.review_low, s.review_high, started, actor)
