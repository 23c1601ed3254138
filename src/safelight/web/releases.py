"""Releases of the hub's consenting cases from the web: make, evaluate, record, download.

Uses the release stage (:func:`~safelight.release.release_aggregates`,
:class:`~safelight.release.KSynthesizer`, :func:`~safelight.release.evaluate`, the
:class:`~safelight.release.ledger.Ledger`) and its hub reader
(:func:`~safelight.release.hub.hub_table`: the chosen columns of the cases whose consent allows
statistics), charged to the same ledger dataset as ``safelight release hub``. The data are read
under the hub's lock; the release is computed outside it, and only the ledger entry is written
under the lock, so other requests are not held up while a release is computed. A download is
audited as an export and refused (HTTP 500, :class:`~safelight.web.services.IntegrityFailure`,
audited as ``web.refused``) when the file no longer matches the ledger's SHA-256, and refused
(HTTP 403) for a release the hub's small-cell rule does not clear (:func:`withheld`: the ledger
also records releases made on the command line, which may be under the threshold or marked
"do not publish"). A release's
settings and evaluation hold exact figures of the sensitive data (PUBLISH.txt: they are for the
operator), so they are shown whole to :data:`EXACT_COUNT_ROLES` only; other roles see what the
release published (:func:`_shown`). Messages never name a server path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from safelight.errors import UsageError
from safelight.messages import Message
from safelight.release import hub as hub_release
from safelight.release.settings import partial_path
from safelight.web.auth import User
from safelight.web.services import Forbidden, IntegrityFailure, NotFound, clean_rows
from safelight.web.state import HubState

RELEASE_DATASET = hub_release.DATASET
RELEASE_COLUMNS = hub_release.DEFAULT_COLUMNS
RELEASE_METHODS = ("aggregates", "synthetic")
RELEASE_FILES = {m: hub_release.FILES[m] for m in RELEASE_METHODS}


def check_release_columns(columns: list[str]) -> None:
    """Refuse release columns outside :data:`RELEASE_COLUMNS` (or none); the release input is
    then read by the release stage's :func:`~safelight.release.hub.hub_table` (the cases whose
    consent allows statistics)."""
    bad = [c for c in columns if c not in RELEASE_COLUMNS]
    if bad or not columns:
        raise UsageError(f"release columns must be among {', '.join(RELEASE_COLUMNS)}")


#: Roles shown a release's settings and evaluation whole: its exact input size (``rows_in``, the
#: source's ``rows``, the evaluation's ``sensitive_rows`` and ``released_rows``) and the other
#: figures of the sensitive data that PUBLISH.txt keeps for the operator (the evaluation's
#: figures by length, leaked records, values outside the domain; suppressed and small cells).
#: A release publishes its total only as an interval; the exact count of two releases one
#: upload or one withdrawal apart would tell the others that one person came or left, and which
#: cells moved.
EXACT_COUNT_ROLES = frozenset({"admin"})

# What other roles see (whitelists: a figure added to the ledger or the evaluation stays hidden
# until it is listed here): who released what, when, how and at what privacy cost, and the
# published file (its name and SHA-256; None for a release that failed and published nothing).
_PUBLIC_ROW = ("release_id", "dataset", "method", "released_at", "actor", "k",
               "reporting_length", "epsilon", "delta", "output_sha256", "file")
_PUBLIC_SETTINGS = ("method", "k", "length", "software", "settings_format", "created_at")
_PUBLIC_SOURCE = ("dataset", "consent")
_PUBLIC_PARAMS = ("columns",)
_PUBLIC_EVALUATION = ("k", "max_length")


def list_releases(state: HubState, user: User) -> dict[str, Any]:
    """The ledger as ``user`` may see it (:func:`_shown`), each release with ``withheld``: why
    its file is not served (:func:`withheld`), or None."""
    from safelight.release.ledger import Ledger

    with state.lock:
        ledger = Ledger(state.hub)
        rows = ledger.releases()
        spent = ledger.spent(RELEASE_DATASET)
    for r in rows:
        r["params"] = json.loads(r["params"]) if isinstance(r["params"], str) else r["params"]
    shown = []
    for r in clean_rows(rows):
        reason = withheld(state, r)
        shown.append({**_shown(r, user), "withheld": reason})
    return {"releases": shown, "spent": spent.__dict__}


def withheld(state: HubState, row: dict[str, Any]) -> str | None:
    """Why the web does not hand out the file of ledger release ``row``, or None when it may.

    Every file the web serves clears the hub's small-cell rule (``report_threshold``, k = 11 by
    default): the release's k is at least the threshold, and either it is differentially
    private with a k floor at least the threshold (no released noisy count under it), or its
    evaluation — written beside the file — found no released combination of 1 to k − 1
    people up to the release's reporting length (k-synthetic rows promise no more). The
    ledger records every release, also those made by ``safelight release hub`` (any k from 2,
    microdata whose quasi-identifiers leave columns out — "do not publish" —, DP without the
    floor); a privacy review found a viewer downloading both kinds. The reason is a
    :class:`~safelight.messages.Message` (English, translated on the release page)."""
    threshold = state.settings.report_threshold
    if "failed" in (row.get("params") or {}):  # a charge of a release that failed: no file
        return Message("it failed once its data was read: charged, nothing released")
    k = row.get("k")
    if k is None:
        return Message("made without k")
    if k < threshold:
        return Message("made with k = {k}, under this hub's small-cell threshold of {threshold}",
                       k=k, threshold=threshold)
    settings = row.get("params") or {}
    if str(row.get("method", "")).startswith("dp-"):
        floor = (settings.get("params") or {}).get("k_floor")
        if floor is None or floor < threshold:
            return Message("differentially private without the k floor of {threshold}: it may "
                           "show counts under the hub's small-cell threshold", threshold=threshold)
        return None
    path = row.get("output_path")
    evaluation = Path(path).parent / "evaluation.json" if path else None
    if evaluation is None or not evaluation.is_file():
        return Message("its evaluation is not beside it, so its leakage cannot be checked")
    length = row.get("reporting_length")
    by_length = json.loads(evaluation.read_text("utf-8")).get("by_length") or []
    if any(level.get("leaked") for level in by_length  # (how many: admin only)
           if length is None or level.get("length", 0) <= length):
        return Message("its evaluation found released combinations of fewer than k = {k} people "
                       "(do not publish)", k=k)
    return None


def _shown(row: dict[str, Any], user: User) -> dict[str, Any]:
    """A ledger row as the pages and API show it to ``user``: the file's name, never a server
    path; to :data:`EXACT_COUNT_ROLES` everything else, to other roles only what is listed in
    :data:`_PUBLIC_ROW` and the settings' :data:`_PUBLIC_SETTINGS`, :data:`_PUBLIC_SOURCE` and
    :data:`_PUBLIC_PARAMS` (``rows_in`` is None)."""
    from safelight.release.ledger import PUBLISHED_KEY

    row = dict(row)
    path = row.pop("output_path", None)
    row["file"] = Path(path).name if path else None
    settings = dict(row.get("params") or {})
    if user.role not in EXACT_COUNT_ROLES:
        shown = {k: row.get(k) for k in _PUBLIC_ROW}
        shown["rows_in"] = None
        shown["params"] = {**_only(settings, _PUBLIC_SETTINGS),
                           "source": _only(settings.get("source"), _PUBLIC_SOURCE),
                           "params": _only(settings.get("params"), _PUBLIC_PARAMS)}
        return shown
    # the intervals kept for the successive-release audit include hub-internal upper bounds of
    # deferred combinations; the published ones are in the released file
    settings.pop(PUBLISHED_KEY, None)
    if isinstance(settings.get("source"), dict):
        settings["source"] = {k: v for k, v in settings["source"].items() if k != "hub"}
    row["params"] = settings
    return row


def _only(d: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The items of ``d`` (a dict, or anything else: none) whose key is in ``keys``."""
    return {k: d[k] for k in keys if k in d} if isinstance(d, dict) else {}


def _evaluation_shown(ev: dict[str, Any] | None, user: User) -> dict[str, Any] | None:
    """A release's evaluation as ``user`` may see it: whole to :data:`EXACT_COUNT_ROLES`, to
    other roles its settings only (:data:`_PUBLIC_EVALUATION`): every figure it holds describes
    the sensitive data."""
    if ev is None or user.role in EXACT_COUNT_ROLES:
        return ev
    return _only(ev, _PUBLIC_EVALUATION)


def _release_row(state: HubState, rid: int) -> dict[str, Any]:
    from safelight.release.ledger import Ledger

    with state.lock:
        row = next((r for r in Ledger(state.hub).releases() if r["release_id"] == rid), None)
    if row is None:
        raise NotFound(f"no release {rid}")
    return row


def get_release(state: HubState, user: User, rid: int) -> dict[str, Any]:
    path = _release_row(state, rid)["output_path"]
    row = next(r for r in list_releases(state, user)["releases"] if r["release_id"] == rid)
    folder = Path(path).parent if path else None
    ev = None
    if folder is not None and (folder / "evaluation.json").is_file():
        ev = json.loads((folder / "evaluation.json").read_text("utf-8"))
    row["evaluation"] = _evaluation_shown(ev, user)
    return row


#: what the web says a release refused after records left can be made with (it has no override)
WEB_OVERRIDE = ("an operator can release on the command line with `safelight release hub "
                "--after-withdrawal` (the web has no such override)")


def create_release(state: HubState, user: User, method: str, k: int, length: int,
                   columns: list[str], seed: int = 0) -> dict[str, Any]:
    """Make a release of the hub's consenting cases, evaluate it and record it in the ledger."""
    from safelight.release.aggregates import release_aggregates, write_aggregates
    from safelight.release.evaluate import (
        counts_of_rows,
        evaluate,
        rows_evaluation_length,
        write_evaluation,
    )
    from safelight.release.ledger import Ledger
    from safelight.release.settings import ReleaseSettings
    from safelight.release.synthetic import KSynthesizer
    from safelight.release.table import write_csv

    if method not in RELEASE_METHODS:
        raise UsageError(f"method must be one of {', '.join(RELEASE_METHODS)}")
    floor = state.settings.report_threshold  # the hub's small-cell rule binds every release
    if not floor <= k <= 1000 or not 1 <= length <= 4:
        raise UsageError(f"k must be between {floor} (the hub's small-cell threshold) and 1000, "
                         "and length between 1 and 4")
    columns = list(dict.fromkeys(columns))
    with state.reading_hub() as hub:  # refused when records left since the last release
        hub_release.check_no_records_left(hub, RELEASE_DATASET, override=WEB_OVERRIDE)
    check_release_columns(columns)
    with state.reading_hub() as hub:  # earlier interval releases, for the differencing audit
        # the data in the same read as the ledger and the audit's wider table (an upload in
        # between would audit other counts than the ones released: a review)
        data = hub_release.hub_table(hub, columns)
        earlier = Ledger(hub).published(RELEASE_DATASET)
        # and for the audit beside those of the same counts in another shape
        beside = (hub_release.reshaped_audit(hub, data, earlier, k, min(length, len(columns)))
                  if method == "aggregates" else None)
    t0 = time.perf_counter()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    out = state.releases_dir / f"{stamp}-{method}"
    out.mkdir(parents=True, exist_ok=False)
    # the release file is written hidden and renamed into place once its settings, evaluation
    # and ledger record are written: a server killed at any point (even SIGKILL) leaves no
    # release file the ledger does not hold (docs/release.md)
    released = out / RELEASE_FILES[method]
    partial = partial_path(released)
    try:
        # not the hub's location: the folder may be handed on (as `release hub` writes it)
        source = {"dataset": RELEASE_DATASET, "rows": data.n_rows,
                  "data_version": state.version}
        if method == "aggregates":
            rel = release_aggregates(data, k, length, earlier=earlier, beside=beside)
            write_aggregates(rel, partial)
            params = {"columns": columns, **rel.summary()}
            ev = evaluate(data, rel.counts, k, length)
        else:
            syn, rep = KSynthesizer(k, length, seed=seed).fit_sample(data)
            write_csv(syn, partial)
            params = {"columns": columns, "seed": seed, "iterations": rep.iterations}
            ev_len = rows_evaluation_length(length, data.n_columns)
            ev = evaluate(data, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
        params["seconds"] = round(time.perf_counter() - t0, 3)
        with state.reading_hub() as hub:  # the same warnings as `release hub` writes
            warnings = hub_release.release_warnings(
                Ledger(hub), method, ev, length=length, columns=columns,
                audited_beside=tuple(beside.used) if beside else (), k=k)
        if warnings:
            params["warnings"] = list(warnings)  # in the ledger too: the release page shows them
        settings = ReleaseSettings(method, k, length, source, params)
        settings.save(out / "settings.json", warnings)
        write_evaluation(ev, out, f"{method} (k = {k}, length {length})", settings.to_dict())
        sha = hashlib.sha256(partial.read_bytes()).hexdigest()
        with state.exclusive() as hub:
            # a release recorded (or records withdrawn) while this one was computed was not
            # audited against it: refuse rather than record an unaudited pair
            if len(Ledger(hub).published(RELEASE_DATASET)) != len(earlier):
                raise UsageError("another release was recorded while this one was made; make it "
                                 "again so the two are checked against each other")
            # a form sent twice made the same file twice, and the ledger counted it twice
            twin = next((r["release_id"] for r in Ledger(hub).releases(RELEASE_DATASET)
                         if r["output_sha256"] == sha), None)
            if twin is not None:
                raise UsageError(f"this release's file is the same as release #{twin}'s (same "
                                 "settings, same data): download that one; nothing recorded")
            hub_release.check_no_records_left(hub, RELEASE_DATASET, override=WEB_OVERRIDE)
            if method == "aggregates":  # with its intervals, for the next release's audit
                rid = Ledger(hub).record_aggregates(RELEASE_DATASET, rel, settings.to_dict(),
                                                    actor=user.username, rows_in=data.n_rows,
                                                    output_sha256=sha, output_path=str(released))
            else:
                rid = Ledger(hub).record(RELEASE_DATASET, method, settings.to_dict(),
                                         actor=user.username, k=k, length=length,
                                         rows_in=data.n_rows, output_sha256=sha,
                                         output_path=str(released))
        os.replace(partial, released)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    exact = user.role in EXACT_COUNT_ROLES
    return {"release_id": rid, "method": method, "k": k, "length": length,
            "rows_in": data.n_rows if exact else None, "output_sha256": sha,
            "warnings": list(warnings) if exact else None,
            "evaluation": _evaluation_shown(ev.to_dict(), user)}


def release_file(state: HubState, user: User, rid: int) -> tuple[Path, str]:
    """The released file of a release (an export: audited), and its download name."""
    row = _release_row(state, rid)
    if not row["output_path"]:
        raise NotFound(f"release {rid} has no file: it failed once its data had been read, and "
                       "its privacy cost was charged to the ledger all the same")
    path = Path(row["output_path"])
    if not path.is_file():
        raise NotFound(f"release {rid}'s file is no longer on the server")
    reason = withheld(state, {**row, "params": json.loads(row["params"])
                              if isinstance(row["params"], str) else row["params"]})
    if reason is not None:
        state.audit(user.username, "web.refused", f"release:{rid}", {"reason": "withheld"})
        raise Forbidden(Message("release {rid} is not handed out: {reason}. It stays in the "
                                "ledger for its privacy cost", rid=rid, reason=reason))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if sha != row["output_sha256"]:
        state.audit(user.username, "web.refused", f"release:{rid}",
                    {"reason": "file does not match the ledger", "sha256": sha})
        raise IntegrityFailure(f"release {rid}'s file on the server does not match the "
                               "ledger's SHA-256: it was altered after release and is not "
                               "served; the operator must restore it from backup")
    state.audit(user.username, "web.export", f"release:{rid}", {"sha256": sha})
    return path, f"safelight-release-{rid}-{path.name}"
