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
import pyarrow as pa

from safelight.link.prepare import Records, encode_strings

__all__ = ["DEFAULT_RULES", "TRAINING_RULES", "BlockingRule", "candidate_pairs", "training_pairs"]


@dataclass(frozen=True)
class BlockingRule:
    """A named join condition over ``l`` and ``r`` (columns of :meth:`Records.to_arrow`)."""

    name: str
    condition: str


_FULL_DATE = (
    "l.birth_year = r.birth_year AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
    " AND l.birth_year >= 0 AND l.birth_month > 0 AND l.birth_day > 0"
)
_REAL_DATE = "NOT (l.birth_month = 1 AND l.birth_day = 1)"

# Second keys. Rules on name keys alone grow quadratically where names repeat (a few hundred
# common names cover most people), so each is narrowed by a second, independent key that the
# corruption model rarely breaks at the same time as the first: a birth year within one year
# (or missing), the first letter of the other name (or that name missing), dates that do not
# contradict each other, or a place in common (postcode, locality or street).
# a place in common: where the records' address says the same
_PLACE = ("l.postcode = r.postcode OR l.locality = r.locality OR l.address_line = r.address_line"
          " OR l.street_number = r.street_number")
_YEAR_NEAR = (" AND (abs(l.birth_year - r.birth_year) <= 1 OR l.birth_year < 0 OR r.birth_year < 0"
              " OR " + _PLACE + ")")
_NAME_MISSING = "l.given IS NULL OR r.given IS NULL OR l.family IS NULL OR r.family IS NULL"
_INITIALS = ("l.given_initial = r.given_initial OR l.family_initial = r.family_initial"
             " OR l.given_initial = r.family_initial OR l.family_initial = r.given_initial"
             " OR " + _NAME_MISSING)
# two full, real (not 01-01) birth dates that differ, and not by a day/month swap
_DATES_DIFFER = (
    "l.birth_month > 0 AND l.birth_day > 0 AND r.birth_month > 0 AND r.birth_day > 0"
    " AND NOT (l.birth_month = 1 AND l.birth_day = 1) AND NOT (r.birth_month = 1 AND r.birth_day = 1)"
    " AND (l.birth_month <> r.birth_month OR l.birth_day <> r.birth_day)"
    " AND (l.birth_month <> r.birth_day OR l.birth_day <> r.birth_month)"
)
_DATES_AGREE = "NOT (" + _DATES_DIFFER + ")"


def _other_name(left: str, right: str) -> str:
    """The other name starts alike or is missing, or the birth dates do not contradict."""
    return (f" AND (l.{left}_initial = r.{right}_initial OR l.{left} IS NULL"
            f" OR r.{right} IS NULL OR {_DATES_AGREE} OR {_PLACE})")


def _crossed(left: str, right: str) -> str:
    """For swapped names: the left record's other name starts like, or shares a word with,
    the right record's other name, or one of them is missing."""
    words = " OR ".join(f"l.{left}_{x} = r.{right}_{y}" for x in ("first", "last")
                        for y in ("first", "last"))
    return (f" AND ({words} OR l.{left} IS NULL OR r.{right} IS NULL OR {_DATES_AGREE}"
            f" OR {_PLACE})")


DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("family_year", "l.family = r.family AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _other_name("given", "given")),
    BlockingRule("given_family", "l.given_group = r.given_group AND l.family = r.family"
                 + _YEAR_NEAR),
    BlockingRule("birth_date", _FULL_DATE + " AND " + _REAL_DATE
                 + " AND (" + _INITIALS + " OR " + _PLACE + ")"),
    BlockingRule("sorted_names", "l.name_lo = r.name_lo AND l.name_hi = r.name_hi" + _YEAR_NEAR),
    BlockingRule("given_year", "l.given_group = r.given_group AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _other_name("family", "family")),
    BlockingRule("name_prefixes", "l.given_prefix3 = r.given_prefix3"
                 " AND l.family_prefix3 = r.family_prefix3" + _YEAR_NEAR),
    BlockingRule("given_month_day", "l.given_group = r.given_group"
                 " AND l.birth_month = r.birth_month AND l.birth_day = r.birth_day"
                 " AND l.birth_month > 0 AND l.birth_day > 0 AND " + _REAL_DATE),
    BlockingRule("given_is_family", "l.given = r.family AND l.family_initial = r.given_initial"
                 + _YEAR_NEAR),
    BlockingRule("family_is_given", "l.family = r.given AND l.given_initial = r.family_initial"
                 + _YEAR_NEAR),
    BlockingRule("given_is_family_year", "l.given = r.family AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _crossed("family", "given")),
    BlockingRule("family_is_given_year", "l.family = r.given AND l.birth_year = r.birth_year"
                 " AND l.birth_year >= 0" + _crossed("given", "family")),
    BlockingRule("given_is_family_postcode", "l.given = r.family AND l.postcode = r.postcode"),
    BlockingRule("family_is_given_postcode", "l.family = r.given AND l.postcode = r.postcode"),
    BlockingRule("phone", "l.phone = r.phone"),
    BlockingRule("document", "l.document = r.document"),
    BlockingRule("family_postcode", "l.family = r.family AND l.postcode = r.postcode"),
    BlockingRule("given_postcode", "l.given_group = r.given_group AND l.postcode = r.postcode"),
    BlockingRule("address", "l.address_line = r.address_line AND l.street_number = r.street_number"
                 " AND (l.birth_year = r.birth_year OR " + _INITIALS + ")"),
    BlockingRule("postcode_locality", "l.postcode = r.postcode AND l.locality = r.locality"),
)  # fmt: skip

#: Pairs that EM trains on, drawn by their own joins (as splink does), not the candidates:
#: the blocking rules' second keys are the very fields the sessions learn, so candidates would
#: teach EM that a shared birth year is a match. ``same_family`` pairs measure how often two
#: people of one family share a phone or an address (:func:`safelight.link.model.kin_u`).
TRAINING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("same_birth_date", _FULL_DATE + " AND " + _REAL_DATE),
    BlockingRule("same_names", "l.given = r.given AND l.family = r.family"),
    BlockingRule("same_family", "l.family = r.family"),
)


def _blocking_columns(records: Records) -> pa.Table:
    """The table the rules join: ``rid`` (row index), the birth date parts, and every string
    column of ``records`` as its integer code (:attr:`Records.codes`; NULL where missing), plus
    the derived keys ``name_lo``/``name_hi`` (the two name keys in a fixed order),
    ``family_prefix2``/``family_prefix3``/``given_prefix3`` and ``given_initial``/
    ``family_initial``. Codes compare equal exactly when the strings do, so the rules read as
    on the strings, but join and filter on integers."""
    codes = records.codes
    col = codes.column

    def arr(x: np.ndarray) -> pa.Array:
        return pa.array(x, pa.int32(), mask=x < 0)

    out: dict[str, pa.Array] = {"rid": pa.array(np.arange(len(records), dtype=np.int64))}
    for name, v in col.items():
        out[name] = arr(v)
    for name in ("birth_year", "birth_month", "birth_day"):
        out[name] = pa.array(getattr(records, name))
    given, family = col["given"], col["family"]
    both = (given >= 0) & (family >= 0)
    out["name_lo"] = arr(np.where(both, np.minimum(given, family), -1))
    out["name_hi"] = arr(np.where(both, np.maximum(given, family), -1))
    vocab = codes.vocab["given"]  # shared by the name columns
    for key, k, name in (("family_prefix2", 2, family), ("family_prefix3", 3, family),
                         ("given_prefix3", 3, given), ("given_initial", 1, given),
                         ("family_initial", 1, family)):
        prefixes = _prefix_codes(vocab, k)
        out[key] = arr(np.where(name >= 0, prefixes[np.maximum(name, 0)], -1))
    return pa.table(out)


def _prefix_codes(vocab: np.ndarray, k: int) -> np.ndarray:
    """Codes of the first ``k`` letters of each string of ``vocab``; initials of the given and
    family names share one vocabulary (k = 1 is compared crosswise)."""
    (codes,), _ = encode_strings([np.array([v[:k] for v in vocab], dtype=object)])
    return codes if len(codes) else np.zeros(1, dtype=np.int32)


def _block_table(c: duckdb.DuckDBPyConnection, records: Records) -> None:
    c.register("__link_records_arrow", _blocking_columns(records))
    c.execute("CREATE OR REPLACE TEMP TABLE __link_block AS SELECT * FROM __link_records_arrow")
    c.unregister("__link_records_arrow")


def _join(rule: BlockingRule, cross_only: bool) -> str:
    across = " AND l.contributor IS DISTINCT FROM r.contributor" if cross_only else ""
    return (f"FROM __link_block l JOIN __link_block r ON ({rule.condition}) AND l.rid < r.rid"
            f"{across}")


_EXACT_UP_TO = 20  # a training rule up to 20 × max_pairs pairs is counted exactly


def training_pairs(
    records: Records,
    rules: tuple[BlockingRule, ...] = TRAINING_RULES,
    max_pairs: int = 300_000,
    *,
    seed: int = 0,
    cross_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, int]]:
    """``(a, b, drawn, totals)``: the distinct pairs of the training ``rules``, sorted by
    (a, b); per rule name, a boolean mask of the pairs it drew and its number of pairs in all.
    A rule with more than ``max_pairs`` pairs draws a uniform sample of about ``max_pairs``
    (by a hash of the pair and ``seed``, so deterministic) and its count is exact (divided by
    the sampled share); a huge one (over 20 × ``max_pairs``, e.g. everyone sharing a common
    family name) draws the pairs of a sample of its records instead, whose count is only
    estimated (cheap: the join is never run in full)."""
    c = duckdb.connect()
    try:
        _block_table(c, records)
        shares: dict[str, float] = {}
        selects = []
        for i, rule in enumerate(rules):
            join = _join(rule, cross_only)
            # the rule's size, estimated on 1/64 of the records (cheap even for 60M pairs)
            probe = 64 * int(c.execute(f"SELECT count(*) {join} AND hash(l.rid, {int(seed)})"
                                       " % 64 = 0").fetchall()[0][0])
            keep = ""
            if probe > _EXACT_UP_TO * max_pairs:
                # huge (common family names): the pairs of a sample of the records; uniform per
                # pair but noisy in number, which only the share-based kin estimate uses
                share = max_pairs / probe
                keep = f" AND hash(l.rid, {int(seed)}) % 1000000 < {int(1_000_000 * share)}"
            else:  # counted exactly, sampled by pair: the sessions' prior needs the count
                total = int(c.execute(f"SELECT count(*) {join}").fetchall()[0][0])
                share = min(1.0, max_pairs / max(total, 1))
                if share < 1.0:
                    keep = (f" AND hash(l.rid, r.rid, {int(seed)}) % 1000000"
                            f" < {int(1_000_000 * share)}")
            shares[rule.name] = share
            selects.append(f"SELECT l.rid AS a, r.rid AS b, {i} AS rule {join}{keep}")
        flags = ", ".join(f"bool_or(rule = {i}) AS r{i}" for i in range(len(rules)))
        res = c.sql(f"SELECT a, b, {flags} FROM (" + " UNION ALL ".join(selects)
                    + ") GROUP BY a, b ORDER BY a, b").to_arrow_table()
    finally:
        c.close()
    drawn = {rule.name: res.column(f"r{i}").to_numpy(zero_copy_only=False).astype(bool)
             for i, rule in enumerate(rules)}
    totals = {name: round(int(mask.sum()) / shares[name]) for name, mask in drawn.items()}
    return (res.column("a").to_numpy().astype(np.int64),
            res.column("b").to_numpy().astype(np.int64), drawn, totals)


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
        _block_table(c, records)
        selects = [f"SELECT l.rid AS a, r.rid AS b, {i}::TINYINT AS rule {_join(rule, cross_only)}"
                   for i, rule in enumerate(rules)]
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
