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
  and counted as in clear), not from the narrowed candidates, in *tight* sessions whose share
  of matches holds up as the input grows (:data:`PPRL_SESSIONS`: full date + an initial,
  alike on sex and nationality; both names + locality); the prior comes from the share of
  matches among same-date pairs with m and u fixed (:func:`share_prior`).
* **Comparison**: noise-corrected Dice per field (:func:`safelight.link.encoded.compare_encoded`).
* **Scoring**: the same Fellegi–Sunter model as in clear — u from random pairs, m by EM in the
  same training sessions (:func:`safelight.link.model.estimate_model`) — and the same
  term-frequency adjustment of agreeing names, with each name's frequency within its
  nationality estimated from the encodings (:func:`safelight.link.encoded.name_frequencies`:
  how many records of a random sample carry a near-identical filter — no clear value); a pair
  exact on both names is weighted by the frequency of its name pair, counted on the keyed
  sorted-names key (:func:`name_tf`).
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
from safelight.link.decisions import DecidedPairs, decided_levels
from safelight.link.default_m import full_date_shares
from safelight.link.encoded import (
    ENCODED_FIELDS,
    FULL_DATE_KEY,
    EncodedRecords,
    compare_encoded,
    name_frequencies,
)
from safelight.link.model import (
    COUNTRY_FIELDS,
    TF_FIELDS,
    TF_MAX_BONUS,
    TF_PSEUDO_RECORDS,
    EMResult,
    FellegiSunter,
    TrainingPairs,
    TrainingSession,
    estimate_model,
    estimate_u,
    expected_matches,
    level_patterns,
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

__all__ = ["FALLBACK_SESSIONS", "KEY_RULES", "MIN_SESSION_PAIRS", "NOTHING_LINKED_MIN",
           "PPRL_SESSIONS", "PRIOR_SESSION", "SEX_NATIONALITY_SESSIONS", "TRAINING_KEYS",
           "PPRLResult", "PPRLSettings", "encoded_candidate_pairs", "encoded_training_pairs",
           "link_encoded", "name_pair_frequencies", "name_tf", "share_prior",
           "warn_if_nothing_linked"]

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
#: the blocking-key column whose equal values make a pair. The sessions
#: (:data:`PPRL_SESSIONS`) use *tight* keys — a full birth date with an initial, both names
#: with a place — whose share of matches stays high as the input grows: the pairs of a loose
#: key (a birth date alone) grow as n² and its matches as n, and at 1M × 1M EM took
#: compatriots with alike names, 98% of that session, for matches. ``same_birth_date`` only
#: sets the prior (:func:`share_prior`, m and u fixed) and ``same_family`` the u of household
#: fields among kin (:data:`safelight.link.model.KIN_RULE`).
TRAINING_KEYS: dict[str, str] = {
    "same_birth_date": "birth_date",
    "date_given_initial": "birth_date_gi",
    "date_family_initial": "birth_date_fi",
    "names_locality": "sorted_names_locality",
    "same_names": "sorted_names",
    "same_family": "family_year",
}

_PLACE_FIELDS = ("locality", "address", "region")

#: EM's sessions on the pairs of :data:`TRAINING_KEYS`. A key's parts are fixed, and the
#: fields correlated with them among non-matches left out: an initial raises the similarity of
#: its name (left out), a name implies sex and nationality and a place the other place fields.
#: The date sessions also fix sex and nationality (pairs alike on both): at 1M × 1M a date and
#: an initial still leave ~92% non-matches, most of them of another sex or nationality, and
#: fixing those halves what EM mistakes for matches (m of a different family name 0.09 → 0.03,
#: the truth 0.02). The date sessions teach the names, phone, document and places; the names +
#: locality session the birth date; sex and nationality come from :data:`SEX_NATIONALITY_SESSIONS`.
PPRL_SESSIONS: tuple[TrainingSession, ...] = (
    TrainingSession("date_given_initial", ("birth_date", "sex", "nationality"), ("given_name",)),
    TrainingSession("date_family_initial", ("birth_date", "sex", "nationality"),
                    ("family_name",)),
    TrainingSession("names_locality", ("given_name", "family_name"),
                    ("sex", "nationality", *_PLACE_FIELDS, "contributor")),
)

#: the sessions whose m is taken for the fields no :data:`PPRL_SESSIONS` session learns (sex
#: and nationality, which agree for nearly every match: a bias in the other fields' m matters
#: little to theirs)
SEX_NATIONALITY_SESSIONS: tuple[TrainingSession, ...] = (
    TrainingSession("date_given_initial", ("birth_date",), ("given_name",)),
    TrainingSession("date_family_initial", ("birth_date",), ("family_name",)),
)

#: a :data:`PPRL_SESSIONS` session with fewer pairs than this (its fixed fields alike) gives
#: way to its looser fallback (:data:`FALLBACK_SESSIONS`): small inputs, or sources without a
#: nationality or a locality, leave the tight sessions nearly empty — and there the loose ones
#: hold matches enough
MIN_SESSION_PAIRS = 1_000
FALLBACK_SESSIONS: dict[str, TrainingSession] = {
    **{sess.name: sess for sess in SEX_NATIONALITY_SESSIONS},
    "names_locality": TrainingSession("same_names", ("given_name", "family_name"),
                                      ("sex", "nationality", "locality", "contributor")),
}

#: the training key whose pairs set the prior (:func:`share_prior`)
PRIOR_SESSION = TrainingSession("same_birth_date", ("birth_date",))


@dataclass(frozen=True)
class PPRLSettings:
    """Settings of a privacy-preserving linkage run (saved with its output).

    ``threshold`` 0.5 is the Bayes decision under the learned model, as in clear.
    ``bands``/``band_bits``: the LSH fallback (0 bands: none); ``lsh_orphans_only`` False runs
    it on every record (the former behaviour: many more candidates). ``training``: ``rules``
    (EM on pairs drawn by :data:`TRAINING_KEYS`) or ``candidates`` (EM on the candidate pairs).
    ``learn_from_reviews``: in a hub, reviewers' decided pairs also refine the model's ``m``
    (:func:`link_encoded`'s ``reviewed``), as in clear.
    ``block_top_k``: partners kept per record in a block over ``max_block`` pairs. 7 since
    2026-11-30 (1M × 1M demo, format v5 packages, same run conditions: 5 → 7 took blocking
    recall 96.93% → 97.10%, candidates 58.3M → 63.6M, hub CPU 634 → 689 s, peak 7.04 → 7.46
    GB, F1 0.8449 → 0.8448; ``bench/linkage/pprl_scale.py``).
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
    block_top_k: int = 7
    max_sub_block: int = 1_000_000
    training: str = "rules"
    cross_only: bool = False
    one_to_one: bool = False
    learn_from_reviews: bool = False

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
    """Candidate pairs as one int64 each, ``(a * n + b) << 6 | rule``: the distinct pairs
    found so far, sorted (each with its lowest rule), and the proposals pending since. Once
    the pending ones pass ``limit`` they are sorted on their own and *merged* into the found
    ones (a stable sort of two sorted runs is a linear merge): memory stays bounded and the
    pairs found are never sorted again (re-sorting them all whenever a join was added cost
    the 1M × 1M blocking about 130 of its 290 CPU-s)."""

    RULE_BITS = 6

    def __init__(self, n: int, limit: int = 20_000_000) -> None:
        if n > 300_000_000:
            raise UsageError(f"PPRL blocking: {n} records exceed the 300M this pair encoding "
                             "holds — link the packages in parts")
        self.n, self.limit = n, limit
        self.done = np.zeros(0, np.int64)
        self.pending: list[np.ndarray] = []
        self.pending_size = 0

    def add(self, a: np.ndarray, b: np.ndarray, rule: int) -> None:
        if rule >= 1 << self.RULE_BITS:
            raise UsageError(f"PPRL blocking: at most {(1 << self.RULE_BITS) - 1} rules and "
                             "bands together")
        self.pending.append(((a * self.n + b) << self.RULE_BITS) | rule)
        self.pending_size += len(a)
        if self.pending_size > self.limit:
            self.compact()

    @classmethod
    def _first_of_each_pair(cls, v: np.ndarray) -> np.ndarray:
        """The first of each run of equal pairs in sorted ``v`` (its lowest rule)."""
        pair = v >> cls.RULE_BITS
        return v[np.r_[True, pair[1:] != pair[:-1]]] if len(v) else v

    def compact(self) -> None:
        if not self.pending:
            return
        new = np.concatenate(self.pending)
        self.pending, self.pending_size = [], 0
        new.sort()
        merged = np.concatenate([self.done, self._first_of_each_pair(new)])
        merged.sort(kind="stable")  # two sorted runs: merged in linear time
        self.done = self._first_of_each_pair(merged)

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


def share_prior(model: FellegiSunter, comps: Comparisons, training: TrainingPairs,
                session: TrainingSession, all_pairs: int) -> tuple[float, dict[str, Any]]:
    """``(prior, report)``: the probability that two records match, from the share of matches
    among the pairs ``session``'s key drew, with ``model``'s m and u fixed.

    EM's own share comes from sessions on tight keys, whose pairs a match joins with an unknown
    probability (its initial may differ); the prior needs a key whose agreement among matches
    the model knows: the session's fixed fields at their exact level (m). The share ``π`` is
    the fixed point of ``π = mean P(match | levels, π)`` over those pairs (their fixed fields
    left out), a one-parameter EM that cannot drift the way a free m does; then
    ``prior = M / all_pairs`` with ``M`` the posterior mean of the matches given ``π · pairs``
    found among the key's pairs (taken in full: the draw may be a sample), each agreeing on
    the fixed fields with probability ``Π m_exact(fixed)``
    (:func:`safelight.link.model.expected_matches`)."""
    names = list(model.fields)
    fixed = [names.index(f) for f in session.fixed]
    drawn = training.drawn[session.name]
    mask = drawn & np.all(comps.levels[:, fixed] == 1, axis=1)
    if mask.sum() < 50:
        log.warning("prior: the %s pairs hold only %d with the fixed fields alike; EM's prior "
                    "kept", session.name, int(mask.sum()))
        return model.prior, {"session": session.name, "pairs": int(mask.sum())}
    lv = comps.levels[mask].copy()
    lv[:, fixed] = 0
    lv, counts = level_patterns(lv)
    ratio = np.exp2(FellegiSunter(model.fields, model.m, model.u, 0.5, model.kin_u)
                    .match_weight(lv))  # likelihood ratio (prior odds 1)
    share, total, it, delta = 0.01, float(counts.sum()), 0, 1.0
    while delta >= 1e-10 and it < 1000:
        odds = share / (1.0 - share) * ratio
        new = float(np.clip((counts * odds / (1.0 + odds)).sum() / total, 1e-12, 1 - 1e-9))
        delta, share, it = abs(new - share), new, it + 1
    scale = training.totals[session.name] / max(int(drawn.sum()), 1)
    agree = float(np.prod([model.m[j][1] for j in fixed]))
    matches = expected_matches(share * mask.sum() * scale, agree, max(all_pairs, 1))
    prior = float(np.clip(matches / max(all_pairs, 1), 1e-12, 0.5))
    log.info("prior from the %s pairs: match share %.4f (%d iterations), prior %.3g (EM's "
             "%.3g)", session.name, share, it, prior, model.prior)
    return prior, {"session": session.name, "pairs": int(mask.sum()), "match_share": share,
                   "iterations": it, "prior": prior, "em_prior": model.prior}


def _learnt(sessions: tuple[TrainingSession, ...]) -> set[str]:
    """The fields some session estimates (neither fixed nor left out)."""
    return {f for sess in sessions for f in ENCODED_FIELDS
            if f not in sess.fixed and f not in sess.excluded}


def encoded_full_date_shares(er: EncodedRecords, two_source: bool
                             ) -> tuple[float, float] | None:
    """Each contributor's share of full birth dates among its dated records (``two_source``
    with two contributors; else one pool), from the full-date key's presence
    (:data:`~safelight.link.encoded.FULL_DATE_KEY`), for the birth date's default m; ``None``
    without that key."""
    full = er.blocking_present.get(FULL_DATE_KEY)
    if full is None:
        return None
    two = two_source and er.contributor_code.max(initial=0) == 1
    return full_date_shares(full, er.present["birth_date"],
                            er.contributor_code if two else None)


def fit_encoded_model(er: EncodedRecords, comps: Comparisons, training: TrainingPairs,
                      u: list[np.ndarray], all_pairs: int, seed: int = 0,
                      date_shares: tuple[float, float] | None = None,
                      reviewed: tuple[np.ndarray, np.ndarray] | None = None) -> EMResult:
    """m by EM in :data:`PPRL_SESSIONS` (each with fewer than :data:`MIN_SESSION_PAIRS`
    pairs replaced by its :data:`FALLBACK_SESSIONS` one; the fields none of them learns from
    :data:`SEX_NATIONALITY_SESSIONS`) on the training pairs ``comps``, then the prior from
    :data:`PRIOR_SESSION` (:func:`share_prior`).

    A fit in which agreeing on a name or the birth date does not mark a match
    (:func:`safelight.link.model.implausible_fields`: registers that share no one) falls back,
    as in clear, to the default m of the encoded levels (:mod:`safelight.link.default_m`),
    each session estimating only its share of matches, and sex and nationality keep theirs
    (no second fit); so do the fields no session could fit (small registers). The birth
    date's default m is mixed by ``date_shares`` (:func:`encoded_full_date_shares`).
    ``reviewed``: ``(levels, is_match)`` of reviewers' decided pairs, clamped in every session
    whose fixed fields they agree on (:func:`safelight.link.model.estimate_model`)."""
    names = list(ENCODED_FIELDS)

    def size(sess: TrainingSession) -> int:
        if sess.name not in training.drawn:
            return 0
        fixed = [names.index(f) for f in sess.fixed]
        return int((training.drawn[sess.name] & np.all(comps.levels[:, fixed] == 1, axis=1))
                   .sum())

    sessions = tuple(sess if size(sess) >= MIN_SESSION_PAIRS or sess.name not in
                     FALLBACK_SESSIONS else FALLBACK_SESSIONS[sess.name]
                     for sess in PPRL_SESSIONS)
    em = estimate_model(er, comps, u=u, sessions=sessions,  # type: ignore[arg-type]
                        seed=seed, fields=ENCODED_FIELDS, training=training,
                        all_pairs=all_pairs, full_date_shares=date_shares, reviewed=reviewed)
    m, reports = list(em.model.m), list(em.sessions)
    rest = (set(names) - _learnt(sessions)) & _learnt(SEX_NATIONALITY_SESSIONS)
    # a fit that fell back has its default m for sex and nationality too: the same training
    # pairs, with no match class in them, would teach those no better than the names
    if rest and em.fallback is None:
        # only sex and nationality are taken from this fit
        other = estimate_model(er, comps, u=u, sessions=SEX_NATIONALITY_SESSIONS,  # type: ignore[arg-type]
                               seed=seed, fields=ENCODED_FIELDS, training=training,
                               all_pairs=all_pairs, full_date_shares=date_shares,
                               reviewed=reviewed)
        for f in rest:
            m[names.index(f)] = other.model.m[names.index(f)]
        reports += [{**r, "role": "m of " + ", ".join(sorted(rest))} for r in other.sessions]
    model = FellegiSunter(em.model.fields, m, em.model.u, em.model.prior, em.model.kin_u)
    if PRIOR_SESSION.name in training.drawn:
        prior, report = share_prior(model, comps, training, PRIOR_SESSION, all_pairs)
        model = FellegiSunter(model.fields, m, model.u, prior, model.kin_u)
        reports.append({**report, "role": "prior"})
    return EMResult(model, reports, em.fallback)


#: the keyed blocking key whose frequency among the hub's records is a name pair's frequency
NAME_PAIR_KEY = "sorted_names"


def name_pair_frequencies(er: EncodedRecords) -> np.ndarray:
    """Each record's share of records (all contributors) whose keyed :data:`NAME_PAIR_KEY`
    (both names, in a fixed order) equals its own; NaN without one. The hub counts equal keyed
    keys: it learns how many records share a name pair, never the names (docs/pprl.md,
    threat model)."""
    out = np.full(len(er), np.nan)
    if NAME_PAIR_KEY not in er.blocking:
        return out
    ok = er.blocking_present[NAME_PAIR_KEY]
    _, inverse, counts = np.unique(er.blocking[NAME_PAIR_KEY][ok], return_inverse=True,
                                   return_counts=True)
    out[ok] = counts[inverse.reshape(-1)] / len(er)
    return out


def name_tf(model: FellegiSunter, freqs: dict[str, np.ndarray], pair_freq: np.ndarray | None,
            comps: Comparisons, *, summed: bool = False) -> np.ndarray:
    """Term-frequency corrections of the name weights (see
    :func:`safelight.link.model.tf_from_frequencies`): each name's estimated frequency
    (``freqs``) for a pair exact on one name; for a pair exact on both, the frequency of the
    name *pair* (``pair_freq``, exact counts of the keyed key), ``min(log2(u_given · u_family /
    f), TF_MAX_BONUS)``, split evenly between the two names. Two names are not independent
    (a family's given names, a nation's name pairs), and a common pair at 1M × 1M has hundreds
    of namesakes that the product of two per-name estimates does not see. The pair's share
    leaves the first record out and is shrunk toward ``u_given · u_family`` by
    :data:`~safelight.link.model.TF_PSEUDO_RECORDS` records."""
    names = list(model.fields)
    cols = {f: tf_from_frequencies(model, {f: fr}, comps, summed=True)  # (n_pairs,) each
            for f, fr in freqs.items()}
    if pair_freq is not None and {"given_name", "family_name"} <= set(names):
        g, f = names.index("given_name"), names.index("family_name")
        pf = pair_freq[comps.a]
        both = (comps.levels[:, g] == 1) & (comps.levels[:, f] == 1) & ~np.isnan(pf)
        # the name pair's share among the records other than the first, shrunk toward u:
        # with the record itself counted, four people of eight alike on both names made
        # f = 2/8 and a match scored against. Unlike clear (which leaves the whole pair out,
        # :func:`safelight.link.model.tf_from_counts`) the partner stays counted: leaving it
        # out too nearly doubled the false links between encoded registers that share no one
        # (3,000 a side: 26, 10, 15 → 44, 21, 28), this 29, 11, 15 — and both fix the small
        # registers (docs/linkage.md, "Under 20 a side")
        u_pair = model.u[g][1] * model.u[f][1]
        n = len(pair_freq)
        # in place on one array: at 1M × 1M tens of millions of pairs are exact on both names
        half = pf[both]
        half *= n
        np.round(half, out=half)
        half -= 1.0  # the other records holding the pair
        np.maximum(half, 0.0, out=half)
        half += TF_PSEUDO_RECORDS * u_pair
        half /= max(n - 1, 0) + TF_PSEUDO_RECORDS  # their share, shrunk toward u
        np.maximum(half, 1e-12, out=half)
        np.divide(u_pair, half, out=half)
        np.log2(half, out=half)
        np.minimum(half, TF_MAX_BONUS, out=half)
        half /= 2
        for name in ("given_name", "family_name"):
            cols.setdefault(name, np.zeros(len(comps.a)))[both] = half
    if summed:
        total = np.zeros(len(comps.a))
        for col in cols.values():
            total += col
        return total
    out = np.zeros((len(comps.a), len(names)))
    for name, col in cols.items():
        out[:, names.index(name)] = col
    return out


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
    name_pair_frequency: np.ndarray | None = None  # see :func:`name_pair_frequencies`

    def reasons(self, ks: np.ndarray) -> list[dict[str, Any]]:
        """Per-field level and weight of candidate pairs ``ks``, the swap flag and the prior's
        log2 odds. No clear value exists at the hub, so none can appear here.

        The name fields' weights are given to the nearest half bit: they hold the names'
        frequency correction (:func:`name_tf`), from which an exact weight would give back
        the exact count of the hub's records sharing a keyed name key. Reasons are stored
        with the review queue and shown to reviewers who never see the packages; to the
        half bit they tell only the count within a factor of √2."""
        ks = np.asarray(ks, dtype=np.int64)
        model = self.em.model
        c = self.comparisons
        sub = Comparisons(c.a[ks], c.b[ks], c.levels[ks], c.swapped[ks])
        levels = sub.levels
        tf = name_tf(model, self.frequencies, self.name_pair_frequency, sub)
        weights = model.field_weights(levels) + tf
        coarse = np.any(tf != 0, axis=0)
        weights[:, coarse] = np.round(weights[:, coarse] * 2) / 2
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


def _score(em: EMResult, er: EncodedRecords, freqs: dict[str, np.ndarray],
           pair_freq: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    comps = compare_encoded(er, x, y)
    return em.model.match_weight(comps.levels) + name_tf(em.model, freqs, pair_freq, comps,
                                                         summed=True)


#: Fewest records of each of two or more contributors for which a run that joins none of their
#: records to another contributor's is worth a warning (:func:`warn_if_nothing_linked`)
NOTHING_LINKED_MIN = 20


def warn_if_nothing_linked(er: EncodedRecords, labels: np.ndarray) -> bool:
    """Warn, and return True, when packages of two or more contributors, each of
    :data:`NOTHING_LINKED_MIN` records or more, gave no person seen by two of them: they may
    share no one — or were encoded under different keys. The key fingerprint a manifest states
    is the contributor's word (the hub holds no key to check it), so a package whose manifest
    was edited, or written by other software, passes the checks, and its records come near
    the others' by chance only (a new-user trial, 2026-12-02)."""
    codes, sizes = np.unique(er.contributor_code, return_counts=True)
    if len(codes) < 2 or sizes.min() < NOTHING_LINKED_MIN:
        return False
    pairs = np.unique(np.stack([labels, er.contributor_code]), axis=1)
    if len(np.unique(pairs[0])) < pairs.shape[1]:  # some person holds two contributors' records
        return False
    log.warning("no person was found in two packages (%s records): they share no one, or were "
                "not encoded under the same key — the key fingerprint in a manifest is the "
                "contributor's own word; ask them whether they used the same key file",
                " + ".join(f"{n:,}" for n in sizes))
    return True


def link_encoded(er: EncodedRecords, settings: PPRLSettings | None = None,
                 reviewed: DecidedPairs | None = None) -> PPRLResult:
    """Link encoded records into persons (see the module docstring). ``reviewed``: reviewers'
    decided pairs (record indices of ``er``), which refine the model's m (semi-supervised EM,
    as in clear; the hub passes them with ``learn_from_reviews``)."""
    s = settings or PPRLSettings()
    decided = decided_levels(reviewed, compare_encoded, er)
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
    # pair passes for evidence and, at 1M × 1M (~1% matches per session), EM calls all a match;
    # the places' u among compatriots, as in clear (most people of a country live in a few of
    # its towns)
    u = estimate_u(er, n_pairs=s.u_sample_pairs, seed=s.seed,  # type: ignore[arg-type]
                   compare_fn=compare_encoded, fields=ENCODED_FIELDS,
                   across=er.contributor_code if s.cross_only else None,
                   compatriot_fields=COUNTRY_FIELDS)
    if s.training == "rules":
        ta, tb, training = encoded_training_pairs(er, s)
        all_pairs = _cross_pairs(er) if s.cross_only else len(er) * (len(er) - 1) // 2
        em = fit_encoded_model(er, compare_encoded(er, ta, tb), training, u, all_pairs, s.seed,
                               encoded_full_date_shares(er, s.cross_only), decided)
    else:
        em = estimate_model(er, comps, u=u, seed=s.seed, fields=ENCODED_FIELDS,  # type: ignore[arg-type]
                            full_date_shares=encoded_full_date_shares(er, s.cross_only),
                            reviewed=decided)
    # one-to-one scores only the candidate pairs, whose TF reads the first record's frequency;
    # clustering may score any pair
    exact_u = {f: em.model.u[list(em.model.fields).index(f)][1] for f in TF_FIELDS}
    freqs = name_frequencies(er, exact_u, seed=s.seed, rows=a if s.one_to_one else None)
    pair_freq = name_pair_frequencies(er)
    timings["estimate"] = time.perf_counter() - t
    cpu["estimate"] = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    w = em.model.match_weight(comps.levels) + name_tf(em.model, freqs, pair_freq, comps,
                                                      summed=True)
    p = match_probability(a, b, w, len(er), exclusive=s.one_to_one)
    link = p >= s.threshold
    if s.one_to_one:
        keep = np.flatnonzero(link)[one_to_one(a[link], b[link], w[link])]
        comp = connected_components(len(er), a[keep], b[keep])
        labels = np.unique(comp, return_inverse=True)[1].astype(np.int64)
    else:
        labels = cluster_pairs(len(er), a[link], b[link],
                               lambda x, y: _score(em, er, freqs, pair_freq, x, y))
    timings["score_cluster"] = time.perf_counter() - t
    cpu["score_cluster"] = time.process_time() - c
    log.info("linked %d encoded records: %d candidate pairs, %d links, %d persons",
             len(er), len(a), int(link.sum()), int(labels.max()) + 1 if len(labels) else 0)
    timings.update({f"{k}_cpu": v for k, v in cpu.items()})
    return PPRLResult(er, labels, comps, rule, w, p, em, s, freqs, timings, pair_freq)
