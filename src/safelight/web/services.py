"""Contributions, uploads, quarantine and records for the pages and the API, and what the other
service modules share (:class:`Forbidden`, :class:`NotFound`, the contributor scope).

Every function takes the signed-in :class:`~safelight.web.auth.User` and enforces the *data*
scope itself: a ``contributor`` account only ever sees rows of its own contributor
(contributions, quarantine, records); anything else is :class:`Forbidden`, audited as
``web.refused`` (:func:`contributor_scope`, :func:`refuse`). Role checks (which roles may call a
function at all) live in the routes (:mod:`safelight.web.deps`). Reads of record-level data,
uploads and exports are written to the hub's audit chain with the user as actor, never with a
value the user typed or uploaded (see :func:`upload`). Stage APIs used: :func:`~safelight.ingest.ingest_file`,
:func:`~safelight.ingest.check_file`. The other services: :mod:`safelight.web.linkage`,
:mod:`safelight.web.releases`, :mod:`safelight.web.dashboard`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from safelight.errors import SafelightError, UsageError
from safelight.store.hub import withdrawal_ids
from safelight.web.auth import User
from safelight.web.roles import BOUND_ROLES
from safelight.web.state import HubState

log = logging.getLogger("safelight.web")

CASE_SHOWN = ("gender", "age_years", "citizenship", "country_of_exploitation",
              "year_of_registration", "types_of_exploitation")


class Forbidden(SafelightError):
    """The signed-in user may not see or do this."""


class NotFound(SafelightError):
    """No such object (or not one the user may know about). The web answers 404; a command
    that calls the web's functions (``safelight review``) exits 2, as for any id mistyped on
    the command line."""

    exit_code = 2


class IntegrityFailure(SafelightError):
    """Data on the server no longer match their record (e.g. a release file altered after
    release): the server's fault, not the request's (HTTP 500, with this message)."""


def jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def utc_minute(value: Any) -> str:
    """A time the hub stores (UTC, without a zone: a ``datetime`` or its ISO text) as
    ``2026-12-02 03:20 UTC``; empty for none. Reviewers in several countries read one queue: a
    bare ``03:20`` was read as their own local time."""
    if value is None or value == "":
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 else text


def clean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in r.items()} for r in rows]


def refuse(state: HubState, user: User, obj: str | None, reason: str, message: str) -> Forbidden:
    """Audit a refusal (``web.refused``: who, what, why — never a value of the request) and
    return the :class:`Forbidden` to raise."""
    state.audit(user.username, "web.refused", obj, {"reason": reason})
    return Forbidden(message)


def contributor_scope(state: HubState, user: User, contributor: str | None) -> str | None:
    """The contributor a query is limited to: a contributor account's own, always (asking for
    another one is refused and audited)."""
    if user.role in BOUND_ROLES:
        if contributor not in (None, user.contributor):
            # the name asked for is a request value: logged only when it names a contributor
            known = state.one("SELECT 1 AS x FROM contributors WHERE name = ?", [contributor])
            raise refuse(state, user, f"contributor:{contributor if known else '?'}",
                         "other contributor", f"this account acts for {user.contributor!r} only")
        return user.contributor
    return contributor


# ---- profiles and contributors

def profiles(state: HubState, user: User) -> dict[str, str]:
    """Profiles offered to ``user`` for uploads: name → what :func:`load_profile` takes.

    The built-in profiles and the ``*.yaml`` at the top of ``profiles_dir`` are offered to
    everyone; a profile in a sub-folder is offered to admins and to the accounts of the
    contributor the sub-folder is named after (``<profiles_dir>/<contributor>/…``, as the demo
    lays them out) — to nobody else, also while that agency has sent nothing: a profile's
    name and folder are often the agency's, and one agency does not see which others send
    data."""
    from safelight.ingest import builtin_profiles

    out = {name: name for name in builtin_profiles()}
    if state.settings.profiles_dir:
        root = Path(state.settings.profiles_dir)
        for p in sorted(root.rglob("*.yaml")):
            rel = p.relative_to(root)
            owner = rel.parts[0] if len(rel.parts) > 1 else None
            if user.role in BOUND_ROLES and owner not in (None, user.contributor):
                continue
            out[rel.as_posix()] = str(p)
    return out


def contributors(state: HubState, user: User) -> list[dict[str, Any]]:
    scope = contributor_scope(state, user, None)
    rows = state.rows("SELECT name, country FROM contributors ORDER BY name")
    return [r for r in rows if scope is None or r["name"] == scope]


# ---- contributions, quarantine, records

def list_contributions(state: HubState, user: User) -> list[dict[str, Any]]:
    scope = contributor_scope(state, user, None)
    sql = ("SELECT contribution_id, contributor, target, file_name, file_format, profile, "
           "finished_at, rows_read, rows_accepted, rows_quarantined, rows_new, rows_updated, "
           "rows_unchanged FROM contributions")
    if scope is None:
        rows = clean_rows(state.rows(sql + " ORDER BY contribution_id DESC"))
    else:
        rows = clean_rows(state.rows(sql + " WHERE contributor = ? ORDER BY contribution_id "
                                     "DESC", [scope]))
    return [_file_name_for(user, r) for r in rows]


def get_contribution(state: HubState, user: User, cid: int) -> dict[str, Any]:
    row = state.one("SELECT * FROM contributions WHERE contribution_id = ?", [cid])
    if row is None:
        raise NotFound(f"no contribution {cid}")
    if user.role == "contributor" and row["contributor"] != user.contributor:
        raise refuse(state, user, f"contribution:{cid}", "other contributor",
                     f"contribution {cid} belongs to another contributor")
    return _file_name_for(user, {k: jsonable(v) for k, v in row.items()})


#: contribution columns that may name a person: the file's name (a caseworker's "Prysiazhniuk
#: Olena.csv") and the reader's notes, which quote a workbook's sheet names ("sheet 'Olena
#: Prysiazhniuk' chosen of ...")
_NAMING_COLUMNS = ("file_name", "reader_notes")


def _file_name_for(user: User, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as ``user`` may see it: only an administrator and the contributor that sent the
    file read its :data:`_NAMING_COLUMNS`; others see the contribution by its id and SHA-256
    (privacy reviews, 2026-12-01)."""
    if user.role == "admin" or (user.role == "contributor"
                                and row.get("contributor") == user.contributor):
        return row
    return {**row, **{c: None for c in _NAMING_COLUMNS if c in row}}


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
    scope = contributor_scope(state, user, contributor)
    if scope is None:
        raise UsageError("say which contributor's records to show (contributor=...)")
    total = state.one("SELECT count(*) AS n FROM cases WHERE contributor = ?", [scope])["n"]
    rows = state.rows(f"SELECT record_id, contribution_id, source_row, {', '.join(CASE_SHOWN)}, "
                      "consent, consent_linkage, consent_statistics FROM cases "
                      "WHERE contributor = ? ORDER BY record_id LIMIT ? OFFSET ?",
                      [scope, limit, offset])
    state.audit(user.username, "web.read", f"records:{scope}",
                {"rows": len(rows), "offset": offset})
    return {"contributor": scope, "total": total, "offset": offset, "records": clean_rows(rows)}


#: record ids one withdrawal form takes (a longer list goes through the command line)
MAX_WITHDRAWAL_IDS = 10_000


def withdraw_consent(state: HubState, user: User, contributor: str | None,
                     ids_text: str | list[str], reason: str, not_yet_received: bool = False
                     ) -> dict[str, Any]:
    """Withdraw consent for the records named in ``ids_text`` (one per line, or separated by
    commas; or a list of ids, from the API) of ``contributor`` — a contributor account's own always — as ``safelight consent
    withdraw`` does: the cases leave linkage and every later release, their identity data is
    erased, later exports cannot revive them. Ids the hub does not hold are refused as typos
    (nothing is withdrawn) unless ``not_yet_received`` (then counted as ``pending``); audited
    with the account's name."""
    scope = contributor_scope(state, user, contributor)
    if not scope:
        raise UsageError("say whose records these are (contributor)")
    given = ids_text if isinstance(ids_text, list) else re.split(r"[\n,]", ids_text or "")
    ids = list(dict.fromkeys(x.strip() for x in given if x.strip()))
    if not ids:
        raise UsageError("give the record ids whose consent is withdrawn, one per line")
    ids = withdrawal_ids(ids)  # a row pasted from a spreadsheet (id, tab, name …) is refused
    if len(ids) > MAX_WITHDRAWAL_IDS:
        raise UsageError(f"{len(ids):,} record ids: the form takes {MAX_WITHDRAWAL_IDS:,} at a "
                         "time (`safelight consent withdraw` takes any number)")
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise UsageError("the reason is longer than 2000 characters")
    with state.exclusive() as hub:
        unknown = hub.withdrawal_pending(scope, ids, not_yet_received=not_yet_received,
                                         record_anyway="tick 'not received yet'")
        counts = hub.withdraw_consent(scope, ids, actor=user.username, reason=reason or None)
    # ids the hub held nothing of wait for their records; the others (cases, quarantined rows,
    # stored encodings) were acted on
    return {"contributor": scope, "pending": len(unknown), **counts}


def _safe_name(name: str | None) -> str:
    base = Path(name or "").name.strip().replace("\x00", "")
    keep = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base)[:120]
    return keep if keep.strip("._ ") else "upload.csv"


def _hide_folder(exc: SafelightError, folder: Path) -> None:
    """Drop the private upload folder from ``exc`` (its message and ``path``), so the user is
    shown the file's own name and no server path."""
    prefix = f"{folder}{os.sep}"
    exc.args = tuple(a.replace(prefix, "") if isinstance(a, str) else a for a in exc.args)
    if isinstance(getattr(exc, "path", None), str):
        exc.path = exc.path.replace(prefix, "")  # type: ignore[attr-defined]


def upload(state: HubState, user: User, filename: str | None, stream: Any, *, profile: str,
           contributor: str | None, check_only: bool = False) -> dict[str, Any]:
    """Validate (``check_only``) or ingest an uploaded file for a contributor.

    ``stream`` is a binary file object; it is copied to a private folder beside the hub, read
    there and removed. File-level faults raise with the reader's message, naming the file but
    not the folder; row-level faults end up in the quarantine and are summarised in the result.
    The audit chain gets the SHA-256 of the file's content (enough to match a contributor's
    report of a refused file, who holds the file) and never its name, which may name a person:
    a name's hash is reversed by hashing a list of names. Of a refusal it keeps only the
    error's class: a reader's message can quote the file's first row, which in a file without
    a header row is a person's data.
    """
    from safelight.ingest import check_file, ingest_file, load_profile

    scope = contributor_scope(state, user, contributor)
    if not scope:
        raise UsageError("choose the contributor this file comes from")
    offered = profiles(state, user)
    if profile not in offered:
        raise UsageError(f"unknown profile {profile!r}; choose one of {', '.join(offered)}")
    prof = load_profile(offered[profile])
    name = _safe_name(filename)
    limit = state.settings.max_upload_mb << 20
    tmp = Path(tempfile.mkdtemp(prefix=f".{state.path.name}.upload-", dir=state.path.parent))
    try:
        path = tmp / name
        size = 0
        digest = hashlib.sha256()
        with path.open("wb") as fh:
            while block := stream.read(1 << 20):
                size += len(block)
                digest.update(block)
                if size > limit:
                    raise UsageError(f"{name} is larger than {state.settings.max_upload_mb} MB; "
                                     "split the export or ask the operator to raise "
                                     "max_upload_mb")
                fh.write(block)
        try:
            if check_only:
                result = check_file(path, prof)
                state.audit(user.username, "web.check", f"contributor:{scope}",
                            {"file_sha256": digest.hexdigest(),
                             "rows_read": result["rows_read"],
                             "rows_invalid": result["rows_invalid"]})
                return {"checked": True, "file": name, "contributor": scope, **result}
            with state.exclusive() as hub:
                if not state.one("SELECT 1 AS x FROM contributors WHERE name = ?", [scope]):
                    if user.role != "admin":
                        raise Forbidden(f"contributor {scope!r} is not registered on this hub")
                    # an administrator's typo became a new agency whose records linkage then
                    # joined into persons: a contributor is registered first, on purpose
                    raise UsageError(f"contributor {scope!r} is not registered on this hub; "
                                     "register it first (create its account, saying it is "
                                     "new) or choose a registered one")
                res = ingest_file(hub, path, contributor=scope, profile=prof, actor=user.username)
        except SafelightError as exc:
            state.audit(user.username, "web.upload_refused", f"contributor:{scope}",
                        {"file_sha256": digest.hexdigest(), "error": type(exc).__name__})
            _hide_folder(exc, tmp)
            raise
        out = res.as_dict()
        out.update(file=name, checked=False,
                   top_rules=[{"rule": r, "rows": n} for r, n in res.top_rules])
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def status(state: HubState) -> dict[str, Any]:
    with state.lock:
        return {k: jsonable(v) for k, v in state.hub.status().items()
                if k not in ("path",)}
