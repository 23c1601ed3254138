"""What the pages and the JSON API do, in one place, on top of the stage APIs.

Every function takes the signed-in :class:`~safelight.web.auth.User` and enforces the
*data* scope itself: a ``contributor`` account only ever sees rows of its own contributor
(contributions, quarantine, records); anything else is :class:`Forbidden`. Role checks (which
roles may call a function at all) live in the routes (:mod:`safelight.web.app`). Every read of
record-level data, every upload, linkage decision, release and export is written to the hub's
audit chain with the user as actor.

Stage APIs used: ingest (:func:`~safelight.ingest.ingest_file`,
:func:`~safelight.ingest.check_file`), link (:func:`~safelight.link.hub.link_hub`, the
``persons`` and ``link_review`` tables), release (:mod:`safelight.release` and its
:class:`~safelight.release.ledger.Ledger`), report (:func:`~safelight.report.hub.hub_report`,
:func:`~safelight.report.charts.render_chart`). Two small functions missing from the stages live
here: :func:`decide_pair` (a review decision) and :func:`hub_release_table` (the release input
from the hub's consenting cases).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from safelight.errors import SafelightError, UsageError
from safelight.store.hub import now_utc
from safelight.web.auth import User
from safelight.web.state import HubState

log = logging.getLogger("safelight.web")

RELEASE_DATASET = "hub:cases"
RELEASE_COLUMNS = ("gender", "age_band", "majority_status", "citizenship",
                   "country_of_exploitation", "year_of_registration", "trafficking_status",
                   "data_source_type", "months_trafficked_band")
RELEASE_METHODS = ("aggregates", "synthetic")
RELEASE_FILES = {"aggregates": "aggregates.csv", "synthetic": "synthetic.csv"}
DECISIONS = ("match", "non_match")
IDENTITY_SHOWN = ("given_name", "family_name", "full_name", "birth_date", "sex", "nationality",
                  "phone", "document_number", "locality")
CASE_SHOWN = ("gender", "age_years", "citizenship", "country_of_exploitation",
              "year_of_registration", "types_of_exploitation")
# link_review reasons name comparison fields; the identity columns they compare
REASON_COLUMNS = {"given_name": ("given_name",), "family_name": ("family_name",),
                  "birth_date": ("birth_date",), "sex": ("sex",), "nationality": ("nationality",),
                  "phone": ("phone",), "document": ("document_number",),
                  "locality": ("locality",), "contributor": ("contributor",)}
PAIR_ID_SQL = ("md5(run_id || '|' || left_contributor || '|' || left_record_id || '|' || "
               "right_contributor || '|' || right_record_id)")


class Forbidden(SafelightError):
    """The signed-in user may not see or do this."""


class NotFound(SafelightError):
    """No such object (or not one the user may know about)."""


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in r.items()} for r in rows]


def _scope(user: User, contributor: str | None) -> str | None:
    """The contributor a query is limited to: a contributor account's own, always."""
    if user.role == "contributor":
        if contributor not in (None, user.contributor):
            raise Forbidden(f"this account acts for {user.contributor!r} only")
        return user.contributor
    return contributor


# ---- profiles and contributors

def profiles(state: HubState) -> dict[str, str]:
    """Profiles offered for uploads: name → what :func:`load_profile` takes."""
    from safelight.ingest import builtin_profiles

    out = {name: name for name in builtin_profiles()}
    if state.settings.profiles_dir:
        root = Path(state.settings.profiles_dir)
        for p in sorted(root.rglob("*.yaml")):
            out[p.relative_to(root).as_posix()] = str(p)
    return out


def contributors(state: HubState, user: User) -> list[dict[str, Any]]:
    scope = _scope(user, None)
    rows = state.rows("SELECT name, country FROM contributors ORDER BY name")
    return [r for r in rows if scope is None or r["name"] == scope]


# ---- contributions, quarantine, records

def list_contributions(state: HubState, user: User) -> list[dict[str, Any]]:
    scope = _scope(user, None)
    sql = ("SELECT contribution_id, contributor, target, file_name, file_format, profile, "
           "finished_at, rows_read, rows_accepted, rows_quarantined, rows_new, rows_updated, "
           "rows_unchanged FROM contributions")
    if scope is None:
        return _clean(state.rows(sql + " ORDER BY contribution_id DESC"))
    return _clean(state.rows(sql + " WHERE contributor = ? ORDER BY contribution_id DESC", [scope]))


def get_contribution(state: HubState, user: User, cid: int) -> dict[str, Any]:
    row = state.one("SELECT * FROM contributions WHERE contribution_id = ?", [cid])
    if row is None:
        raise NotFound(f"no contribution {cid}")
    if user.role == "contributor" and row["contributor"] != user.contributor:
        state.audit(user.username, "web.refused", f"contribution:{cid}",
                    {"reason": "other contributor"})
        raise Forbidden(f"contribution {cid} belongs to another contributor")
    return {k: _jsonable(v) for k, v in row.items()}


def top_rules(state: HubState, cid: int) -> list[dict[str, Any]]:
    return state.rows("SELECT rule, count(*) AS rows FROM (SELECT unnest(rules) AS rule FROM "
                      "quarantine WHERE contribution_id = ?) GROUP BY rule ORDER BY rows DESC, "
                      "rule", [cid])


def quarantine(state: HubState, user: User, cid: int, limit: int = 100,
               offset: int = 0) -> list[dict[str, Any]]:
    """Quarantined rows of a contribution with their reasons (record-level: audited)."""
    get_contribution(state, user, cid)
    rows = state.rows("SELECT source_row, rules, CAST(reasons AS VARCHAR) AS reasons, raw "
                      "FROM quarantine WHERE contribution_id = ? ORDER BY source_row "
                      "LIMIT ? OFFSET ?", [cid, limit, offset])
    state.audit(user.username, "web.read", f"quarantine:{cid}",
                {"rows": len(rows), "offset": offset})
    for r in rows:
        r["reasons"] = json.loads(r["reasons"])
    return rows


def quarantine_csv(state: HubState, user: User, cid: int) -> str:
    """The whole quarantine of a contribution as CSV (an export: audited)."""
    get_contribution(state, user, cid)
    rows = state.rows("SELECT source_row, rules, CAST(reasons AS VARCHAR) AS reasons, raw "
                      "FROM quarantine WHERE contribution_id = ? ORDER BY source_row", [cid])
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["source_row", "rules", "columns", "messages", "raw"])
    for r in rows:
        reasons = json.loads(r["reasons"])
        w.writerow([r["source_row"], ";".join(r["rules"]),
                     ";".join(str(x.get("column") or "") for x in reasons),
                     " | ".join(str(x.get("message") or "") for x in reasons), r["raw"]])
    state.audit(user.username, "web.export", f"quarantine:{cid}", {"rows": len(rows)})
    return buf.getvalue()


def records(state: HubState, user: User, contributor: str | None, limit: int = 50,
            offset: int = 0) -> dict[str, Any]:
    """Case records (no identity fields) of one contributor, paged (record-level: audited)."""
    scope = _scope(user, contributor)
    if scope is None:
        raise UsageError("say which contributor's records to show (contributor=...)")
    total = state.one("SELECT count(*) AS n FROM cases WHERE contributor = ?", [scope])["n"]
    rows = state.rows(f"SELECT record_id, contribution_id, source_row, {', '.join(CASE_SHOWN)}, "
                      "consent, consent_linkage, consent_statistics FROM cases "
                      "WHERE contributor = ? ORDER BY record_id LIMIT ? OFFSET ?",
                      [scope, limit, offset])
    state.audit(user.username, "web.read", f"records:{scope}",
                {"rows": len(rows), "offset": offset})
    return {"contributor": scope, "total": total, "offset": offset, "records": _clean(rows)}


def _safe_name(name: str | None) -> str:
    base = Path(name or "").name.strip().replace("\x00", "")
    keep = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base)[:120]
    return keep if keep.strip("._ ") else "upload.csv"


def upload(state: HubState, user: User, filename: str | None, stream: Any, *, profile: str,
           contributor: str | None, check_only: bool = False) -> dict[str, Any]:
    """Validate (``check_only``) or ingest an uploaded file for a contributor.

    ``stream`` is a binary file object; it is copied to a private folder beside the hub, read
    there and removed. File-level faults raise (with the reader's message); row-level faults
    end up in the quarantine and are summarised in the result.
    """
    from safelight.ingest import check_file, ingest_file, load_profile

    scope = _scope(user, contributor)
    if not scope:
        raise UsageError("choose the contributor this file comes from")
    offered = profiles(state)
    if profile not in offered:
        raise UsageError(f"unknown profile {profile!r}; choose one of {', '.join(offered)}")
    prof = load_profile(offered[profile])
    name = _safe_name(filename)
    limit = state.settings.max_upload_mb << 20
    tmp = Path(tempfile.mkdtemp(prefix=f".{state.path.name}.upload-", dir=state.path.parent))
    try:
        path = tmp / name
        size = 0
        with path.open("wb") as fh:
            while block := stream.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise UsageError(f"{name} is larger than {state.settings.max_upload_mb} MB; "
                                     "split the export or ask the operator to raise "
                                     "max_upload_mb")
                fh.write(block)
        try:
            if check_only:
                result = check_file(path, prof)
                state.audit(user.username, "web.check", f"contributor:{scope}",
                            {"file": name, "rows_read": result["rows_read"],
                             "rows_invalid": result["rows_invalid"]})
                return {"checked": True, "file": name, "contributor": scope, **result}
            with state.exclusive() as hub:
                if not state.one("SELECT 1 AS x FROM contributors WHERE name = ?", [scope]):
                    if user.role != "admin":
                        raise Forbidden(f"contributor {scope!r} is not registered on this hub")
                res = ingest_file(hub, path, contributor=scope, profile=prof, actor=user.username)
        except SafelightError as exc:
            state.audit(user.username, "web.upload_refused", f"contributor:{scope}",
                        {"file": name, "error": str(exc)[:500]})
            raise
        out = res.as_dict()
        out.update(file=name, checked=False,
                   top_rules=[{"rule": r, "rows": n} for r, n in res.top_rules])
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- linkage

def review_queue(state: HubState, status: str = "open", limit: int = 50,
                 offset: int = 0) -> dict[str, Any]:
    """Pairs of the review queue (ids and scores only, no identity fields)."""
    where = {"open": "decision IS NULL", "decided": "decision IS NOT NULL", "all": "TRUE"}
    if status not in where:
        raise UsageError(f"status must be one of {', '.join(where)}")
    total = state.one(f"SELECT count(*) AS n FROM link_review WHERE {where[status]}")["n"]
    rows = state.rows(f"""SELECT {PAIR_ID_SQL} AS pair_id, run_id, left_contributor,
        left_record_id, right_contributor, right_record_id, match_probability, match_weight,
        linked, decision, decided_by, decided_at FROM link_review WHERE {where[status]}
        ORDER BY abs(match_probability - 0.5), pair_id LIMIT ? OFFSET ?""", [limit, offset])
    return {"status": status, "total": total, "offset": offset, "pairs": _clean(rows)}


def _pair(state: HubState, pair_id: str) -> dict[str, Any]:
    row = state.one(f"SELECT *, CAST(reasons AS VARCHAR) AS reasons_json FROM link_review "
                    f"WHERE {PAIR_ID_SQL} = ?", [pair_id])
    if row is None:
        raise NotFound(f"no pair {pair_id} in the review queue")
    return row


def _side(state: HubState, contributor: str, record_id: str, identifiers: bool) -> dict[str, Any]:
    ident = state.one(f"SELECT {', '.join(IDENTITY_SHOWN)} FROM identities "
                      "WHERE contributor = ? AND record_id = ?", [contributor, record_id]) or {}
    case = state.one(f"SELECT {', '.join(CASE_SHOWN)} FROM cases WHERE contributor = ? "
                     "AND record_id = ?", [contributor, record_id]) or {}
    country = state.one("SELECT country FROM contributors WHERE name = ?", [contributor])
    side = {"contributor": contributor, "record_id": record_id,
            "contributor_country": country["country"] if country else None,
            "case": {k: _jsonable(v) for k, v in case.items()}}
    side["identity"] = {k: _jsonable(v) for k, v in ident.items()} if identifiers else None
    return side


def review_pair(state: HubState, user: User, pair_id: str) -> dict[str, Any]:
    """One pair side by side with the per-field explanation (record-level: audited).

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
    return {"pair_id": pair_id, "run_id": row["run_id"],
            "match_probability": row["match_probability"], "match_weight": row["match_weight"],
            "linked": row["linked"], "decision": row["decision"], "decided_by": row["decided_by"],
            "decided_at": _jsonable(row["decided_at"]), "decision_note": row["decision_note"],
            "names_swapped": reasons.get("names_swapped"),
            "prior_log2_odds": reasons.get("prior_log2_odds"),
            "fields": fields, "left": left, "right": right, "identifiers_shown": shown}


def decide_pair(state: HubState, user: User, pair_id: str, decision: str,
                reason: str) -> dict[str, Any]:
    """Record a reviewer's decision on a pair, with its reason, and audit it.

    (Smallest stand-in for a link-stage API: it writes ``decision``, ``decided_by``,
    ``decided_at`` and ``decision_note`` of ``link_review``; feeding decisions back into the
    next link run is the link stage's work.)
    """
    if decision not in DECISIONS:
        raise UsageError(f"decision must be one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("give the reason for the decision")
    if len(reason) > 2000:
        raise UsageError("the reason is longer than 2000 characters")
    row = _pair(state, pair_id)
    with state.write() as hub:
        hub.con.execute(f"UPDATE link_review SET decision = ?, decided_by = ?, decided_at = ?, "
                        f"decision_note = ? WHERE {PAIR_ID_SQL} = ?",
                        [decision, user.username, now_utc(), reason, pair_id])
        hub.audit(user.username, "link.decision", f"pair:{pair_id}", {
            "left": f"{row['left_contributor']}/{row['left_record_id']}",
            "right": f"{row['right_contributor']}/{row['right_record_id']}",
            "decision": decision, "previous": row["decision"], "reason": reason,
            "match_probability": row["match_probability"]})
    return {"pair_id": pair_id, "decision": decision, "decided_by": user.username}


def run_linkage(state: HubState, user: User) -> dict[str, Any]:
    from safelight.link.hub import link_hub, summary

    with state.exclusive() as hub:
        result = link_hub(hub, actor=user.username)
    return summary(result)


def persons_seen_by_several(state: HubState, user: User, limit: int = 100,
                            offset: int = 0) -> dict[str, Any]:
    """Persons linked across several contributors: who saw them, in which countries
    (record ids are record-level: audited)."""
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
              GROUP BY p.person_id HAVING count(DISTINCT p.contributor) > 1"""
    totals = state.one(f"""SELECT count(*) AS persons, count(*) FILTER (WHERE countries > 1)
                           AS several_countries FROM ({base})""")
    rows = state.rows(f"SELECT * FROM ({base}) ORDER BY countries DESC, contributors DESC, "
                      "records DESC, person_id LIMIT ? OFFSET ?", [limit, offset])
    state.audit(user.username, "web.read", "persons:several", {"rows": len(rows),
                                                               "offset": offset})
    return {"total": totals["persons"], "several_countries": totals["several_countries"],
            "offset": offset, "persons": _clean(rows)}


# ---- releases

def hub_release_table(state: HubState, columns: list[str]):
    """The release input: ``columns`` of the cases whose consent allows statistics, as text
    (missing = ''). (The release stage reads files; this is its hub-side counterpart.)"""
    from safelight.release.table import from_arrow

    bad = [c for c in columns if c not in RELEASE_COLUMNS]
    if bad or not columns:
        raise UsageError(f"release columns must be among {', '.join(RELEASE_COLUMNS)}")
    sel = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '') AS {c}" for c in columns)
    with state.read() as con:
        table = con.sql(f"SELECT {sel} FROM cases WHERE consent_statistics").to_arrow_table()
    if table.num_rows == 0:
        raise UsageError("the hub holds no case records with statistics consent; nothing to "
                         "release")
    return from_arrow(table)


def list_releases(state: HubState) -> dict[str, Any]:
    from safelight.release.ledger import Ledger

    with state.lock:
        ledger = Ledger(state.hub)
        rows = ledger.releases()
        spent = ledger.spent(RELEASE_DATASET)
    for r in rows:
        r["params"] = json.loads(r["params"]) if isinstance(r["params"], str) else r["params"]
    return {"releases": _clean(rows), "spent": spent.__dict__}


def get_release(state: HubState, rid: int) -> dict[str, Any]:
    row = next((r for r in list_releases(state)["releases"] if r["release_id"] == rid), None)
    if row is None:
        raise NotFound(f"no release {rid}")
    folder = Path(row["output_path"]).parent if row["output_path"] else None
    ev = None
    if folder is not None and (folder / "evaluation.json").is_file():
        ev = json.loads((folder / "evaluation.json").read_text("utf-8"))
    row["evaluation"] = ev
    return row


def create_release(state: HubState, user: User, method: str, k: int, length: int,
                   columns: list[str], seed: int = 0) -> dict[str, Any]:
    """Make a release of the hub's consenting cases, evaluate it and record it in the ledger."""
    from safelight.release.aggregates import release_aggregates, write_aggregates
    from safelight.release.evaluate import counts_of_rows, evaluate, write_evaluation
    from safelight.release.ledger import Ledger
    from safelight.release.settings import ReleaseSettings
    from safelight.release.synthetic import KSynthesizer
    from safelight.release.table import write_csv

    if method not in RELEASE_METHODS:
        raise UsageError(f"method must be one of {', '.join(RELEASE_METHODS)}")
    if not 2 <= k <= 1000 or not 1 <= length <= 4:
        raise UsageError("k must be between 2 and 1000 and length between 1 and 4")
    columns = list(dict.fromkeys(columns))
    data = hub_release_table(state, columns)
    t0 = time.perf_counter()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    out = state.releases_dir / f"{stamp}-{method}"
    out.mkdir(parents=True, exist_ok=False)
    try:
        source = {"dataset": RELEASE_DATASET, "hub": str(state.path), "rows": data.n_rows,
                  "data_version": state.version}
        if method == "aggregates":
            rel = release_aggregates(data, k, length)
            write_aggregates(rel, out / RELEASE_FILES[method])
            params = {"columns": columns, **rel.summary()}
            ev = evaluate(data, rel.counts, k, length)
        else:
            syn, rep = KSynthesizer(k, length, seed=seed).fit_sample(data)
            write_csv(syn, out / RELEASE_FILES[method])
            params = {"columns": columns, "seed": seed, "iterations": rep.iterations}
            ev_len = max(length, 3)
            ev = evaluate(data, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
        params["seconds"] = round(time.perf_counter() - t0, 3)
        settings = ReleaseSettings(method, k, length, source, params)
        settings.save(out / "settings.json")
        write_evaluation(ev, out, f"{method} (k = {k}, length {length})", settings.to_dict())
        released = out / RELEASE_FILES[method]
        sha = hashlib.sha256(released.read_bytes()).hexdigest()
        with state.exclusive() as hub:
            rid = Ledger(hub).record(RELEASE_DATASET, method, settings.to_dict(),
                                     actor=user.username, k=k, length=length,
                                     rows_in=data.n_rows, output_sha256=sha,
                                     output_path=str(released))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return {"release_id": rid, "method": method, "k": k, "length": length,
            "rows_in": data.n_rows, "output_sha256": sha, "evaluation": ev.to_dict()}


def release_file(state: HubState, user: User, rid: int) -> tuple[Path, str]:
    """The released file of a release (an export: audited), and its download name."""
    row = get_release(state, rid)
    path = Path(row["output_path"] or "")
    if not path.is_file():
        raise NotFound(f"release {rid}: its file {path} is no longer on the server")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if sha != row["output_sha256"]:
        raise SafelightError(f"release {rid}: {path} does not match the ledger's sha256; it was "
                             "altered after release — restore it from backup")
    state.audit(user.username, "web.export", f"release:{rid}", {"sha256": sha})
    return path, f"safelight-release-{rid}-{path.name}"


# ---- dashboard

class Dashboard:
    """The hub report (disclosure-controlled indicators), cached per data version and for
    ``dashboard_cache_seconds``; each chart is drawn on its first request and cached with it
    (matplotlib is slow and not thread-safe, so one chart is drawn at a time)."""

    def __init__(self, state: HubState) -> None:
        self.state = state
        self._lock = threading.RLock()
        self._cached: tuple[int, float, dict[str, Any]] | None = None

    def cached(self) -> dict[str, Any] | None:
        """The current report if it is cached and fresh (no waiting: for the event loop)."""
        c = self._cached
        if (c is None or c[0] != self.state.version
                or time.monotonic() - c[1] > self.state.settings.dashboard_cache_seconds):
            return None
        return c[2]

    def get(self) -> dict[str, Any]:
        ttl = self.state.settings.dashboard_cache_seconds
        with self._lock:
            c = self._cached
            if c is None or c[0] != self.state.version or time.monotonic() - c[1] > ttl:
                version = self.state.version
                self._cached = (version, time.monotonic(), self._compute())
            return self._cached[2]

    def chart(self, indicator_id: str) -> str | None:
        """The SVG chart of an indicator (``None`` if it has none)."""
        from safelight.report.charts import render_chart

        with self._lock:
            d = self.get()
            if indicator_id not in d["charts"]:
                ind = d["_indicators"].get(indicator_id)
                if ind is None:
                    return None
                with tempfile.TemporaryDirectory() as tmp:
                    d["charts"][indicator_id] = render_chart(ind, Path(tmp), "hub")
            return d["charts"][indicator_id]

    def _compute(self) -> dict[str, Any]:
        from safelight.report.charts import CHARTS
        from safelight.report.hub import hub_report
        from safelight.report.model import ReportError, ReportSettings
        from safelight.report.render import _display_rows, report_record
        from safelight.report.sources import Source
        from safelight.standard.geography import load_unodc_regions

        settings = ReportSettings(threshold=self.state.settings.report_threshold)
        regions = load_unodc_regions(settings.region_table)
        prov = {"input": str(self.state.path), "input_kind": "hub (web dashboard)",
                "generated_at": now_utc().isoformat(timespec="seconds")}
        with self.state.read() as con:
            cur = con.cursor()  # its own connection: the report registers tables on it
            try:
                rep = hub_report(Source(cur, prov, regions), settings)
            except ReportError as exc:
                return {"empty": str(exc), "indicators": [], "record": None, "charts": {},
                        "_indicators": {}, "_fragments": {}}
            finally:
                cur.close()
        indicators = [{"id": ind.id, "title": ind.title, "definition": ind.definition,
                       "denominator": ind.denominator, "keys": ind.key_names,
                       "notes": ind.notes, "headline": ind.headline,
                       "rows": _display_rows(ind, settings.threshold),
                       "chart": ind.chart in CHARTS} for ind in rep.indicators]
        return {"empty": None, "title": rep.title, "limitations": rep.limitations,
                "counting_unit": rep.counting_unit, "indicators": indicators,
                "record": report_record(rep), "charts": {},
                "_indicators": {ind.id: ind for ind in rep.indicators}, "_fragments": {},
                "generated_at": prov["generated_at"]}


def status(state: HubState) -> dict[str, Any]:
    with state.lock:
        return {k: _jsonable(v) for k, v in state.hub.status().items()
                if k not in ("path",)}
