"""Indicators from the hub's case records (table ``cases``), counted as persons after linkage.

Contract:

* **Only records whose consent allows statistics** (``consent_statistics``) are counted; the
  number left out is reported.
* **Persons, not records**, when the hub has a linkage run: records that linkage joined count
  once, and a person's attributes are taken by the rule of :mod:`safelight.report.units`
  (earliest record for the situation at identification, most recent for gender and
  citizenship, union of multi-valued fields). Records that cannot be linked (no linkage
  consent, or ingested after the last run) count as one person each. **Without a linkage run
  the report counts records** and says so in every output (indicator ids ``records_*``, unit
  ``records``, counting unit, limitations). ``ReportSettings.unit`` forces either.
* **Groups.** Women, men, girls, boys = gender (female/male) × minor/adult, where minor/adult is
  ``majority_status`` or, when that is missing, ``age_years < 18``. Units with another or
  unrecorded gender, or no age information, form the group ``not_recorded`` — counted, never
  dropped, and outside the denominators of shares by group.
* **Multi-valued fields** (forms of exploitation): a unit counts once under each form it
  has; the denominator of a share is the units of the group with at least one form recorded
  (CTDC's rule), so shares add to more than 100 %.
* **Flows** compare ``citizenship`` with ``country_of_exploitation`` through
  :func:`safelight.standard.geography.is_cross_border`; regions come from the UNODC region table
  (fingerprint in the provenance) and UN M49 sub-regions.
* Every count goes through :func:`safelight.report.disclosure.apply_suppression` (default
  threshold 11, CTDC's k) before it is written anywhere.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from safelight.report.conflict import NO_REGION, ConflictList, conflict_cells, load_conflict_list
from safelight.report.disclosure import apply_suppression
from safelight.report.model import (
    Cell,
    Estimate,
    Indicator,
    Line,
    Report,
    ReportError,
    ReportSettings,
    share,
)
from safelight.report.sources import Source
from safelight.report.units import RECORDS_SQL, CountingUnit, counting_unit
from safelight.standard.codelists import codelist
from safelight.standard.geography import is_cross_border, region_of

log = logging.getLogger("safelight.report.hub")

GROUPS = ("women", "men", "girls", "boys")
ALL_GROUPS = (*GROUPS, "not_recorded")

LIMITATIONS = [
    "Only records whose consent allows statistical use are counted; records without that "
    "consent (or with consent withdrawn) are excluded from every number.",
    "Records describe victims identified or reported to the contributing agencies: they "
    "measure who was identified (agency mandates, outreach, identification bias), not the "
    "prevalence of trafficking.",
    "Coverage differs between contributors, countries and years; shares describe the victims "
    "known to the hub, not a population.",
    "Small counts are suppressed (below the threshold) together with any cell that would let "
    "them be recomputed from a published total.",
    "Victims from conflict-affected countries are counted against a list of conflict-affected "
    "countries by year (source, version and years in the provenance); years without a list are "
    "not computed. The shipped list is the conflict category of the World Bank FCS lists FY20-FY26 "
    "(calendar years 2019-2025; 2019 is partial, so its counts are lower bounds).",
]

#: The record-counting unit, for callers that compute one indicator without deciding the unit.
RECORDS = CountingUnit(kind="records", sql=RECORDS_SQL, description="case records",
                       limitations=[])


def _exact(n: float) -> Estimate:
    return Estimate.exact(float(n))


def excluded_records(src: Source) -> int:
    """Records left out because their consent does not allow statistics."""
    return int(src.con.execute(
        "SELECT count(*) FROM cases WHERE NOT consent_statistics").fetchone()[0])


def _filters(u: CountingUnit, **extra: object) -> dict[str, object]:
    return {"table": "cases", "consent_statistics": True, "counting_unit": u.kind, **extra}


def by_sex_age(src: Source, u: CountingUnit = RECORDS) -> Indicator:
    """Units (persons or records) per year of (first) registration and group, with each group's
    share of the known groups."""
    sql = u.sql + """SELECT year_of_registration AS year, grp, count(*) AS n FROM c
GROUP BY ALL ORDER BY ALL"""
    what = "Persons" if u.kind == "persons" else "Case records"
    ind = Indicator(
        id=f"{u.kind}_by_sex_age",
        title=f"Victims by sex and age: women, men, girls, boys ({u.kind})",
        definition=f"{what} with statistics consent per year of "
                   f"{'first ' if u.kind == 'persons' else ''}registration and group "
                   "(gender × minor/adult at registration).",
        denominator=f"{u.kind} of known group (women + men + girls + boys) of the same year; "
                    "'not_recorded' (other or unrecorded gender, or no age) is counted but "
                    "outside the denominator",
        filters=_filters(u), query=sql, key_names=["year", "group"], unit=u.kind)
    per: dict[int | str, dict[str, int]] = {}
    for year, grp, n in src.con.execute(sql).fetchall():
        per.setdefault("not recorded" if year is None else int(year), {})[grp] = int(n)
    per["all years"] = {g: sum(p.get(g, 0) for p in per.values()) for g in ALL_GROUPS}
    for year, counts in per.items():
        known = sum(counts.get(g, 0) for g in GROUPS)
        for g in ALL_GROUPS:
            n = counts.get(g, 0)
            sh = share(_exact(n), _exact(known)) if g in GROUPS and known else None
            ind.cells.append(Cell({"year": year, "group": g}, _exact(n), sh))
        ind.cells.append(Cell({"year": year, "group": "known"}, _exact(known)))
        ind.cells.append(Cell({"year": year, "group": "total"},
                              _exact(sum(counts.get(g, 0) for g in ALL_GROUPS))))
        ind.lines.append(Line((year, "known"), [(year, g) for g in GROUPS]))
        ind.lines.append(Line((year, "total"), [(year, g) for g in ALL_GROUPS]))
    years = [y for y in per if y != "all years"]
    for g in ALL_GROUPS:  # each group over the years adds up to its all-years cell
        ind.lines.append(Line(("all years", g), [(y, g) for y in years]))
    return ind


#: Multi-valued fields reported by group: field -> (indicator id, code list, title).
MULTI_VALUED = {
    "types_of_exploitation": ("forms_by_sex_age", "type_of_exploitation",
                              "Forms of exploitation by sex and age"),
    "labour_sectors": ("labour_sectors_by_sex_age", "labour_sector",
                       "Labour sectors by sex and age"),
    "means_of_control": ("means_of_control_by_sex_age", "means_of_control",
                         "Means of control by sex and age"),
    "recruiter_relationship": ("recruiter_by_sex_age", "recruiter_relationship",
                               "Relationship with the recruiter by sex and age"),
}


def multi_valued_by_group(src: Source, field: str, u: CountingUnit = RECORDS) -> Indicator:
    """Units having each value of a multi-valued ``field`` by group, and the share of the
    group's units with at least one value recorded (CTDC's denominator rule)."""
    ind_id, list_name, title = MULTI_VALUED[field]
    sql = u.sql + f""", f AS (SELECT grp, unnest({field}) AS value FROM c WHERE len({field}) > 0)
SELECT value, grp, count(*) AS n FROM f GROUP BY ALL ORDER BY ALL"""
    den_sql = u.sql + f"SELECT grp, count(*) FROM c WHERE len({field}) > 0 GROUP BY grp"
    one = "person" if u.kind == "persons" else "record"
    ind = Indicator(
        id=ind_id, title=f"{title} ({u.kind})",
        definition=f"{u.kind.capitalize()} with statistics consent having each value of "
                   f"'{field}', per group; a {one} with several values counts under each"
                   + (" (a person has the values of all their records)."
                      if u.kind == "persons" else "."),
        denominator=f"{u.kind} of the group with at least one '{field}' value recorded "
                    "(shares add to more than 100 %)",
        filters=_filters(u, **{field: "at least one recorded"}),
        query=sql, key_names=["value", "group"], unit=u.kind, chart="grouped_shares")
    den = {g: int(n) for g, n in src.con.execute(den_sql).fetchall()}
    data: dict[str, dict[str, int]] = {}
    for value, grp, n in src.con.execute(sql).fetchall():
        data.setdefault(value, {})[grp] = int(n)
    den_row = f"{u.kind} with a value"
    labels = codelist(list_name).codes
    order = [c for c in labels if c in data] + sorted(set(data) - set(labels))
    for value in order:
        counts = data[value]
        for g in ALL_GROUPS:
            n = counts.get(g, 0)
            ind.cells.append(Cell({"value": value, "group": g}, _exact(n),
                                  share(_exact(n), _exact(den[g])) if den.get(g) else None))
        ind.cells.append(Cell({"value": value, "group": "total"},
                              _exact(sum(counts.values())),
                              share(_exact(sum(counts.values())), _exact(sum(den.values())))
                              if den else None))
        ind.lines.append(Line((value, "total"), [(value, g) for g in ALL_GROUPS]))
    for g in ALL_GROUPS:
        ind.cells.append(Cell({"value": den_row, "group": g}, _exact(den.get(g, 0))))
    ind.cells.append(Cell({"value": den_row, "group": "total"}, _exact(sum(den.values()))))
    ind.lines.append(Line((den_row, "total"), [(den_row, g) for g in ALL_GROUPS]))
    ind.notes.append(f"Row '{den_row}' is each group's denominator.")
    return ind


def forms_by_sex_age(src: Source, u: CountingUnit = RECORDS) -> Indicator:
    """Units with each form of exploitation by group (see :func:`multi_valued_by_group`)."""
    return multi_valued_by_group(src, "types_of_exploitation", u)


def _pairs_table(src: Source, u: CountingUnit) -> pa.Table:
    pairs = src.con.execute(
        u.sql + "SELECT DISTINCT citizenship, country_of_exploitation FROM c").fetchall()
    cols: dict[str, list] = {k: [] for k in ("citizenship", "country_of_exploitation", "flow",
                                             "origin_unodc", "detection_unodc", "origin_m49",
                                             "detection_m49")}
    for cit, coe in pairs:
        crossed = is_cross_border(cit, coe)
        cols["citizenship"].append(cit)
        cols["country_of_exploitation"].append(coe)
        cols["flow"].append("not_recorded" if crossed is None
                            else "cross_border" if crossed else "domestic")
        for scheme, o, d in (("unodc", "origin_unodc", "detection_unodc"),
                             ("m49_subregion", "origin_m49", "detection_m49")):
            table = src.regions if scheme == "unodc" else None
            cols[o].append(_region(cit, scheme, table))
            cols[d].append(_region(coe, scheme, table))
    return pa.table(cols, schema=pa.schema([(k, pa.string()) for k in cols]))


def _region(code: str | None, scheme: str, table) -> str | None:
    if not code:
        return None
    try:
        return region_of(code, scheme, table=table)
    except KeyError:
        return None


_PAIR_JOIN = """JOIN flows p ON p.citizenship IS NOT DISTINCT FROM c.citizenship
 AND p.country_of_exploitation IS NOT DISTINCT FROM c.country_of_exploitation"""


def domestic_cross_border(src: Source, u: CountingUnit = RECORDS) -> Indicator:
    """Domestic vs cross-border units per year of (first) registration."""
    src.con.register("flows", _pairs_table(src, u))
    sql = u.sql + f"""SELECT year_of_registration AS year, p.flow, count(*) AS n
FROM c {_PAIR_JOIN} GROUP BY ALL ORDER BY ALL"""
    ind = Indicator(
        id="domestic_cross_border",
        title=f"Domestic and cross-border victims ({u.kind}; citizenship vs country of "
              "exploitation)",
        definition=f"{u.kind.capitalize()} whose citizenship equals the country of exploitation "
                   "are domestic; different countries are cross-border "
                   "(geography.is_cross_border); either missing, or a dissolved country against "
                   "its successor, is not recorded.",
        denominator=f"{u.kind} with both countries recorded (domestic + cross-border)",
        filters=_filters(u), query=sql, key_names=["year", "flow"], unit=u.kind)
    per: dict[int | str, dict[str, int]] = {}
    for year, flow, n in src.con.execute(sql).fetchall():
        per.setdefault("not recorded" if year is None else int(year), {})[flow] = int(n)
    per["all years"] = {f: sum(p.get(f, 0) for p in per.values())
                        for f in ("domestic", "cross_border", "not_recorded")}
    for year, counts in per.items():
        known = counts.get("domestic", 0) + counts.get("cross_border", 0)
        for f in ("domestic", "cross_border"):
            n = counts.get(f, 0)
            ind.cells.append(Cell({"year": year, "flow": f}, _exact(n),
                                  share(_exact(n), _exact(known)) if known else None))
        ind.cells.append(Cell({"year": year, "flow": "not_recorded"},
                              _exact(counts.get("not_recorded", 0))))
        ind.cells.append(Cell({"year": year, "flow": "known"}, _exact(known)))
        ind.lines.append(Line((year, "known"), [(year, "domestic"), (year, "cross_border")]))
    return ind


def region_flows(src: Source, scheme: str, u: CountingUnit = RECORDS) -> Indicator:
    """Region of citizenship × region of exploitation (``unodc`` or ``m49``), all years."""
    src.con.register("flows", _pairs_table(src, u))
    o, d = ("origin_unodc", "detection_unodc") if scheme == "unodc" else ("origin_m49",
                                                                           "detection_m49")
    sql = u.sql + f"""SELECT p.{o} AS origin, p.{d} AS exploitation, count(*) AS n
FROM c {_PAIR_JOIN} WHERE p.{o} IS NOT NULL AND p.{d} IS NOT NULL GROUP BY ALL ORDER BY ALL"""
    label = "UNODC regions" if scheme == "unodc" else "UN M49 sub-regions"
    ind = Indicator(
        id=f"region_flows_{scheme}",
        title=f"Region of citizenship → region of exploitation ({label}; {u.kind})",
        definition=f"{u.kind.capitalize()} by the region of the victim's citizenship (rows) and "
                   "of the country of exploitation (columns); domestic victims sit on the "
                   "diagonal.",
        denominator=f"shares are of the region of exploitation's {u.kind} (column total)",
        filters=_filters(u, regions=label, **{"both countries": "recorded and in a region"}),
        query=sql, key_names=["origin", "exploitation"], unit=u.kind, chart="heatmap")
    cells = {(a, b): int(n) for a, b, n in src.con.execute(sql).fetchall()}
    origins = sorted({a for a, _ in cells})
    dests = sorted({b for _, b in cells})
    col = {b: sum(cells.get((a, b), 0) for a in origins) for b in dests}
    for (a, b), n in sorted(cells.items()):
        ind.cells.append(Cell({"origin": a, "exploitation": b}, _exact(n),
                              share(_exact(n), _exact(col[b]))))
    for b in dests:
        ind.cells.append(Cell({"origin": "total", "exploitation": b}, _exact(col[b])))
        ind.lines.append(Line(("total", b), [(a, b) for a in origins if (a, b) in cells]))
    for a in origins:
        ind.cells.append(Cell({"origin": a, "exploitation": "total"},
                              _exact(sum(cells.get((a, b), 0) for b in dests))))
        ind.lines.append(Line((a, "total"), [(a, b) for b in dests if (a, b) in cells]))
    return ind


def conflict_origin(src: Source, conflict: ConflictList, u: CountingUnit = RECORDS
                    ) -> Indicator:
    """Units whose citizenship is conflict-affected in their year of (first) registration, by
    UNODC region of origin, and their share of the year's units of known citizenship."""
    rows = conflict.table()
    src.con.register("conflict_list", rows.append_column("region", pa.array(
        [_region(c, "unodc", src.regions) or NO_REGION
         for c in rows.column("iso3").to_pylist()], pa.string())))
    known_sql = u.sql + """SELECT year_of_registration, count(*) FROM c
WHERE citizenship IS NOT NULL AND year_of_registration IS NOT NULL GROUP BY 1"""
    sql = u.sql + """SELECT c.year_of_registration AS year, k.region, count(*) AS n FROM c
JOIN conflict_list k ON k.iso3 = c.citizenship AND k.year = c.year_of_registration
GROUP BY ALL ORDER BY ALL"""
    ind = Indicator(
        id="conflict_origin",
        title=f"Victims originating from conflict-affected countries, by region of origin "
              f"({u.kind})",
        definition=f"{u.kind.capitalize()} whose citizenship is on the conflict-affected list "
                   f"for their year of {'first ' if u.kind == 'persons' else ''}registration, "
                   "by the UNODC region of that country.",
        denominator=f"regions: the year's {u.kind} from conflict-affected countries; total: "
                    f"the year's {u.kind} of known citizenship",
        filters=_filters(u, conflict_list=conflict.source,
                         conflict_list_version=conflict.version),
        query=sql, key_names=["year", "origin_region"], unit=u.kind, chart="bars")
    known = {int(y): (_exact(n), None) for y, n in src.con.execute(known_sql).fetchall()}
    counts: dict[int, dict[str, tuple[Estimate, int | None]]] = {}
    for year, region, n in src.con.execute(sql).fetchall():
        counts.setdefault(int(year), {})[region] = (_exact(n), None)
    conflict_cells(ind, counts, known, conflict)
    return ind


def hub_report(src: Source, settings: ReportSettings) -> Report:
    """All hub indicators of the module docstring, disclosure-controlled (``threshold``).

    Counts persons when the hub has a linkage run (or ``settings.unit == "persons"``), records
    otherwise. Raises :class:`ReportError` when the hub holds no case record with statistics
    consent, or when persons are asked for and no linkage run exists.
    """
    where = str(src.provenance.get("input", "hub"))
    counted = src.con.execute("SELECT count(*) FROM cases WHERE consent_statistics").fetchone()[0]
    if not counted:
        raise ReportError(f"{where}: the hub holds no case records with statistics consent — "
                          "nothing to report")
    u = counting_unit(src.con, settings.unit, where, settings.threshold)
    conflict = load_conflict_list(settings.conflict_table)
    log.info("hub report counts %s", u.kind)
    inds = [by_sex_age(src, u), domestic_cross_border(src, u),
            *(multi_valued_by_group(src, f, u) for f in MULTI_VALUED),
            region_flows(src, "unodc", u), region_flows(src, "m49", u),
            conflict_origin(src, conflict, u)]
    inds[0].chart, inds[1].chart = "groups", "hub_flows"
    for ind in inds:
        apply_suppression(ind.cells, ind.lines, settings.threshold)
    excluded = excluded_records(src)
    limitations = [*u.limitations, *LIMITATIONS,
                   f"{excluded:,} records were left out for lack of statistics consent."
                   if excluded >= settings.threshold or excluded == 0 else
                   f"Fewer than {settings.threshold} records were left out for lack of "
                   "statistics consent."]
    sa = inds[0]
    sa.headline = {
        f"{g}_share_all_years": {"value": round(c.share.mid, 4), **c.share.as_dict(4),
                                 "countries": None}
        for g in GROUPS for c in [sa.cell(year="all years", group=g)]
        if c.share is not None and not c.suppressed}
    cb = inds[1].cell(year="all years", flow="cross_border")
    if cb.share is not None and not cb.suppressed:
        inds[1].headline = {"cross_border_share_all_years": {
            "value": round(cb.share.mid, 4), **cb.share.as_dict(4), "countries": None}}
    title = ("Identified victims in the hub — persons after record linkage"
             if u.kind == "persons" else
             "Identified victims in the hub — case RECORDS (no linkage: not persons)")
    return Report(kind="hub", title=title,
                  provenance={**src.provenance, "counting": u.provenance,
                              "conflict_list": conflict.provenance()}, settings=settings,
                  limitations=limitations, indicators=inds, counting_unit=u.description)
