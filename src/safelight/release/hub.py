"""Releases straight from a hub: its consenting cases, through the same methods and ledger.

Contract:

* :func:`hub_table` reads the chosen *case* columns of the hub's ``cases`` table — only rows
  whose consent allows statistical use (``consent_statistics``; a withdrawal sets it false), and
  only single-valued categorical case fields (codes, countries, yes/no flags, the registration
  year). Identity fields live in another table and can never be named; free text, dates,
  exact ages and multi-valued fields are refused with the columns that may be used.
* :func:`hub_domain` is the **public** domain of those columns for differentially private
  releases: the standard's code lists, every ISO 3166 alpha-3 code, years
  :func:`~safelight.release.domain.years` (to the current year), ``true``/``false`` — never
  the hub's data. A column whose values lie mostly outside it is refused
  (:func:`~safelight.release.domain.public_table`) before the ledger is charged.
* :func:`release_hub` makes one release of one method (``aggregates``, ``synthetic``,
  ``microdata``, ``dp-aggregates``, ``dp-synthetic``) with the same functions as the file
  commands, writes it with ``settings.json`` and the evaluation, and records it in the hub's
  ledger under :data:`DATASET` — the dataset name the web's releases use, so the command line
  and the web draw on one privacy budget. A DP release is checked against that budget before
  the data is measured, and refused (nothing written) if it would exceed it; k-methods are
  recorded with ε = 0. k-aggregates are audited against the dataset's earlier ones — their
  differences (:mod:`safelight.release.successive`) and, where the counts are unchanged, the
  same counts in another shape (:func:`reshaped_audit`). The hub's location is not written
  into the release folder.

The unit of protection is the **case record** (one row of ``cases``): a DP release from a hub is
(ε, δ)-DP with respect to adding or removing one case record, and k counts case records. A
person recorded by several agencies (several rows, one linked person) is protected at the
group level only: with ``m`` records, by (mε, mδe^{(m−1)ε})-DP, and a combination may reach k
with fewer than k distinct people.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safelight.errors import RefusedError
from safelight.interrupts import deferred_interrupts
from safelight.release.domain import Domain, public_table, years
from safelight.release.errors import ReleaseUsageError
from safelight.release.evaluate import (
    Evaluation,
    counts_of_rows,
    dp_release_warnings,
    evaluate,
    k_leak_warning,
    rows_evaluation_length,
    write_evaluation,
)
from safelight.release.settings import (
    RELEASE_FILES,
    WRITTEN_FILES,
    ReleaseSettings,
    file_source,
    folders_to_make,
    out_folder,
    partial_path,
    remove_made_folders,
)
from safelight.release.table import CategoricalTable, from_arrow, write_csv
from safelight.standard.schema import CASE_FIELDS, Kind
from safelight.store import Hub

log = logging.getLogger("safelight.release.hub")

#: Ledger dataset of the hub's consenting cases (shared with the web's releases).
DATASET = "hub:cases"
#: Columns released when none are given (the web's default set).
DEFAULT_COLUMNS = ("gender", "age_band", "majority_status", "citizenship",
                   "country_of_exploitation", "year_of_registration", "trafficking_status",
                   "data_source_type", "months_trafficked_band")
METHODS = ("aggregates", "synthetic", "microdata", "dp-aggregates", "dp-synthetic")
FILES = RELEASE_FILES
_YEAR_FIELDS = {"year_of_registration"}


def releasable_columns() -> tuple[str, ...]:
    """Case fields a hub release may carry (single-valued and categorical)."""
    return tuple(f.name for f in CASE_FIELDS
                 if f.kind in (Kind.CODE, Kind.COUNTRY, Kind.BOOLEAN) and f.name != "consent"
                 or f.name in _YEAR_FIELDS)


def _check_columns(columns: list[str] | tuple[str, ...] | None) -> list[str]:
    cols = list(dict.fromkeys(columns or DEFAULT_COLUMNS))
    ok = releasable_columns()
    bad = [c for c in cols if c not in ok]
    if bad:
        raise ReleaseUsageError(f"--columns: {', '.join(bad)} cannot be released from a hub; "
                                f"choose among {', '.join(ok)}")
    return cols


def hub_table(hub: Hub, columns: list[str] | tuple[str, ...] | None = None) -> CategoricalTable:
    """The chosen columns of the cases whose consent allows statistics, as text (see above).

    :raises ReleaseUsageError: a column that may not be released, or no consenting case.
    """
    cols = _check_columns(columns)
    sel = ", ".join(f'coalesce(lower(CAST("{c}" AS VARCHAR)), \'\') AS "{c}"'
                    if _kind(c) is Kind.BOOLEAN else
                    f'coalesce(CAST("{c}" AS VARCHAR), \'\') AS "{c}"' for c in cols)
    cur = hub.con.cursor()  # its own result: the hub's connection may hold an unread one
    try:
        arrow = cur.sql(f"SELECT {sel} FROM cases WHERE consent_statistics").to_arrow_table()
    finally:
        cur.close()
    if arrow.num_rows == 0:
        raise ReleaseUsageError("the hub holds no case records whose consent allows statistics; "
                                "nothing to release")
    return from_arrow(arrow)


def reshaped_audit(hub: Hub, data: CategoricalTable, earlier: list, k: int,
                   length: int) -> Any:
    """The audit of a k-aggregates release of ``data`` (the hub's consenting cases) beside
    the ``earlier`` interval releases of the same counts in other shapes
    (:class:`~safelight.release.reshaped.ReshapedAudit`), over the hub's cases in the union of
    their columns; None when no earlier release kept its true counts."""
    from safelight.release.reshaped import ReshapedAudit

    ok = set(releasable_columns())
    usable = [e for e in earlier if e.true_counts is not None and set(e.columns) <= ok]
    if not usable:
        return None
    cols = list(dict.fromkeys([*data.columns, *(c for e in usable for c in e.columns)]))
    wide = data if cols == list(data.columns) else hub_table(hub, cols)
    return ReshapedAudit(wide, usable, k, length)


class RecordsLeftError(RefusedError):
    """Case records left the released set since an earlier release of the dataset."""


def check_no_records_left(hub: Hub, dataset: str = DATASET, *, allow: bool = False,
                          dp: bool = False, override: str = "release with --after-withdrawal"
                          ) -> None:
    """Refuse a k-method release when case records left the consenting set since the dataset's
    newest earlier k-method release: a consent withdrawal of a record whose consent allowed
    statistics, a later export whose consent for a record no longer allows statistics (both
    counted in ``statistics_departures``, withdrawals without a contribution id; a count that
    stayed the same because new records came with them hid such a departure), or fewer
    consenting cases than that release read. A withdrawal of a record that never had statistics consent, or of
    an id the hub holds no case of, removes nobody from any release and blocks none.

    Two releases either side of a removal differ by the removed persons: a combination whose
    count certainly fell tells what the person who withdrew was — exactly the person who asked to
    be left out. No release method here audits removals, so the release is refused unless
    ``allow`` (the operator accepts the risk, e.g. when the earlier releases were never
    published). Additions are audited by the interval method's successive-release check.

    A DP release (``dp``) is never refused, and DP releases are no baseline. A DP release
    made after a person left does not read them; what it adds, beside an earlier exact release
    that counted them, to what can be learnt of them is bounded by its own guarantee for one
    record substituted (the two worlds an attacker must tell apart differ in the others' data
    by one record), at most twice its ε — where two exact releases either side of a departure
    can show the person outright. A k-method release is checked against the newest earlier
    k-method release (a DP release in between does not hide a departure from it).

    :raises RecordsLeftError: records left since the newest earlier k-method release of
        ``dataset``; its message ends with ``override``, how the caller's interface releases
        all the same.
    """
    if allow or dp:
        return
    cur = hub.con.cursor()
    try:
        last = cur.execute("SELECT release_id, released_at, rows_in FROM releases WHERE dataset = ? "
                           "AND method NOT LIKE 'dp-%' ORDER BY release_id DESC LIMIT 1",
                           [dataset]).fetchone()
        if last is None:
            return
        rid, at, rows_in = last
        withdrawn, departed = cur.execute(
            "SELECT coalesce(sum(records) FILTER (WHERE contribution_id IS NULL), 0), "
            "coalesce(sum(records) FILTER (WHERE contribution_id IS NOT NULL), 0) "
            "FROM statistics_departures WHERE departed_at > ?", [at]).fetchone()
        now = cur.execute("SELECT count(*) FROM cases WHERE consent_statistics").fetchone()[0]
    finally:
        cur.close()
    if withdrawn or departed or (rows_in is not None and now < rows_in):
        what = (f"{withdrawn} consent withdrawal(s)" if withdrawn
                else f"{departed} case record(s) whose consent no longer allows statistics"
                if departed else f"{rows_in - now} fewer consenting case records")
        raise RecordsLeftError(
            f"{what} since release #{rid} of {dataset}: a new release could show, by difference "
            "with that one, what the persons who left were. Refused; if the earlier releases were "
            f"never published, {override} (the risk is yours, see docs/release.md, 'Records "
            "that leave')")


def _kind(column: str) -> Kind:
    return next(f.kind for f in CASE_FIELDS if f.name == column)


def hub_domain(columns: list[str] | tuple[str, ...]) -> Domain:
    """The public domain of hub case columns (see the module docstring)."""
    from safelight.standard.codelists import codelist
    from safelight.standard.geography import countries

    field = {f.name: f for f in CASE_FIELDS}
    values: dict[str, tuple[str, ...]] = {}
    for c in _check_columns(columns):
        f = field[c]
        if c in _YEAR_FIELDS:
            first, last = years()
            values[c] = tuple(str(y) for y in range(first, last + 1))
        elif f.kind is Kind.COUNTRY:
            values[c] = tuple(x.alpha3 for x in countries())
        elif f.kind is Kind.BOOLEAN:
            values[c] = ("true", "false")
        else:
            values[c] = tuple(codelist(f.codelist).codes)
    return Domain(values, "the case standard's code lists (hub columns)")


@dataclass
class HubRelease:
    """One release made from a hub and where it went."""

    release_id: int
    method: str
    folder: Path
    file: Path
    settings: ReleaseSettings
    evaluation: Evaluation
    #: the warnings written with it (settings.json, PUBLISH.txt)
    warnings: tuple[str, ...] = ()


def release_hub(hub: Hub, method: str, out: Path, *, columns: list[str] | None = None,
                k: int = 11, length: int | None = None, epsilon: float | None = None,
                delta: float = 1e-6, quasi_identifiers: list[str] | None = None,
                seed: int = 0, floor: bool = True, actor: str = "cli",
                after_withdrawal: bool = False, allow_out_of_domain: bool = False,
                accept_falls: bool = False,
                on_recorded: Callable[[int, tuple[str, ...]], None] | None = None
                ) -> HubRelease:
    """Release the hub's consenting cases by ``method`` into ``out`` and record it in the
    ledger under :data:`DATASET` (see the module docstring; there is no other dataset to
    charge: a second name for the same cases would escape their budget and the withdrawal
    and successive-release checks). ``out`` must not hold a release already.
    ``on_recorded(release_id, warnings)`` is called once the release is recorded and in
    place, before a Ctrl-C held back meanwhile is raised (the command line says that the
    release is complete, not that nothing was written).

    :raises BudgetExceededError: a DP release over the dataset's budget (nothing written).
    :raises RecordsLeftError: records left since the dataset's newest earlier release and
        ``after_withdrawal`` is not set (see :func:`check_no_records_left`).
    :raises DifferencingError: (aggregates) differencing an earlier release would show a small
        group of records added, changed or gone; a combination shown before and now under k
        after records changed is accepted with ``accept_falls``
        (:meth:`safelight.release.successive.DifferenceAudit._signed`).
    :raises ReleaseUsageError: bad method, columns or parameters, or a column mostly outside
        the public domain (DP methods, unless ``allow_out_of_domain``; nothing charged).
    """
    from safelight.release.dp import check_request, warn_large_delta
    from safelight.release.ledger import BudgetExceededError, Ledger, charge_failed

    if method not in METHODS:
        raise ReleaseUsageError(f"--method must be one of {', '.join(METHODS)} (got {method!r})")
    dp = method.startswith("dp-")
    if dp and epsilon is None:
        raise ReleaseUsageError(f"--method {method} needs --epsilon")
    if not dp and epsilon is not None:
        raise ReleaseUsageError(f"--epsilon applies to dp-aggregates and dp-synthetic, not "
                                f"{method}")
    for given, option in ((not floor, "--no-floor"),
                          (allow_out_of_domain, "--allow-out-of-domain")):
        if given and not dp:  # accepted silently, as if it did something (a trial)
            raise ReleaseUsageError(f"{option} applies to dp-aggregates and dp-synthetic, not "
                                    f"{method} (its combinations are held to k exactly)")
    if quasi_identifiers and method != "microdata":
        raise ReleaseUsageError(f"--quasi-identifiers applies to --method microdata, not "
                                f"{method}")
    if accept_falls and method != "aggregates":
        raise ReleaseUsageError(f"--accept-falls applies to --method aggregates (the only "
                                f"release audited against earlier ones), not {method}")
    out = out_folder(out)
    if out.exists() and not out.is_dir():
        raise ReleaseUsageError(f"--out {out} is a file; give a folder")
    if out.exists() and any(out.iterdir()):
        raise ReleaseUsageError(f"--out {out} is not empty; choose a new folder")
    blocked = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:  # checked before the ledger and the data are touched
        raise ReleaseUsageError(f"--out {out} cannot be created: {blocked} is a file; give a "
                                "folder that can be")
    ledger = Ledger(hub)
    check_no_records_left(hub, DATASET, allow=after_withdrawal, dp=dp)
    eps, dlt = (float(epsilon), float(delta)) if dp and epsilon is not None else (0.0, 0.0)
    if dp:
        check_request(eps, dlt)
    ledger.check(DATASET, eps, dlt)  # before the data is read for noise
    data = hub_table(hub, columns)
    if length is not None and length > data.n_columns:
        log.warning("--length %d is more than the %d columns; using %d", length,
                    data.n_columns, data.n_columns)
        length = data.n_columns
    dropped: dict[str, int] = {}
    if dp:  # restricted before the try: a refusal here is charged nothing
        data, dropped = public_table(data, hub_domain(data.columns),
                                     allow_out_of_domain=allow_out_of_domain)
        warn_large_delta(dlt, data.n_rows)
    t0 = time.perf_counter()
    made = folders_to_make(out)  # a refused release removes the folders only if it made them
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_made_folders(made)  # the parents made before the failure
        raise ReleaseUsageError(f"--out {out} cannot be created ({exc.strerror or exc}); give "
                                "a folder that can be") from None
    recorded = False  # the ledger holds the release: a later failure charges nothing more
    try:
        earlier = ledger.published(DATASET) if method == "aggregates" else []
        beside = (reshaped_audit(hub, data, earlier, k, min(length or 3, data.n_columns))
                  if method == "aggregates" else None)
        # the release file is written hidden and put in place after its ledger record: a run
        # killed even by SIGKILL leaves no release file the ledger does not hold
        final = out / FILES[method]
        length, params, released, ev, meas = _run(method, data, partial_path(final), k,
                                                    length, eps, dlt, quasi_identifiers,
                                                    seed, floor, earlier, dropped,
                                                    accept_falls=accept_falls, beside=beside)
        params.update({"columns": list(data.columns), "rows": data.n_rows,
                       "seconds": round(time.perf_counter() - t0, 3)})
        # the risks the operator accepted stay with the release (settings.json, the ledger)
        params.update({k: True for k, v in (("after_withdrawal", after_withdrawal),
                                            ("accept_falls", accept_falls)) if v})
        source = {"dataset": DATASET, "rows": data.n_rows,
                  "consent": "consent_statistics only"}
        settings = ReleaseSettings(method, k, length, source, params)
        unprotected = ([c for c in data.columns if c not in quasi_identifiers]
                       if quasi_identifiers else [])
        warnings = release_warnings(ledger, method, ev, length=length, columns=data.columns,
                                    k_floor=k if floor else None, unprotected=unprotected,
                                    audited_beside=tuple(beside.used) if beside else (),
                                    k=k)
        for w in warnings:
            log.warning("%s", w)
        settings.save(out / "settings.json", warnings)
        write_evaluation(ev, out, f"{method} from the hub (k = {k})", settings.to_dict())
        if meas is not None and dp:
            eps, dlt = meas.epsilon, meas.delta  # OpenDP's own map, not the request
        sha = file_source(released)["sha256"]
        # the record and the rename with Ctrl-C and SIGTERM held back: a stop between the two
        # would charge a DP release twice (the record, then charge_failed) or leave a record
        # whose file never appeared
        with deferred_interrupts():
            if method == "aggregates":  # with its intervals, for the next release's audit
                rid = ledger.record_aggregates(DATASET, meas, settings.to_dict(), actor=actor,
                                               rows_in=data.n_rows, output_sha256=sha,
                                               output_path=str(final))
            else:
                rid = ledger.record(DATASET, method, settings.to_dict(), actor=actor, k=k,
                                    length=length, epsilon=eps, delta=dlt, rows_in=data.n_rows,
                                    output_sha256=sha, output_path=str(final))
            recorded = True
            os.replace(released, final)
            released = final
            if on_recorded is not None:
                on_recorded(rid, tuple(warnings))
    except BaseException as exc:
        if recorded:  # the ledger holds it (and charged it): its files stay as they are
            raise
        # what this release wrote, by name (never anything else: a file someone put into the
        # folder meanwhile, or a folder another process made, stays), then the folders it made
        for n in WRITTEN_FILES:
            (out / n).unlink(missing_ok=True)
            partial_path(out / n).unlink(missing_ok=True)
        remove_made_folders(made)
        if dp and not isinstance(exc, BudgetExceededError):
            charge_failed(ledger, DATASET, method, eps, dlt, exc, actor=actor,
                          rows_in=data.n_rows, k=k, length=length)
        raise
    log.info("hub release #%d (%s) -> %s", rid, method, out)
    return HubRelease(rid, method, out, released, settings, ev, tuple(warnings))


def release_warnings(ledger: Any, method: str, ev: Evaluation, *, length: int,
                     columns: list[str] | tuple[str, ...],
                     k_floor: int | None = None, unprotected: list[str] | tuple[str, ...] = (),
                     audited_beside: tuple[int | None, ...] = (), k: int | None = None
                     ) -> tuple[str, ...]:
    """The warnings a release of the hub's cases carries (settings.json, PUBLISH.txt, the
    console or the web's release page), for the command line's releases and the web's alike
    (the web's k-synthetic releases lacked the one on earlier releases: a trial): leaked
    combinations by method (microdata: the ``unprotected`` columns; DP: against ``k_floor``;
    k-synthetic: a length under 3), row-level releases after earlier ones of the dataset
    (:func:`_successive_warnings`), k-aggregates beside earlier releases of another method,
    length or columns that the release was not audited beside (``audited_beside``: the ids
    :class:`~safelight.release.reshaped.ReshapedAudit` used; :func:`_other_shape_warnings`),
    k-aggregates at a ``k`` above the earlier ones' (:func:`_larger_k_warnings`), and much
    withheld (:func:`_loss_warnings`)."""
    from safelight.release.microdata import microdata_leak_warning

    if method == "microdata":
        warnings = microdata_leak_warning(ev, list(unprotected))
    elif method.startswith("dp-"):
        warnings = dp_release_warnings(ev, k_floor)
    elif method == "synthetic":  # a length under 3, as the file command says
        warnings = k_leak_warning(ev, f"only combinations of up to {length} values are "
                                      "held to k", "release with --length 3 or more")
    else:
        warnings = k_leak_warning(ev, "the method let them through",
                                  "report it: a k-aggregates release must never do so")
    return (tuple(warnings) + _successive_warnings(ledger, method)
            + _other_shape_warnings(ledger, method, length, columns, audited_beside)
            + _larger_k_warnings(ledger, method, k) + _loss_warnings(ev, method))


def _larger_k_warnings(ledger: Any, method: str, k: int | None) -> tuple[str, ...]:
    """For k-aggregates at a k above every earlier k-aggregates release of the hub's cases:
    from now on the dataset's k-aggregates need that k or more (a smaller one would show the
    combinations this release hides; :func:`~safelight.release.aggregates.release_aggregates`
    refuses it). A trial found the dataset's k raised for good without a word."""
    if method != "aggregates" or k is None:
        return ()
    before = [r["k"] for r in ledger.releases(DATASET)
              if r["method"] == "aggregates" and r["k"] is not None]
    if not before or k <= max(before):
        return ()
    return (f"this release uses k = {k}, more than the earlier k-aggregates releases of "
            f"{DATASET} (k = {max(before)}): every later k-aggregates release of it must use "
            f"k = {k} or more.",)


def _other_shape_warnings(ledger: Any, method: str, length: int,
                          columns: list[str] | tuple[str, ...],
                          audited_beside: tuple[int | None, ...] = (), k: int | None = None
                     ) -> tuple[str, ...]:
    """For k-aggregates after earlier releases of the hub's cases of another method, length
    or set of columns that the release was not audited beside (row-level releases; k-aggregates
    whose counts changed since, or recorded without their true counts): the successive-release
    audit protects the records added, changed or gone in between, not the same people seen
    through tables of another shape, whose intervals an attacker can intersect. A trial
    narrowed 152 small cells of an unchanged hub below the rule (one child's cell to [1, 5])
    from releases at lengths 3, 1 and 2 before that audit, and 69 from microdata beside
    aggregates."""
    if method != "aggregates":
        return ()
    other = []
    for r in ledger.releases(DATASET):
        if r["release_id"] in audited_beside:
            continue
        params = r["params"]
        params = json.loads(params) if isinstance(params, str) else params or {}
        inner = params.get("params") if isinstance(params.get("params"), dict) else {}
        if "failed" in params:
            continue
        if r["method"] != "aggregates" or r["reporting_length"] != length or sorted(
                inner.get("columns") or ()) != sorted(columns):
            other.append(f"#{r['release_id']}")
    if not other:
        return ()
    shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
    return (f"earlier releases of {DATASET} ({shown}) have another method, length or set of "
            "columns, and this release was not audited beside them (row-level releases, or "
            "counts that changed since): the audit against them covers the records added, "
            "changed or gone, not the same people seen through tables of another shape — "
            "intersecting them with this release can narrow small cells below the rule. "
            "Publish k-aggregates of one length and one set of columns, or this release only "
            "if those were never published.",)


#: a share of the common combinations withheld over which a release is warned about
LOST_WARN = 0.25


def _loss_warnings(ev: Evaluation, method: str) -> tuple[str, ...]:
    """A warning when a release withholds much of what it could show, with what withheld it
    and what withholds less, by method (k-aggregates: deferred for earlier releases, a coarse
    grid, a small table; the row-level k methods: recoding and blanking, or the reporting
    rule; DP methods: the noise and the k floor). A trial found the row-level releases sent
    to settings.json for a reason only k-aggregates record there."""
    lost = ev.lost_share()
    if lost <= LOST_WARN:
        return ()
    head = f"{lost:.0%} of the combinations that hold k or more people are withheld from this "
    if method.startswith("dp-"):
        return (head + "release: their noisy counts fell under the k floor; check it is worth "
                "publishing — a larger epsilon, fewer columns or a shorter --length withhold "
                "less",)
    if method == "aggregates":
        return (head + "release (settings.json says why: deferred for earlier releases, "
                "withheld as a last resort, ...); check it is worth publishing — fewer "
                "columns, a shorter --length or the k of the earlier releases withhold less",)
    why = ("recoded or blanked to reach k" if method == "microdata"
           else "left out by the reporting rule (no combination under k)")
    return (head + f"release ({why}); check it is worth publishing — fewer columns "
            + ("or quasi-identifiers " if method == "microdata" else "or a shorter --length ")
            + "withhold less",)


def _successive_warnings(ledger: Any, method: str) -> tuple[str, ...]:
    """For row-level releases (k-synthetic data, k-anonymous microdata) after earlier
    releases of the hub's cases: they are not audited against those (only k-aggregates are),
    and comparing two such files shows the rows of the records added or changed between
    them — k holds within each release, not across releases."""
    if method not in ("synthetic", "microdata") or not ledger.releases(DATASET):
        return ()
    return (f"this {method} release follows earlier releases of {DATASET}; row-level releases "
            "are not audited against earlier ones, and comparing two of them shows the rows of "
            "the records added or changed in between (k holds within one release, not across "
            "releases). Publish row-level data once, or publish k-aggregates, which are "
            "audited.",)


def _run(method: str, data: CategoricalTable, target: Path, k: int, length: int | None,
         epsilon: float, delta: float, qis: list[str] | None, seed: int, floor: bool,
         earlier: list | None = None, dropped: dict[str, int] | None = None, *,
         accept_falls: bool = False, beside: Any = None
         ) -> tuple[int, dict[str, Any], Path, Evaluation, Any]:
    """Run one method with the stage's functions; write its file (a DP method's ``data`` is
    restricted to the public domain already, ``dropped`` the values it lost). Returns the
    length, the parameters, the file, the evaluation and what the ledger needs besides: the DP
    measurement, or the aggregate release itself (its intervals, for the successive-release
    audit). A length over the number of columns (given or the method's default) is that
    number."""
    cap = data.n_columns
    if method == "aggregates":
        from safelight.release.aggregates import release_aggregates, write_aggregates

        length = min(length or 3, cap)
        rel = release_aggregates(data, k, length, earlier=earlier or (),
                                 accept_falls=accept_falls, beside=beside)
        write_aggregates(rel, target)
        return length, rel.summary(), target, evaluate(data, rel.counts, k, length), rel
    if method == "synthetic":
        from safelight.release.synthetic import KSynthesizer

        length = min(length or 4, cap)
        syn, rep = KSynthesizer(k, length, seed=seed).fit_sample(data)
        write_csv(syn, target)
        ev_len = rows_evaluation_length(length, cap)
        ev = evaluate(data, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
        return length, {"seed": seed, "iterations": rep.iterations}, target, ev, None
    if method == "microdata":
        from safelight.release.microdata import anonymize, evaluation_view

        an = anonymize(data, k, qis)
        write_csv(an.table, target)
        view = evaluation_view(an.table, data)
        ev = evaluate(data, counts_of_rows(view, min(3, cap)), k, min(3, cap),
                      released_rows=view)
        return (min(3, cap), {"quasi_identifiers": an.quasi_identifiers, **an.summary()},
                target, ev, None)
    public = data
    k_floor = k if floor else None
    if method == "dp-aggregates":
        from safelight.release.aggregates import write_aggregates
        from safelight.release.dp_aggregates import release_dp_aggregates

        length = min(length or 3, cap)
        rel, meas = release_dp_aggregates(public, epsilon, delta, length, k_floor)
        write_aggregates(rel, target)
        ev = evaluate(public, rel.counts, k, length)
        params = {"noisy_total": rel.total, "released_combinations":
                  rel.counts.n_combinations()}
    else:
        from safelight.release.dp_synthetic import synthesis_length, synthesize_dp

        length = min(length or synthesis_length(epsilon), cap)
        syn, _, meas = synthesize_dp(public, epsilon, delta, k_floor, length, seed=seed)
        write_csv(syn, target)
        ev_len = rows_evaluation_length(length, cap)
        ev = evaluate(public, counts_of_rows(syn, ev_len), k, ev_len, released_rows=syn)
        params = {"synthetic_rows": syn.n_rows, "noisy_total": round(float(meas.total), 2),
                  "seed": seed}
    ev.values_outside_domain = dict(dropped or {})
    # the plan, the floor's rule as applied and the candidates' rule, as for a file's release,
    # so a later reader knows what ">= k" meant and how the budget was split
    params.update({**meas.release_params(), "k_floor": k_floor, "domain": "case standard",
                   "values_outside_domain": dict(dropped or {})})
    return length, params, target, ev, meas


__all__ = ["DATASET", "DEFAULT_COLUMNS", "METHODS", "HubRelease", "RecordsLeftError",
           "check_no_records_left", "hub_domain", "hub_table", "releasable_columns", "release_hub",
           "release_warnings", "reshaped_audit"]
