"""Statistical birth-year chain attack on the blocking keys a hub holds (hub side, no key).

The hub joins records on keyed blocking keys. It cannot read a birth year, but it can sort
records into *year classes*, order the classes by their evidence, and anchor the order with the
public distribution of birth years:

1. **Year classes.** Keys over a birth year (``family_year``, ``birth_date``, ``address_year``,
   …) are equal only within one year, so connected components of "equal on such a key" hold
   one birth year each. With enough records the components of one year percolate into one
   large class per year.
2. **Windows.** Keys over the two-year window (``*_year2``) meet across the two years of one
   window: each class's strongest window-key partner is the other year of its window.
3. **Adjacency.** Keys without any year (names alone, phone, document, address, …) meet one
   person's records whatever the year says. When one person's year is written off by one in
   another record, such a key links two classes one year apart. If a key set makes
   adjacent-year classes each other's strongest partner *outside* their window, the classes
   form a chain: year, year + 1, year + 2, …
4. **Anchor.** The chain's order and the public birth-year distribution give the most likely
   absolute year of every class in it (both directions tried).

This is the attack that rebuilt birth years from format v4's {day, month} keys (docs/pprl.md,
"Withdrawn: format v4"). Evidence between two classes is the number of record pairs that share
a key value, each group of ``g`` records weighted ``1 / (g - 1)`` (``weighting="record"``: a
record's links add up to at most 1, so a postcode shared by thousands cannot swamp a rare
name) or 1 per pair (``"pair"``); the attacker's best is reported. The true years are used only
to score the result. The public distribution is the *exact* year distribution of the attacked
records (the worst case). An attacker who knows the birth year of any one record in the chain
(a case of their own, a published one) anchors it there instead: ``one_known`` reports that.

    PYTHONPATH=src python bench/linkage/attack.py --year-chain 100000 \
        --packages /tmp/pprl-packages --cache /tmp/safelight-pprl-cache
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import sparse
from scipy.sparse.csgraph import connected_components

#: the smallest year class the attacker orders (smaller ones are noise)
MIN_CLASS = 20


def rules_by_kind() -> dict[str, list[str]]:
    """The package's blocking rules by what they hold of the birth year: ``year`` (one year),
    ``window`` (a two-year window) and ``yearless`` (no year: they meet across years)."""
    from safelight.identity.encode import BLOCKING_RULES

    kinds: dict[str, list[str]] = {"year": [], "window": [], "yearless": []}
    for rule, (_space, parts, _missing) in BLOCKING_RULES.items():
        kind = "year" if "year" in parts else "window" if "year2" in parts else "yearless"
        kinds[kind].append(rule)
    return kinds


def _spaces(rules: Iterable[str]) -> dict[str, list[str]]:
    """Rules grouped by key space: the hub joins every column of a space with every other
    (crosswise keys and the narrowed/open variants of one key share a space)."""
    from safelight.identity.encode import BLOCKING_RULES

    out: dict[str, list[str]] = collections.defaultdict(list)
    for rule in rules:
        out[BLOCKING_RULES[rule][0]].append(rule)
    return out


def _incidence(keys: pa.Table, rules: Iterable[str]) -> sparse.csr_matrix:
    """(key group × record) incidence of the groups of two or more records that share a value
    in one of the key spaces of ``rules``."""
    n = keys.num_rows
    rows, cols, offset = [], [], 0
    for space_rules in _spaces(rules).values():
        values, recs = [], []
        for rule in space_rules:
            col = keys.column(f"bk_{rule}").combine_chunks()
            ok = col.is_valid().to_numpy(zero_copy_only=False)
            values.append(col.fill_null(0).to_numpy(zero_copy_only=False)[ok])
            recs.append(np.flatnonzero(ok))
        value, rec = np.concatenate(values), np.concatenate(recs)
        uniq, group = np.unique(value, return_inverse=True)
        # a record counts once per group (two columns of one space may give it the same value)
        pair = np.unique(group.astype(np.int64) * n + rec)
        group, rec = pair // n, pair % n
        size = np.bincount(group, minlength=len(uniq))
        keep = size[group] >= 2
        _, group = np.unique(group[keep], return_inverse=True)
        rows.append(group + offset)
        cols.append(rec[keep])
        offset += int(group.max()) + 1 if len(group) else 0
    data = np.ones(sum(len(r) for r in rows), dtype=np.float64)
    return sparse.csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))),
                             shape=(offset, n))


def _label_incidence(labels: np.ndarray) -> sparse.csr_matrix:
    """(group × record) incidence of the groups of two or more records with one label — e.g.
    the persons the hub's own linkage output made (-1: no label)."""
    n = len(labels)
    ok = labels >= 0
    uniq, group = np.unique(labels[ok], return_inverse=True)
    size = np.bincount(group, minlength=len(uniq))
    keep = size[group] >= 2
    _, group = np.unique(group[keep], return_inverse=True)
    rec = np.flatnonzero(ok)[keep]
    return sparse.csr_matrix((np.ones(len(rec)), (group, rec)),
                             shape=(int(group.max()) + 1 if len(group) else 0, n))


def _evidence(inc: sparse.csr_matrix, klass: np.ndarray, k: int, weighting: str
              ) -> np.ndarray:
    """(k × k) evidence between year classes: record pairs that share a group, by class pair,
    weighted per group (module docstring); the diagonal is zero. ``klass`` is each record's
    class, -1 outside the ordered classes."""
    member = klass >= 0
    inc = inc[:, np.flatnonzero(member)]
    size = np.asarray(inc.sum(axis=1)).ravel()
    w = np.where(size >= 2, 1.0 / np.maximum(size - 1, 1), 0.0) if weighting == "record" \
        else (size >= 2).astype(np.float64)
    onehot = sparse.csr_matrix((np.ones(int(member.sum())), (np.arange(int(member.sum())),
                               klass[member])), shape=(int(member.sum()), k))
    per_class = (inc @ onehot).tocsr()                      # groups × classes: member counts
    ev = (per_class.T @ sparse.diags(w) @ per_class).toarray()
    np.fill_diagonal(ev, 0.0)
    return ev


def _mutual_best(ev: np.ndarray) -> dict[int, int]:
    """Class → its strongest partner, where the choice is mutual and the evidence positive."""
    best = ev.argmax(axis=1)
    return {a: int(b) for a, b in enumerate(best.tolist())
            if ev[a, b] > 0 and int(best[b]) == a}


def _longest_path(edges: dict[int, set[int]], k: int) -> list[int]:
    """The largest connected set of classes, walked as a path from one of its ends (the
    attacker's ordering; a branch is cut where the walk meets it)."""
    seen: set[int] = set()
    largest: list[int] = []
    for s in range(k):
        if s in seen:
            continue
        comp, stack = [], [s]
        seen.add(s)
        while stack:
            x = stack.pop()
            comp.append(x)
            for y in edges[x]:
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        if len(comp) > len(largest):
            largest = comp
    nodes = set(largest)
    ends = sorted(x for x in nodes if len(edges[x] & nodes) <= 1) or [largest[0]]
    order, prev, cur = [], None, ends[0]
    while cur is not None and cur not in order:
        order.append(cur)
        nxt = sorted(y for y in edges[cur] & nodes if y != prev and y not in order)
        prev, cur = cur, (nxt[0] if nxt else None)
    return order


@dataclass(frozen=True)
class ChainResult:
    """What the attack recovered with one set of yearless keys (``years_recovered_share`` is
    the headline: records whose exact birth year the anchored chain gives, of all records)."""

    keys: str
    weighting: str
    classes: int
    chain_classes: int
    chain_records_share: float
    adjacent_steps: int
    true_years_along_chain: list[int]
    years_recovered_share: float
    years_recovered_one_known_share: float
    modal_year_share: float


def attack(keys: pa.Table, years: np.ndarray, public_years: collections.Counter,
           key_sets: dict[str, Sequence[str] | np.ndarray], *, weighting: Sequence[str] = ("record", "pair"),
           min_class: int = MIN_CLASS, year_rules: Sequence[str] | None = None
           ) -> list[ChainResult]:
    """Run the chain attack on the ``bk_*`` columns of ``keys`` (every package a hub holds,
    stacked) once per named set of yearless rules in ``key_sets`` and per weighting; a set
    given as an array of per-record labels (the persons of the hub's own linkage output) is
    used as one more yearless key.
    ``years`` (-1 where unknown) only scores the result. ``year_rules`` (default: every rule
    over the year) form the year classes."""
    kinds = rules_by_kind()
    n = keys.num_rows
    same_year = _incidence(keys, kinds["year"] if year_rules is None else year_rules)
    # records and groups as one bipartite graph: linear in the key entries
    graph = sparse.bmat([[None, same_year.T], [same_year, None]], format="csr")
    _ncomp, comp = connected_components(graph, directed=False)
    comp = comp[:n]
    sizes = np.bincount(comp)
    big = np.flatnonzero(sizes >= min_class)
    lookup = np.full(len(sizes), -1)
    lookup[big] = np.arange(len(big))
    klass = lookup[comp]
    k = len(big)
    class_size = np.bincount(klass[klass >= 0], minlength=k)
    modal = public_years.most_common(1)[0][0]
    total = sum(public_years.values())
    log_p = {y: np.log(c / total) for y, c in public_years.items()}
    lo, hi = min(public_years), max(public_years)
    # records by class and true year (scoring only)
    y_lo = int(years[years >= 0].min())
    known = (klass >= 0) & (years >= 0)
    by_year = np.zeros((k, int(years.max()) - y_lo + 1), dtype=np.int64)
    np.add.at(by_year, (klass[known], years[known] - y_lo), 1)

    def placed(order: list[int], sign: int, first: int) -> int:
        """Records whose year the chain gives when its first class is placed at ``first``."""
        ys = first + sign * np.arange(len(order)) - y_lo
        ok = (ys >= 0) & (ys < by_year.shape[1])
        return int(by_year[np.asarray(order)[ok], ys[ok]].sum()) if len(order) else 0

    windows = _incidence(keys, kinds["window"])
    out = []
    partners = {how: _mutual_best(_evidence(windows, klass, k, how)) for how in weighting}
    for label, rules in key_sets.items():
        inc = (_label_incidence(rules) if isinstance(rules, np.ndarray)
               else _incidence(keys, rules))  # once per key set, for every weighting
        for how in weighting:
            partner = partners[how]
            ev = _evidence(inc, klass, k, how)
            for a, b in partner.items():
                ev[a, b] = 0.0  # the window partner is known already: look beyond it
            step = _mutual_best(ev)
            edges: dict[int, set[int]] = collections.defaultdict(set)
            for a, b in list(partner.items()) + list(step.items()):
                edges[a].add(b)
                edges[b].add(a)
            order = _longest_path(edges, k) if k else []
            truth = [int(y_lo + by_year[c].argmax()) if by_year[c].any() else -1
                     for c in order]
            best = max(((sum(int(class_size[c]) * log_p.get(shift + sign * i, -20.0)
                             for i, c in enumerate(order)), sign, shift)
                        for sign in (1, -1) for shift in range(lo - len(order), hi + len(order))),
                       default=(0.0, 1, modal))
            _ll, sign, shift = best
            in_chain = np.isin(klass, order) if order else np.zeros(n, dtype=bool)
            # an attacker who knows one record's year (their own case, a published one) places
            # the chain at that record: scored at the best placement (an upper bound for it)
            one_known = max((placed(order, sign, y0) for sign in (1, -1) for y0 in set(truth)),
                            default=0)
            out.append(ChainResult(
                keys=label, weighting=how, classes=k, chain_classes=len(order),
                chain_records_share=float(in_chain.mean()),
                adjacent_steps=sum(abs(b - a) == 1
                                   for a, b in zip(truth, truth[1:], strict=False)),
                true_years_along_chain=truth,
                years_recovered_share=float(placed(order, sign, shift) / n),
                years_recovered_one_known_share=float(one_known / n),
                modal_year_share=float(np.mean(years == modal))))
    return out


def filter_year_separation(filters: Sequence[bytes | None], years: np.ndarray, *,
                           sample: int = 3000, tau: float = 0.5, seed: int = 0) -> dict:
    """Can the hub see year classes in the birth-date *filters*, without any key? Dice of the
    filters of a sample of records, pair by pair: the share of same-year pairs at or above
    ``tau`` against the share of other pairs (the filter holds the year as three tokens)."""
    ok = np.flatnonzero(np.array([f is not None for f in filters]) & (years >= 0))
    idx = np.random.default_rng(seed).choice(ok, min(sample, len(ok)), replace=False)
    bits = np.unpackbits(np.frombuffer(b"".join(filters[i] for i in idx), dtype=np.uint8)
                         .reshape(len(idx), -1), axis=1).astype(np.float32)
    count = bits.sum(axis=1)
    dice = 2 * (bits @ bits.T) / (count[:, None] + count[None, :])
    upper = np.triu_indices(len(idx), 1)
    same = (years[idx][:, None] == years[idx][None, :])[upper]
    above = dice[upper] >= tau
    return {"records": len(idx), "tau": tau,
            "same_year_pairs_above": float(above[same].mean()),
            "other_pairs_above": float(above[~same].mean())}


def key_sets() -> dict[str, list[str]]:
    """The yearless rules the attack tries: all together, the name keys, phone and document,
    the address keys, and each rule alone."""
    yearless = rules_by_kind()["yearless"]
    names = [r for r in yearless
             if r.startswith(("given_family", "sorted_names", "name_prefixes", "given_month"))]
    address = [r for r in yearless if r not in names and r not in ("phone", "document")]
    return {"all yearless keys": yearless, "name keys": names,
            "phone + document": ["phone", "document"], "address keys": address,
            **{r: [r] for r in yearless}}


def load(packages: Sequence[Path], years: Sequence[pa.Table]) -> tuple[pa.Table, np.ndarray]:
    """(the ``bk_*`` columns of every package, stacked; each record's true birth year, -1
    where unknown) — ``years`` are the clear tables the packages were encoded from, in order
    (a package holds its records in a random order: the years follow the record ids)."""
    keys, truth = [], []
    for pkg, clear in zip(packages, years, strict=True):
        table = pq.read_table(Path(pkg) / "records.parquet")
        ids = table.column("record_id").to_pylist()
        at = {r: i for i, r in enumerate(clear.column("record_id").to_pylist())}
        if len(ids) != len(at) or not all(r in at for r in ids):
            raise ValueError(f"{pkg}: its records are not those of the clear table")
        year = clear.column("birth_year").fill_null(-1).to_numpy(zero_copy_only=False)
        keys.append(table.select([c for c in table.schema.names if c.startswith("bk_")]))
        truth.append(year[np.array([at[r] for r in ids], dtype=np.int64)])
    return pa.concat_tables(keys), np.concatenate(truth).astype(np.int64)
