"""Detect leads in the hub: detection runs and their leads, stored for review and audited.

Contract
--------
* :func:`store_run` writes one ``detect_runs`` row (input file hash, settings, counts) and one
  ``detect_leads`` row per lead (score, reasons as JSON, example ad ids, indicator hits,
  ``status='open'``) in a single transaction, and appends a ``detect_run`` entry to the hub's
  hash-chained audit log; the run row keeps that entry's sequence number.
* :func:`set_lead_status` records a reviewer's decision (``reviewing``, ``dismissed``,
  ``escalated`` or back to ``open``) with who, when and a note, audited the same way.
* :func:`list_leads` reads leads back, best first.

Only what the leads already show is stored (templates, contact points, example ad ids); the
hub does not receive the full ad corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from safelight import __version__
from safelight.detect.pipeline import Analysis
from safelight.errors import UsageError
from safelight.store.hub import Hub, now_utc

__all__ = ["LEAD_STATUSES", "list_leads", "set_lead_status", "store_run"]

log = logging.getLogger("safelight.detect.hub")

LEAD_STATUSES = ("open", "reviewing", "dismissed", "escalated")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def store_run(hub: Hub, analysis: Analysis, input_path: str | Path, actor: str,
              started_at: Any = None) -> str:
    """Store ``analysis`` (from :func:`safelight.detect.pipeline.analyse`); returns the run id."""
    path = Path(input_path)
    digest = _sha256(path)
    finished = now_utc()
    started = started_at or finished
    run_id = "D" + hashlib.sha256(f"{digest}|{finished.isoformat()}".encode()).hexdigest()[:12]
    a = analysis
    summary = {"rows_read": a.rows_read, "ads": len(a.ads), "quarantined": len(a.quarantine),
               "clusters_2plus": len(a.cluster_summaries),
               "networks_2plus": len(a.network_summaries), "leads": len(a.leads),
               "indicator_flagged_ads": a.n_flagged()}
    settings = {"cluster": a.settings.as_dict(), "lexicon": a.lexicon_path,
                "fraud_model": a.fraud_model_info}
    with hub.transaction():
        entry = hub.audit(actor, "detect_run", f"detect:{run_id}",
                          {"input": path.name, "input_sha256": digest, **summary})
        hub.con.execute(
            "INSERT INTO detect_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, started, finished, actor, __version__, path.name, digest,
             json.dumps(settings, default=str), json.dumps(summary), len(a.ads),
             len(a.quarantine), len(a.leads), entry.seq])
        rows = []
        for rank, ld in enumerate(a.leads, 1):
            reasons = [{"code": r.code, "points": r.points, "text": r.text} for r in ld.reasons]
            reasons += [{"code": "indicator_hit", "points": 0.0, "ad_id": ld.indicator_ad,
                         "indicator": h.indicator, "term": h.term, "language": h.language,
                         "span": [h.start, h.end], "matched": h.matched, "ilo": h.ilo,
                         "sources": list(h.sources)} for h in ld.indicator_hits]
            rows.append([run_id, ld.lead_id, ld.kind, rank, float(ld.score), ld.n_ads,
                         ld.n_sites, ld.n_cities, ld.first_posted, ld.last_posted,
                         ld.description, json.dumps(reasons, ensure_ascii=False),
                         json.dumps(ld.example_ad_ids, ensure_ascii=False)])
        if rows:
            hub.con.executemany(
                "INSERT INTO detect_leads (run_id, lead_id, kind, rank, score, n_ads, n_sites, "
                "n_cities, first_posted, last_posted, description, reasons, ad_ids) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    log.info("detect run %s stored: %d leads (audit entry %d)", run_id, len(rows), entry.seq)
    return run_id


def set_lead_status(hub: Hub, run_id: str, lead_id: str, status: str, actor: str,
                    note: str | None = None) -> None:
    """Record a review decision on one lead (audited)."""
    if status not in LEAD_STATUSES:
        raise UsageError(f"lead status {status!r} is unknown — use one of "
                         f"{', '.join(LEAD_STATUSES)}")
    with hub.transaction():
        found = hub.con.execute("SELECT status FROM detect_leads WHERE run_id = ? AND lead_id = ?",
                                [run_id, lead_id]).fetchone()
        if not found:
            raise UsageError(f"no lead {lead_id!r} in detect run {run_id!r} — list them with "
                             "`safelight detect leads HUB`")
        # the note stays in detect_leads (erasable); the permanent chain keeps only that one
        # was given (a note may name a person, and a hash of a short text is guessed)
        hub.audit(actor, "detect_lead_status", f"detect:{run_id}/{lead_id}",
                  {"from": found[0], "to": status, "note_given": note is not None})
        hub.con.execute("UPDATE detect_leads SET status = ?, reviewed_by = ?, reviewed_at = ?, "
                        "review_note = ? WHERE run_id = ? AND lead_id = ?",
                        [status, actor, now_utc(), note, run_id, lead_id])


def list_leads(hub: Hub, run_id: str | None = None, status: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """Leads (of one run, or all), best first; ``reasons`` and ``ad_ids`` decoded from JSON."""
    where, args = [], []
    if run_id:
        where.append("run_id = ?")
        args.append(run_id)
    if status:
        where.append("status = ?")
        args.append(status)
    sql = ("SELECT run_id, lead_id, kind, rank, score, n_ads, description, "
           "CAST(reasons AS VARCHAR), CAST(ad_ids AS VARCHAR), status, reviewed_by, review_note "
           "FROM detect_leads" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY score DESC, run_id, rank LIMIT ?")
    cols = ["run_id", "lead_id", "kind", "rank", "score", "n_ads", "description", "reasons",
            "ad_ids", "status", "reviewed_by", "review_note"]
    out = []
    for row in hub.con.execute(sql, [*args, limit]).fetchall():
        d = dict(zip(cols, row, strict=True))
        d["reasons"] = json.loads(d["reasons"])
        d["ad_ids"] = json.loads(d["ad_ids"])
        out.append(d)
    return out
