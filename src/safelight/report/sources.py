"""Opening report inputs and recording where every number came from.

* :func:`glotip_source` accepts a hub (``.duckdb``) holding an ingested GLOTIP export, or the
  export itself (``data_glotip.xlsx``), which is ingested into a temporary hub with the built-in
  ``glotip`` profile — the same code path as ``safelight ingest`` — and removed afterwards.
* :func:`hub_source` opens a hub read-only for the case-record report.

Both yield a :class:`Source`: the DuckDB connection plus a provenance dict (file name and
SHA-256, contribution id(s), profile, crosswalk, the software version that ingested and the one
that reports, the region table fingerprint, the code-list version, the time of the run).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from safelight import __version__
from safelight.report.model import ReportError, ReportSettings
from safelight.standard.codelists import codelists_version
from safelight.standard.geography import UnodcRegions, load_unodc_regions
from safelight.store import open_hub

HUB_SUFFIXES = (".duckdb", ".db")

#: Tables the indicator queries read that are not in the hub: the report derives them (in Python,
#: or as a TEMP table) and registers them with DuckDB. Every report's provenance says how
#: (``derived_tables``), so the SQL in report.json can be re-run by rebuilding them from the
#: settings and fingerprints.
DERIVED_TABLES = {
    "origin_class": "GLOTIP: one row per (reporting country, citizenship category code, "
                    "category_iso3): origin_class domestic | cross_border | unknown | skip by "
                    "safelight.standard.geography.is_cross_border, origin_iso3 (the named "
                    "country, or the reporting country for 'nationals'), UNODC regions (region "
                    "table fingerprint) and UN M49 sub-regions of origin and detection",
    "country_region": "GLOTIP: reporting country -> UNODC region (region table fingerprint)",
    "flows": "hub: one row per (citizenship, country_of_exploitation) pair: flow domestic | "
             "cross_border | not_recorded by geography.is_cross_border, UNODC regions (region "
             "table fingerprint) and UN M49 sub-regions",
    "person_units": "hub, counting persons: a TEMP table, one row per person, built once by "
                    "the SQL in provenance.counting.sql (safelight.report.units.PERSONS_SQL)",
    "conflict_list": "the conflict-affected countries list (conflict_list.fingerprint): "
                     "(iso3, year, UNODC region of iso3)",
}


@dataclass
class Source:
    """An open input: ``con`` (read-only use), ``provenance`` and, for GLOTIP, the contribution."""

    con: duckdb.DuckDBPyConnection
    provenance: dict[str, Any]
    regions: UnodcRegions
    contribution_id: int | None = None


def _base_provenance(settings: ReportSettings, regions: UnodcRegions) -> dict[str, Any]:
    return {
        "software": "safelight",
        "software_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "region_table": regions.source,
        "region_table_fingerprint": regions.fingerprint,
        "codelists_version": codelists_version(),
        "settings": settings.as_dict(),
        "derived_tables": DERIVED_TABLES,
    }


def _contribution(con: duckdb.DuckDBPyConnection, cid: int) -> dict[str, Any]:
    cur = con.execute(
        "SELECT contribution_id, contributor, file_name, file_sha256, file_bytes, profile, "
        "profile_version, crosswalk, software_version, finished_at, rows_read, rows_accepted, "
        "rows_quarantined FROM contributions WHERE contribution_id = ?", [cid])
    row = cur.fetchone()
    names = [d[0] for d in cur.description]
    out = dict(zip(names, row, strict=True))
    out["ingest_software_version"] = out.pop("software_version")
    out["finished_at"] = str(out["finished_at"])
    return out


def _pick_glotip_contribution(con: duckdb.DuckDBPyConnection, wanted: int | None,
                              where: str) -> int:
    rows = con.execute(
        "SELECT c.contribution_id, count(s.contribution_id) FROM contributions c "
        "LEFT JOIN series s USING (contribution_id) WHERE c.target = 'series' "
        "GROUP BY 1 ORDER BY 1").fetchall()
    with_rows = [cid for cid, n in rows if n > 0]
    if wanted is not None:
        if wanted not in with_rows:
            raise ReportError(f"{where}: contribution {wanted} holds no series rows "
                              f"(series contributions: {with_rows or 'none'})")
        return wanted
    if not with_rows:
        raise ReportError(f"{where}: the hub holds no GLOTIP series — ingest the export first: "
                          f"safelight ingest {where} data_glotip.xlsx -c unodc -p glotip")
    return with_rows[-1]


@contextmanager
def glotip_source(path: str | Path, settings: ReportSettings) -> Iterator[Source]:
    """Open a GLOTIP input (hub or export file); see the module docstring.

    Raises :class:`ReportError` when a hub holds no series, and the ingest stage's errors
    (``InputFileError``, ``ProfileError``) when the export cannot be read.
    """
    path = Path(path)
    regions = load_unodc_regions(settings.region_table)
    if not path.exists():
        raise ReportError(f"{path}: no such file — give a hub (.duckdb) or data_glotip.xlsx")
    if path.suffix.lower() in HUB_SUFFIXES:
        with open_hub(path, read_only=True, memory_limit=settings.memory_limit) as hub:
            cid = _pick_glotip_contribution(hub.con, settings.contribution_id, str(path))
            prov = _base_provenance(settings, regions)
            prov.update(input=path.name, input_kind="hub", contribution=_contribution(hub.con, cid))
            yield Source(hub.con, prov, regions, cid)
        return
    from safelight.ingest import ingest_file, load_profile

    profile = load_profile("glotip")
    with tempfile.TemporaryDirectory(prefix="safelight-report-") as tmp:
        with open_hub(Path(tmp) / "glotip.duckdb", create=True,
                      memory_limit=settings.memory_limit) as hub:
            result = ingest_file(hub, path, contributor="unodc", profile=profile, actor="report")
            prov = _base_provenance(settings, regions)
            prov.update(input=path.name, input_kind="export file (ingested into a temporary hub)",
                        contribution=_contribution(hub.con, result.contribution_id))
            yield Source(hub.con, prov, regions, result.contribution_id)


@contextmanager
def hub_source(path: str | Path, settings: ReportSettings) -> Iterator[Source]:
    """Open a hub read-only for the case-record report (``StoreError`` if it is not a hub)."""
    path = Path(path)
    regions = load_unodc_regions(settings.region_table)
    with open_hub(path, read_only=True, memory_limit=settings.memory_limit) as hub:
        prov = _base_provenance(settings, regions)
        contributions = [
            {k: (str(v) if isinstance(v, dt.datetime) else v) for k, v in c.items()
             if k in ("contribution_id", "contributor", "file_sha256", "profile",
                      "profile_version", "software_version", "finished_at")}
            for c in hub.contributions() if c["target"] == "cases"]
        prov.update(input=path.name, input_kind="hub", schema_version=hub.schema_version(),
                    contributions=contributions)
        yield Source(hub.con, prov, regions)
