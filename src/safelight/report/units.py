"""What the hub report counts: persons after linkage, or case records when no linkage run exists.

Contract:

* :func:`counting_unit` returns a :class:`CountingUnit` whose ``sql`` is a ``WITH c AS (...)``
  prefix: one row per counted unit with the columns the hub indicators read (``grp``,
  ``year_of_registration``, ``gender``, ``citizenship``, ``country_of_exploitation`` and the
  multi-valued fields); for persons it reads a TEMP table ``person_units`` computed once by
  :data:`PERSONS_SQL` (that SQL is in the provenance). Only records whose consent
  allows statistics enter it.
* **Persons** (default when the hub has a linkage run; store migration 3, ``persons``, written
  by ``safelight.link.hub``): records with the same ``person_id`` are one person. A record
  without consent to linkage, or with linkage consent but no person id (ingested after the last
  run), cannot be linked and counts as a person of its own — so person counts are an upper
  bound where such records exist; the numbers of both kinds are reported.
* **A person's attributes** when records disagree (documented in ``docs/report.md``):
  records are ordered by year of registration, registration date, contribution, contributor and
  record id. The situation at identification comes from the **earliest** record that has it:
  year of registration (the year the person was first identified), minor/adult, country of
  exploitation. Who the person is comes from the **most recent** record that has it: gender
  (``unknown`` counts as not recorded) and citizenship (later records correct earlier ones).
  Multi-valued fields (forms of exploitation, labour sectors, means of control, recruiter
  relationship) are the **union** over the person's records.
* **Records** (fallback, or ``unit="records"``): one row per record, labelled as records
  everywhere (indicator ids, units, counting unit, limitations).
* :func:`latest_link_run` is the report's own small reader of ``link_runs`` (the store has
  no accessor for it); ``None`` when the hub has no linkage table or no run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from safelight.report.model import ReportError

log = logging.getLogger("safelight.report.units")

UnitChoice = Literal["auto", "persons", "records"]

#: Multi-valued case fields the hub report reads; a person has the union of their records'.
MULTI_FIELDS = ("types_of_exploitation", "labour_sectors", "means_of_control",
                "recruiter_relationship")

_MINOR = "coalesce(majority_status = 'minor', age_years < 18)"


def group_sql(minor: str) -> str:
    """SQL for the victim group (women, men, girls, boys, not_recorded) of a row whose gender is
    ``gender`` and whose minor/adult flag is the SQL expression ``minor``."""
    return f"""CASE
  WHEN gender NOT IN ('female', 'male') OR gender IS NULL THEN 'not_recorded'
  WHEN ({minor}) IS NULL THEN 'not_recorded'
  WHEN ({minor}) THEN CASE gender WHEN 'female' THEN 'girls' ELSE 'boys' END
  ELSE CASE gender WHEN 'female' THEN 'women' ELSE 'men' END END"""


RECORDS_SQL = f"""WITH c AS (SELECT *, {group_sql(_MINOR)} AS grp FROM cases
                        WHERE consent_statistics)
"""

_MULTI = ",\n    ".join(f"list_distinct(flatten(list({f}))) AS {f}" for f in MULTI_FIELDS)

PERSONS_SQL = f"""WITH r AS (
  SELECT c.*, {_MINOR} AS is_minor,
         coalesce(CASE WHEN c.consent_linkage THEN p.person_id END,
                  'record:' || c.contributor || '/' || c.record_id) AS unit_id
  FROM cases c LEFT JOIN persons p USING (contributor, record_id)
  WHERE c.consent_statistics),
o AS (
  SELECT *, row_number() OVER (
      PARTITION BY unit_id ORDER BY year_of_registration NULLS LAST,
      registration_date NULLS LAST, contribution_id, contributor, record_id) AS k
  FROM r),
u AS (
  SELECT unit_id, count(*) AS n_records,
    min(year_of_registration) AS year_of_registration,
    arg_min(is_minor, k) FILTER (WHERE is_minor IS NOT NULL) AS is_minor,
    arg_min(country_of_exploitation, k)
      FILTER (WHERE country_of_exploitation IS NOT NULL) AS country_of_exploitation,
    arg_max(gender, k) FILTER (WHERE gender IS NOT NULL AND gender <> 'unknown') AS gender,
    arg_max(citizenship, k) FILTER (WHERE citizenship IS NOT NULL) AS citizenship,
    {_MULTI}
  FROM o GROUP BY unit_id),
c AS (SELECT *, {group_sql("is_minor")} AS grp FROM u)
"""


#: The name under which the per-person table is registered for the indicator queries.
PERSON_UNITS = "person_units"


@dataclass
class CountingUnit:
    """The unit the hub report counts, the SQL prefix that yields one row per unit, and what a
    reader must be told about it."""

    kind: Literal["persons", "records"]
    sql: str
    description: str
    limitations: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = ?", [name]).fetchone()[0])


def latest_link_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The most recent ``link_runs`` row (run id, times, software version, counts), or ``None``."""
    if not _has_table(con, "link_runs") or not _has_table(con, "persons"):
        return None
    cur = con.execute("SELECT run_id, started_at, finished_at, software_version, records, "
                      "persons, linked_pairs, review_pairs FROM link_runs "
                      "ORDER BY finished_at DESC LIMIT 1")
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description]
    return {k: (str(v.replace(microsecond=0)) if k.endswith("_at") else v)
            for k, v in zip(names, row, strict=True)}


def _published_run(run: dict[str, Any], threshold: int) -> dict[str, Any]:
    return {k: (rounded_count(v, threshold) if isinstance(v, int) and not isinstance(v, bool)
                else v) for k, v in run.items()}


def rounded_count(n: int, threshold: int) -> int | str:
    """A count quoted beside others that add up to a published total (the parts of the
    counting unit, a linkage run's figures): ``"<threshold"`` when small, else rounded to the
    nearest multiple of ``threshold``. Exact parts would let a reader subtract them from the
    total and read a suppressed part exactly (708 records in the run, 707 linked since: one
    withdrawal; found by a privacy review); rounded, the difference is known only to within a
    threshold."""
    if 0 < n < threshold:
        return f"<{threshold}"
    return int(round(n / threshold) * threshold) if threshold > 1 else int(n)


def _fmt(n: int, threshold: int) -> str:
    v = rounded_count(n, threshold)
    return (f"fewer than {threshold}" if isinstance(v, str) else "none" if v == 0
            else f"about {v:,}")


def counting_unit(con: duckdb.DuckDBPyConnection, choice: UnitChoice = "auto",
                  where: str = "hub", threshold: int = 11) -> CountingUnit:
    """Decide what the report counts (see the module docstring).

    ``choice="auto"`` counts persons when the hub has a linkage run and records otherwise;
    ``"persons"`` without a run raises :class:`ReportError`; ``"records"`` always counts records.
    Counts quoted in the limitations and provenance are disclosure-controlled (``threshold``).
    """
    run = latest_link_run(con) if choice != "records" else None
    if choice == "persons" and run is None:
        raise ReportError(f"{where}: no linkage run in this hub, so persons cannot be counted — "
                          f"run `safelight link hub {where}` first, or report records "
                          "(--unit records)")
    if run is None:
        why = ("--unit records was asked for" if choice == "records"
               else "this hub has no linkage run")
        return CountingUnit(
            kind="records", sql=RECORDS_SQL,
            description=f"case records, not persons ({why}): a person recorded by two agencies "
                        "counts twice",
            limitations=[f"These are counts of case RECORDS, not of persons ({why}): a victim "
                         "known to several contributors is counted once per record."],
            provenance={"counting_unit": "records", "reason": why})
    stats = con.execute("""
        SELECT count(*) FILTER (WHERE NOT c.consent_linkage),
               count(*) FILTER (WHERE c.consent_linkage AND p.person_id IS NULL),
               count(*) FILTER (WHERE c.consent_linkage AND p.person_id IS NOT NULL)
        FROM cases c LEFT JOIN persons p USING (contributor, record_id)
        WHERE c.consent_statistics""").fetchone()
    no_consent, unlinked, linked = (int(x) for x in stats)
    persons_linked = int(con.execute("""
        SELECT count(DISTINCT p.person_id) FROM cases c JOIN persons p USING (contributor,
        record_id) WHERE c.consent_statistics AND c.consent_linkage""").fetchone()[0])
    if unlinked:
        log.warning("%d records with consent to linkage were ingested after linkage run %s; "
                    "each counts as a person of its own until linkage runs again",
                    unlinked, run["run_id"])
    limits = [
        f"Counts are of PERSONS after record linkage (run {run['run_id']}, finished "
        f"{run['finished_at']}): {_fmt(linked, threshold)} linked records are "
        f"{_fmt(persons_linked, threshold)} persons. Linkage can wrongly join or split people "
        "(see the linkage run's review queue), so person counts carry the linkage error.",
        f"{_fmt(no_consent, threshold)} counted records have no consent to linkage and "
        f"{_fmt(unlinked, threshold)} were ingested after the last linkage run; each of them "
        "counts as a person of its own, so where the same person also appears elsewhere they "
        "are counted more than once (the person counts are upper bounds by at most that many).",
        "When a person's records disagree, the year of first registration, minor/adult at "
        "first registration and the first recorded country of exploitation are used; gender "
        "and citizenship come from the most recent record that has them; forms of "
        "exploitation, sectors, means of control and recruiter relationship are the union "
        "over the person's records.",
    ]
    # one row per person, computed once and read by every indicator (not once per query): a
    # TEMP table lives in memory, so this works on a hub opened read-only
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PERSON_UNITS} AS {PERSONS_SQL} SELECT * FROM c")
    n_persons = con.execute(f"SELECT count(*) FROM {PERSON_UNITS}").fetchone()[0]
    log.info("%d records counted as %d persons", linked + no_consent + unlinked, n_persons)
    return CountingUnit(
        kind="persons", sql=f"WITH c AS (SELECT * FROM {PERSON_UNITS})\n",
        description="persons (records joined by record linkage; records that cannot be linked "
                    "count as one person each)",
        limitations=limits,
        provenance={"counting_unit": "persons", "link_run": _published_run(run, threshold),
                    "sql": f"{PERSON_UNITS} = " + PERSONS_SQL + "SELECT * FROM c",
                    "records_linked": rounded_count(linked, threshold),
                    "persons_from_linked_records": rounded_count(persons_linked, threshold),
                    "records_without_linkage_consent": rounded_count(no_consent, threshold),
                    "records_not_yet_linked": rounded_count(unlinked, threshold),
                    "counts_rounded_to": threshold})
