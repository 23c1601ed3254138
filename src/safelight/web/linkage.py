"""The review queue, review decisions and persons seen by several contributors (pages and API).

Reads the link stage's tables (``persons``, ``link_review`` of store migration 3) and runs
:func:`safelight.link.hub.link_hub`. :func:`decide_pair` writes a reviewer's decision into
``link_review``; every later link run obeys it (:mod:`safelight.link.decisions`). Reads of
record-level data (a pair, persons with their record ids) and decisions are audited.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from safelight.errors import UsageError
from safelight.messages import Message
from safelight.store.hub import now_utc
from safelight.web.auth import User
from safelight.web.services import CASE_SHOWN, NotFound, clean_rows, jsonable, utc_minute
from safelight.web.state import HubState

if TYPE_CHECKING:
    from safelight.link.decisions import Decisions

DECISIONS = ("match", "non_match")
#: what joins an overruled reviewer's reason to the new one in a pair's note
EARLIER_NOTE = "\n— earlier: "
#: what a reviewer sends to take a decision back (the pair returns to the open queue)
UNDECIDED = "undecided"
IDENTITY_SHOWN = ("given_name", "family_name", "full_name", "birth_date", "sex", "nationality",
                  "phone", "document_number", "locality")
REASON_COLUMNS = {"given_name": ("given_name",), "family_name": ("family_name",),
                  "birth_date": ("birth_date",), "sex": ("sex",), "nationality": ("nationality",),
                  "phone": ("phone",), "document": ("document_number",),
                  "locality": ("locality",), "contributor": ("contributor",)}
#: a pair's id: of its two records (in either order), not of the run that queued it — a pair
#: still uncertain after a new run keeps its id (its page, and a decision sent while the run
#: was going) — salted with the hash of the hub's first audit entry, so that whoever sees ids
#: alone (an access log) cannot compute them from record ids
_RECORD_SQL = "{side}_contributor || chr(31) || {side}_record_id"
PAIR_ID_SQL = ("md5(coalesce((SELECT hash FROM audit_log ORDER BY seq LIMIT 1), '') || chr(30) || "
               f"least({_RECORD_SQL.format(side='left')}, {_RECORD_SQL.format(side='right')}) "
               f"|| chr(30) || greatest({_RECORD_SQL.format(side='left')}, "
               f"{_RECORD_SQL.format(side='right')}))")
#: a pair is shown, decided or counted only while neither record's case forbids linkage *now*
#: (the store deletes such pairs as consent changes; this holds in between too). A record with
#: no case (a PPRL package's, in a hub without the cases) is governed by its package's flag and
#: the recorded withdrawals, applied by the store.
BOTH_LINKABLE_SQL = " AND ".join(
    f"NOT EXISTS (SELECT 1 FROM cases c WHERE c.contributor = link_review.{side}_contributor "
    f"AND c.record_id = link_review.{side}_record_id AND NOT c.consent_linkage)"
    for side in ("left", "right"))




#: how long a pair a reviewer opened on its page (or was handed by the API's "next") counts
#: as theirs: other reviewers' queues mark it and their "next" passes it over, so that two
#: reviewers working through one queue do not decide the same pairs. Passing over a pair
#: ("next" after it while it is still open) gives it back at once. Claims are audit entries
#: (``review.claim``, ``review.pass``: the pair id only); nothing else is stored.
CLAIM_MINUTES = 15


def _queue_where(state: HubState, status: str, contributor: str | None
                 ) -> tuple[str, list[Any]]:
    """The queue's WHERE clause (and its arguments) for a status and an optional contributor
    on either side of the pair (one the hub knows: a typed name is not written to the audit
    log, which keeps every query's filter, unless it names a contributor)."""
    statuses = {"open": "decision IS NULL", "decided": "decision IS NOT NULL", "all": "TRUE"}
    if status not in statuses:
        raise UsageError(f"status must be one of {', '.join(statuses)}")
    where, args = f"{statuses[status]} AND {BOTH_LINKABLE_SQL}", []
    if contributor:
        if state.one("SELECT 1 AS x FROM contributors WHERE name = ?", [contributor]) is None:
            raise NotFound(Message("no contributor named {name}", name=contributor))
        where += " AND (left_contributor = ? OR right_contributor = ?)"
        args += [contributor, contributor]
    return where, args


def claim_pair(state: HubState, user: User, pair_id: str) -> None:
    """Mark the pair as ``user``'s for :data:`CLAIM_MINUTES` (an audit entry)."""
    state.audit(user.username, "review.claim", f"pair:{pair_id}")


def _opened_by_others(state: HubState, user: User) -> dict[str, str]:
    """Pair id → the other reviewer whose claim on it (:func:`claim_pair`) is the latest of
    the last :data:`CLAIM_MINUTES` and was not given back by passing over the pair."""
    since = now_utc() - dt.timedelta(minutes=CLAIM_MINUTES)
    rows = state.rows("""SELECT object, arg_max(actor, seq) AS actor FROM (
            SELECT object, actor, max(seq) AS seq, arg_max(action, seq) AS last
            FROM audit_log WHERE action IN ('review.claim', 'review.pass')
            AND logged_at >= ? AND actor <> ? GROUP BY object, actor)
        WHERE last = 'review.claim' GROUP BY object""", [since, user.username])
    return {r["object"].removeprefix("pair:"): r["actor"] for r in rows}


def review_queue(state: HubState, user: User, status: str = "open", limit: int = 50,
                 offset: int = 0, contributor: str | None = None) -> dict[str, Any]:
    """Pairs of the review queue, closest to a coin toss first (record ids and scores, no
    identity fields; audited, since record ids are record-level data). ``contributor`` keeps
    the pairs with that contributor's record on either side. An open pair another reviewer
    claims (:func:`claim_pair`, :data:`CLAIM_MINUTES`) carries their name in
    ``in_review_by``."""
    where, args = _queue_where(state, status, contributor)
    total = state.one(f"SELECT count(*) AS n FROM link_review WHERE {where}", args)["n"]
    rows = state.rows(f"""SELECT {PAIR_ID_SQL} AS pair_id, run_id, left_contributor,
        left_record_id, right_contributor, right_record_id, match_probability, match_weight,
        linked, decision, decided_by, decided_at FROM link_review WHERE {where}
        ORDER BY abs(match_probability - 0.5), pair_id LIMIT ? OFFSET ?""",
                      [*args, limit, offset])
    opened = _opened_by_others(state, user)
    for r in rows:
        r["in_review_by"] = opened.get(r["pair_id"]) if r["decision"] is None else None
    state.audit(user.username, "web.read", "review:queue", {
        "status": status, "rows": len(rows), "offset": offset,
        **({"contributor": contributor} if contributor else {})})
    return {"status": status, "contributor": contributor, "total": total, "offset": offset,
            "pairs": clean_rows(rows)}


def next_open_pair(state: HubState, user: User, after: str | None = None,
                   contributor: str | None = None, *, claim: bool = False) -> dict[str, Any]:
    """The open pair a reviewer should take next: in the queue's order (:func:`review_queue`),
    the first after ``after`` (the pair just seen, decided or passed over), from the start
    again past the end, that is not ``after`` and that no other reviewer claims
    (:data:`CLAIM_MINUTES`). A pair ``after`` still open is given back (passed over: other
    reviewers' "next" may hand it out at once); with ``claim`` the pair handed out is claimed
    for ``user`` (the API's "next": the page claims a pair when it is opened). ``pair_id`` is
    None when there is none; ``open`` counts the open pairs and ``in_review_by_others`` those
    claimed by other reviewers."""
    where, args = _queue_where(state, "open", contributor)
    here = state.one(f"SELECT abs(match_probability - 0.5) AS d, decision FROM link_review "
                     f"WHERE {PAIR_ID_SQL} = ?", [after]) if after else None
    if here is not None and here["decision"] is None:
        state.audit(user.username, "review.pass", f"pair:{after}")
    opened = _opened_by_others(state, user)
    d, after = (here["d"], after) if here else (-1.0, "")
    rows = state.rows(f"""SELECT pair_id FROM (SELECT {PAIR_ID_SQL} AS pair_id,
        abs(match_probability - 0.5) AS d FROM link_review WHERE {where}) q
        WHERE pair_id <> ? AND NOT list_contains(?, pair_id)
        ORDER BY (d > ? OR (d = ? AND pair_id > ?)) DESC, d, pair_id LIMIT 1""",
                      [*args, after, list(opened), d, d, after])
    total = state.one(f"SELECT count(*) AS n FROM link_review WHERE {where}", args)["n"]
    taken = state.one(f"SELECT count(*) AS n FROM link_review WHERE {where} "
                      f"AND list_contains(?, {PAIR_ID_SQL})", [*args, list(opened)])["n"]
    pair_id = rows[0]["pair_id"] if rows else None
    if claim and pair_id is not None:
        claim_pair(state, user, pair_id)
    return {"pair_id": pair_id, "open": total, "in_review_by_others": taken}


def _pair(state: HubState, pair_id: str) -> dict[str, Any]:
    row = state.one(f"SELECT *, CAST(reasons AS VARCHAR) AS reasons_json FROM link_review "
                    f"WHERE {PAIR_ID_SQL} = ? AND {BOTH_LINKABLE_SQL}", [pair_id])
    if row is None:
        raise NotFound(Message("no pair {pair} in the review queue (a linkage run replaces "
                               "the open pairs with its own, and a consent withdrawal removes "
                               "its record's pairs: open the queue again)", pair=pair_id))
    return row


def _side(state: HubState, contributor: str, record_id: str, identifiers: bool) -> dict[str, Any]:
    # identity values only of a record whose consent (today, not at the run) allows linkage
    ident = state.one(f"SELECT {', '.join('i.' + c for c in IDENTITY_SHOWN)}, "
                      "i.birth_year, i.birth_month FROM identities i "
                      "JOIN cases c USING (contributor, record_id) "
                      "WHERE i.contributor = ? AND i.record_id = ? AND c.consent_linkage",
                      [contributor, record_id]) or {}
    year, month = ident.pop("birth_year", None), ident.pop("birth_month", None)
    if ident and ident.get("birth_date") is None and year is not None:
        # a partial date (a year alone, a year and month) is evidence the model weighs: shown
        # as known, not as missing (a reviewer saw "—" beside +5 bits for the same year)
        ident["birth_date"] = f"{year:04d}" + (f"-{month:02d}" if month else "")
    case = state.one(f"SELECT {', '.join(CASE_SHOWN)} FROM cases WHERE contributor = ? "
                     "AND record_id = ?", [contributor, record_id]) or {}
    country = state.one("SELECT country FROM contributors WHERE name = ?", [contributor])
    side = {"contributor": contributor, "record_id": record_id,
            "contributor_country": country["country"] if country else None,
            "case": {k: jsonable(v) for k, v in case.items()}}
    side["identity"] = {k: jsonable(v) for k, v in ident.items()} if identifiers else None
    side["identity_held"] = bool(ident)  # whether there is anything to show, not what
    return side


def review_pair(state: HubState, user: User, pair_id: str) -> dict[str, Any]:
    """One pair side by side with the per-field explanation (record-level: audited), and
    every decision taken on it since the link run that queued it, oldest first (``history``:
    when, by whom, what it replaced — from the audit log, which keeps no reasons; the current
    reason is ``decision_note``).

    Identity values are included only when the hub shows identifiers (clear mode).
    """
    row = _pair(state, pair_id)
    shown = state.settings.show_identifiers
    reasons = json.loads(row["reasons_json"])
    left = _side(state, row["left_contributor"], row["left_record_id"], shown)
    right = _side(state, row["right_contributor"], row["right_record_id"], shown)
    fields = []
    for name, cols in REASON_COLUMNS.items():
        r = reasons.get(name)
        if not isinstance(r, dict):
            continue
        def value(side: dict[str, Any], cols: tuple[str, ...] = cols) -> str | None:
            if cols == ("contributor",):
                return side["contributor"]
            if side["identity"] is None:
                return None
            return " ".join(str(side["identity"][c]) for c in cols
                            if side["identity"].get(c) is not None) or None
        fields.append({"field": name, "level": r.get("level"), "weight": r.get("weight"),
                       "left": value(left), "right": value(right)})
    state.audit(user.username, "web.read", f"pair:{pair_id}",
                {"left": f"{left['contributor']}/{left['record_id']}",
                 "right": f"{right['contributor']}/{right['record_id']}",
                 "identifiers": shown})
    # a reviewer's note may name the person: on a hub that hides identifiers only its author
    # reads it
    note_shown = shown or row["decided_by"] == user.username
    # decisions on this queue entry only: since the run that wrote it (a decided pair keeps its
    # row across runs; an erased one — a consent withdrawal deletes its decision — comes back
    # as a new entry without its old decisions). The bound also lets the scan skip the older
    # part of the audit log.
    history = [{"at": jsonable(r["logged_at"]), "by": r["actor"],
                "decision": d.get("decision"), "previous": d.get("previous")}
               for r in state.rows(
                   "SELECT logged_at, actor, CAST(details AS VARCHAR) AS details FROM audit_log "
                   "WHERE logged_at >= coalesce((SELECT started_at FROM link_runs WHERE run_id = ?), "
                   "TIMESTAMP '1970-01-01') "
                   "AND action = 'link.decision' AND object = ? ORDER BY seq",
                   [row["run_id"], f"pair:{pair_id}"])
               for d in [json.loads(r["details"] or "{}")]]
    return {"pair_id": pair_id, "run_id": row["run_id"],
            "match_probability": row["match_probability"], "match_weight": row["match_weight"],
            "linked": row["linked"], "decision": row["decision"], "decided_by": row["decided_by"],
            "decided_at": jsonable(row["decided_at"]),
            "decision_note": row["decision_note"] if note_shown else None,
            "decision_note_hidden": bool(row["decision_note"]) and not note_shown,
            "history": history,
            "names_swapped": reasons.get("names_swapped"),
            "prior_log2_odds": reasons.get("prior_log2_odds"),
            "fields": fields, "left": left, "right": right, "identifiers_shown": shown}


def _refuse_contradiction(before: Decisions, after: Decisions) -> None:
    """Refuse a decision that makes the decisions contradict each other where they did not
    (a decided non-match between records a chain of decided matches joins): persons could obey
    only some of them, and the decision and a later run would keep different ones. A
    contradiction the hub held before (decisions of an earlier version) does not block
    decisions on other pairs."""
    old = before.contradicted()
    new = [(pair, chain) for pair, chain in after.contradicted().items() if pair not in old]
    if not new:
        return
    (x, y), chain = new[0]

    def name(record: tuple[str, str]) -> str:
        return f"{record[0]}/{record[1]}"

    links = ", ".join(f"{name(a)}–{name(b)}" for a, b in chain)
    raise UsageError(Message(
        "this decision contradicts earlier ones: {x} and {y} are decided a non-match, while "
        "the decided matches {links} join them. Change one of those decisions first",
        x=name(x), y=name(y), links=links))


def decide_pair(state: HubState, user: User, pair_id: str, decision: str,
                reason: str, overrule: bool = False) -> dict[str, Any]:
    """Record a reviewer's decision on a pair, with its reason, and audit it.

    A decision that differs from another reviewer's on the same pair is refused unless
    ``overrule``: two reviewers who disagree must not have the last one win without knowing
    (the audit entry names whose decision was overruled). Another reviewer's earlier reason is
    kept beside the new one, where reasons are shown to every reviewer.
    The reviewer's own decision sent again with the same reason records nothing (no audit
    entry, no history row). ``decision`` :data:`UNDECIDED` takes a decision back (a
    mis-click; another reviewer's with ``overrule``): the pair is open again, without a note, and a decided match that alone held
    the two records in one person parts them (:func:`safelight.link.hub.undo_review_decision`).

    It writes ``decision``, ``decided_by``, ``decided_at`` and ``decision_note`` of
    ``link_review`` and, in the same transaction, re-forms the persons the two records belong
    to (:func:`safelight.link.hub.apply_review_decision`: a decided match joins their persons,
    a decided non-match splits theirs), so persons pages show the decision at once; every later
    link run keeps a decided match in one person, never puts a decided non-match together, and
    does not queue the pair again (:mod:`safelight.link.decisions`).
    """
    from safelight.link.decisions import load_decisions
    from safelight.link.hub import apply_review_decision, undo_review_decision

    if decision not in (*DECISIONS, UNDECIDED):
        raise UsageError(f"decision must be one of {', '.join((*DECISIONS, UNDECIDED))}")
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("give the reason for the decision")
    if len(reason) > 2000:
        raise UsageError("the reason is longer than 2000 characters")
    with state.write() as hub:
        # the pair is read under the lock, in the transaction: a link run in between replaces
        # the open pairs, and a decision on a pair gone from the queue must change nothing
        row = _pair(state, pair_id)
        if decision == UNDECIDED and not row["decision"]:
            raise UsageError("the pair has no decision to take back")
        note = row["decision_note"] or ""
        if (row["decision"] == decision and row["decided_by"] == user.username
                and (note == reason or note.startswith(reason + EARLIER_NOTE))):
            # the same decision sent again (a form sent twice, a retried request): nothing to
            # record — it stood in the pair's history as a change "match → match", and an
            # overruled reviewer's reason kept in the note was dropped
            return {"pair_id": pair_id, "decision": decision, "decided_by": user.username,
                    "persons_reformed": 0, "unchanged": True}
        other = row["decided_by"] if row["decided_by"] != user.username else None
        if row["decision"] and row["decision"] != decision and other and not overrule:
            raise UsageError(Message(
                "{who} decided this pair {earlier} on {when}: a different decision overrules "
                "theirs — confirm that you overrule it, with your reason",
                who=other, earlier=row["decision"], when=utc_minute(row["decided_at"])))
        left = (row["left_contributor"], row["left_record_id"])
        right = (row["right_contributor"], row["right_record_id"])
        if decision == UNDECIDED:
            hub.con.execute("UPDATE link_review SET decision = NULL, decided_by = NULL, "
                            f"decided_at = NULL, decision_note = NULL WHERE {PAIR_ID_SQL} = ?",
                            [pair_id])
            persons = undo_review_decision(hub, left, right, row["decision"])
        else:
            earlier = load_decisions(hub)
            _refuse_contradiction(earlier, earlier.with_decision(left, right, decision))
            note = reason
            if other and row["decision_note"] and state.settings.show_identifiers:
                # another reviewer's reason stays beside this one (where reasons are hidden
                # from other reviewers, it is not handed to this one either)
                note += (f"{EARLIER_NOTE}{row['decision']} by {other} "
                         f"({utc_minute(row['decided_at'])}): {row['decision_note']}")
            hub.con.execute(f"UPDATE link_review SET decision = ?, decided_by = ?, "
                            f"decided_at = ?, decision_note = ? WHERE {PAIR_ID_SQL} = ?",
                            [decision, user.username, now_utc(), note, pair_id])
            persons = apply_review_decision(hub, left, right, decision)
        hub.audit(user.username, "link.decision", f"pair:{pair_id}", {
            "left": f"{row['left_contributor']}/{row['left_record_id']}",
            "right": f"{row['right_contributor']}/{row['right_record_id']}",
            # the reason stays in link_review (erasable); the permanent log keeps none of it (it
            # may name a person, and a hash of a short text is guessed from a list of names)
            "decision": decision, "previous": row["decision"],
            **({"previous_decided_by": row["decided_by"]} if row["decision"] else {}),
            "match_probability": row["match_probability"], "persons_reformed": persons})
    return {"pair_id": pair_id, "decision": decision, "decided_by": user.username,
            "persons_reformed": persons}


def run_linkage(state: HubState, user: User) -> dict[str, Any]:
    """Link the hub again in the mode of its last run (privacy-preserving for a hub that
    linked its stored packages; with no run yet, privacy-preserving when it holds packages
    and fewer than two records in clear may be linked), so that a run from the web never
    replaces a privacy-preserving run's persons with a clear one's."""
    from safelight.link.hub import last_run_mode, link_hub, load_identities, summary
    from safelight.link.hub_pprl import link_hub_encoded

    with state.exclusive() as hub:
        mode = last_run_mode(hub)
        if mode is None:
            packages = hub.con.execute("SELECT count(*) FROM pprl_packages").fetchone()[0]
            mode = "pprl" if packages and load_identities(hub).num_rows < 2 else "clear"
        result = (link_hub_encoded(hub, actor=user.username) if mode == "pprl"
                  else link_hub(hub, actor=user.username))
    return {"mode": mode, **summary(result)}


def persons_seen_by_several(state: HubState, user: User, limit: int = 100,
                            offset: int = 0) -> dict[str, Any]:
    """Persons linked across several contributors: who saw them, in which countries
    (record ids are record-level: audited). A record counts unless its case forbids linkage
    now; one without a case (a PPRL package's, in a hub without the cases) counts as the
    store keeps it (its package flag and the recorded withdrawals), as in the review queue."""
    base = """SELECT p.person_id, any_value(p.cluster_size) AS records,
                     count(DISTINCT p.contributor) AS contributors,
                     count(DISTINCT k.country) AS countries,
                     list(DISTINCT p.contributor ORDER BY p.contributor) AS contributor_names,
                     list(DISTINCT k.country ORDER BY k.country)
                         FILTER (WHERE k.country IS NOT NULL) AS country_codes,
                     list(p.contributor || '/' || p.record_id ORDER BY p.contributor,
                          p.record_id) AS record_ids,
                     min(p.min_link_probability) AS weakest_link
              FROM persons p LEFT JOIN contributors k ON k.name = p.contributor
              WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.contributor = p.contributor
                                AND c.record_id = p.record_id AND NOT c.consent_linkage)
              GROUP BY p.person_id HAVING count(DISTINCT p.contributor) > 1"""
    totals = state.one(f"""SELECT count(*) AS persons, count(*) FILTER (WHERE countries > 1)
                           AS several_countries FROM ({base})""")
    rows = state.rows(f"SELECT * FROM ({base}) ORDER BY countries DESC, contributors DESC, "
                      "records DESC, person_id LIMIT ? OFFSET ?", [limit, offset])
    state.audit(user.username, "web.read", "persons:several", {"rows": len(rows),
                                                               "offset": offset})
    return {"total": totals["persons"], "several_countries": totals["several_countries"],
            "offset": offset, "persons": clean_rows(rows)}
