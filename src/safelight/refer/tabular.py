"""HSDS 3.0 tabular form (one CSV per table) to and from nested service objects.

Contract: :func:`write_tables` writes the CSV files of HSDS's tabular data package for a list
of nested service objects and organizations (extension columns ``safelight_*`` on
locations.csv); :func:`read_tables` assembles them back. Every CSV row ends up in exactly one
place: attached to the service or organization it belongs to, or in the returned list of
orphans (a row naming a parent that does not exist), so the import can quarantine it.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from safelight.errors import InputFileError

TABLES: dict[str, tuple[str, ...]] = {
    "organizations": ("id", "name", "alternate_name", "description", "email", "website"),
    "services": ("id", "organization_id", "name", "alternate_name", "description", "url", "email",
                 "status", "interpretation_services", "application_process", "fees_description",
                 "eligibility_description", "minimum_age", "maximum_age", "assured_date", "alert"),
    "locations": ("id", "location_type", "url", "organization_id", "name", "alternate_name",
                  "description", "transportation", "latitude", "longitude", "safelight_confidential",
                  "safelight_front_door", "safelight_sealed"),
    "service_at_locations": ("id", "service_id", "location_id", "description"),
    "addresses": ("id", "location_id", "attention", "address_1", "address_2", "city", "region",
                  "state_province", "postal_code", "country", "address_type"),
    "phones": ("id", "location_id", "service_id", "organization_id", "service_at_location_id",
               "number", "extension", "type", "description"),
    "schedules": ("id", "service_id", "location_id", "service_at_location_id", "freq", "byday",
                  "opens_at", "closes_at", "description", "valid_from", "valid_to", "timezone", "notes"),
    "languages": ("id", "service_id", "location_id", "name", "code", "note"),
    "service_areas": ("id", "service_id", "name", "description"),
    "service_capacities": ("id", "service_id", "unit_id", "available", "maximum", "description", "updated"),
    "units": ("id", "name", "scheme", "identifier", "uri"),
    "taxonomy_terms": ("id", "code", "name", "description", "taxonomy"),
    "attributes": ("id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value", "label"),
}
_NUMBERS = {"minimum_age", "maximum_age", "latitude", "longitude", "available", "maximum", "timezone"}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def write_tables(services: list[dict[str, Any]], organizations: list[dict[str, Any]], folder: Path) -> dict[str, int]:
    """Write the tabular package to ``folder``; returns rows per table."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: dict[str, set] = defaultdict(set)

    def add(table: str, row: dict[str, Any]) -> None:
        key = row.get("id")
        if key is not None and key in seen[table]:
            return
        seen[table].add(key)
        rows[table].append(row)

    for org in organizations:
        add("organizations", org)
    for s in services:
        sid = s["id"]
        add("services", {**s, "organization_id": s.get("organization_id") or (s.get("organization") or {}).get("id")})
        for p in s.get("phones", []):
            add("phones", {**p, "service_id": sid})
        for sc in s.get("schedules", []):
            add("schedules", {**sc, "service_id": sid})
        for lang in s.get("languages", []):
            add("languages", {**lang, "service_id": sid})
        for area in s.get("service_areas", []):
            add("service_areas", {**area, "service_id": sid})
        for cap in s.get("service_capacities", []):
            unit = cap.get("unit") or {"id": "unit-places", "name": "places"}
            add("units", unit)
            add("service_capacities", {**cap, "service_id": sid, "unit_id": unit.get("id")})
        for a in s.get("attributes", []):
            term = a.get("taxonomy_term") or {}
            add("taxonomy_terms", term)
            add("attributes", {**a, "link_id": sid, "link_type": "service", "link_entity": "service",
                               "taxonomy_term_id": term.get("id") or a.get("taxonomy_term_id")})
        for sal in s.get("service_at_locations", []):
            loc = sal["location"]
            lid = loc["id"]
            add("service_at_locations", {**sal, "service_id": sid, "location_id": lid})
            add("locations", loc)
            for addr in loc.get("addresses", []):
                add("addresses", {**addr, "location_id": lid})
            for p in loc.get("phones", []):
                add("phones", {**p, "location_id": lid})
            for lang in loc.get("languages", []):
                add("languages", {**lang, "location_id": lid})
            for sc in sal.get("schedules", []):
                add("schedules", {**sc, "service_at_location_id": sal["id"]})
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, cols in TABLES.items():
        with open(folder / f"{table}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in rows.get(table, []):
                w.writerow([_cell(r.get(c)) for c in cols])
        counts[table] = len(rows.get(table, []))
    return counts


def _read(folder: Path, table: str) -> list[tuple[int, dict[str, Any]]]:
    path = folder / f"{table}.csv"
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                return []
            if "id" not in reader.fieldnames:
                raise InputFileError(path, "no 'id' column", "HSDS tables have an id column in the header row")
            out = []
            for i, row in enumerate(reader, start=2):
                clean: dict[str, Any] = {}
                for k, v in row.items():
                    if k is None or v is None or v == "":
                        continue
                    clean[k] = v
                out.append((i, clean))
            return out
    except UnicodeDecodeError:
        raise InputFileError(path, "not UTF-8 text", "save the CSV as UTF-8") from None


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k in _NUMBERS:
            try:
                out[k] = float(v) if "." in v else int(v)
            except ValueError:
                out[k] = v  # the validator names it
        elif k in ("safelight_confidential", "safelight_front_door") and v.lower() in ("true", "false"):
            out[k] = v.lower() == "true"
        elif k == "safelight_sealed":
            try:
                out[k] = json.loads(v)
            except json.JSONDecodeError:
                out[k] = v
        else:
            out[k] = v
    return out


def read_tables(folder: Path) -> tuple[list[tuple[int, dict]], list[tuple[int, dict]], list[tuple[str, int, dict, str]], dict[str, int]]:
    """Assemble nested objects from a tabular package.

    Returns (services as (csv row, object), organizations as (csv row, object), orphans as
    (table, csv row, raw row, message), rows read per table).
    """
    folder = Path(folder)
    if not (folder / "services.csv").exists():
        raise InputFileError(folder, "no services.csv here", "give the folder of an HSDS tabular package")
    t = {name: _read(folder, name) for name in TABLES}
    read = {name: len(rows) for name, rows in t.items() if rows}
    orphans: list[tuple[str, int, dict, str]] = []

    def index(table: str) -> dict[str, dict]:
        return {r["id"]: _typed(r) for _, r in t[table] if "id" in r}

    terms, units = index("taxonomy_terms"), index("units")
    locations = index("locations")
    services = {r["id"]: (n, _typed(r)) for n, r in t["services"] if "id" in r}
    for n, r in t["services"]:
        if "id" not in r:
            orphans.append(("services", n, r, "a service row needs an id"))
    sals = {}
    for n, r in t["service_at_locations"]:
        if r.get("service_id") not in services or r.get("location_id") not in locations:
            orphans.append(("service_at_locations", n, r, "service_id or location_id names no row"))
            continue
        sal = _typed(r)
        sal["location"] = locations[r["location_id"]]
        services[r["service_id"]][1].setdefault("service_at_locations", []).append(sal)
        sals[r["id"]] = sal
    for table, key in (("addresses", "addresses"), ("phones", "phones"), ("languages", "languages")):
        for n, r in t[table]:
            row = _typed(r)
            if r.get("location_id") in locations:
                locations[r["location_id"]].setdefault(key, []).append(row)
            elif r.get("service_id") in services:
                services[r["service_id"]][1].setdefault(key, []).append(row)
            elif table == "phones" and r.get("organization_id"):
                continue  # organization phones are kept with no service; nothing to attach here
            else:
                orphans.append((table, n, r, "its location_id / service_id names no row"))
    for n, r in t["schedules"]:
        row = _typed(r)
        if r.get("service_at_location_id") in sals:
            sals[r["service_at_location_id"]].setdefault("schedules", []).append(row)
        elif r.get("service_id") in services:
            services[r["service_id"]][1].setdefault("schedules", []).append(row)
        else:
            orphans.append(("schedules", n, r, "its service_id / service_at_location_id names no row"))
    for table in ("service_areas", "service_capacities"):
        for n, r in t[table]:
            row = _typed(r)
            if r.get("service_id") not in services:
                orphans.append((table, n, r, "its service_id names no row"))
                continue
            if table == "service_capacities" and r.get("unit_id") in units:
                row["unit"] = units[r["unit_id"]]
            services[r["service_id"]][1].setdefault(table, []).append(row)
    for n, r in t["attributes"]:
        if r.get("link_id") not in services or r.get("taxonomy_term_id") not in terms:
            orphans.append(("attributes", n, r, "link_id or taxonomy_term_id names no row"))
            continue
        row = _typed(r)
        row["taxonomy_term"] = terms[r["taxonomy_term_id"]]
        services[r["link_id"]][1].setdefault("attributes", []).append(row)
    orgs = [(n, _typed(r)) for n, r in t["organizations"]]
    return list(services.values()), orgs, orphans, read
