"""Privacy-preserving linkage: block, compare, score and cluster encoded identities.

Contract
--------
:func:`link_encoded` takes :class:`~safelight.link.encoded.EncodedRecords` (contribution
packages made with one key) and returns :class:`PPRLResult`: a cluster label per record,
the scored candidate pairs, the fitted model, and per-pair reasons (per-field level and
weight — never a clear value, the hub has none). The steps are those of the clear linkage,
on encodings:

* **Blocking**, in NumPy (:mod:`safelight.link.pprl_blocking`): equi-joins on the *keyed*
  blocking keys the contributors computed (:data:`safelight.identity.encode.BLOCKING_RULES`:
  the clear rules narrowed by their second key, as further keys; a rule's full key is joined
  only against the *open* keys of records whose second key is missing — :data:`KEY_RULES`).
  Every join is capped by block size: a block of more than ``max_block`` pairs keeps each
  record's ``block_top_k`` most similar partners on a sketch of the filters, one of more
  than ``max_sub_block`` is skipped (counted and logged). Hamming LSH on the name
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

import numpy as np

from safelight.errors import UsageError
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
from safelight.link.pprl_blocking import (
    JoinStats,
    join_pairs,
    make_sketch,
    sample_bits,
    sample_self_join,
)

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
    max_block: int = 1_000
    block_top_k: int = 5
    max_sub_block: int = 1_000_000
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


def _lsh_band(er: EncodedRecords, positions: np.ndarray) -> np.ndarray:
    """One LSH band: the name-filter bits at ``positions`` (of the given-name filter followed
    by the family-name filter) packed into an int64 key per record."""
    given, family = er.filters["given_name"], er.filters["family_name"]
    split = given.shape[1] * 64
    pos_g, pos_f = positions[positions < split], positions[positions >= split] - split
    key = np.zeros(len(given), dtype=np.uint64)
    if len(pos_g):
        key |= sample_bits(given, pos_g)[:, 0]
    if len(pos_f):
        key |= sample_bits(family, pos_f)[:, 0] << np.uint64(len(pos_g))
    return key.view(np.int64)


def _lsh_positions(er: EncodedRecords, bands: int, band_bits: int, seed: int
                   ) -> list[np.ndarray]:
    if not 1 <= band_bits <= 64:
        raise UsageError(f"PPRL band_bits must be 1..64 (one 64-bit key per band), got "
                         f"{band_bits}")
    total = (er.filters["given_name"].shape[1] + er.filters["family_name"].shape[1]) * 64
    rng = np.random.default_rng([seed, 0x15A])
    return [np.sort(rng.choice(total, size=band_bits, replace=False)) for _ in range(bands)]


class _Candidates:
    """Candidate pairs as one int64 each, ``(a * n + b) << 6 | rule``, compacted (distinct
    pairs, lowest rule) whenever the pending ones pass ``limit``: bounded memory, and one
    in-place int64 sort per compaction."""

    RULE_BITS = 6

    def __init__(self, n: int, limit: int = 20_000_000) -> None:
        if n > 300_000_000:
            raise UsageError(f"PPRL blocking: {n} records exceed the 300M this pair encoding "
                             "holds — link the packages in parts")
        self.n, self.limit = n, limit
        self.done = np.zeros(0, np.int64)
        self.pending: list[np.ndarray] = []
        self.size = 0

    def add(self, a: np.ndarray, b: np.ndarray, rule: int) -> None:
        if rule >= 1 << self.RULE_BITS:
            raise UsageError(f"PPRL blocking: at most {(1 << self.RULE_BITS) - 1} rules and "
                             "bands together")
        self.pending.append(((a * self.n + b) << self.RULE_BITS) | rule)
        self.size += len(a)
        if self.size > self.limit:
            self.compact()

    def compact(self) -> None:
        v = np.concatenate([self.done, *self.pending])
        self.pending = []
        v.sort()
        pair = v >> self.RULE_BITS
        self.done = v[np.r_[True, pair[1:] != pair[:-1]]] if len(v) else v
        self.size = len(self.done)

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.compact()
        code = self.done >> self.RULE_BITS
        return (code // self.n, code % self.n,
                (self.done & ((1 << self.RULE_BITS) - 1)).astype(np.int16))


def encoded_candidate_pairs(er: EncodedRecords, settings: PPRLSettings | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, rule)``: candidate pairs (a < b, int64, sorted) and the int16 index of the
    first rule that proposed each — keyed-key joins (:data:`KEY_RULES`) first, then the LSH
    bands (index ``len(KEY_RULES) + band``). The LSH is a fallback: it proposes pairs only for
    the records that no keyed join paired (``lsh_orphans_only``, the default), whose clear
    values are too damaged for any rule. Every join is capped by block size
    (:func:`safelight.link.pprl_blocking.join_pairs`: blocks over ``max_block`` pairs keep
    each record's ``block_top_k`` most similar partners, blocks over ``max_sub_block`` are
    skipped; counted and logged)."""
    s = settings or PPRLSettings()
    n = len(er)
    started = time.process_time()
    contributor = er.contributor_code if s.cross_only else None
    sketch = make_sketch(er.filters, s.seed)
    cap = {"sketch": sketch, "contributor": contributor, "max_block": s.max_block,
           "top_k": s.block_top_k, "max_sub_block": s.max_sub_block}
    found = _Candidates(n)
    stats: dict[str, JoinStats] = {}
    for i, (name, (x, y)) in enumerate(KEY_RULES.items()):
        if x not in er.blocking or y not in er.blocking:
            continue
        a, b, stats[name] = join_pairs(er.blocking[x], er.blocking_present[x],
                                       er.blocking[y], er.blocking_present[y], same=x == y,
                                       **cap)
        found.add(a, b, i)
    a, b, rule = found.pairs()
    keyed_cpu = time.process_time() - started
    if s.bands:
        paired = np.zeros(n, dtype=bool)
        paired[a] = True
        paired[b] = True
        present = er.present["given_name"] | er.present["family_name"]
        ask = present & ~paired if s.lsh_orphans_only else present
        for j, pos in enumerate(_lsh_positions(er, s.bands, s.band_bits, s.seed)):
            key = _lsh_band(er, pos)
            la, lb, stats[f"lsh_{j}"] = join_pairs(key, ask, key, present,
                                                   same=not s.lsh_orphans_only, **cap)
            found.add(la, lb, len(KEY_RULES) + j)
        a, b, rule = found.pairs()
    total = JoinStats()
    for st in stats.values():
        total.add(st)
    capped = {k: (v.sub_blocked_blocks, v.skipped_blocks) for k, v in stats.items()
              if v.sub_blocked_blocks or v.skipped_blocks}
    log.info("blocking: %d candidate pairs from %d proposals; %d blocks (%d pairs) over %d "
             "pairs kept their records' %d most similar partners, %d blocks (%d pairs) over "
             "%d skipped; per join (sub-blocked, skipped): %s; CPU s: keyed joins %.1f, LSH "
             "%.1f", len(a), total.pairs, total.sub_blocked_blocks, total.sub_blocked_pairs,
             s.max_block, s.block_top_k, total.skipped_blocks, total.skipped_pairs,
             s.max_sub_block, capped, keyed_cpu, time.process_time() - started - keyed_cpu)
    return a, b, rule


def encoded_training_pairs(er: EncodedRecords, settings: PPRLSettings | None = None,
                           max_pairs: int = 300_000
                           ) -> tuple[np.ndarray, np.ndarray, TrainingPairs]:
    """``(a, b, training)``: the pairs EM trains on, drawn by the keyed self-joins of
    :data:`TRAINING_KEYS` (sorted by (a, b)); a join with more than ``max_pairs`` pairs draws
    a uniform sample of them (:func:`safelight.link.pprl_blocking.sample_self_join`, seeded),
    and ``training.totals`` holds its exact count (the prior scales by it)."""
    s = settings or PPRLSettings()
    contributor = er.contributor_code if s.cross_only else None
    n = len(er)
    drawn_codes, totals = {}, {}
    for name, col in TRAINING_KEYS.items():
        if col not in er.blocking:
            continue
        a, b, totals[name] = sample_self_join(er.blocking[col], er.blocking_present[col],
                                              contributor, max_pairs, s.seed)
        drawn_codes[name] = a * n + b
    codes = np.unique(np.concatenate(list(drawn_codes.values()) or [np.zeros(0, np.int64)]))
    drawn = {name: np.isin(codes, c, assume_unique=True) for name, c in drawn_codes.items()}
    return codes // n, codes % n, TrainingPairs(drawn, totals)


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


def _cross_pairs(er: EncodedRecords) -> int:
    """The pairs of records of different contributors, over which the prior of a cross-only
    linkage is taken (not n(n−1)/2, which would halve it at two sources)."""
    sizes = np.bincount(er.contributor_code).astype(np.float64)
    return int((sizes.sum() ** 2 - (sizes ** 2).sum()) // 2)


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
    # two-source: u from cross pairs only, or the constant "different contributor" of every
    # pair passes for evidence and, at 1M × 1M (~1% matches per session), EM calls all a match
    u = estimate_u(er, n_pairs=s.u_sample_pairs, seed=s.seed,  # type: ignore[arg-type]
                   compare_fn=compare_encoded, fields=ENCODED_FIELDS,
                   across=er.contributor_code if s.cross_only else None)
    if s.training == "rules":
        ta, tb, training = encoded_training_pairs(er, s)
        em = estimate_model(er, compare_encoded(er, ta, tb), u=u,  # type: ignore[arg-type]
                            seed=s.seed, fields=ENCODED_FIELDS, training=training,
                            all_pairs=_cross_pairs(er) if s.cross_only else None)
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
