"""Indicators from the UNODC GLOTIP country data (the hub's ``series`` table).

Every indicator here is a named computation with a definition, a denominator rule, its filters
and the SQL it ran. Common rules (see ``docs/report.md``):

* **Reporting units.** Only rows with a country (``country_iso3``) count; UNODC's own aggregate
  units (``SAM``, ``SAF``, ... ingested without a country) are left out so no country is counted
  twice. A value for a year is a sum over the countries that report it that year — the set of
  countries changes between years, so levels are not a time series of the world; year-over-year
  change is computed only over countries reporting both years.
* **Censored counts.** The export publishes small counts as ``"<5"``; the hub stores them with
  bounds 1..4 (``value_low``/``value_high``, ``value`` NULL). Every count is carried as an
  :class:`~safelight.report.model.Estimate`: lower bound (all ``"<5"`` = 1), upper bound (= 4)
  and a central value (midpoint 2.5). Headlines use the central value unless the settings say
  otherwise; bounds are always published.
* **Breakdowns.** A breakdown's denominator is the sum of its own cells over the countries that
  report at least one cell of it that year; cells absent from the export count as zero (the
  export never publishes ``0``). Breakdown cells are never added to the headline totals.
* **"Other forms of exploitation".** The export repeats this label for each sub-form (forced
  criminal activity, begging, forced marriage, organ removal, mixed ...) without naming it; the
  rows are added up. Forced criminal activity therefore cannot be isolated from this export.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from safelight.report.conflict import NO_REGION, ConflictList, conflict_cells, load_conflict_list
from safelight.report.disclosure import apply_suppression
from safelight.report.model import (
    Cell,
    Estimate,
    Indicator,
    Line,
    Report,
    ReportSettings,
    ratio_change,
    share,
)
from safelight.report.sources import Source
from safelight.standard.geography import is_cross_border, region_of

log = logging.getLogger("safelight.report.glotip")

GROUPS = {  # (sex, age) -> victim group, as in the Global Report
    ("female", "adult"): "women",
    ("male", "adult"): "men",
    ("female", "minor"): "girls",
    ("male", "minor"): "boys",
}
GROUP_ORDER = ("women", "men", "girls", "boys")
FORMS = ("sexual_exploitation", "forced_labour", "other_purposes")
FORM_LABELS = {
    "sexual_exploitation": "Sexual exploitation",
    "forced_labour": "Forced labour",
    "other_purposes": "Other purposes (incl. forced criminal activity)",
}
MEASURES = {
    "detected_victims": "Detected victims",
    "persons_prosecuted": "Persons prosecuted",
    "persons_convicted": "Persons convicted",
}

LIMITATIONS = [
    "Detected victims are victims identified by national authorities, not the number of people "
    "trafficked: the counts measure detection (capacity, priorities, legislation), not "
    "prevalence. A fall can mean less detection, not less trafficking.",
    "Identification bias: some groups (e.g. women in sexual exploitation) are more often "
    "identified than others (e.g. men in forced labour, victims of forced criminal activity), "
    "so shares describe detected victims only.",
    "Coverage: the countries reporting a figure change from year to year; each value states how "
    "many countries it covers. Changes between years are computed only over countries reporting "
    "both years. The latest year in the export is incomplete (fewer countries report).",
    "Small counts are published by UNODC as '<5'. This report carries them as bounds (1 to 4) "
    "and shows a central value (2.5 each) with the bounds; it never treats them as 0 or 5.",
    "Victims from conflict-affected countries are counted against a list of conflict-affected "
    "countries by year (its source, version and years are in the provenance); the shipped list is "
    "the conflict category of the World Bank FCS lists FY20-FY26 (calendar years 2019-2025; 2019 "
    "is partial, so its counts are lower bounds), and years before 2019 have no list.",
    "The export is UNODC's data-portal release (30/05/2023). The Global Report's own figures "
    "use the full questionnaire data, other country sets and estimates for non-reporting "
    "countries; values here need not equal the published ones (docs/report.md).",
]

_AGG = """count(DISTINCT country_iso3) AS units, sum(value_low) AS lo,
       sum(coalesce(value, (value_low + value_high) / 2)) AS mid, sum(value_high) AS hi"""


#: A breakdown (``cells0``) keeps only the country-years in which at least one cell is a real
#: number: a breakdown that is '<5' in every cell says nothing about the split, and at the
#: midpoint it would pull every share towards an equal split (the 2017-2020 export has ~90-100
#: such country-years per year for forms of exploitation, e.g. France 2020: three '<5' forms
#: next to a headline total of 1,020).
_INFORMATIVE = """,
informative AS (SELECT country_iso3, year FROM cells0 GROUP BY ALL
                HAVING NOT bool_and(value IS NULL)),
cells AS (SELECT * FROM cells0 SEMI JOIN informative USING (country_iso3, year))"""


def _units_and_dropped(src: Source, prefix: str, where: str = "TRUE"
                       ) -> tuple[dict[int, int], dict[int, int]]:
    """Reporting countries per year of ``cells``, and the all-censored country-years dropped."""
    units = dict(_rows(src, prefix + f"""
SELECT year, count(DISTINCT country_iso3) FROM cells WHERE {where} GROUP BY year"""))
    dropped = dict(_rows(src, prefix + """
SELECT year, count(*) FROM (SELECT DISTINCT country_iso3, year FROM cells0
                            ANTI JOIN informative USING (country_iso3, year)) GROUP BY year"""))
    return {int(y): int(n) for y, n in units.items()}, {int(y): int(n) for y, n in dropped.items()}


def _dropped_note(dropped: dict[int, int]) -> str:
    return ("Country-years left out because every cell of their breakdown is '<5' (no "
            "information on the split): " + (", ".join(f"{y}: {n}" for y, n in
                                                        sorted(dropped.items()) if n) or "none"))


def _base(cid: int) -> str:
    return (f"WITH g AS (SELECT * FROM series WHERE contribution_id = {int(cid)} "
            f"AND country_iso3 IS NOT NULL)\n")


def _est(lo: float, mid: float, hi: float) -> Estimate:
    return Estimate(float(lo), float(mid), float(hi))


def _rows(src: Source, sql: str) -> list[tuple]:
    return src.con.execute(sql).fetchall()


# ----------------------------------------------------------------------------------------------
# detected victims per year (headline totals)


def detected_victims_per_year(src: Source, measure: str = "detected_victims") -> Indicator:
    """Headline totals (Dimension Total, Sex Total, Age Total) of ``measure`` per year."""
    sql = _base(src.contribution_id) + f"""
SELECT year, {_AGG} FROM g
WHERE indicator = '{measure}' AND dimension = 'total' AND sex = 'total' AND age = 'total'
GROUP BY year ORDER BY year"""
    ind = Indicator(
        id=f"{measure}_per_year",
        title=f"{MEASURES[measure]} per year (sum over reporting countries)",
        definition=f"Sum of the national headline totals of '{MEASURES[measure]}' "
                   "(Dimension, Sex and Age all 'Total') over the countries reporting that year.",
        denominator="none (a count); the number of reporting countries is given per year",
        filters={"indicator": measure, "dimension": "total", "sex": "total", "age": "total",
                 "country_iso3": "not null"},
        query=sql, key_names=["year"], unit="persons")
    for year, units, lo, mid, hi in _rows(src, sql):
        ind.cells.append(Cell({"year": int(year)}, _est(lo, mid, hi), units=int(units)))
    return ind


# ----------------------------------------------------------------------------------------------
# victims by sex x age


def victims_by_sex_age(src: Source) -> Indicator:
    """Women, men, girls and boys per year and each group's share of detected victims."""
    prefix = _base(src.contribution_id) + """
, cells0 AS (
  SELECT year, country_iso3,
         CASE WHEN age = 'adult' AND sex = 'female' THEN 'women'
              WHEN age = 'adult' AND sex = 'male' THEN 'men'
              WHEN age = 'minor' AND sex = 'female' THEN 'girls'
              ELSE 'boys' END AS grp, value, value_low, value_high
  FROM g WHERE indicator = 'detected_victims' AND dimension = 'total'
   AND sex IN ('female', 'male') AND age IN ('adult', 'minor'))""" + _INFORMATIVE
    sql = prefix + f"""
SELECT year, grp, {_AGG},
       (SELECT count(*) FROM (SELECT 1 FROM cells c2 WHERE c2.year = cells.year
                              GROUP BY country_iso3 HAVING count(DISTINCT grp) < 4)) AS incomplete
FROM cells GROUP BY year, grp ORDER BY year, grp"""
    ind = Indicator(
        id="victims_by_sex_age",
        title="Detected victims by sex and age: women, men, girls, boys",
        definition="Counts of detected victims per group (Sex Female/Male × Age '18 years or "
                   "over'/'0 to 17 years') summed over reporting countries, and each group's "
                   "share of the four groups.",
        denominator="victims of known sex and age: the sum of the four groups over the countries "
                    "that report at least one sex × age cell that year (absent cells = 0; "
                    "country-years whose cells are all '<5' are left out). "
                    "Sex 'Other'/'Unknown' and age 'Unknown' are outside the denominator.",
        filters={"indicator": "detected_victims", "dimension": "total",
                 "sex": ["female", "male"], "age": ["adult", "minor"], "country_iso3": "not null"},
        query=sql, key_names=["year", "group"], unit="persons",
        censoring="share bounds: lowest = group.low / (group.low + others.high); highest = "
                  "group.high / (group.high + others.low); central = mids")
    data: dict[int, dict[str, tuple[Estimate, int]]] = {}
    incomplete: dict[int, int] = {}
    units_by_year, dropped = _units_and_dropped(src, prefix)
    for year, grp, units, lo, mid, hi, inc in _rows(src, sql):
        data.setdefault(int(year), {})[grp] = (_est(lo, mid, hi), int(units))
        incomplete[int(year)] = int(inc)
    for year, groups in sorted(data.items()):
        total = sum((groups.get(g, (Estimate.exact(0), 0))[0] for g in GROUP_ORDER),
                    Estimate.exact(0))
        units = units_by_year.get(year, 0)
        for g in GROUP_ORDER:
            est, n = groups.get(g, (Estimate.exact(0), 0))
            rest = sum((groups.get(o, (Estimate.exact(0), 0))[0] for o in GROUP_ORDER if o != g),
                       Estimate.exact(0))
            ind.cells.append(Cell({"year": year, "group": g}, est, share(est, total, rest), n))
        ind.cells.append(Cell({"year": year, "group": "total"}, total,
                              Estimate.exact(1.0) if total.mid else None, int(units)))
        ind.lines.append(Line((year, "total"), [(year, g) for g in GROUP_ORDER]))
    ind.notes.append("Country-years reporting only some of the four groups (absent cells counted "
                     "as 0): " + ", ".join(f"{y}: {n}" for y, n in sorted(incomplete.items()) if n))
    ind.notes.append(_dropped_note(dropped))
    return ind


# ----------------------------------------------------------------------------------------------
# forms of exploitation


def forms_of_exploitation(src: Source) -> Indicator:
    """Sexual exploitation, forced labour and other purposes per year, with shares."""
    prefix = _base(src.contribution_id) + """
, cells0 AS (SELECT * FROM g
  WHERE indicator = 'detected_victims' AND dimension = 'form_of_exploitation'
    AND sex = 'total' AND age = 'total'
    AND category_code IN ('sexual_exploitation', 'forced_labour', 'other_purposes'))""" + \
        _INFORMATIVE
    sql = prefix + f"""
SELECT year, category_code AS form, {_AGG} FROM cells GROUP BY ALL ORDER BY year, form"""
    ind = Indicator(
        id="forms_of_exploitation",
        title="Detected victims by form of exploitation",
        definition="Detected victims per GLOTIP form (sexual exploitation, forced labour, other "
                   "purposes) with Sex and Age 'Total', summed over reporting countries; the "
                   "repeated 'Other forms of exploitation' rows of one country-year (sub-forms "
                   "whose label the export lost) are added up.",
        denominator="victims whose form is reported: the sum of the three forms over the "
                    "countries reporting at least one form that year (absent forms = 0; "
                    "country-years whose forms are all '<5' are left out)",
        filters={"indicator": "detected_victims", "dimension": "form_of_exploitation",
                 "sex": "total", "age": "total", "country_iso3": "not null"},
        query=sql, key_names=["year", "form"], unit="persons",
        censoring="as for victims_by_sex_age")
    data: dict[int, dict[str, tuple[Estimate, int]]] = {}
    for year, form, units, lo, mid, hi in _rows(src, sql):
        data.setdefault(int(year), {})[form] = (_est(lo, mid, hi), int(units))
    units_by_year, dropped = _units_and_dropped(src, prefix)
    zero = Estimate.exact(0)
    for year, forms in sorted(data.items()):
        total = sum((forms.get(f, (zero, 0))[0] for f in FORMS), zero)
        for f in FORMS:
            est, n = forms.get(f, (zero, 0))
            rest = sum((forms.get(o, (zero, 0))[0] for o in FORMS if o != f), zero)
            ind.cells.append(Cell({"year": year, "form": f}, est, share(est, total, rest), n))
        ind.cells.append(Cell({"year": year, "form": "total"}, total, Estimate.exact(1.0),
                              units_by_year.get(year, 0)))
        ind.lines.append(Line((year, "total"), [(year, f) for f in FORMS]))
    ind.notes.append("The export has no separate 'forced criminal activity' category: 'other "
                     "purposes' is an upper bound for it.")
    ind.notes.append(_dropped_note(dropped))
    return ind


# ----------------------------------------------------------------------------------------------
# citizenship: domestic vs cross-border, region of origin -> region of detection


def _classify_origin(reporting: str, code: str | None, iso3: str | None) -> str:
    """domestic | cross_border | unknown | skip (a total inside the breakdown)."""
    if code == "total":
        return "skip"
    if code == "nationals":
        return "domestic"
    if code == "country_group":
        return "cross_border"  # a group of foreign nationalities ("Africa others", "EEA" ...)
    if iso3:
        crossed = is_cross_border(iso3, reporting)
        if crossed is None:
            return "unknown"
        return "cross_border" if crossed else "domestic"
    return "unknown"  # unknown, stateless, or a label the geography could not resolve


def _origin_table(src: Source) -> pa.Table:
    combos = _rows(src, _base(src.contribution_id) + """
SELECT DISTINCT country_iso3, category_code, category_iso3 FROM g
WHERE indicator = 'detected_victims' AND dimension = 'citizenship'""")
    cols: dict[str, list[Any]] = {k: [] for k in (
        "country_iso3", "category_code", "category_iso3", "origin_class", "origin_iso3",
        "origin_region", "detection_region", "origin_m49", "detection_m49")}
    for rep, code, iso3 in combos:
        cls = _classify_origin(rep, code, iso3)
        cols["country_iso3"].append(rep)
        cols["category_code"].append(code)
        cols["category_iso3"].append(iso3)
        cols["origin_class"].append(cls)
        # the victims' own country: the named one, or the reporting country for 'nationals'
        cols["origin_iso3"].append(iso3 or (rep if code == "nationals" else None))
        cols["origin_region"].append(region_of(iso3, "unodc", table=src.regions) if iso3 else None)
        cols["detection_region"].append(region_of(rep, "unodc", table=src.regions))
        cols["origin_m49"].append(region_of(iso3, "m49_subregion") if iso3 else None)
        cols["detection_m49"].append(region_of(rep, "m49_subregion"))
    return pa.table(cols, schema=pa.schema([(k, pa.string()) for k in cols]))


_ORIGIN_JOIN = """
JOIN origin_class o ON o.country_iso3 = g.country_iso3
 AND o.category_code IS NOT DISTINCT FROM g.category_code
 AND o.category_iso3 IS NOT DISTINCT FROM g.category_iso3"""


def cross_border(src: Source) -> Indicator:
    """Share of detected victims who are foreign citizens of the detecting country, per year."""
    src.con.register("origin_class", _origin_table(src))
    prefix = _base(src.contribution_id) + f"""
, cells0 AS (SELECT g.*, o.origin_class FROM g {_ORIGIN_JOIN}
  WHERE indicator = 'detected_victims' AND dimension = 'citizenship'
    AND o.origin_class <> 'skip')""" + _INFORMATIVE
    sql = prefix + f"""
SELECT year, origin_class, {_AGG} FROM cells GROUP BY ALL ORDER BY year, origin_class"""
    ind = Indicator(
        id="cross_border",
        title="Domestic and cross-border detected victims (citizenship vs detecting country)",
        definition="Citizenship breakdown of detected victims compared with the reporting "
                   "country: 'nationals' and a citizenship equal to the reporting country are "
                   "domestic; another country, or a group of foreign nationalities ('Africa "
                   "others', 'European Economic Area'), is cross-border. Citizenship labels are "
                   "resolved by safelight.standard.geography (is_cross_border).",
        denominator="victims of known citizenship: domestic + cross-border over the countries "
                    "reporting a citizenship breakdown that year (not all '<5'); 'unknown', "
                    "'stateless' and unresolved labels are counted apart (row 'unknown') and "
                    "excluded",
        filters={"indicator": "detected_victims", "dimension": "citizenship",
                 "country_iso3": "not null"},
        query=sql, key_names=["year", "origin"], unit="persons",
        censoring="as for victims_by_sex_age")
    data: dict[int, dict[str, tuple[Estimate, int]]] = {}
    for year, cls, units, lo, mid, hi in _rows(src, sql):
        data.setdefault(int(year), {})[cls] = (_est(lo, mid, hi), int(units))
    units_by_year, dropped = _units_and_dropped(
        src, prefix, "origin_class IN ('domestic', 'cross_border')")
    zero = Estimate.exact(0)
    for year, parts in sorted(data.items()):
        dom = parts.get("domestic", (zero, 0))
        cross = parts.get("cross_border", (zero, 0))
        total = dom[0] + cross[0]
        if total.high == 0:
            continue
        ind.cells.append(Cell({"year": year, "origin": "domestic"}, dom[0],
                              share(dom[0], total, cross[0]), dom[1]))
        ind.cells.append(Cell({"year": year, "origin": "cross_border"}, cross[0],
                              share(cross[0], total, dom[0]), cross[1]))
        ind.cells.append(Cell({"year": year, "origin": "total_known"}, total,
                              Estimate.exact(1.0), int(units_by_year.get(year, 0))))
        unk = parts.get("unknown")
        if unk:
            ind.cells.append(Cell({"year": year, "origin": "unknown"}, unk[0], None, unk[1]))
        ind.lines.append(Line((year, "total_known"), [(year, "domestic"), (year, "cross_border")]))
    ind.notes.append(_dropped_note(dropped))
    return ind


def cross_border_change(src: Source, base: int, compare: int) -> Indicator:
    """Change in cross-border and domestic victims over countries whose citizenship breakdown
    is informative in both years."""
    src.con.register("origin_class", _origin_table(src))
    sql = _base(src.contribution_id) + f"""
, cells0 AS (SELECT g.*, o.origin_class FROM g {_ORIGIN_JOIN}
  WHERE indicator = 'detected_victims' AND dimension = 'citizenship'
    AND o.origin_class IN ('domestic', 'cross_border')
    AND year IN ({int(base)}, {int(compare)}))""" + _INFORMATIVE + f"""
, both_years AS (SELECT country_iso3 FROM informative GROUP BY 1 HAVING count(DISTINCT year) = 2)
SELECT origin_class, year, {_AGG} FROM cells SEMI JOIN both_years USING (country_iso3)
GROUP BY ALL ORDER BY ALL"""
    ind = Indicator(
        id="cross_border_change",
        title=f"Cross-border and domestic victims {base} → {compare} (countries reporting both)",
        definition="As cross_border, summed over the countries whose citizenship breakdown is "
                   f"informative in both {base} and {compare}; change = compare / base − 1.",
        denominator=f"the {base} sum of the same countries",
        filters={"indicator": "detected_victims", "dimension": "citizenship",
                 "years": [base, compare]},
        query=sql, key_names=["measure", "period"], unit="persons",
        censoring="as for change_between_years")
    per: dict[str, dict[int, tuple[Estimate, int]]] = {}
    for cls, year, units, lo, mid, hi in _rows(src, sql):
        per.setdefault(cls, {})[int(year)] = (_est(lo, mid, hi), int(units))
    for cls in ("cross_border", "domestic"):
        if base not in per.get(cls, {}) or compare not in per.get(cls, {}):
            continue
        b, c = per[cls][base], per[cls][compare]
        ind.cells.append(Cell({"measure": cls, "period": str(base)}, b[0], units=b[1]))
        ind.cells.append(Cell({"measure": cls, "period": str(compare)}, c[0], units=c[1]))
        ind.cells.append(Cell({"measure": cls, "period": "change"}, None,
                              ratio_change(c[0], b[0]), units=b[1]))
    return ind


def conflict_origin(src: Source, conflict: ConflictList) -> Indicator:
    """Detected victims whose citizenship is a conflict-affected country (in the data year, per
    ``conflict``), by UNODC region of origin, and their share of victims of known citizenship."""
    src.con.register("origin_class", _origin_table(src))
    rows = conflict.table()
    src.con.register("conflict_list", rows.append_column("region", pa.array(
        [region_of(c, "unodc", table=src.regions) or NO_REGION
         for c in rows.column("iso3").to_pylist()], pa.string())))
    # the same cells (and informative country-years) as cross_border, so the denominators agree
    prefix = _base(src.contribution_id) + f"""
, cells0 AS (SELECT g.*, o.origin_class, o.origin_iso3 FROM g {_ORIGIN_JOIN}
  WHERE indicator = 'detected_victims' AND dimension = 'citizenship'
    AND o.origin_class <> 'skip')""" + _INFORMATIVE
    known_sql = prefix + f"""
SELECT year, {_AGG} FROM cells WHERE origin_class IN ('domestic', 'cross_border')
GROUP BY year ORDER BY year"""
    sql = prefix + f"""
SELECT cells.year, k.region, {_AGG} FROM cells
JOIN conflict_list k ON k.iso3 = cells.origin_iso3 AND k.year = cells.year
WHERE origin_class IN ('domestic', 'cross_border')
GROUP BY ALL ORDER BY ALL"""
    ind = Indicator(
        id="conflict_origin",
        title="Victims originating from conflict-affected countries, by region of origin",
        definition="Detected victims whose citizenship (or, for 'nationals', the reporting "
                   "country) is on the conflict-affected list for the data year, summed over "
                   "reporting countries, by the UNODC region of their country.",
        denominator="regions: the year's victims from conflict-affected countries; total: "
                    "victims of known citizenship (domestic + cross-border) in the countries "
                    "reporting an informative citizenship breakdown that year",
        filters={"indicator": "detected_victims", "dimension": "citizenship",
                 "origin_class": ["domestic", "cross_border"],
                 "conflict_list": conflict.source, "conflict_list_version": conflict.version},
        query=sql, key_names=["year", "origin_region"], unit="persons",
        censoring="as for victims_by_sex_age", chart="bars")
    known = {int(y): (_est(lo, mid, hi), int(n)) for y, n, lo, mid, hi in _rows(src, known_sql)}
    counts: dict[int, dict[str, tuple[Estimate, int]]] = {}
    for year, region, n, lo, mid, hi in _rows(src, sql):
        counts.setdefault(int(year), {})[region] = (_est(lo, mid, hi), int(n))
    conflict_cells(ind, counts, known, conflict)
    ind.notes.append("Groups of foreign nationalities ('Africa others', ...) name no country and "
                     "are never counted as conflict-affected: the counts are lower bounds.")
    return ind


def region_flows(src: Source, year: int, scheme: str = "unodc") -> Indicator:
    """Detected victims by region of citizenship (origin) and region of detection in ``year``."""
    src.con.register("origin_class", _origin_table(src))
    o_col, d_col = (("origin_region", "detection_region") if scheme == "unodc"
                    else ("origin_m49", "detection_m49"))
    sql = _base(src.contribution_id) + f"""
SELECT coalesce(o.{o_col}, '(foreign, region not given)') AS origin, o.{d_col} AS detection,
       count(DISTINCT g.country_iso3) AS units, sum(value_low) AS lo,
       sum(coalesce(value, (value_low + value_high) / 2)) AS mid, sum(value_high) AS hi
FROM g {_ORIGIN_JOIN}
WHERE indicator = 'detected_victims' AND dimension = 'citizenship' AND year = {int(year)}
  AND o.origin_class IN ('domestic', 'cross_border') AND o.{d_col} IS NOT NULL
GROUP BY ALL ORDER BY origin, detection"""
    label = "UNODC regions" if scheme == "unodc" else "UN M49 sub-regions"
    ind = Indicator(
        id=f"region_flows_{scheme}_{year}",
        title=f"Region of citizenship → region of detection, {year} ({label})",
        definition="Detected victims of known citizenship by the region of their citizenship "
                   "(rows) and the region of the detecting country (columns); domestic victims "
                   "sit in their own region. Groups of foreign nationalities have no region.",
        denominator="shares are of the detecting region's victims of known citizenship "
                    "(column total)",
        filters={"indicator": "detected_victims", "dimension": "citizenship", "year": year,
                 "origin_class": ["domestic", "cross_border"], "regions": scheme},
        query=sql, key_names=["origin", "detection"], unit="persons")
    cells: dict[tuple[str, str], tuple[Estimate, int]] = {}
    for origin, detection, units, lo, mid, hi in _rows(src, sql):
        cells[(origin, detection)] = (_est(lo, mid, hi), int(units))
    zero = Estimate.exact(0)
    detections = sorted({d for _, d in cells})
    origins = sorted({o for o, _ in cells})
    col_tot = {d: sum((cells.get((o, d), (zero, 0))[0] for o in origins), zero)
               for d in detections}
    for (o, d), (est, n) in sorted(cells.items()):
        ind.cells.append(Cell({"origin": o, "detection": d}, est, share(est, col_tot[d]), n))
    for d in detections:
        ind.cells.append(Cell({"origin": "total", "detection": d}, col_tot[d], Estimate.exact(1.0)))
        ind.lines.append(Line(("total", d), [(o, d) for o in origins if (o, d) in cells]))
    for o in origins:
        row = sum((cells.get((o, d), (zero, 0))[0] for d in detections), zero)
        ind.cells.append(Cell({"origin": o, "detection": "total"}, row))
        ind.lines.append(Line((o, "total"), [(o, d) for d in detections if (o, d) in cells]))
    return ind


# ----------------------------------------------------------------------------------------------
# year-over-year change over countries reporting both years


def change_between_years(src: Source, base: int, compare: int) -> Indicator:
    """Change in detected victims, prosecutions and convictions over countries reporting both."""
    sql = _base(src.contribution_id) + f"""
, h AS (SELECT * FROM g WHERE dimension = 'total' AND sex = 'total' AND age = 'total'
        AND year IN ({int(base)}, {int(compare)})
        AND indicator IN ('detected_victims', 'persons_prosecuted', 'persons_convicted')),
both_years AS (SELECT indicator, country_iso3 FROM h GROUP BY ALL
               HAVING count(DISTINCT year) = 2)
SELECT indicator, year, {_AGG} FROM h SEMI JOIN both_years USING (indicator, country_iso3)
GROUP BY ALL ORDER BY indicator, year"""
    ind = Indicator(
        id="change_between_years",
        title=f"Change {base} → {compare} over countries reporting both years",
        definition="For each measure, the headline totals (Dimension/Sex/Age 'Total') of the "
                   f"countries that report the measure in both {base} and {compare}, summed per "
                   "year; change = compare / base − 1.",
        denominator=f"the {base} sum of the same countries",
        filters={"indicator": list(MEASURES), "dimension": "total", "sex": "total",
                 "age": "total", "years": [base, compare], "country_iso3": "not null",
                 "countries": "reporting the measure in both years"},
        query=sql, key_names=["measure", "period"], unit="persons",
        censoring="change bounds: lowest = compare.low / base.high − 1; highest = "
                  "compare.high / base.low − 1")
    per: dict[str, dict[int, tuple[Estimate, int]]] = {}
    for measure, year, units, lo, mid, hi in _rows(src, sql):
        per.setdefault(measure, {})[int(year)] = (_est(lo, mid, hi), int(units))
    for measure in MEASURES:
        if measure not in per or base not in per[measure] or compare not in per[measure]:
            continue
        b, c = per[measure][base], per[measure][compare]
        ind.cells.append(Cell({"measure": measure, "period": str(base)}, b[0], units=b[1]))
        ind.cells.append(Cell({"measure": measure, "period": str(compare)}, c[0], units=c[1]))
        ind.cells.append(Cell({"measure": measure, "period": "change"}, None,
                              ratio_change(c[0], b[0]), units=b[1]))
    return ind


def change_by_region(src: Source, base: int, compare: int) -> Indicator:
    """Change in detected victims by UNODC region, over countries reporting both years."""
    rows = _rows(src, _base(src.contribution_id) + "SELECT DISTINCT country_iso3 FROM g")
    src.con.register("country_region", pa.table({
        "country_iso3": [r[0] for r in rows],
        "unodc_region": [region_of(r[0], "unodc", table=src.regions) or "(no region)"
                         for r in rows]}))
    sql = _base(src.contribution_id) + f"""
, h AS (SELECT g.*, r.unodc_region FROM g JOIN country_region r USING (country_iso3)
        WHERE indicator = 'detected_victims' AND dimension = 'total' AND sex = 'total'
          AND age = 'total' AND year IN ({int(base)}, {int(compare)})),
both_years AS (SELECT country_iso3 FROM h GROUP BY 1 HAVING count(DISTINCT year) = 2)
SELECT unodc_region, year, {_AGG} FROM h SEMI JOIN both_years USING (country_iso3)
GROUP BY ALL ORDER BY unodc_region, year"""
    ind = Indicator(
        id="change_by_region",
        title=f"Detected victims {base} → {compare} by UNODC region (countries reporting both)",
        definition="As change_between_years, for detected victims, per UNODC region of the "
                   "reporting country (the region table's fingerprint is in the provenance).",
        denominator=f"the region's {base} sum over the same countries",
        filters={"indicator": "detected_victims", "dimension": "total", "sex": "total",
                 "age": "total", "years": [base, compare]},
        query=sql, key_names=["region", "period"], unit="persons",
        censoring="as for change_between_years")
    per: dict[str, dict[int, tuple[Estimate, int]]] = {}
    for region, year, units, lo, mid, hi in _rows(src, sql):
        per.setdefault(region, {})[int(year)] = (_est(lo, mid, hi), int(units))
    for region, years in sorted(per.items()):
        if base not in years or compare not in years:
            continue
        b, c = years[base], years[compare]
        ind.cells.append(Cell({"region": region, "period": str(base)}, b[0], units=b[1]))
        ind.cells.append(Cell({"region": region, "period": str(compare)}, c[0], units=c[1]))
        ind.cells.append(Cell({"region": region, "period": "change"}, None,
                              ratio_change(c[0], b[0]), units=b[1]))
    return ind


def _hide_changes_of_hidden_counts(ind: Indicator, key: str) -> None:
    hidden = {c.key[key] for c in ind.cells if c.suppressed and c.count is not None}
    for c in ind.cells:
        if c.count is None and c.key[key] in hidden:
            c.suppressed = "derived"


# ----------------------------------------------------------------------------------------------


def _headlines(report_inds: dict[str, Indicator], settings: ReportSettings) -> None:
    pick = settings.censored
    sa = report_inds["victims_by_sex_age"]
    girls = {c.key["year"]: c for c in sa.cells if c.key["group"] == "girls"}
    by_year = {
        str(y): (None if c.suppressed or c.share is None else
                 {"value": round(c.share.pick(pick), 4), **c.share.as_dict(4),
                  "countries": c.units})
        for y, c in sorted(girls.items())}
    sa.headline = {f"girls_share_{y}": by_year[str(y)]
                   for y in (settings.base_year, settings.compare_year) if by_year.get(str(y))}
    sa.headline["girls_share_by_year"] = by_year
    ch = report_inds["change_between_years"]
    ch.headline = {
        f"{c.key['measure']}_change": (None if c.suppressed or c.share is None else
                                       {"value": round(c.share.pick(pick), 4),
                                        **c.share.as_dict(4), "countries": c.units})
        for c in ch.cells if c.key["period"] == "change"}
    fo = report_inds["forms_of_exploitation"]
    fo.headline = {
        f"{c.key['form']}_share_{c.key['year']}": {"value": round(c.share.pick(pick), 4),
                                                    **c.share.as_dict(4), "countries": c.units}
        for c in fo.cells
        if c.key["form"] != "total" and c.share is not None and not c.suppressed
        and c.key["year"] in (settings.base_year, settings.compare_year)}
    cc = report_inds["cross_border_change"]
    cc.headline = {
        f"{c.key['measure']}_change": {"value": round(c.share.pick(pick), 4),
                                       **c.share.as_dict(4), "countries": c.units}
        for c in cc.cells if c.key["period"] == "change" and c.share and not c.suppressed}
    co = report_inds["conflict_origin"]
    co.headline = {
        f"conflict_origin_share_{c.key['year']}": {"value": round(c.share.pick(pick), 4),
                                                    **c.share.as_dict(4), "countries": c.units}
        for c in co.cells if c.key["origin_region"] == "total" and c.share is not None
        and not c.suppressed}
    cb = report_inds["cross_border"]
    cb.headline = {
        f"cross_border_share_{c.key['year']}": {"value": round(c.share.pick(pick), 4),
                                                 **c.share.as_dict(4), "countries": c.units}
        for c in cb.cells if c.key["origin"] == "cross_border" and c.share is not None
        and not c.suppressed and c.key["year"] in (settings.base_year, settings.compare_year)}


def glotip_report(src: Source, settings: ReportSettings) -> Report:
    """All GLOTIP indicators of the module docstring, disclosure-controlled (``threshold``)."""
    conflict = load_conflict_list(settings.conflict_table)
    inds = [
        detected_victims_per_year(src),
        victims_by_sex_age(src),
        forms_of_exploitation(src),
        cross_border(src),
        change_between_years(src, settings.base_year, settings.compare_year),
        change_by_region(src, settings.base_year, settings.compare_year),
        cross_border_change(src, settings.base_year, settings.compare_year),
        detected_victims_per_year(src, "persons_prosecuted"),
        detected_victims_per_year(src, "persons_convicted"),
        region_flows(src, settings.compare_year, "unodc"),
        region_flows(src, settings.compare_year, "m49"),
        conflict_origin(src, conflict),
    ]
    for ind in inds:
        apply_suppression(ind.cells, ind.lines, settings.threshold)
    _hide_changes_of_hidden_counts(inds[4], "measure")
    _hide_changes_of_hidden_counts(inds[5], "region")
    _hide_changes_of_hidden_counts(inds[6], "measure")
    by_id = {i.id: i for i in inds}
    _headlines(by_id, settings)
    charts = {"victims_by_sex_age": "groups", "forms_of_exploitation": "forms",
              "cross_border": "cross_border", "detected_victims_per_year": "totals",
              "change_by_region": "change_by_region", "persons_convicted_per_year": "justice",
              "persons_prosecuted_per_year": "justice"}
    for ind in inds:
        ind.chart = charts.get(ind.id, "heatmap" if ind.id.startswith("region_flows") else None)
    return Report(kind="glotip", title="Detected trafficking victims — UNODC GLOTIP country data",
                  provenance={**src.provenance, "conflict_list": conflict.provenance()},
                  settings=settings, limitations=list(LIMITATIONS),
                  indicators=inds, counting_unit="persons as counted by national authorities")
