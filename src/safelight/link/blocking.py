"""Blocking: candidate pairs from several equi-join rules, in DuckDB SQL.

Contract: :func:`candidate_pairs` takes normalised :class:`~safelight.link.prepare.Records` and
returns each unordered pair of record indices ``(a, b)``, ``a < b``, that at least one rule
proposes — once, with the index of the first rule that found it. Rules are SQL conditions over
two aliases ``l`` and ``r`` of the normalised table; every rule has an equality on at least one
column so DuckDB runs it as a hash join (no cross product). NULL never equals NULL.

The default rules are chosen so that every kind of difference in the corruption model leaves at
least one rule intact: a typo in the family name keeps (given group, birth date); a missing
birth date keeps (given group, family); a swap of given and family name keeps the sorted pair
of name keys; a new spelling of both names keeps the birth date, phone or document number.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from safelight.link.prepare import Records

__all__ = ["DEFAULT_RULES", "BlockingRule", "candidate_pairs"]


@dataclass(frozen=True)
class BlockingRule:
    """A named join condition over ``l`` and ``r`` (columns of :meth:`Records.to_arrow`)."""

    name: str
    condition: str


_FULL_DATE = (
    "l.birth_year = r.birth_year AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
    " AND l.birth_year >= 0 AND l.birth_month > 0 AND l.birth_day > 0"
)

_YEAR_OR_MISSING = " AND (l.birth_year = r.birth_year OR l.birth_year < 0 OR r.birth_year < 0)"

DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("family_year", "l.family = r.family AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0"),
    BlockingRule("given_family", "l.given_group = r.given_group AND l.family = r.family"),
    BlockingRule("birth_date", _FULL_DATE + " AND NOT (l.birth_month = 1 AND l.birth_day = 1)"),
    BlockingRule("sorted_names", "l.name_lo = r.name_lo AND l.name_hi = r.name_hi"),
    BlockingRule("given_year", "l.given_group = r.given_group AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0"),
    BlockingRule("given_family_prefix", "l.given_group = r.given_group"
                 " AND l.family_prefix2 = r.family_prefix2"),
    BlockingRule("name_prefixes", "l.given_prefix3 = r.given_prefix3"
                 " AND l.family_prefix3 = r.family_prefix3"),
    BlockingRule("given_month_day", "l.given_group = r.given_group"
                 " AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
                 " AND l.birth_month > 0 AND l.birth_day > 0"
                 " AND NOT (l.birth_month = 1 AND l.birth_day = 1)"),
    BlockingRule("given_is_family", "l.given = r.family" + _YEAR_OR_MISSING),
    BlockingRule("family_is_given", "l.family = r.given" + _YEAR_OR_MISSING),
    BlockingRule("phone", "l.phone = r.phone"),
    BlockingRule("document", "l.document = r.document"),
    BlockingRule("family_postcode", "l.family = r.family AND l.postcode = r.postcode"),
    BlockingRule("given_postcode", "l.given_group = r.given_group AND l.postcode = r.postcode"),
    BlockingRule("address", "l.address_line = r.address_line AND l.street_number = r.street_number"),
    BlockingRule("postcode_locality", "l.postcode = r.postcode AND l.locality = r.locality"),
)  # fmt: skip


def candidate_pairs(
    records: Records,
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    cross_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, rule)``: candidate pairs as int64 record indices (a < b) and the int8 index of
    the first rule in ``rules`` that proposed each pair; sorted by (a, b). With ``cross_only``
    only pairs of records from different contributors are proposed (two-source linkage)."""
    own = con is None
    c = duckdb.connect() if own else con
    try:
        c.register("__link_records_arrow", records.to_arrow())
        c.execute("""
            CREATE OR REPLACE TEMP TABLE __link_block AS
            SELECT *,
                   CASE WHEN given IS NOT NULL AND family IS NOT NULL
                        THEN least(given, family) END AS name_lo,
                   CASE WHEN given IS NOT NULL AND family IS NOT NULL
                        THEN greatest(given, family) END AS name_hi,
                   left(family, 2) AS family_prefix2,
                   left(family, 3) AS family_prefix3,
                   left(given, 3) AS given_prefix3
            FROM __link_records_arrow""")
        c.unregister("__link_records_arrow")
        across = " AND l.contributor IS DISTINCT FROM r.contributor" if cross_only else ""
        selects = [
            f"SELECT l.rid AS a, r.rid AS b, {i}::TINYINT AS rule FROM __link_block l "
            f"JOIN __link_block r ON ({rule.condition}) AND l.rid < r.rid{across}"
            for i, rule in enumerate(rules)
        ]
        sql = (
            "SELECT a, b, min(rule) AS rule FROM ("
            + " UNION ALL ".join(selects)
            + ") GROUP BY a, b ORDER BY a, b"
        )
        res = c.sql(sql).to_arrow_table()
        c.execute("DROP TABLE IF EXISTS __link_block")
    finally:
        if own:
            c.close()
    return (
        res.column("a").to_numpy().astype(np.int64),
        res.column("b").to_numpy().astype(np.int64),
        res.column("rule").to_numpy().astype(np.int8),
    )
