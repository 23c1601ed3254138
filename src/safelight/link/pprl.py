"""Privacy-preserving linkage: block, compare, score and cluster encoded identities.

Contract
--------
:func:`link_encoded` takes :class:`~safelight.link.encoded.EncodedRecords` (contribution
packages made with one key) and returns :class:`PPRLResult`: a cluster label per record,
the scored candidate pairs, the fitted model, and per-pair reasons (per-field level and
weight — never a clear value, the hub has none). The steps are those of the clear linkage,
on encodings:

* **Blocking**, set-wise in DuckDB: equi-joins on the *keyed* blocking keys the contributors
  computed (:data:`safelight.identity.encode.BLOCKING_RULES`: the clear rules narrowed by
  their second key, as further keys; a rule's full key is joined only against the *open* keys
  of records whose second key is missing — :data:`KEY_RULES`). Hamming LSH on the name
  filters is a fallback for the records no keyed join paired: ``bands`` bands of
  ``band_bits`` bit positions drawn at random (by the hub, seeded) from the concatenated
  given- and family-name filters; such a record and one whose sampled bits all agree with it
  in one band become candidates. With ``cross_only`` (two-source linkage) only pairs from
  different contributors are proposed.
* **Training pairs** for EM come from their own keyed joins (:data:`TRAINING_KEYS`, sampled
  and counted as in clear), not from the narrowed candidates.
* **Comparison**: noise-corrected Dice per field (:func:`safelight.link.encoded.compare_encoded`).
* **Scoring**: the same Fellegi–Sunter model as in clear — u from random pairs, m by EM in the
  same training sessions (:func:`safelight.link.model.estimate_model`) — and the same
  term-frequency adjustment of agreeing names, with each name's frequency within its
  nationality estimated from the encodings (:func:`safelight.link.encoded.name_frequencies`:
  how many records of a random sample carry a near-identical filter — no clear value).
* **Clustering**: :func:`safelight.link.cluster.cluster_pairs` (components + GAEC) for
  deduplication and many sources; with ``one_to_one`` (two-source linkage) the mutual-best
  assignment of :mod:`safelight.link.onetoone` instead.

Deterministic for a given seed (the encodings themselves are randomised at the contributor).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from safelight.errors import UsageError
from safelight.link.blocking import pair_sample, union_of_drawn
from safelight.link.cluster import cluster_pairs, connected_components
from safelight.link.compare import Comparisons
from safelight.link.encoded import (
    ENCODED_FIELDS,
    EncodedRecords,
    compare_encoded,
    name_frequencies,
)
from safelight.link.model import (
    EMResult,
    TrainingPairs,
    estimate_model,
    estimate_u,
    tf_from_frequencies,
)
from safelight.link.onetoone import match_probability, one_to_one

__all__ = ["KEY_RULES", "TRAINING_KEYS", "PPRLResult", "PPRLSettings", "encoded_candidate_pairs",
           "encoded_training_pairs", "link_encoded"]

log = logging.getLogger("safelight.link.pprl")

#: keyed-key joins: name → (left column, right column) of blocking keys joined on equality
#: (both orientations when the columns differ). The contributor's narrowed keys
#: (:data:`safelight.identity.encode.BLOCKING_RULES`) are joined among themselves; a rule's full
#: key is joined only against the ``_open`` keys of records that its second key cannot narrow,
#: so a common name is never joined with all its namesakes (for candidates: EM's training pairs
#: come from self-joins of three full keys, :data:`TRAINING_KEYS`).
KEY_RULES: dict[str, tuple[str, str]] = {
    "family_year_date": ("family_year_date", "family_year_date"),
    "family_year_open_given": ("family_year_open_given", "family_year"),
    "family_year_open_date": ("family_year_open_date", "family_year"),
    "given_family_year2": ("given_family_year2", "given_family_year2"),
    "given_family_open": ("given_family_open", "given_family"),
    "given_family_locality": ("given_family_locality", "given_family_locality"),
    "given_family_street": ("given_family_street", "given_family_street"),
    "birth_date_gi": ("birth_date_gi", "birth_date_gi"),
    "birth_date_fi": ("birth_date_fi", "birth_date_fi"),
    "birth_date_crossed": ("birth_date_gi", "birth_date_fi"),
    "birth_date_open": ("birth_date_open", "birth_date"),
    "birth_date_postcode": ("birth_date_postcode", "birth_date_postcode"),
    "birth_date_street": ("birth_date_street", "birth_date_street"),
    "sorted_names_year2": ("sorted_names_year2", "sorted_names_year2"),
    "sorted_names_open": ("sorted_names_open", "sorted_names"),
    "sorted_names_locality": ("sorted_names_locality", "sorted_names_locality"),
    "given_year_date": ("given_year_date", "given_year_date"),
    "given_year_open_date": ("given_year_open_date", "given_year"),
    "name_prefixes_year2": ("name_prefixes_year2", "name_prefixes_year2"),
    "name_prefixes_open": ("name_prefixes_open", "name_prefixes"),
    "given_month_day": ("given_month_day", "given_month_day"),
    "name_as_other": ("name_as_given", "name_as_family"),
    "phone": ("phone", "phone"),
    "document": ("document", "document"),
    "family_postcode": ("family_postcode", "family_postcode"),
    "given_postcode": ("given_postcode", "given_postcode"),
    "address_year": ("address_year", "address_year"),
    "address_gi": ("address_gi", "address_gi"),
    "address_fi": ("address_fi", "address_fi"),
    "address_crossed": ("address_gi", "address_fi"),
    "postcode_locality": ("postcode_locality", "postcode_locality"),
}

#: pairs EM trains on, drawn by their own keyed joins (as in clear,
#: :data:`safelight.link.blocking.TRAINING_RULES`), not the narrowed candidates: session name →
#: the blocking-key column whose equal values make a pair
TRAINING_KEYS: dict[str, str] = {
    "same_birth_date": "birth_date",
    "same_names": "sorted_names",
    "same_family": "family_year",
}


@dataclass(frozen=True)
class PPRLSettings:
    """Settings of a privacy-preserving linkage run (saved with its output).

    ``threshold`` 0.5 is the Bayes decision under the learned model, as in clear.
    ``bands``/``band_bits``: the LSH fallback (0 bands: none); ``lsh_orphans_only`` False runs
    it on every record (the former behaviour: many more candidates). ``training``: ``rules``
    (EM on pairs drawn by :data:`TRAINING_KEYS`) or ``candidates`` (EM on the candidate pairs).
    """

    threshold: float = 0.5
    review_low: float = 0.2
    review_high: float = 0.9
    u_sample_pairs: int = 300_000
    seed: int = 0
    bands: int = 24
    band_bits: int = 48
    lsh_orphans_only: bool = True
    training: str = "rules"
    cross_only: bool = False
    one_to_one: bool = False

    def __post_init__(self) -> None:
        if self.training not in ("rules", "candidates"):
            raise UsageError(f"PPRL training must be 'rules' or 'candidates' (got "
                             f"{self.training!r})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return dict(self.__dict__)


def _lsh_keys(er: EncodedRecords, bands: int, band_bits: int, seed: int) -> dict[str, pa.Array]:
    names = np.concatenate([er.filters["given_name"], er.filters["family_name"]], axis=1)
    present = er.present["given_name"] | er.present["family_name"]
    total = names.shape[1] * 64
    rng = np.random.default_rng([seed, 0x15A])
    out: dict[str, pa.Array] = {}
    if not 1 <= band_bits <= 64:
        raise UsageError(f"PPRL band_bits must be 1..64 (one 64-bit key per band), got "
                         f"{band_bits}")
    pad = np.zeros((len(er), 8 - (band_bits + 7) // 8), np.uint8)  # to 8 bytes per key
    for j in range(bands):
        pos = np.sort(rng.choice(total, size=band_bits, replace=False))
        bits = ((names[:, pos // 64] >> (pos % 64).astype(np.uint64)) & np.uint64(1)).astype(
            np.uint8)
        packed = np.concatenate([np.packbits(bits, axis=1), pad], axis=1)
        key = np.ascontiguousarray(packed).view("<i8").reshape(-1)
        out[f"lsh_{j}"] = pa.array(key, pa.int64(), mask=~present)
    return out


def _key_table(er: EncodedRecords) -> pa.Table:
    cols: dict[str, pa.Array] = {
        "rid": pa.array(np.arange(len(er), dtype=np.int64)),
        "contributor": pa.array(er.contributor.tolist(), pa.string()),
    }
    for rule, vals in er.blocking.items():
        cols[f"bk_{rule}"] = pa.array(vals, pa.int64(), mask=~er.blocking_present[rule])
    return pa.table(cols)


def _join_selects(joins: list[tuple[str, str]], cross: str, left: str = "__pprl_records",
                  first_index: int = 0) -> list[str]:
    selects = []
    for i, (x, y) in enumerate(joins, start=first_index):
        # a crosswise rule (x ≠ y) is not symmetric: both orientations
        for lo, hi in (("l", "r"), ("r", "l")) if x != y else (("l", "r"),):
            selects.append(
                f"SELECT {lo}.rid AS a, {hi}.rid AS b, {i}::SMALLINT AS rule "
                f"FROM {left} l JOIN __pprl_records r ON l.{x} = r.{y} "
                f"AND {lo}.rid < {hi}.rid{cross}")
    return selects


def encoded_candidate_pairs(er: EncodedRecords, settings: PPRLSettings | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, rule)``: candidate pairs (a < b, int64, sorted) and the int16 index of the
    first rule that proposed each — keyed-key joins (:data:`KEY_RULES`) first, then the LSH
    bands (index ``len(KEY_RULES) + band``). The LSH is a fallback: it proposes pairs only for
    the records that no keyed join paired (``lsh_orphans_only``, the default), whose clear
    values are too damaged for any rule."""
    s = settings or PPRLSettings()
    table = _key_table(er)
    cross = " AND l.contributor <> r.contributor" if s.cross_only else ""
    joins = [(f"bk_{x}", f"bk_{y}") for x, y in KEY_RULES.values()
             if f"bk_{x}" in table.column_names and f"bk_{y}" in table.column_names]
    con = duckdb.connect()
    try:
        con.register("__pprl_records", table)
        sql = ("SELECT a, b, min(rule) AS rule FROM (" + " UNION ALL ".join(_join_selects(
            joins, cross)) + ") GROUP BY a, b")
        con.execute("CREATE TEMP TABLE __pprl_keyed AS " + sql)
        if s.bands:
            lsh = pa.table({"rid": table.column("rid"), "contributor": table.column("contributor"),
                            **_lsh_keys(er, s.bands, s.band_bits, s.seed)})
            con.unregister("__pprl_records")
            con.register("__pprl_records", lsh)
            left = "__pprl_records"
            if s.lsh_orphans_only:
                con.execute("CREATE TEMP TABLE __pprl_orphans AS SELECT * FROM __pprl_records "
                            "WHERE rid NOT IN (SELECT a FROM __pprl_keyed UNION ALL "
                            "SELECT b FROM __pprl_keyed)")
                left = "__pprl_orphans"
            bands = [(f"lsh_{j}", f"lsh_{j}") for j in range(s.bands)]
            first = len(KEY_RULES)
            if s.lsh_orphans_only:  # the orphan may be either side of the pair
                selects = [
                    f"SELECT least(l.rid, r.rid) AS a, greatest(l.rid, r.rid) AS b, "
                    f"{first + j}::SMALLINT AS rule FROM {left} l JOIN __pprl_records r "
                    f"ON l.{x} = r.{x} AND l.rid <> r.rid{cross}"
                    for j, (x, _) in enumerate(bands)]
            else:
                selects = _join_selects(bands, cross, left, first)
            con.execute("INSERT INTO __pprl_keyed SELECT a, b, min(rule) FROM ("
                        + " UNION ALL ".join(selects) + ") GROUP BY a, b")
        res = con.sql("SELECT a, b, min(rule) AS rule FROM __pprl_keyed GROUP BY a, b "
                      "ORDER BY a, b").to_arrow_table()
    finally:
        con.close()
    return (res.column("a").to_numpy().astype(np.int64),
            res.column("b").to_numpy().astype(np.int64),
            res.column("rule").to_numpy().astype(np.int16))


def encoded_training_pairs(er: EncodedRecords, settings: PPRLSettings | None = None,
                           max_pairs: int = 300_000
                           ) -> tuple[np.ndarray, np.ndarray, TrainingPairs]:
    """``(a, b, training)``: the pairs EM trains on, drawn by the keyed joins of
    :data:`TRAINING_KEYS` (sorted by (a, b)); a join with more than ``max_pairs`` pairs draws
    a uniform sample (by a hash of the pair and the seed), and ``training.totals`` holds its
    exact count (the prior scales by it)."""
    s = settings or PPRLSettings()
    table = _key_table(er)
    cross = " AND l.contributor <> r.contributor" if s.cross_only else ""
    rules = {name: col for name, col in TRAINING_KEYS.items()
             if f"bk_{col}" in table.column_names}
    con = duckdb.connect()
    try:
        con.register("__pprl_records", table)
        selects, shares = [], {}
        for name, col in rules.items():
            join = (f"FROM __pprl_records l JOIN __pprl_records r ON l.bk_{col} = r.bk_{col} "
                    f"AND l.rid < r.rid{cross}")
            shares[name], keep = pair_sample(con, join, max_pairs, s.seed)
            selects.append((name, f"{join}{keep}"))
        a, b, drawn, totals = union_of_drawn(con, selects, shares)
    finally:
        con.close()
    return a, b, TrainingPairs(drawn, totals)


@dataclass
class PPRLResult:
    """Output of :func:`link_encoded`; arrays aligned with the records / candidate pairs."""

    records: EncodedRecords
    labels: np.ndarray
    comparisons: Comparisons
    rules: np.ndarray
    weights: np.ndarray
    probabilities: np.ndarray
    em: EMResult
    settings: PPRLSettings
    frequencies: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def reasons(self, ks: np.ndarray) -> list[dict[str, Any]]:
        """Per-field level and weight of candidate pairs ``ks``, the swap flag and the prior's
        log2 odds. No clear value exists at the hub, so none can appear here."""
        ks = np.asarray(ks, dtype=np.int64)
        model = self.em.model
        c = self.comparisons
        sub = Comparisons(c.a[ks], c.b[ks], c.levels[ks], c.swapped[ks])
        levels = sub.levels
        weights = model.field_weights(levels) + tf_from_frequencies(model, self.frequencies, sub)
        prior = round(float(np.log2(model.prior / (1 - model.prior))), 3)
        out = []
        for i, k in enumerate(ks.tolist()):
            reasons: dict[str, Any] = {}
            for j, (name, names) in enumerate(model.fields.items()):
                lvl = int(levels[i, j])
                reasons[name] = {"level": "missing" if lvl == 0 else names[lvl - 1],
                                 "weight": round(float(weights[i, j]), 3)}
            reasons["names_swapped"] = bool(self.comparisons.swapped[k])
            reasons["prior_log2_odds"] = prior
            out.append(reasons)
        return out


def _score(em: EMResult, er: EncodedRecords, freqs: dict[str, np.ndarray], x: np.ndarray,
           y: np.ndarray) -> np.ndarray:
    comps = compare_encoded(er, x, y)
    return em.model.match_weight(comps.levels) + tf_from_frequencies(
        em.model, freqs, comps, summed=True)


def link_encoded(er: EncodedRecords, settings: PPRLSettings | None = None) -> PPRLResult:
    """Link encoded records into persons (see the module docstring)."""
    s = settings or PPRLSettings()
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds of the process (all threads) per stage
    t, c = time.perf_counter(), time.process_time()
    a, b, rule = encoded_candidate_pairs(er, s)
    timings["blocking"] = time.perf_counter() - t
    cpu["blocking"] = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    comps = compare_encoded(er, a, b)
    timings["compare"] = time.perf_counter() - t
    cpu["compare"] = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    u = estimate_u(er, n_pairs=s.u_sample_pairs, seed=s.seed,  # type: ignore[arg-type]
                   compare_fn=compare_encoded, fields=ENCODED_FIELDS)
    if s.training == "rules":
        ta, tb, training = encoded_training_pairs(er, s)
        em = estimate_model(er, compare_encoded(er, ta, tb), u=u,  # type: ignore[arg-type]
                            seed=s.seed, fields=ENCODED_FIELDS, training=training)
    else:
        em = estimate_model(er, comps, u=u, seed=s.seed, fields=ENCODED_FIELDS)  # type: ignore[arg-type]
    # one-to-one scores only the candidate pairs, whose TF reads the first record's frequency;
    # clustering may score any pair
    freqs = name_frequencies(er, seed=s.seed, rows=a if s.one_to_one else None)
    timings["estimate"] = time.perf_counter() - t
    cpu["estimate"] = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    w = em.model.match_weight(comps.levels) + tf_from_frequencies(em.model, freqs, comps,
                                                                  summed=True)
    p = match_probability(a, b, w, len(er), exclusive=s.one_to_one)
    link = p >= s.threshold
    if s.one_to_one:
        keep = np.flatnonzero(link)[one_to_one(a[link], b[link], w[link])]
        comp = connected_components(len(er), a[keep], b[keep])
        labels = np.unique(comp, return_inverse=True)[1].astype(np.int64)
    else:
        labels = cluster_pairs(len(er), a[link], b[link],
                               lambda x, y: _score(em, er, freqs, x, y))
    timings["score_cluster"] = time.perf_counter() - t
    cpu["score_cluster"] = time.process_time() - c
    log.info("linked %d encoded records: %d candidate pairs, %d links, %d persons",
             len(er), len(a), int(link.sum()), int(labels.max()) + 1 if len(labels) else 0)
    timings.update({f"{k}_cpu": v for k, v in cpu.items()})
    return PPRLResult(er, labels, comps, rule, w, p, em, s, freqs, timings)
