"""Fellegi–Sunter scoring with m and u probabilities learned without labels.

Contract
--------
:func:`estimate_u` draws random record pairs (nearly all non-matches) and takes ``u`` — the
probability of each comparison level among non-matches — from their level frequencies.
:func:`estimate_model` then runs expectation–maximisation on the candidate pairs with ``u``
fixed, estimating ``m`` (the level probabilities among matches) and the share of matches among
candidates; the prior probability that two random records match is the expected number of
matches divided by the number of all record pairs. Every score is the sum of per-field match
weights ``log2(m/u)`` (0 for a missing value) plus the prior's log2 odds, so
:meth:`FellegiSunter.explain` can list each field's contribution. All of it is NumPy over whole
arrays; nothing loops over pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safelight.link.compare import FIELDS, Comparisons, compare
from safelight.link.default_m import NEUTRAL_FIELDS, default_m, default_u
from safelight.link.prepare import Records

__all__ = [
    "COUNTRY_FIELDS",
    "DEFAULT_SESSIONS",
    "EM_COUNTRY_FIELDS",
    "KIN_RULE",
    "TF_FIELDS",
    "TrainingPairs",
    "EMResult",
    "FellegiSunter",
    "TrainingSession",
    "estimate_model",
    "estimate_u",
    "estimate_u_within",
    "expected_matches",
    "is_kin",
    "kin_u",
    "level_patterns",
    "NameCounts",
    "name_counts",
    "tf_adjustments",
    "tf_from_counts",
    "tf_from_frequencies",
    "U_PRIOR_PAIRS",
    "with_default_u",
]

log = logging.getLogger("safelight.link")

_PSEUDO = 0.5  # pseudo-count per level: no level has probability 0 (no infinite weight)
#: EM's m of these fields is the posterior mode under a Dirichlet prior: the field's default m
#: (:mod:`safelight.link.default_m`) counted as ``M_PRIOR_MATCHES`` matches in each session
#: that learns the field (:func:`_em`); :func:`implausible_fields` judges the fit without it.
#: The birth date is learned on pairs with the same names, and where names repeat — a
#: register of a few hundred people drawn from a few dozen family names, a family whose son
#: bears his father's name — namesakes with different dates fill that session; EM took them
#: for matches whose dates are wrong (m of two different full dates 0.25–0.28, weight −2 bits:
#: a father and son born 41 years apart, sharing phone and address, linked at p 0.999, and
#: undated records chained people born years apart into one person; the trial of 2026-12-01
#: in docs/linkage.md, "Namesakes in small registers"). With 300 prior matches that m is 0.03
#: (−5 bits) there, while a session with thousands of matches keeps its own estimate: at
#: 20,000 to 100,000 records and on FEBRL 3/4 F1 moved by at most 0.0001. Clear comparison
#: levels only (see :func:`estimate_model`).
M_PRIOR_MATCHES = 300.0
M_PRIOR_FIELDS: tuple[str, ...] = ("birth_date",)


@dataclass
class FellegiSunter:
    """Per-field ``m`` and ``u`` (arrays indexed by level; index 0, "missing", is unused) and
    the prior probability that two random records match.

    ``kin_u`` holds, for the fields that members of one household share
    (:data:`HOUSEHOLD_FIELDS`), the u among *kin pairs*: pairs that agree exactly on the family
    name but not on the given name (see :func:`is_kin`). Two such records are often two people
    of one family, who share a phone and an address, so for them agreement on these fields is
    weak evidence; every other pair uses ``u``.
    """

    fields: dict[str, tuple[str, ...]]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    kin_u: dict[str, np.ndarray] = field(default_factory=dict)

    def weight_tables(self) -> list[np.ndarray]:
        """log2(m/u) per field and level; 0 at level 0 (for pairs that are not kin)."""
        return [_log_ratio(m, u) for m, u in zip(self.m, self.u, strict=True)]

    def kin_tables(self) -> dict[int, np.ndarray]:
        """Field index → log2(m/kin_u) per level, for the fields in :attr:`kin_u`."""
        names = list(self.fields)
        return {names.index(f): _log_ratio(self.m[names.index(f)], u)
                for f, u in self.kin_u.items() if f in names}

    def _columns(self, levels: np.ndarray):  # noqa: ANN202 - private generator
        tables, kin = self.weight_tables(), self.kin_tables()
        kin_rows = is_kin(levels, self.fields) if kin else None
        for j, t in enumerate(tables):
            col = t[levels[:, j]]
            if j in kin:
                col = np.where(kin_rows, kin[j][levels[:, j]], col)
            yield col

    def field_weights(self, levels: np.ndarray) -> np.ndarray:
        """(n_pairs, n_fields) match weights of level matrix ``levels``."""
        return np.stack(list(self._columns(levels)), axis=1)

    def match_weight(self, levels: np.ndarray) -> np.ndarray:
        """log2 posterior odds of a match: prior log2 odds + the sum of field weights."""
        out = np.full(len(levels), np.log2(self.prior / (1.0 - self.prior)))
        for col in self._columns(levels):
            out += col
        return out

    def probability(self, levels: np.ndarray) -> np.ndarray:
        """Posterior match probability of each pair."""
        return 1.0 / (1.0 + np.exp2(-self.match_weight(levels)))

    def explain(self, levels_row: np.ndarray) -> dict[str, dict[str, Any]]:
        """``{field: {"level": name, "weight": log2 m/u}}`` for one pair's levels."""
        weights = self.field_weights(np.asarray(levels_row)[None, :])[0]
        out: dict[str, dict[str, Any]] = {}
        for j, (name, names) in enumerate(self.fields.items()):
            lvl = int(levels_row[j])
            out[name] = {
                "level": "missing" if lvl == 0 else names[lvl - 1],
                "weight": round(float(weights[j]), 3),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready model: prior and, per field and level, m, u and the weight (plus, for
        the household fields, u and weight among kin pairs)."""
        tables, kin = self.weight_tables(), self.kin_tables()
        out: dict[str, Any] = {"prior": self.prior, "fields": {}}
        for j, (name, names) in enumerate(self.fields.items()):
            levels: dict[str, Any] = {}
            for i, lvl_name in enumerate(names):
                levels[lvl_name] = {"m": float(self.m[j][i + 1]), "u": float(self.u[j][i + 1]),
                                    "weight": float(tables[j][i + 1])}
                if j in kin:
                    levels[lvl_name]["u_kin"] = float(self.kin_u[name][i + 1])
                    levels[lvl_name]["weight_kin"] = float(kin[j][i + 1])
            out["fields"][name] = levels
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FellegiSunter:
        """Inverse of :meth:`to_dict`."""
        fields_ = {name: tuple(levels) for name, levels in data["fields"].items()}
        m = [np.array([0.0] + [v["m"] for v in lv.values()]) for lv in data["fields"].values()]
        u = [np.array([0.0] + [v["u"] for v in lv.values()]) for lv in data["fields"].values()]
        kin_u = {name: np.array([0.0] + [v["u_kin"] for v in lv.values()])
                 for name, lv in data["fields"].items()
                 if lv and all("u_kin" in v for v in lv.values())}
        return cls(fields_, m, u, float(data["prior"]), kin_u)


def _log_ratio(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    w = np.zeros(len(m))
    w[1:] = np.log2(m[1:] / u[1:])
    return w


def is_kin(levels: np.ndarray, fields: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Pairs that agree exactly on the family name (its level 1) but not on the given name
    (neither of its two best levels, exact and same name group): where two records are as
    likely two people of one family as one person, so shared household fields say little."""
    names = list(fields)
    if "family_name" not in names or "given_name" not in names:
        return np.zeros(len(levels), dtype=bool)
    giv = levels[:, names.index("given_name")]
    return (levels[:, names.index("family_name")] == 1) & ((giv == 0) | (giv > 2))


def level_patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of an ``(n_pairs, n_fields)`` level matrix and how often each occurs."""
    if len(levels) == 0:
        return levels, np.zeros(0, dtype=np.int64)
    lv = levels.astype(np.int64)
    base = int(lv.max()) + 1
    if base ** lv.shape[1] >= 2**62:  # too many fields to pack a row into one integer
        rows, counts = np.unique(levels, axis=0, return_counts=True)
        return rows, counts
    key = lv @ (base ** np.arange(lv.shape[1], dtype=np.int64))
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return levels[first], counts


def _level_freqs(levels: np.ndarray, weights: np.ndarray | None = None,
                 fields: dict[str, tuple[str, ...]] = FIELDS,
                 prior: list[np.ndarray | None] | None = None,
                 strength: float = 0.0) -> list[np.ndarray]:
    """Each field's (weighted) share of pairs per level (index 0, missing, set to 0), with
    :data:`_PSEUDO` added per level and, where ``prior`` has a table for the field,
    ``strength`` pairs spread as that table (a Dirichlet prior: the posterior mode)."""
    out = []
    for j, names in enumerate(fields.values()):
        k = len(names)
        counts = np.bincount(levels[:, j], weights=weights, minlength=k + 1).astype(np.float64)
        counts = np.maximum(counts, 0.0)  # reviewed non-matches take weight back (see _em)
        counts[0] = 0.0
        counts[1:] += _PSEUDO
        if prior is not None and prior[j] is not None and strength > 0:
            counts[1:] += strength * prior[j][1:] / prior[j][1:].sum()
        out.append(counts / counts[1:].sum())
    return out


def _across(a: np.ndarray, b: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Mask of the pairs ``(a, b)`` that are not a record with itself and, with ``groups``,
    join records of different groups (``groups`` codes; -1, none, differs from any)."""
    keep = a != b
    if groups is not None:
        keep &= (groups[a] != groups[b]) | (groups[a] < 0)
    return keep


def _draw_pairs(n_pairs: int, groups: np.ndarray | None,
                draw: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """``n_pairs`` pairs from ``draw(k)`` (``k`` candidate pairs at a time, deterministic in
    order) that pass :func:`_across`; fewer only when the draws keep almost none. Without
    ``groups``, one draw (its pairs of a record with itself dropped)."""
    got_a, got_b, have = [], [], 0
    for _ in range(1 if groups is None else 20):
        a, b = draw(n_pairs)
        keep = np.flatnonzero(_across(a, b, groups))[:n_pairs - have]
        got_a.append(a[keep])
        got_b.append(b[keep])
        have += len(keep)
        if have >= n_pairs:
            break
    return np.concatenate(got_a), np.concatenate(got_b)


def estimate_u(records: Records, *, n_pairs: int = 300_000, seed: int = 0,
               compare_fn: Callable[[Any, np.ndarray, np.ndarray], Comparisons] = compare,
               fields: dict[str, tuple[str, ...]] = FIELDS,
               across: np.ndarray | None = None,
               compatriot_fields: tuple[str, ...] = ()) -> list[np.ndarray]:
    """u probabilities from ``n_pairs`` random record pairs (without replacement of a record
    with itself); deterministic for a given ``seed``. ``compare_fn`` and ``fields`` select
    the comparison (default: the clear one of :mod:`safelight.link.compare`). With
    ``across`` (a group code per record, e.g. the contributor's; -1 for none), only pairs of
    records of different groups are drawn: the pairs two-source linkage compares. Otherwise
    the constant "different contributor" of those pairs would pass for evidence (+1 bit for
    every pair at two sources), and at 1M × 1M, where about 1% of a training session's pairs
    match, EM took *every* pair for a match.

    ``compatriot_fields`` (e.g. :data:`COUNTRY_FIELDS`) take their u from the drawn pairs alike
    on nationality (its level 1) — where records carry no nationality code to draw compatriots
    by (:func:`estimate_u_within`), as at the PPRL hub — when at least
    :data:`MIN_COMPATRIOT_PAIRS` of them are."""
    n = len(records)
    if n < 2:
        raise ValueError("linkage needs at least two records")
    rng = np.random.default_rng(seed)

    def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
        a = rng.integers(0, n, size=k)
        b = rng.integers(0, n - 1, size=k)
        return a, b + (b >= a)  # never a record with itself

    a, b = _draw_pairs(n_pairs, across, draw)
    levels = compare_fn(records, a, b).levels
    u = _level_freqs(levels, fields=fields)
    names = list(fields)
    if compatriot_fields and "nationality" in names:
        alike = levels[:, names.index("nationality")] == 1
        if alike.sum() >= MIN_COMPATRIOT_PAIRS:
            within = _level_freqs(levels[alike], fields=fields)
            u = [within[j] if f in compatriot_fields else x
                 for j, (f, x) in enumerate(zip(names, u, strict=True))]
    return with_default_u(u, fields, _pair_pool(n, across))


#: How many record pairs the default u (:func:`safelight.link.default_m.default_u`) counts
#: as, beside the distinct pairs an input's u is measured on (:func:`with_default_u`)
U_PRIOR_PAIRS = 100


def _pair_pool(n: int, groups: np.ndarray | None) -> int:
    """How many distinct record pairs random pairs of ``n`` records are drawn from: all, or
    with ``groups`` those across groups (a record without a group, -1, in a group of its
    own)."""
    if groups is None:
        return n * (n - 1) // 2
    grouped = groups[groups >= 0]
    sizes = np.bincount(grouped) if len(grouped) else np.zeros(0, dtype=np.int64)
    return int((n * n - int((sizes.astype(np.int64) ** 2).sum()) - (n - len(grouped))) // 2)


def _compatriot_pool(nat: np.ndarray, groups: np.ndarray | None) -> int:
    """About how many distinct pairs of compatriots :func:`estimate_u_within` draws from: per
    nationality code, its pairs (with ``groups``, those across groups, as
    :func:`_pair_pool` counts them); a record without a nationality pairs with anyone
    (counted once per such record, as half of its partners)."""
    known = nat >= 0
    code = nat[known].astype(np.int64)
    per_code = np.unique(code, return_counts=True)[1].astype(np.int64)
    if groups is None:
        pool = int((per_code * (per_code - 1) // 2).sum())
    else:  # pairs across groups: (N² - Σ n_g²) / 2 per code, an ungrouped record its own group
        g = groups[known].astype(np.int64)
        grouped = g >= 0
        per_group = np.unique(code[grouped] * (int(g.max(initial=0)) + 1) + g[grouped],
                              return_counts=True)[1].astype(np.int64)
        same = int((per_group ** 2).sum()) + int((~grouped).sum())
        pool = (int((per_code ** 2).sum()) - same) // 2
    n, unknown = len(nat), int((~known).sum())
    return pool + unknown * (n - 1) // 2


def with_default_u(u: list[np.ndarray], fields: dict[str, tuple[str, ...]], pool: int,
                   only: tuple[str, ...] | None = None) -> list[np.ndarray]:
    """``u`` (measured on random pairs out of ``pool`` distinct record pairs) mixed with the
    default u of each field that has one (``only``: of those fields), the default counting as
    :data:`U_PRIOR_PAIRS` pairs: ``(pool * u + U_PRIOR_PAIRS * default) / (pool +
    U_PRIOR_PAIRS)``.

    Random pairs are nearly all non-matches only when the pairs are many; in a register of a
    handful of people they are mostly its duplicates (3 × 3 files: 3 of 9 pairs), and their u
    made agreement count *against* a match (a phone shared only by the one true pair: u 0.99998,
    −1.7 bits; exact given names −0.4 bits in a 12-record dedupe). From 10,000 pairs on (two
    files of 100 people) the default weighs under 1%; at 100k × 100k nothing. (100 pairs, not
    300 or 1,000: the same figures on the generated registers of 10–200 people, and a
    12-record dedupe with many duplicates kept more of its own evidence that a shared family
    name and a 1 January birth date are common there: John and Jane Smith stayed apart.)"""
    defaults = default_u(fields)
    w = U_PRIOR_PAIRS / (max(pool, 0) + U_PRIOR_PAIRS)
    out = []
    for name, x in zip(fields, u, strict=True):
        d = defaults.get(name)
        if d is None or (only is not None and name not in only):
            out.append(x)
            continue
        mixed = (1.0 - w) * x + w * d
        mixed[0] = 0.0
        out.append(mixed / mixed[1:].sum())
    return out


#: Fewest drawn pairs alike on nationality from which :func:`estimate_u` takes the u of its
#: ``compatriot_fields``.
MIN_COMPATRIOT_PAIRS = 1_000


#: Fields whose agreement is far likelier between two compatriots than between two random
#: people (most people of one country live in a few of its towns): their u is measured among
#: records of the same nationality, since pairs of different nationality almost never link.
COUNTRY_FIELDS: tuple[str, ...] = ("locality", "address")


#: Fields whose u *EM* takes among compatriots too (:func:`estimate_model`'s ``em_u``): names
#: go with nationality, so two records of one nationality share a name far more often than two
#: random records. With the u of random pairs EM counts a compatriot's common family name as
#: strong evidence on top of the same nationality, and at 1M × 1M it took such non-matches for
#: matches (m of a different given name 0.33 where the truth is 0.01; prior 2.5× too high).
#: Scoring keeps the u of random pairs: its exact name levels are weighted by the name's
#: frequency among compatriots already (:func:`tf_adjustments`).
EM_COUNTRY_FIELDS: tuple[str, ...] = ("given_name", "family_name")


def estimate_u_within(records: Records, u: list[np.ndarray], *, n_pairs: int = 300_000,
                      seed: int = 0, fields: dict[str, tuple[str, ...]] = FIELDS,
                      across: np.ndarray | None = None,
                      country_fields: tuple[str, ...] = COUNTRY_FIELDS,
                      name_pairs: int = 100_000) -> list[np.ndarray]:
    """``u`` with the u of ``country_fields`` (default :data:`COUNTRY_FIELDS`) taken from
    ``n_pairs`` random pairs of records of the same nationality (records without one are paired
    with anyone); unchanged when no record has a nationality. ``across``: as in
    :func:`estimate_u`. The same ``seed`` draws the same pairs whatever ``country_fields``.
    The name fields among them (Jaro–Winkler of mostly distinct names, the costliest
    comparison) are measured on the first ``name_pairs`` of those pairs only: compatriots
    share a name often enough (about 1 pair in 100) for that to be precise."""
    nat = records.codes.column["nationality"]
    if not (nat >= 0).any():
        return u
    rng = np.random.default_rng(seed + 1)
    order = np.argsort(nat, kind="stable")
    start = np.searchsorted(nat[order], nat, side="left")
    size = np.searchsorted(nat[order], nat, side="right") - start
    size = np.where(nat < 0, len(nat), size)  # no nationality: anyone
    start = np.where(nat < 0, 0, start)

    def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
        a = rng.integers(0, len(nat), size=k)
        return a, order[start[a] + (rng.random(k) * size[a]).astype(np.int64)]

    a, b = _draw_pairs(n_pairs, across, draw)
    named = tuple(f for f in country_fields if f in TF_FIELDS)
    levels = compare(records, a, b, tuple(f for f in country_fields if f not in named)).levels
    if named:  # only these are used
        k = min(name_pairs, len(a))
        levels[:k] += compare(records, a[:k], b[:k], named).levels
    within = _level_freqs(levels, fields=fields)
    if named:
        few = _level_freqs(levels[:k], fields=fields)
        within = [few[j] if f in named else x for j, (f, x) in enumerate(zip(fields, within,
                                                                             strict=True))]
    within = with_default_u(within, fields, _compatriot_pool(nat, across), only=country_fields)
    names = list(fields)
    return [within[j] if names[j] in country_fields else x for j, x in enumerate(u)]


@dataclass(frozen=True)
class TrainingSession:
    """EM on the candidate pairs that agree exactly (level 1) on the ``fixed`` fields; those
    and the ``excluded`` fields (correlated with them) are left out of the session's scores
    and their m is not estimated there."""

    name: str
    fixed: tuple[str, ...]
    excluded: tuple[str, ...] = ()


#: Two sessions, as in splink's training: pairs with the same birth date teach the name (and
#: other) fields, pairs with the same given and family name teach the birth date. Within each
#: session the non-matches agree on the fixed fields by chance only, so u from random pairs
#: holds for the rest and EM cannot mistake "same name" for "same person".
DEFAULT_SESSIONS: tuple[TrainingSession, ...] = (
    TrainingSession("same_birth_date", ("birth_date",)),
    # a name implies sex and, mostly, nationality: fixed too, or they would pass for evidence
    # (and the places of one country's people): fixed too, or they would pass for evidence
    TrainingSession("same_names", ("given_name", "family_name"),
                    ("sex", "nationality", "locality", "contributor")),
)


@dataclass
class TrainingPairs:
    """Where the pairs given to :func:`estimate_model` come from, when they were drawn for
    training by their own rules (:func:`safelight.link.blocking.training_pairs`): per rule
    name, a boolean mask over the pairs it drew and its number of pairs in all (a rule may
    draw a uniform sample). A session uses the pairs of the rule with its name; :func:`kin_u`
    uses those of :data:`KIN_RULE`."""

    drawn: dict[str, np.ndarray]
    totals: dict[str, int]


#: the training rule whose pairs (same family name) measure the u of household fields
KIN_RULE = "same_family"


@dataclass
class EMResult:
    """The fitted model and, per training session, its pairs, match share and iterations.

    ``fallback``: why the fitted m was discarded for the default m (``"implausible m: ..."``,
    also in each session's report), ``None`` when the fit stands."""

    model: FellegiSunter
    sessions: list[dict[str, Any]] = field(default_factory=list)
    fallback: str | None = None


def _em(levels: np.ndarray, active: np.ndarray, u: list[np.ndarray], m: list[np.ndarray],
        max_iter: int, tol: float, fields: dict[str, tuple[str, ...]] = FIELDS,
        kin_u: dict[str, np.ndarray] | None = None,
        labelled: tuple[np.ndarray, np.ndarray, float] | None = None, *, fit_m: bool = True,
        pseudo_nonmatches: float = 0.0, m_prior: list[np.ndarray | None] | None = None,
        ) -> tuple[list[np.ndarray], float, int, bool]:
    """EM for m and the match share on ``levels`` using only the ``active`` fields (with
    ``fit_m=False`` the match share alone, ``m`` held fixed: a one-parameter fit that stays
    stable on a few pairs, where m's dozens of parameters would not). ``pseudo_nonmatches``
    adds that many non-matches to the share's denominator (shrinks a share taken from a
    handful of pairs toward 0). ``m_prior``: per field, a table of m (None: none) counted as
    :data:`M_PRIOR_MATCHES` matches in each M step (the posterior mode under that Dirichlet
    prior).

    Pairs with the same levels have the same posterior, so EM runs on the distinct level
    patterns weighted by their counts (the same sums, a few thousand rows instead of millions).

    ``labelled``: ``(levels, is_match, weight)`` of pairs a reviewer decided, each standing
    for ``weight`` of the pairs in ``levels`` (``1/scale`` when ``levels`` is a sample of the
    session's pairs). The decided pairs belong to the population ``levels`` stands for, so the
    sums of the E step swap their estimated posterior for the decision: each adds
    ``weight * (decision - posterior)`` at its levels (clipped at zero per level) — a decided
    match adds what the model doubted, a decided non-match takes back what it believed.
    """
    lv = levels.copy()
    lv[:, ~active] = 0  # a fixed field contributes no evidence in this session
    lv, counts = level_patterns(lv)
    total = float(counts.sum())
    lab = np.zeros((0, lv.shape[1]), dtype=lv.dtype)
    decided, lab_weight = np.zeros(0), 0.0
    if labelled is not None and len(labelled[0]):
        lab = labelled[0].copy()
        lab[:, ~active] = 0
        decided, lab_weight = labelled[1].astype(np.float64), float(labelled[2])
    lv_all = np.concatenate([lv, lab])
    share = 0.1
    for it in range(1, max_iter + 1):
        model = FellegiSunter(dict(fields), m, u, share, kin_u or {})
        p = model.probability(lv)
        swap = lab_weight * (decided - model.probability(lab)) if len(lab) else np.zeros(0)
        new_share = float(np.clip(((p * counts).sum() + swap.sum()) / (total + pseudo_nonmatches),
                                  1e-9, 1 - 1e-9))
        new_m = _level_freqs(lv_all, np.concatenate([p * counts, swap]), fields, m_prior,
                             M_PRIOR_MATCHES)
        new_m = [nm if a and fit_m else om for nm, om, a in zip(new_m, m, active, strict=True)]
        delta = max(abs(new_share - share),
                    *(np.abs(x - y).max() for x, y in zip(new_m, m, strict=True)))
        m, share = new_m, new_share
        if delta < tol:
            return m, share, it, True
    return m, share, max_iter, False


#: Fields that members of one household share (a phone, an address): their agreement among
#: kin pairs (:func:`is_kin`) is mostly household agreement, which random pairs almost never show.
HOUSEHOLD_FIELDS: tuple[str, ...] = ("phone", "locality", "address")


def kin_u(u: list[np.ndarray], levels: np.ndarray,
          fields: dict[str, tuple[str, ...]] = FIELDS) -> dict[str, np.ndarray]:
    """u of the :data:`HOUSEHOLD_FIELDS` among kin pairs (see :class:`FellegiSunter`).

    Measured on the candidate pairs with the same family name, a different given name and a
    different birth date: nearly all of them different people of one family. A field keeps its
    plain u (and is left out) when fewer than 50 such pairs have it on both sides or when they
    agree on it no more often than random pairs. Without it a shared phone (+12 bits) and a
    shared address (+20 bits) outweigh a different given name and birth date
    and link siblings.
    """
    names = list(fields)
    if not {"family_name", "given_name", "birth_date"} <= set(names):
        return {}
    fam, giv, dob = (names.index(f) for f in ("family_name", "given_name", "birth_date"))
    kin = (levels[:, fam] == 1) & (levels[:, giv] == len(fields["given_name"])) & (
        levels[:, dob] == len(fields["birth_date"]))
    out: dict[str, np.ndarray] = {}
    if kin.sum() < 100:
        return out
    for f in HOUSEHOLD_FIELDS:
        if f not in names:
            continue
        j = names.index(f)
        present = kin & (levels[:, j] > 0)
        if present.sum() < 50:
            continue
        dist = _level_freqs(levels[present][:, [j]], fields={f: fields[f]})[0]
        if dist[1] > u[j][1]:
            out[f] = dist
    return out


#: Fewest pairs of a training session from which EM estimates m. When no session has that
#: many (a small register), each estimates only its share of matches, with default m
#: (:func:`estimate_model`); otherwise the smaller sessions are skipped.
MIN_EM_PAIRS = 50
#: Fields whose fitted exact level must outweigh their "different" level by at least
#: ``MIN_EXACT_MARGIN`` bits. When EM has no matches to find — two registers that share no
#: one — it fits whatever coincidences the sessions hold (25,000 × 25,000 unrelated records:
#: family name exact −0.56 bits, different −0.01, and 182 false links); a model in which agreeing
#: on a name counts no more than disagreeing is not a record-linkage model, so the fitted m is
#: dropped for the default m (:func:`estimate_model`; the encoded levels of the PPRL hub have
#: theirs too, :mod:`safelight.link.default_m`).
#: The weight margin alone is not enough: with no match class to find, EM fits the next
#: strongest one — relatives, who share the family name and the address but not the given name
#: or the birth date — and u, not m, gives the exact level its lead (1,500 × 1,500 generated
#: registers with nobody in common: m of the given name's exact level 0.05 against 0.69 for
#: "different", weight margin +3.6 bits, 26 false links). So the fitted m must itself put at
#: least ``MIN_M_MARGIN`` bits more of the matches on the exact level than on "different".
#: Genuine fits measured: FEBRL3's given name 2.1 bits (typos spread over the similar levels),
#: FEBRL4 3.0, the generated problems with people in common (1,500 to 20,000 a side, clear and
#: PPRL) 4.1 or more; with nobody in common (1,500 to 25,000 a side, clear) the given name at
#: −2.5 bits or below. The names are fitted on pairs with the same birth date, where
#: namesakes are rare; the birth date on pairs with the same names, which namesakes can fill:
#: a small genuine input (``tests/test_link_pprl.py``'s 500 × 450 packages) put its birth date
#: at 1.0–1.3 bits, registers with nobody in common at 0.94 and below. So the birth date's m
#: margin is judged only when no name was fitted (:data:`M_MARGIN_FIELDS` first) — when
#: nothing else shows that the sessions found people in common, as with small PPRL registers
#: whose date sessions are under the minimum (``bench/linkage/no_overlap.py`` prints every
#: fit's margins).
PLAUSIBLE_FIELDS = ("given_name", "family_name", "birth_date")
M_MARGIN_FIELDS = ("given_name", "family_name")
MIN_EXACT_MARGIN = 1.0
MIN_M_MARGIN = 1.0
#: Non-matches added to a small session's share estimate (shrinks a share read off a handful
#: of pairs toward 0; see :func:`estimate_model`).
SHARE_PSEUDO_NONMATCHES = 5.0


def expected_matches(found: float, agree: float, most: int) -> float:
    """How many matches the input holds, given ``found`` (a soft count) among the pairs that
    agree on a training session's fixed fields, when a match agrees on them with probability
    ``agree``: the posterior mean of ``M`` under ``found ~ Binomial(M, agree)`` and a flat
    prior on ``M`` — ``M - found`` is then negative binomial, mean
    ``(found + 1) (1 - agree) / agree`` — capped at ``most`` (an upper bound the caller
    knows: the number of records, or of pairs).

    With many matches found it is ``found / agree`` plus ``(1 - agree) / agree`` (a match or
    two), the estimate of a large input. With a handful it does not fall to 0 when chance kept
    every match out of the session: two matches of a register of four people both miss an
    exact birth date about one time in three, and ``found / agree`` then set a prior near
    10⁻⁷ that no evidence could overcome; the posterior mean is ``(1 - agree) / agree``
    matches there (1.3 with ``agree`` = 0.44)."""
    agree = float(np.clip(agree, 1e-6, 1.0))
    return float(min(found + (found + 1.0) * (1.0 - agree) / agree, max(most, found)))


def implausible_fields(m: list[np.ndarray | None], u: list[np.ndarray],
                       fields: dict[str, tuple[str, ...]], levels: np.ndarray) -> list[str]:
    """The :data:`PLAUSIBLE_FIELDS` whose fitted ``m`` (``None``: not fitted) weighs the exact
    level less than ``MIN_EXACT_MARGIN`` bits above the "different" (last) level, or puts less
    than ``MIN_M_MARGIN`` bits more of the matches on it (``log2 m_exact / m_different``; the
    birth date only when no name of :data:`M_MARGIN_FIELDS` was fitted), among fields that
    some candidate pair compares on both levels."""
    def judged(j: int, name: str) -> bool:
        return (name in PLAUSIBLE_FIELDS and m[j] is not None
                and bool(np.any(levels[:, j] == 1))
                and bool(np.any(levels[:, j] == len(fields[name]))))  # the last level

    names_fitted = any(judged(j, name) for j, name in enumerate(fields)
                       if name in M_MARGIN_FIELDS)
    out = []
    for j, name in enumerate(fields):
        if not judged(j, name):
            continue
        last = len(fields[name])  # "different": level 0 is missing, 1 exact
        w = _log_ratio(m[j], u[j])
        share = np.log2(np.maximum(m[j][1], 1e-300) / np.maximum(m[j][last], 1e-300))
        by_m = name in M_MARGIN_FIELDS or not names_fitted
        if w[1] - w[last] < MIN_EXACT_MARGIN or (by_m and share < MIN_M_MARGIN):
            out.append(name)
    return out


def estimate_model(
    records: Records,
    candidates: Comparisons,
    *,
    u: list[np.ndarray] | None = None,
    sessions: tuple[TrainingSession, ...] = DEFAULT_SESSIONS,
    max_iter: int = 100,
    tol: float = 1e-5,
    seed: int = 0,
    fields: dict[str, tuple[str, ...]] = FIELDS,
    training: TrainingPairs | None = None,
    all_pairs: int | None = None,
    reviewed: tuple[np.ndarray, np.ndarray] | None = None,
    em_u: list[np.ndarray] | None = None,
    full_date_shares: tuple[float, float] | None = None,
) -> EMResult:
    """Fit m by EM with u fixed (see :data:`DEFAULT_SESSIONS`) and derive the prior.

    Each field's m comes from the sessions in which it is not fixed (averaged over them). The
    prior — the probability that two random records match — is the expected number of matches
    among the first session's pairs, divided by the m of its fixed exact levels (the share of
    all matches that agree on them), over the number of all record pairs.

    ``candidates`` are the pairs to train on: the blocked candidates, or (with ``training``)
    pairs drawn by the training rules; then a session uses only the pairs of its own rule
    (scaled up to the rule's full count for the prior when the rule drew a sample).

    ``all_pairs``: the number of record pairs that may match, over which the prior is taken
    (default: every pair, ``n (n - 1) / 2``; two-source linkage: left × right records, half
    as many, with training pairs drawn across the sources only).

    ``reviewed``: ``(levels, is_match)`` of pairs reviewers decided (the refinement from
    reviews). In each session whose fixed fields they agree on, their posterior is clamped to
    the decision (semi-supervised EM, :func:`_em`), each with the weight of one pair of the
    rule's full count (``1/scale`` of a drawn pair). Reviewers see a selected sample (the
    uncertain pairs), but the selection depends on the levels only and each decided pair
    enters with its own levels, so the estimate stays unbiased.

    ``em_u``: the u that EM uses (default ``u``), e.g. with the u of
    :data:`EM_COUNTRY_FIELDS` among compatriots (:func:`estimate_u_within`); the fitted model
    scores with ``u``.

    A fit that fails :func:`implausible_fields` falls back to the default m (see
    :data:`PLAUSIBLE_FIELDS`), each session then estimating only its share of matches.
    ``full_date_shares`` (each side's share of full birth dates among its dated records,
    :func:`safelight.link.default_m.full_date_shares`) mixes the birth date's default m to the
    input's dates.
    """
    if u is None:
        u = estimate_u(records, seed=seed)
    names = list(fields)
    levels = candidates.levels
    if training is not None and KIN_RULE in training.drawn:
        kin = kin_u(u, levels[training.drawn[KIN_RULE]], fields)
    else:
        kin = kin_u(u, levels, fields)
    init = []
    for lv_names in fields.values():
        x = np.zeros(len(lv_names) + 1)
        x[1:] = np.exp(-1.5 * np.arange(len(lv_names)))  # the best level is the likeliest
        x[1:] /= x[1:].sum()
        init.append(x)
    estimates: list[list[np.ndarray]] = [[] for _ in names]
    free: list[list[np.ndarray]] = [[] for _ in names]  # the fits without the prior on m
    # the clear levels only: the PPRL hub's Dice bands of the birth date are left to EM (its
    # 500 x 450 test packages lost recall 0.929 -> 0.894 with it: the prior's match count,
    # read off the exact level's m, fell)
    held = [f for f in M_PRIOR_FIELDS if f in fields and fields[f] == FIELDS.get(f)]
    tables = default_m(fields, full_date_shares) if held else {}
    m_prior = [tables.get(f) if f in held else None for f in names]
    report: list[dict[str, Any]] = []
    session_matches: dict[str, tuple[TrainingSession, float]] = {}
    share_only: list[tuple[TrainingSession, np.ndarray, np.ndarray, float, Any]] = []
    fitted: list[tuple[TrainingSession, np.ndarray, np.ndarray, float, Any]] = []
    for sess in sessions:
        idx = [names.index(f) for f in sess.fixed]
        mask = np.all(levels[:, idx] == 1, axis=1)
        scale = 1.0  # pairs of the session in all / pairs here
        if training is not None and sess.name in training.drawn:
            drawn = training.drawn[sess.name]
            mask &= drawn
            scale = training.totals[sess.name] / max(int(drawn.sum()), 1)
        active = np.ones(len(names), dtype=bool)
        active[idx] = False
        active[[names.index(f) for f in sess.excluded if f in names]] = False
        n_pairs = int(mask.sum())
        if n_pairs == 0:
            log.warning("training session %s has no pairs; skipped", sess.name)
            continue
        labelled = None
        if reviewed is not None and len(reviewed[0]):
            rmask = np.all(reviewed[0][:, idx] == 1, axis=1)
            labelled = (reviewed[0][rmask], reviewed[1][rmask], 1.0 / scale)
        if n_pairs < MIN_EM_PAIRS:
            share_only.append((sess, mask, active, scale, labelled))
            continue
        fitted.append((sess, mask, active, scale, labelled))
        m, share, it, ok = _em(levels[mask], active, u if em_u is None else em_u,
                               [x.copy() for x in init], max_iter, tol, fields, kin, labelled)
        for j in np.flatnonzero(active):
            free[j].append(m[j])
        if any(m_prior[j] is not None for j in np.flatnonzero(active)):
            # the prior's fit, from the free one; the free one is what implausible_fields
            # judges (the prior would lend every fit the default's margin: registers that
            # share no one passed for a linkage model)
            m, share, it2, ok = _em(levels[mask], active, u if em_u is None else em_u,
                                    [x.copy() for x in m], max_iter, tol, fields, kin,
                                    labelled, m_prior=m_prior)
            it += it2
        for j in np.flatnonzero(active):
            estimates[j].append(m[j])
        session_matches[sess.name] = (sess, share * n_pairs * scale)
        report.append({"session": sess.name, "fixed": list(sess.fixed), "pairs": n_pairs,
                       "reviewed_pairs": 0 if labelled is None else len(labelled[0]),
                       "match_share": share, "iterations": it, "converged": ok, "fit_m": True})
        log.info("EM session %s: %d pairs, match share %.3f, %d iterations",
                 sess.name, n_pairs, share, it)
    # an input too small for any session to estimate m (a register of a few hundred people):
    # the fields take the default m learned on a large generated problem
    # (:mod:`safelight.link.default_m`; ``contributor``: m = u, a neutral weight); as soon as
    # one session is fitted, the sessions under the minimum are skipped as they always were
    small = not session_matches and bool(share_only)
    for sess, mask, *_ in share_only:
        log.warning("training session %s has only %d pairs (m is estimated from %d); %s",
                    sess.name, int(mask.sum()), MIN_EM_PAIRS,
                    "only its share of matches is estimated, with default m where its "
                    "levels have one (else EM's starting m)" if small else
                    "skipped")
    implausible = implausible_fields(
        [np.mean(est, axis=0) if est else None for est in free], u, fields, levels)
    fallback = None  # why the fit was discarded (EMResult.fallback)
    if implausible:  # fall back as for a small input: default m, every session's share alone
        why = (f"EM fitted a model in which agreeing on {', '.join(implausible)} does not mark "
               "a match (its matches agree hardly more often than they differ, or no more "
               "often than other pairs; the inputs may hold few or no records of the same "
               "people)")
        log.warning("%s: default m is used instead, and each session estimates only its share "
                    "of matches", why)
        small = True
        share_only = fitted + share_only
        session_matches = {}
        estimates = [[] for _ in names]
        report = []  # the share-only estimates below replace the discarded fits
        fallback = "implausible m: " + ", ".join(implausible)
    # a field that only a session under the minimum would have taught takes its default m too
    # (a neutral one, the contributor, m = u): EM's starting guess is no model of it. With the
    # names alone so taught, a trial's 740 × 386 PPRL files kept that guess for the contributor
    # (-2.5 bits on every pair across the two) and the town (-4.7 bits for a different one),
    # and missed 10 of 81 true pairs; a field every session fixes (the birth date in the PPRL
    # hub's sex-and-nationality fit) is not taught: untouched
    unfitted = [f for f in names if not estimates[names.index(f)]
                and any(active[names.index(f)] for _, _, active, *_ in share_only)]
    if small:
        defaults = {**{f: u[names.index(f)] for f in NEUTRAL_FIELDS if f in names},
                    **default_m(fields, full_date_shares)}
    elif unfitted:
        defaults = {**{f: m for f, m in default_m(fields, full_date_shares).items()
                       if f in unfitted},
                    **{f: u[names.index(f)] for f in NEUTRAL_FIELDS if f in unfitted}}
        if defaults:
            log.warning("no training session fitted %s: default m is used for %s",
                        ", ".join(defaults), "it" if len(defaults) == 1 else "them")
            report.extend({"session": sess.name, "fixed": list(sess.fixed),
                           "pairs": int(mask.sum()), "fit_m": False, "skipped": True,
                           "default_m": sorted(defaults)} for sess, mask, *_ in share_only)
    else:
        defaults = {}
    m_final = [np.mean(est, axis=0) if est else defaults.get(names[j], init[j])
               for j, est in enumerate(estimates)]
    # a field no candidate pair has (e.g. addresses in a source without them) keeps the initial
    # guess of m: it never scores (its level is always "missing", weight 0), and its weight
    # table still orders agreement above disagreement
    unseen = ~np.any(levels > 0, axis=0) if len(levels) else np.ones(len(names), dtype=bool)
    m_final = [init[j] if unseen[j] else m for j, m in enumerate(m_final)]
    # a small input's sessions still estimate their share of matches, with the m just settled
    # and shrunk by SHARE_PSEUDO_NONMATCHES, so the prior below comes from the data (without it
    # a register of 100 people linked a fifth of its matches: the prior fell back to 1e-6)
    for sess, mask, active, scale, labelled in share_only if small else ():
        _, share, it, ok = _em(levels[mask], active, u if em_u is None else em_u,
                               [x.copy() for x in m_final], max_iter, tol, fields, kin,
                               labelled, fit_m=False, pseudo_nonmatches=SHARE_PSEUDO_NONMATCHES)
        n_pairs = int(mask.sum())
        session_matches[sess.name] = (sess, share * n_pairs * scale)
        report.append({"session": sess.name, "fixed": list(sess.fixed), "pairs": n_pairs,
                       "reviewed_pairs": 0 if labelled is None else len(labelled[0]),
                       "match_share": share, "iterations": it, "converged": ok, "fit_m": False,
                       **({"fallback": fallback} if fallback else {})})
        log.info("EM session %s (match share only): %d pairs, match share %.3f", sess.name,
                 n_pairs, share)
    n = len(records)
    prior = 1e-6
    first = next((session_matches[s.name] for s in sessions if s.name in session_matches), None)
    if first is not None:
        sess, matches = first
        agree = float(np.prod([m_final[names.index(f)][1] for f in sess.fixed]))
        total = n * (n - 1) / 2 if all_pairs is None else all_pairs
        prior = float(np.clip(expected_matches(matches, agree, n) / max(total, 1), 1e-12, 0.5))
    log.info("prior probability that two records match: %.3g", prior)
    return EMResult(FellegiSunter(dict(fields), m_final, u, prior, kin), report, fallback)


#: Fields whose exact agreement is weighted by how common the value is (term frequency):
#: field → the :class:`Records` attribute holding the compared key.
TF_FIELDS: dict[str, str] = {"given_name": "given", "family_name": "family"}
TF_MAX_BONUS = 4.0  # bits: a rare name agreeing is strong evidence, but typos make rare names


def tf_adjustments(model: FellegiSunter, records: Records, comps: Comparisons, *,
                   summed: bool = False) -> np.ndarray:
    """(n_pairs, n_fields) log2 corrections of the exact-level weights by term frequency
    (with ``summed``, their sum per pair: an ``(n_pairs,)`` array).

    For a pair agreeing exactly on value ``v`` the weight becomes ``log2(m / f_v)`` instead of
    ``log2(m / u)``, where ``f_v`` is the chance that a random *other* compatriot has ``v``
    (:func:`tf_from_counts`: the pair itself left out, shrunk toward ``u``); the bonus for rare
    values is capped at :data:`TF_MAX_BONUS`. Other levels get 0.
    """
    # A name's frequency in either role (given or family: names get swapped), among the records
    # of the same nationality: names go with nationality (Ngozi with Okeke), so counting them
    # over all records would count the nationality's evidence twice. Counted on the integer
    # codes (the name columns share one vocabulary; -1 for missing), not on the strings.
    return tf_from_counts(model, name_counts(records), comps, summed=summed)


@dataclass(frozen=True)
class NameCounts:
    """What the clear term-frequency adjustment reads (:func:`name_counts`): per
    :data:`TF_FIELDS` field, how many records of each record's group hold its value (itself
    included; in either name role, a record once), each record's group (its nationality's code
    + 1; 0 without one, whose group is every record) and the size of that group."""

    count: dict[str, np.ndarray]
    group: np.ndarray
    size: np.ndarray


def name_counts(records: Records) -> NameCounts:
    """Per :data:`TF_FIELDS` field, how many records of each record's nationality (of all
    records, for one without a nationality) hold its value in either name role — a record
    holding it in both (Ali Ali) counts once; see :func:`tf_from_counts`."""
    n = len(records)
    col = records.codes.column
    nat = col["nationality"].astype(np.int64) + 1  # 0: no nationality
    roles = [col[attr].astype(np.int64) + 1 for attr in TF_FIELDS.values()]
    names = np.concatenate(roles)
    # an occurrence counts unless an earlier role of the same record holds the same value
    held = np.concatenate([np.ones(n, dtype=bool)]
                          + [~np.any([r == roles[j] for j in range(k)], axis=0)
                             for k, r in enumerate(roles) if k])
    width = int(names.max(initial=0)) + 1

    def counted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, inverse = np.unique(keys, return_inverse=True)
        inverse = inverse.reshape(-1)
        return inverse, np.bincount(inverse[held], minlength=int(inverse.max(initial=-1)) + 1)

    inverse, counts = counted(np.tile(nat, len(TF_FIELDS)) * width + names)
    inverse_all, counts_all = counted(names)
    nat_counts = np.bincount(nat)
    size = np.where(nat == 0, n, nat_counts[nat])
    # a record without a nationality is counted among every record, as its group says
    return NameCounts({fname: np.where(nat == 0, counts_all[inverse_all[k * n:(k + 1) * n]],
                                       counts[inverse[k * n:(k + 1) * n]])
                       for k, fname in enumerate(TF_FIELDS)}, nat, size)


#: pseudo-records of the field's average agreement ``u`` in a name's frequency among
#: compatriots (:func:`tf_from_counts`): a group of a few records says little about how rare a
#: name is
TF_PSEUDO_RECORDS = 10.0


def tf_from_counts(model: FellegiSunter, counts: NameCounts, comps: Comparisons, *,
                   summed: bool = False) -> np.ndarray:
    """(n_pairs, n_fields) clear term-frequency corrections (see :func:`tf_adjustments`):
    ``min(log2(u_exact / f), TF_MAX_BONUS)`` on the exact level of each field of ``counts``,
    0 elsewhere, where for a pair ``(a, b)`` exact on value ``v`` in ``a``'s group of ``g``
    records, ``c`` of which hold ``v``,
    ``f = (c - own + TF_PSEUDO_RECORDS · u_exact) / (g - own + TF_PSEUDO_RECORDS)`` and
    ``own`` is the pair's records in that group (``a``, and ``b`` when it shares ``a``'s
    nationality or ``a`` has none).

    The pair is left out because it is the thing being judged: two identical records of the
    only two people of their nationality made ``f = 2 / 2``, and agreeing on both names
    counted *against* the match (found by a new user's trial: −0.4 and −0.3 bits, not linked);
    a nationality of five records put ``f`` at 0.4 however rare the name. Where the other
    compatriots are many, ``f`` is their share as before."""
    names = list(model.fields)
    out = np.zeros(len(comps.a)) if summed else np.zeros((len(comps.a), len(names)))
    ga = counts.group[comps.a]
    own = 1.0 + ((counts.group[comps.b] == ga) | (ga == 0))
    others = counts.size[comps.a] - own + TF_PSEUDO_RECORDS
    for fname, count in counts.count.items():
        j = names.index(fname)
        u_exact = model.u[j][1]
        f = (np.maximum(count[comps.a] - own, 0) + TF_PSEUDO_RECORDS * u_exact) / others
        col = _tf_bonus(u_exact, f.astype(np.float64, copy=False), comps.levels[:, j] == 1)
        if summed:
            out += col
        else:
            out[:, j] = col
    return out


def _tf_bonus(u_exact: float, f: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """``min(log2(u_exact / f), TF_MAX_BONUS)`` where ``exact``, 0 elsewhere — computed in
    place in ``f`` (a float64 array of the caller's own, returned): at 1M × 1M it holds tens of
    millions of pairs, and every temporary is half a gigabyte at the hub's peak."""
    np.maximum(f, 1e-12, out=f)
    np.divide(u_exact, f, out=f)
    np.log2(f, out=f)
    np.minimum(f, TF_MAX_BONUS, out=f)
    f[~exact] = 0.0
    return f


def tf_from_frequencies(model: FellegiSunter, freqs: dict[str, np.ndarray], comps: Comparisons,
                        *, summed: bool = False) -> np.ndarray:
    """(n_pairs, n_fields) term-frequency corrections from ``freqs`` (field → the frequency of
    each record's value; the PPRL hub's estimates, :func:`safelight.link.encoded.name_frequencies`):
    ``min(log2(u_exact / f[a]), TF_MAX_BONUS)`` on the exact level of each field in ``freqs``,
    0 elsewhere (the clear form is :func:`tf_from_counts`). With ``summed``, the
    sum over fields per pair (no ``n_pairs × n_fields`` matrix is built)."""
    names = list(model.fields)
    out = np.zeros(len(comps.a)) if summed else np.zeros((len(comps.a), len(names)))
    for fname, freq in freqs.items():
        j = names.index(fname)
        col = _tf_bonus(model.u[j][1], freq[comps.a].astype(np.float64, copy=False),
                        comps.levels[:, j] == 1)  # the gather is a copy: scratch
        if summed:
            out += col
        else:
            out[:, j] = col
    return out
