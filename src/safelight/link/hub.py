"""Linking every consenting record of a hub: person ids and a review queue in the store.

Contract: :func:`link_hub` reads the ``identities`` of the cases whose ``consent_linkage`` is
true (no other record takes part, and a record whose consent was withdrawn loses its person
id), links them with :func:`safelight.link.pipeline.link_records`, and in one transaction
replaces the ``persons`` and ``person_links`` rows and the open (undecided) ``link_review``
rows with the run's, keeps the decided ones, and appends its ``link_runs`` row (tables of store
migration 3), plus an audit-log entry. Reviewers' earlier
decisions bind every run (:mod:`safelight.link.decisions`): a decided match ends in one person,
a decided non-match never does, and a decided pair is not queued again; with
``LinkSettings.learn_from_reviews`` the decided pairs also refine the model's ``m``
(:func:`safelight.link.model.estimate_model`). Person ids
are ``"S"`` + 8 hex digits of SHA-256 over the cluster's smallest (contributor, record_id), so an
unchanged cluster keeps its id across runs. The run's accepted links inside each person (pairs
above the threshold that it kept in one person) are stored in ``person_links`` (migration 9);
between runs, :func:`reform_persons` re-forms a person that lost a record to a withdrawal (or a
refused or missing linkage consent) from the links that remain, so the records that the record
that left was the only bridge between are no longer one person; :func:`apply_review_decision`
re-forms the persons a reviewer's decision concerns as soon as it is recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from safelight import __version__
from safelight.errors import UsageError
from safelight.link.cluster import connected_components
from safelight.link.decisions import (
    DecidedPairs,
    Decisions,
    apply_decisions,
    decided_mask,
    index_decisions,
    load_decisions,
    settled_by_decision,
)
from safelight.link.pipeline import LinkResult, LinkSettings, link_records
from safelight.store import Hub

__all__ = ["HubLinkResult", "apply_review_decision", "last_run_mode", "link_hub",
           "load_identities", "reform_persons", "review_pairs", "summary",
           "undo_review_decision"]

log = logging.getLogger("safelight.link")

_IDENTITY_SQL = """
SELECT i.contributor, i.record_id, i.given_name, i.family_name, i.full_name, i.birth_year,
       i.birth_month, i.birth_day, i.sex, i.nationality, i.phone, i.document_number, i.locality,
       k.country AS contributor_country
FROM identities i
JOIN cases c USING (contributor, record_id)
LEFT JOIN contributors k ON k.name = i.contributor
WHERE c.consent_linkage
ORDER BY i.contributor, i.record_id
"""


@dataclass
class HubLinkResult:
    """What :func:`link_hub` wrote, with the in-memory linkage result."""

    run_id: str
    records: int
    candidate_pairs: int
    linked_pairs: int
    persons: int
    persons_in_several_contributors: int
    review_pairs: int
    result: LinkResult  # or a PPRLResult (same fields) for a privacy-preserving run
    decisions: dict[str, int] = field(default_factory=dict)  # reviewers' decisions applied


def _alpha2(alpha3: str | None) -> str | None:
    if not alpha3:
        return None
    import pycountry

    c = pycountry.countries.get(alpha_3=alpha3)
    return c.alpha_2 if c else None


def load_identities(hub: Hub) -> pa.Table:
    """Identity rows of the consenting cases, with ``phone_region`` (the contributor's
    country, ISO alpha-2) for reading national phone numbers."""
    cur = hub.con.cursor()  # its own result set: the hub connection may hold an open one
    try:
        table = cur.sql(_IDENTITY_SQL).to_arrow_table()
    finally:
        cur.close()
    regions = {c: _alpha2(c) for c in set(table.column("contributor_country").to_pylist())}
    return table.append_column(
        "phone_region",
        pa.array([regions[c] for c in table.column("contributor_country").to_pylist()],
                 pa.string()),
    )


def _person_ids(contributor: np.ndarray, record_id: np.ndarray, labels: np.ndarray
                ) -> np.ndarray:
    first: dict[int, tuple[str, str]] = {}
    for lab, c, r in zip(labels.tolist(), contributor.tolist(), record_id.tolist(), strict=True):
        key = (c, r)
        if lab not in first or key < first[lab]:
            first[lab] = key
    ids = {lab: "S" + hashlib.sha256(f"{c}\x1f{r}".encode()).hexdigest()[:8]
           for lab, (c, r) in first.items()}
    return np.array([ids[lab] for lab in labels.tolist()], dtype=object)


def _persons_table(contributor: np.ndarray, record_id: np.ndarray, labels: np.ndarray,
                   weakest: np.ndarray, run_id: list[str]) -> pa.Table:
    """``persons`` rows of records clustered by ``labels``: person id, cluster size, contributors
    of the cluster, weakest link per record (``nan``: none) and the run that linked it."""
    person = _person_ids(contributor, record_id, labels)
    _, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    n_contrib: dict[int, set[str]] = {}
    for lab, c in zip(labels.tolist(), contributor.tolist(), strict=True):
        n_contrib.setdefault(lab, set()).add(c)
    return pa.table({
        "contributor": pa.array(contributor.tolist(), pa.string()),
        "record_id": pa.array(record_id.tolist(), pa.string()),
        "person_id": pa.array(person.tolist(), pa.string()),
        "cluster_size": pa.array(sizes[inverse].astype(np.int32)),
        "n_contributors": pa.array([len(n_contrib[x]) for x in labels.tolist()], pa.int32()),
        "min_link_probability": pa.array(np.where(np.isnan(weakest), None, weakest).tolist(),
                                         pa.float64()),
        "run_id": pa.array(run_id, pa.string()),
    })  # fmt: skip


def link_hub(hub: Hub, settings: LinkSettings | None = None, *, actor: str = "link"
             ) -> HubLinkResult:
    """Link the hub's consenting records and store persons and the review queue."""
    s = settings or LinkSettings()
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = load_identities(hub)
    if table.num_rows < 2:
        packages = hub.con.execute("SELECT count(*) FROM pprl_packages").fetchone()[0]
        raise UsageError(f"{hub.path}: fewer than two records in clear with consent to linkage"
                         + (f"; it holds {packages} contribution package(s): link them with "
                            "`safelight link hub HUB --pprl`" if packages else
                            " — ingest contributions whose consent allows linkage first"))
    reviewed = None
    if s.learn_from_reviews:
        reviewed = index_decisions(
            load_decisions(hub), np.array(table.column("contributor").to_pylist(), dtype=object),
            np.array(table.column("record_id").cast(pa.string()).to_pylist(), dtype=object))
    res = link_records(table, s, reviewed=reviewed)
    return store_run(hub, res, res.records.contributor, res.records.record_id,
                     {"mode": "clear", **s.to_dict()}, s.threshold, s.review_low, s.review_high,
                     started, actor)


def last_run_mode(hub: Hub) -> str | None:
    """``"clear"`` or ``"pprl"``: the mode of the hub's newest linkage run (None: no run).
    Runs from before the mode was recorded in clear runs' settings are clear."""
    row = hub.con.execute("SELECT coalesce(json_extract_string(settings, '$.mode'), 'clear') "
                          "FROM link_runs ORDER BY finished_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def review_pairs(p: np.ndarray, labels: np.ndarray, a: np.ndarray, b: np.ndarray,
                 decided: DecidedPairs, review_low: float, review_high: float
                 ) -> tuple[np.ndarray, int]:
    """The candidate pairs (indices) a run queues for review, and how many it leaves out as
    settled: uncertain pairs (``review_low <= p < review_high``) and confident ones that
    clustering (``labels``) kept apart — not the decided ones, nor uncertain pairs between two
    persons that a decided non-match parts (settled with it:
    :func:`~safelight.link.decisions.settled_by_decision`; a confident pair there is still
    queued, as clustering may have put a record beside the wrong one of two namesakes)."""
    linked = labels[a] == labels[b]
    uncertain = (p >= review_low) & (p < review_high)
    overruled = (p >= review_high) & ~linked
    open_pair = ~decided_mask(decided, len(labels), a, b)
    settled = uncertain & open_pair & settled_by_decision(decided, labels, a, b)
    return np.flatnonzero((uncertain | overruled) & open_pair & ~settled), int(settled.sum())


def store_run(hub: Hub, res: Any, contributor: np.ndarray, record_id: np.ndarray,
              settings: dict[str, Any], threshold: float, review_low: float,
              review_high: float, started: dt.datetime, actor: str) -> HubLinkResult:
    """Write a linkage result (clear :class:`LinkResult` or privacy-preserving
    :class:`~safelight.link.pprl.PPRLResult`: both have ``labels``, ``comparisons``,
    ``probabilities``, ``weights``, ``em``, ``timings`` and ``reasons``) as persons, review
    queue and run, in one transaction; reviewers' decisions re-shape the clusters first."""
    a, b, p = res.comparisons.a, res.comparisons.b, res.probabilities
    before = last_run_mode(hub)
    if before is not None and before != settings.get("mode", "clear"):
        log.warning("this %s run replaces the persons of the hub's %s run: records that only "
                    "the %s run linked have no person now", settings.get("mode", "clear"),
                    before, before)
    decided = index_decisions(load_decisions(hub), contributor, record_id)
    labels, applied = apply_decisions(res.labels, decided, a, b, res.weights)
    res.labels = labels
    linked = labels[a] == labels[b]
    weakest = np.full(len(labels), np.nan)
    lk = linked & (p >= threshold)
    np.fmin.at(weakest, a[lk], p[lk])
    np.fmin.at(weakest, b[lk], p[lk])
    run_id = uuid.uuid4().hex[:12]
    persons = _persons_table(contributor, record_id, labels, weakest, [run_id] * len(labels))
    review_idx, settled = review_pairs(p, labels, a, b, decided, review_low, review_high)
    review = pa.table({
        "run_id": pa.array([run_id] * len(review_idx), pa.string()),
        "left_contributor": pa.array(contributor[a[review_idx]].tolist(), pa.string()),
        "left_record_id": pa.array(record_id[a[review_idx]].tolist(), pa.string()),
        "right_contributor": pa.array(contributor[b[review_idx]].tolist(), pa.string()),
        "right_record_id": pa.array(record_id[b[review_idx]].tolist(), pa.string()),
        "match_probability": pa.array(p[review_idx], pa.float64()),
        "match_weight": pa.array(res.weights[review_idx], pa.float64()),
        "linked": pa.array(linked[review_idx]),
        "reasons": pa.array([json.dumps(x) for x in res.reasons(review_idx)], pa.string()),
    })  # fmt: skip
    n_persons = int(labels.max()) + 1
    several = len(set(pc.filter(persons["person_id"],
                                pc.greater(persons["n_contributors"], 1)).to_pylist()))
    finished = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    model_json = json.dumps({"model": res.em.model.to_dict(), "sessions": res.em.sessions,
                             "timings": res.timings})
    con = hub.con
    con.complete()  # finish any result an earlier fetchone() left open (DuckDB refuses otherwise)
    links = pa.table({
        "left_contributor": pa.array(contributor[a[lk]].tolist(), pa.string()),
        "left_record_id": pa.array(record_id[a[lk]].tolist(), pa.string()),
        "right_contributor": pa.array(contributor[b[lk]].tolist(), pa.string()),
        "right_record_id": pa.array(record_id[b[lk]].tolist(), pa.string()),
        "match_probability": pa.array(p[lk], pa.float64()),
        "run_id": pa.array([run_id] * int(lk.sum()), pa.string()),
    })  # fmt: skip
    con.register("__persons_new", persons)
    con.register("__links_new", links)
    con.register("__review_new", review)
    with hub.transaction():
        con.execute("DELETE FROM persons")
        con.execute("INSERT INTO persons SELECT * FROM __persons_new")
        con.execute("DELETE FROM person_links")
        con.execute("INSERT INTO person_links SELECT * FROM __links_new")
        # earlier runs' open pairs give way to this run's (re-queued if still uncertain, with
        # today's scores): a pair is never queued twice, decided pairs stay as the record
        superseded = con.execute("DELETE FROM link_review WHERE decision IS NULL"
                                 ).fetchone()[0]
        con.execute("""INSERT INTO link_review (run_id, left_contributor, left_record_id,
                       right_contributor, right_record_id, match_probability, match_weight,
                       linked, reasons)
                       SELECT * FROM __review_new""")
        con.execute("INSERT INTO link_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            run_id, started, finished, __version__, json.dumps(settings), model_json,
            len(labels), len(a), int(linked.sum()), n_persons, len(review_idx)])
        hub.audit(actor, "link", run_id, {
            "records": len(labels), "persons": n_persons, "candidate_pairs": len(a),
            "review_pairs": len(review_idx), "earlier_open_pairs_replaced": superseded,
            "settled_by_decisions": settled, "decisions_applied": applied})
    con.unregister("__persons_new")
    con.unregister("__links_new")
    con.unregister("__review_new")
    log.info("link run %s: %d records → %d persons (%d seen by several agencies), %d to review",
             run_id, len(labels), n_persons, several, len(review_idx))
    return HubLinkResult(run_id, len(labels), len(a), int(linked.sum()), n_persons, several,
                         len(review_idx), res, applied)


def reform_persons(hub: Hub, person_ids: Iterable[str]) -> int:
    """Re-form the persons ``person_ids`` from their remaining ``persons`` rows and
    ``person_links``, after some of their records left linkage (withdrawn, consent to linkage
    refused, or no longer in a PPRL package) and those records' ``persons``, ``person_links``
    and ``link_review`` rows were deleted; call inside that transaction. Returns the persons
    the remaining records now form.

    A withdrawn record may have been the only bridge between the others (A~W~B): each affected
    person becomes the connected components of the accepted links that remain inside it
    (:func:`safelight.link.cluster.connected_components`; a component of three or more is not
    re-scored, as the run's GAEC would: the run kept all of it together, and a record leaving
    only removes evidence), then reviewers' decisions are applied as a run applies them
    (:func:`safelight.link.decisions.apply_decisions`: a decided match together, never across
    a decided non-match). Links and decisions count only inside one former person, so this
    never joins records the run kept apart. Person ids are those a link run gives (smallest
    record of each new person); ``min_link_probability`` is the weakest remaining link, a
    record kept only by a decision has none. Unaffected persons are not touched."""
    # the cursor of load_decisions does not see this transaction's deletions, but the records
    # that left are not indexed
    n = _reform(hub, person_ids, load_decisions(hub), as_one=False)
    if n:
        log.info("persons lost records that left linkage: their remaining records re-formed "
                 "as %d persons until the next link run", n)
    return n


def _persons_of(hub: Hub, *records: tuple[str, str]) -> dict[tuple[str, str], str]:
    """The person of each of ``records`` (``(contributor, record_id)``) that has one."""
    where = " OR ".join(["(contributor = ? AND record_id = ?)"] * len(records))
    return dict(((c, r), p) for c, r, p in hub.con.execute(
        f"SELECT contributor, record_id, person_id FROM persons WHERE {where}",
        [v for rec in records for v in rec]).fetchall())


def apply_review_decision(hub: Hub, left: tuple[str, str], right: tuple[str, str],
                          decision: str) -> int:
    """Make the hub's persons obey a reviewer's decision on the records ``left`` and ``right``
    (``(contributor, record_id)``) at once, not only from the next link run; call inside the
    transaction that records it (the decision is passed here, as that transaction has not made
    it visible to :func:`~safelight.link.decisions.load_decisions`). Returns the persons the
    affected records now form (0: nothing to change).

    ``"match"`` of records in two persons re-forms both as one former person (:func:`_reform`):
    their links, the decided match and every other decision between them, so a decided
    non-match between them still keeps the records it names apart. ``"non_match"`` of records
    in one person re-forms it with the decided non-match: the person is re-clustered over its
    accepted links (:func:`~safelight.link.decisions.apply_decisions`). A match already in one
    person, a non-match already apart, or a record that no run has linked yet (no ``persons``
    row) changes nothing; the next link run applies the decision as it applies every other."""
    if decision not in ("match", "non_match"):
        raise UsageError(f"decision must be match or non_match (got {decision!r})")
    found = _persons_of(hub, left, right)
    if left not in found or right not in found:
        return 0
    same = found[left] == found[right]
    if (decision == "match") == same:
        return 0
    earlier = load_decisions(hub)
    pair = (left, right) if left <= right else (right, left)
    matches, non = set(earlier.matches) - {pair}, set(earlier.non_matches) - {pair}
    (matches if decision == "match" else non).add(pair)
    n = _reform(hub, {found[left], found[right]}, Decisions(frozenset(matches), frozenset(non)),
                as_one=decision == "match")
    log.info("a reviewer's %s decision re-formed %s as %d person(s)", decision,
             "two persons" if not same else "one person", n)
    return n


def undo_review_decision(hub: Hub, left: tuple[str, str], right: tuple[str, str],
                         earlier: str) -> int:
    """Take back a reviewer's ``earlier`` decision on ``left`` and ``right`` in the persons at
    once; call inside the transaction that clears it. A decided match that keeps the two
    records in one person re-forms that person over its accepted links and the remaining
    decisions (:func:`_reform`): records only the decision held together part. A decided
    non-match changes nothing now (the records stay apart until a link run says otherwise).
    Returns the persons the affected records now form (0: nothing to change)."""
    if earlier != "match":
        return 0
    found = _persons_of(hub, left, right)
    if left not in found or right not in found or found[left] != found[right]:
        return 0
    earlier_decisions = load_decisions(hub)
    pair = (left, right) if left <= right else (right, left)
    decisions = Decisions(frozenset(earlier_decisions.matches - {pair}),
                          frozenset(earlier_decisions.non_matches - {pair}))
    return _reform(hub, {found[left]}, decisions, as_one=False)


def _reform(hub: Hub, person_ids: Iterable[str], decisions: Decisions, *, as_one: bool) -> int:
    """Re-form ``person_ids`` from their ``persons`` rows, their ``person_links`` and
    ``decisions`` (the contract of :func:`reform_persons`); with ``as_one`` the persons count as
    one former person, so links and decisions between them count too (a decided match merges
    them). Returns the persons the records now form (0: none of ``person_ids`` has a row)."""
    ids = sorted(set(person_ids))
    con = hub.con
    rows = con.execute("""SELECT contributor, record_id, person_id, run_id
                          FROM persons WHERE person_id IN (SELECT unnest(?))
                          ORDER BY contributor, record_id""", [ids]).fetchall() if ids else []
    if not rows:
        return 0
    contributor, record_id, former, run_id = (np.array(col, dtype=object)
                                              for col in zip(*rows, strict=True))
    if as_one:
        former = np.zeros(len(rows), dtype=np.int64)
    index = {k: i for i, k in enumerate(zip(contributor.tolist(), record_id.tolist(),
                                            strict=True))}
    links = [(index[(lc, lr)], index[(rc, rr)], p) for lc, lr, rc, rr, p in con.execute("""
        SELECT left_contributor, left_record_id, right_contributor, right_record_id,
               match_probability
        FROM person_links l JOIN persons x ON x.contributor = l.left_contributor
                                           AND x.record_id = l.left_record_id
        WHERE x.person_id IN (SELECT unnest(?))""", [ids]).fetchall()
             if (rc, rr) in index]
    a, b, p = (np.array(col, dtype=dt_) for col, dt_ in zip(
        zip(*links, strict=True) if links else ([], [], []),
        (np.int64, np.int64, np.float64), strict=True))
    inside = former[a] == former[b]
    a, b, p = a[inside], b[inside], p[inside]
    labels = np.unique(connected_components(len(rows), a, b), return_inverse=True)[1]
    decided = index_decisions(decisions, contributor, record_id)
    decided = DecidedPairs(*(pairs[former[pairs[:, 0]] == former[pairs[:, 1]]]
                             for pairs in (decided.must, decided.cannot)))
    with np.errstate(divide="ignore"):  # the links' match weights (log2 odds), as the run's
        labels, _ = apply_decisions(labels, decided, a, b, np.log2(p) - np.log2(1 - p))
    weakest = np.full(len(rows), np.nan)
    kept = labels[a] == labels[b]
    np.fmin.at(weakest, a[kept], p[kept])
    np.fmin.at(weakest, b[kept], p[kept])
    persons = _persons_table(contributor, record_id, labels, weakest, run_id.tolist())
    con.register("__persons_reformed", persons)
    try:
        con.execute("DELETE FROM persons WHERE person_id IN (SELECT unnest(?))", [ids])
        con.execute("INSERT INTO persons SELECT * FROM __persons_reformed")
    finally:
        con.unregister("__persons_reformed")
    return int(labels.max()) + 1


def summary(result: HubLinkResult) -> dict[str, Any]:
    """JSON-ready summary of a hub linkage run."""
    return {"run_id": result.run_id, "records": result.records,
            "candidate_pairs": result.candidate_pairs, "linked_pairs": result.linked_pairs,
            "persons": result.persons,
            "persons_in_several_contributors": result.persons_in_several_contributors,
            "review_pairs": result.review_pairs, "decisions_applied": result.decisions,
            "timings": result.result.timings}
