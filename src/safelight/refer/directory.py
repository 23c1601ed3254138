"""The service directory in the hub: import, export, public view, and revealing sealed locations.

Contract
--------
:func:`import_directory` reads an HSDS 3.0 file (JSON: a list of service objects, an HSDS API page
``{"contents": [...]}`` or ``{"organizations": [...], "services": [...]}``; tabular: a folder of
CSV files) and stores every valid service in one transaction. Every top-level object (service,
organization) and every orphan CSV row is either accepted or quarantined in ``refer_quarantine``
with its reasons, and ``read == accepted + quarantined``. A confidential location given in clear is
sealed with the operator's key at import (no key: the service is quarantined, nothing is stored in
clear); one already sealed is kept as it is. A later import of the same service id replaces it.

:func:`export_directory` writes the public directory (no confidential location at all) or, with
``include_sealed``, the operator's copy (confidential locations as sealed blobs, never in clear).
:func:`reveal_location` opens a sealed location for a caseworker granted ``may_reveal`` and writes
an audit entry; every refusal is an error, never a partial answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import ChainMap
from pathlib import Path
from typing import Any

import pyarrow as pa

from safelight import __version__
from safelight.errors import InputFileError, RefusedError, UsageError
from safelight.ingest.convert import Reason
from safelight.refer import hsds, tabular, vault
from safelight.refer.model import ImportReport
from safelight.store.hub import Hub, now_utc

log = logging.getLogger("safelight.refer")

#: tabular HSDS tables whose rows place a service (a street, a phone): an orphan row of them (its
#: location_id names no row — a typo) cannot be told apart from a confidential location's, so
#: the quarantine keeps only its ids (privacy review, 2026-12-01: a shelter's street was kept
#: in clear in refer_quarantine); so does a quarantined service with a confidential location
_PLACE_TABLES = frozenset({"addresses", "phones"})
_ORPHAN_KEPT = ("id", "location_id", "service_id", "organization_id", "service_at_location_id")

_SERVICE_COLUMNS = ("service_id", "organization_id", "name", "status", "country", "region", "place",
                    "latitude", "longitude", "needs", "languages", "interpretation", "min_age",
                    "max_age", "genders", "nationalities", "legal_statuses", "children",
                    "capacity_available", "capacity_maximum", "hours", "confidential", "public_doc",
                    "import_id")


class AccessError(RefusedError):
    """A caseworker asked for something they are not authorised to see."""


def _load_json(path: Path) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputFileError(path, "not UTF-8 text", "save the JSON as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                             "fix the JSON syntax") from None
    orgs: list[Any] = []
    if isinstance(doc, list):
        services = doc
    elif isinstance(doc, dict) and isinstance(doc.get("contents"), list):
        services = doc["contents"]
    elif isinstance(doc, dict) and isinstance(doc.get("services"), list):
        services, orgs = doc["services"], doc.get("organizations") or []
    else:
        raise InputFileError(path, "not an HSDS service list",
                             "give a JSON list of HSDS service objects, an HSDS API page "
                             "{\"contents\": [...]}, or {\"organizations\": [...], \"services\": [...]}")
    return list(enumerate(services, start=1)), list(enumerate(orgs, start=1))


def _raw(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)[:100_000]


def import_directory(hub: Hub, path: str | Path, *, actor: str, key: vault.Key | None = None) -> ImportReport:
    """Import an HSDS JSON file or tabular folder into the hub (see the module contract)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file or folder", "check the path")
    if path.is_dir():
        fmt = "hsds-csv"
        services, orgs, orphans, _rows = tabular.read_tables(path)
        digest = hashlib.sha256()
        for f in sorted(path.glob("*.csv")):
            digest.update(f.name.encode() + b"\0" + f.read_bytes())
        sha = digest.hexdigest()
    else:
        fmt = "hsds-json"
        services, orgs = _load_json(path)
        orphans = []
        sha = hashlib.sha256(path.read_bytes()).hexdigest()

    with hub.transaction() as con:
        import_id = con.execute("SELECT nextval('refer_import_ids')").fetchone()[0]
        report = ImportReport(import_id, fmt)
        quarantine: list[tuple] = []

        def reject(entity: str, row: int, object_id: Any, reasons: list[Reason], raw: Any) -> None:
            if hsds.holds_confidential(raw):  # its public text may repeat the place (the
                # `leak` rule): only its ids are kept (a review found a shelter's street in a
                # quarantined service's description)
                raw = {k: raw.get(k) for k in _ORPHAN_KEPT if k in raw}
                raw["redacted"] = ("a service with a confidential location: its values are not "
                                   "kept")
            quarantine.append((import_id, entity, row, None if object_id is None else str(object_id),
                               sorted({r.rule for r in reasons}),
                               json.dumps([r.as_dict() for r in reasons], ensure_ascii=False),
                               raw if isinstance(raw, str) else _raw(hsds.redact_confidential(raw))))
            report.quarantined[entity] = report.quarantined.get(entity, 0) + 1

        known_orgs = {r[0]: json.loads(r[1]) for r in con.execute(
            "SELECT organization_id, CAST(doc AS VARCHAR) FROM refer_organizations").fetchall()}
        new_orgs: dict[str, dict] = {}
        for row, org in orgs:
            report.read["organization"] = report.read.get("organization", 0) + 1
            reasons = hsds.check_organization(org)
            if reasons:
                reject("organization", row, org.get("id") if isinstance(org, dict) else None, reasons, org)
            else:
                new_orgs[str(org["id"])] = org
                report.accepted["organization"] = report.accepted.get("organization", 0) + 1
        for table, row, raw, message in orphans:
            report.read[table] = report.read.get(table, 0) + 1
            if table in _PLACE_TABLES:  # whose place? maybe a confidential one: fail closed
                raw = {k: v for k, v in raw.items() if k in _ORPHAN_KEPT}
                raw["redacted"] = ("an address or phone of no known location or service: its "
                                   "values are not kept (it may be a confidential location's)")
            reject(table, row, raw.get("id"), [Reason(table, "orphan", raw.get("id"), message)], raw)

        records: list[hsds.ServiceRecord] = []
        seen: set[str] = set()
        # one live view (this file's organisations first), not a merged copy per service
        organizations = ChainMap(new_orgs, known_orgs)
        for row, svc in services:
            report.read["service"] = report.read.get("service", 0) + 1
            rec, reasons = hsds.check_service(svc, organizations)
            if rec is not None and rec.service_id in seen:
                rec, reasons = None, [Reason("id", "unique", rec.service_id, "this service id appears twice in the file")]
            if rec is not None and rec.to_seal and key is None:
                rec, reasons = None, [Reason("safelight_confidential", "key", rec.service_id,
                                             "a confidential location is given in clear but no key was "
                                             "given to seal it: import with --key KEYFILE")]
            if rec is None:
                reject("service", row, svc.get("id") if isinstance(svc, dict) else None, reasons, svc)
                continue
            seen.add(rec.service_id)
            if rec.organization and rec.organization_id not in new_orgs:
                new_orgs[rec.organization_id] = rec.organization
            records.append(rec)
            report.accepted["service"] = report.accepted.get("service", 0) + 1

        if new_orgs:
            org_table = pa.table({
                "organization_id": list(new_orgs),
                "name": [str(o.get("name")) for o in new_orgs.values()],
                "doc": [json.dumps(hsds.public_service({}, o)["organization"], ensure_ascii=False)
                        for o in new_orgs.values()],
                "import_id": pa.array([import_id] * len(new_orgs), type=pa.int32())})
            con.register("_refer_orgs", org_table)
            try:
                con.execute("DELETE FROM refer_organizations WHERE organization_id IN "
                            "(SELECT organization_id FROM _refer_orgs)")
                con.execute("INSERT INTO refer_organizations SELECT * FROM _refer_orgs")
            finally:
                con.unregister("_refer_orgs")
        _store_services(hub, records, import_id, key, report)
        if quarantine:
            con.executemany("INSERT INTO refer_quarantine VALUES (?, ?, ?, ?, ?, ?, ?)", quarantine)
        con.execute("INSERT INTO refer_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [import_id, path.name, sha, fmt, now_utc(), actor, __version__, report.rows_read,
                     report.rows_accepted, report.rows_quarantined])
        hub.audit(actor, "refer_import", f"refer_import:{import_id}", report.as_dict() | {"file_sha256": sha})
    log.info("refer import %d: %d read, %d accepted, %d quarantined, %d locations sealed", import_id,
             report.rows_read, report.rows_accepted, report.rows_quarantined, report.sealed_locations)
    return report


def _store_services(hub: Hub, records: list[hsds.ServiceRecord], import_id: int,
                    key: vault.Key | None, report: ImportReport) -> None:
    if not records:
        return
    con = hub.con
    cols: dict[str, list[Any]] = {c: [] for c in _SERVICE_COLUMNS}
    sealed_rows = []
    now = now_utc()
    for r in records:
        for c in _SERVICE_COLUMNS:
            if c == "import_id":
                cols[c].append(import_id)
            elif c == "public_doc":
                cols[c].append(json.dumps(r.public_doc, ensure_ascii=False))
            elif c == "hours":
                cols[c].append(None if r.hours is None else json.dumps(r.hours))
            else:
                cols[c].append(getattr(r, c))
        for lid, plain in r.to_seal:
            nonce, ct = vault.seal(key, r.service_id, lid, plain)  # key checked by the caller
            sealed_rows.append((r.service_id, lid, key.key_id, nonce, ct, now))
        for lid, blob in r.sealed:
            key_id, nonce, ct = hsds.sealed_parts(blob)
            sealed_rows.append((r.service_id, lid, key_id, nonce, ct, now))
    types = {"needs": pa.list_(pa.string()), "languages": pa.list_(pa.string()),
             "genders": pa.list_(pa.string()), "nationalities": pa.list_(pa.string()),
             "legal_statuses": pa.list_(pa.string()), "latitude": pa.float64(), "longitude": pa.float64(),
             "min_age": pa.int32(), "max_age": pa.int32(), "capacity_available": pa.int32(),
             "capacity_maximum": pa.int32(), "interpretation": pa.bool_(), "confidential": pa.bool_(),
             "import_id": pa.int32()}
    table = pa.table({c: pa.array(v, type=types.get(c, pa.string())) for c, v in cols.items()})
    con.register("_refer_new", table)
    try:
        con.execute("DELETE FROM refer_sealed_locations WHERE service_id IN (SELECT service_id FROM _refer_new)")
        con.execute("DELETE FROM refer_services WHERE service_id IN (SELECT service_id FROM _refer_new)")
        con.execute(f"INSERT INTO refer_services SELECT {', '.join(_SERVICE_COLUMNS)} FROM _refer_new")
    finally:
        con.unregister("_refer_new")
    if sealed_rows:
        con.executemany("INSERT INTO refer_sealed_locations VALUES (?, ?, ?, ?, ?, ?)", sealed_rows)
    report.sealed_locations += len(sealed_rows)


def organizations(hub: Hub) -> list[dict[str, Any]]:
    return [json.loads(d) for (d,) in hub.con.execute(
        "SELECT CAST(doc AS VARCHAR) FROM refer_organizations ORDER BY organization_id").fetchall()]


def export_directory(hub: Hub, folder: str | Path, *, fmt: str = "json", include_sealed: bool = False) -> dict[str, int]:
    """Write the directory as HSDS JSON (services.json, organizations.json) or CSV tables."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; give a folder to export into")
    docs = [json.loads(d) for (d,) in hub.con.execute(
        "SELECT CAST(public_doc AS VARCHAR) FROM refer_services ORDER BY service_id").fetchall()]
    if include_sealed:
        by_service: dict[str, list] = {}
        for sid, lid, key_id, nonce, ct in hub.con.execute(
                "SELECT service_id, location_id, key_id, nonce, ciphertext FROM refer_sealed_locations").fetchall():
            by_service.setdefault(sid, []).append(
                {"id": f"sal-{lid}", "location": {"id": lid, "location_type": "physical",
                                                  "safelight_confidential": True,
                                                  "safelight_sealed": hsds.sealed_blob(key_id, nonce, ct)}})
        for d in docs:
            d.setdefault("service_at_locations", []).extend(by_service.get(d["id"], []))
    orgs = organizations(hub)
    for d in docs:
        d.pop("organization", None)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        (folder / "services.json").write_text(json.dumps(docs, ensure_ascii=False, indent=1), encoding="utf-8")
        (folder / "organizations.json").write_text(json.dumps(orgs, ensure_ascii=False, indent=1), encoding="utf-8")
        return {"services": len(docs), "organizations": len(orgs)}
    if fmt == "csv":
        return tabular.write_tables(docs, orgs, folder)
    raise UsageError(f"export format {fmt!r}: use json or csv")


def grant_caseworker(hub: Hub, caseworker: str, *, actor: str, organization: str | None = None,
                     may_reveal: bool = False) -> None:
    """Register (or update) a caseworker; ``may_reveal`` lets them open confidential locations."""
    if not caseworker.strip():
        raise UsageError("give the caseworker's user name")
    with hub.transaction() as con:
        con.execute("DELETE FROM refer_caseworkers WHERE caseworker = ?", [caseworker])
        con.execute("INSERT INTO refer_caseworkers VALUES (?, ?, ?, ?, ?)",
                    [caseworker, organization, may_reveal, actor, now_utc()])
        hub.audit(actor, "refer_grant_caseworker", f"caseworker:{caseworker}",
                  {"organization": organization, "may_reveal": may_reveal})


def reveal_location(hub: Hub, service_id: str, *, key: vault.Key, caseworker: str,
                    purpose: str) -> list[dict[str, Any]]:
    """The real location(s) of a confidential service, for an authorised caseworker (audited)."""
    if not purpose.strip():
        raise UsageError("say why the location is needed (--purpose); it goes to the audit log")
    row = hub.con.execute("SELECT may_reveal FROM refer_caseworkers WHERE caseworker = ?", [caseworker]).fetchone()
    if row is None or not row[0]:
        with hub.transaction():
            hub.audit(caseworker, "refer_reveal_refused", f"service:{service_id}", {"purpose": purpose})
        raise AccessError(f"caseworker {caseworker!r} is not authorised to see confidential locations — "
                          "the directory operator grants it with `safelight refer grant --may-reveal`")
    sealed = hub.con.execute("""SELECT location_id, key_id, nonce, ciphertext FROM refer_sealed_locations
                                WHERE service_id = ? ORDER BY location_id""", [service_id]).fetchall()
    if not sealed:
        raise UsageError(f"service {service_id}: no confidential location is stored for it")
    out = [vault.unseal(key, service_id, lid, nonce, ct, key_id) for lid, key_id, nonce, ct in sealed]
    with hub.transaction():
        hub.audit(caseworker, "refer_reveal_location", f"service:{service_id}",
                  {"purpose": purpose, "locations": len(out)})
    return out
