"""The release ledger: every release of a hub's data is recorded, and a release whose privacy
cost would take a dataset past its budget is refused.

Contract: :meth:`Ledger.record` checks the budget, inserts the release and appends an audit
entry in one transaction — either all three happen or none. Cost is accounted by basic
(sequential) composition: the epsilons and deltas of a dataset's releases add up. The tables are
created by store migration 4.

Interval k-aggregates recorded with :meth:`Ledger.record_aggregates` keep, in the release's
parameters, every published interval (and, for combinations deferred by the successive-release
audit, an upper bound on their count on the publishing grid — hub-internal: a ledger listing
shown to anyone but the operator should drop ``published_intervals.held``); :meth:`Ledger.published`
hands them to the next release of the same dataset
(``release_aggregates(..., earlier=ledger.published(dataset))``), which is then audited against
differencing with each of them (:mod:`safelight.release.successive`). The record also keeps
the release's **true** combination counts (``published_intervals.true``), so that the next audit
knows exactly how many added records hold each combination; they are as sensitive as the data,
stay in the hub and are dropped, with the rest of ``published_intervals``, from every listing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safelight.errors import RefusedError
from safelight.release.errors import PlanningError, ReleaseError
from safelight.store import Hub
from safelight.store.hub import now_utc

if TYPE_CHECKING:
    from safelight.release.aggregates import AggregateRelease
    from safelight.release.successive import PublishedIntervals

log = logging.getLogger("safelight.release.ledger")

PUBLISHED_KEY = "published_intervals"
#: params key of a file release's input SHA-256 (:meth:`Ledger.datasets_of_source`)
SOURCE_KEY = "source_sha256"
#: params key of the SHA-256 of a file release's content
#: (:func:`~safelight.release.table.content_fingerprint`: the same rows, whatever the bytes)
CONTENT_KEY = "source_content_sha256"

_EPS_SLACK = 1e-12
#: δ budget a new dataset gets when ``release budget`` is given no ``--delta`` (ten releases at
#: the commands' default δ = 1e-6).
DEFAULT_BUDGET_DELTA = 1e-5


class BudgetExceededError(ReleaseError, RefusedError):
    """A release would take a dataset's cumulative privacy loss past its budget (or the
    dataset has none): refused by policy, exit code 8."""

    exit_code = RefusedError.exit_code


@dataclass(frozen=True)
class Spent:
    """Cumulative privacy loss of a dataset and its budget (``None`` if none is set)."""

    dataset: str
    epsilon: float
    delta: float
    releases: int
    budget_epsilon: float | None
    budget_delta: float | None


class Ledger:
    """The ledger of one hub (its ``releases`` and ``privacy_budgets`` tables)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        present = {r[0] for r in hub.con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        if not {"releases", "privacy_budgets"} <= present:
            raise ReleaseError(f"{hub.path}: this hub has no release ledger yet; upgrade "
                               "safelight and open the hub once to migrate it")

    def set_budget(self, dataset: str, epsilon: float, delta: float | None = None,
                   actor: str = "cli") -> Spent:
        """Set (or replace) the total privacy budget of ``dataset`` (audited); returns what is
        spent against it. ``delta=None`` keeps the dataset's δ budget, or gives a new one
        :data:`DEFAULT_BUDGET_DELTA`. A budget below what is already spent is set (it closes
        the dataset to DP releases) with a warning."""
        if delta is None:
            old = self.spent(dataset).budget_delta
            delta = DEFAULT_BUDGET_DELTA if old is None else old
        if not (epsilon >= 0 and epsilon < float("inf")) or not 0 <= delta < 1:
            raise ReleaseError(f"budget must have a finite epsilon >= 0 and 0 <= delta < 1 "
                               f"(got {epsilon}, {delta})")
        with self.hub.transaction():
            self.hub.con.execute(
                "INSERT OR REPLACE INTO privacy_budgets VALUES (?, ?, ?, ?, ?)",
                [dataset, epsilon, delta, now_utc(), actor])
            self.hub.audit(actor, "release.budget", dataset, {"epsilon": epsilon, "delta": delta})
        s = self.spent(dataset)
        if s.epsilon > epsilon + _EPS_SLACK or s.delta > delta + _EPS_SLACK:
            log.warning("%s: the new budget (epsilon %g, delta %g) is below what is already "
                        "spent (epsilon %g, delta %g): no further differentially private release "
                        "of it is possible", dataset, epsilon, delta, s.epsilon, s.delta)
        return s

    def datasets(self) -> list[str]:
        """Every dataset the ledger knows — one with a budget or a recorded release — sorted."""
        return [r[0] for r in self.hub.con.execute(
            "SELECT dataset FROM privacy_budgets UNION SELECT dataset FROM releases "
            "ORDER BY 1").fetchall()]

    def spent(self, dataset: str) -> Spent:
        """Cumulative (epsilon, delta) of ``dataset`` by basic composition."""
        eps, delta, n = self.hub.con.execute(
            "SELECT coalesce(sum(epsilon), 0), coalesce(sum(delta), 0), count(*) "
            "FROM releases WHERE dataset = ?", [dataset]).fetchone()
        budget = self.hub.con.execute(
            "SELECT epsilon, delta FROM privacy_budgets WHERE dataset = ?", [dataset]).fetchone()
        return Spent(dataset, float(eps), float(delta), int(n),
                     None if budget is None else float(budget[0]),
                     None if budget is None else float(budget[1]))

    def check(self, dataset: str, epsilon: float, delta: float = 0.0) -> Spent:
        """Raise :class:`BudgetExceededError` if a release costing (epsilon, delta) would take
        ``dataset`` past its budget. A DP release on a dataset without a budget is refused."""
        s = self.spent(dataset)
        if epsilon == 0 and delta == 0:
            return s
        if s.budget_epsilon is None or s.budget_delta is None:
            raise BudgetExceededError(
                f"{dataset}: no privacy budget is set; set one before a differentially private "
                f"release: safelight release budget HUB {dataset} --epsilon E [--delta D]")
        over = [name for name, used, ask, cap in (
            ("epsilon", s.epsilon, epsilon, s.budget_epsilon),
            ("delta", s.delta, delta, s.budget_delta)) if used + ask > cap + _EPS_SLACK]
        if over:
            fix = " and ".join(f"a smaller {name}" for name in over)
            costly = self.hub.con.execute(  # k-method releases (epsilon 0) spent nothing
                "SELECT count(*) FROM releases WHERE dataset = ? AND (epsilon > 0 OR delta > 0)",
                [dataset]).fetchone()[0]
            raise BudgetExceededError(
                f"{dataset}: this release (epsilon {epsilon:g}, delta {delta:g}) would go over "
                f"the budget's {' and '.join(over)}: the budget of epsilon "
                f"{s.budget_epsilon:g}, delta {s.budget_delta:g} has epsilon "
                f"{max(s.budget_epsilon - s.epsilon, 0):g}, delta "
                f"{max(s.budget_delta - s.delta, 0):g} left after {costly} earlier "
                f"differentially private release(s); release with {fix}, or ask the hub operator to raise the budget")
        return s

    def record(self, dataset: str, method: str, params: dict[str, Any], *,
               actor: str = "cli", k: int | None = None, length: int | None = None,
               epsilon: float = 0.0, delta: float = 0.0, rows_in: int | None = None,
               output_sha256: str | None = None, output_path: str | None = None,
               source_sha256: str | None = None,
               source_content_sha256: str | None = None) -> int:
        """Check the budget, record the release and audit it, in one transaction; returns the
        release id. Raises :class:`BudgetExceededError` (nothing recorded) if over budget.
        ``source_sha256`` and ``source_content_sha256`` (a file's release: its bytes' and its
        content's SHA-256) are kept in ``params`` for :meth:`datasets_of_source`."""
        for key, value in ((SOURCE_KEY, source_sha256), (CONTENT_KEY, source_content_sha256)):
            if value is not None:
                params = {**params, key: value}
        with self.hub.transaction():
            self.check(dataset, epsilon, delta)
            rid = int(self.hub.con.execute("SELECT nextval('release_ids')").fetchone()[0])
            entry = self.hub.audit(actor, "release", f"{dataset}#{rid}", {
                "method": method, "k": k, "length": length, "epsilon": epsilon,
                "delta": delta, "output_sha256": output_sha256,
                **({"failed": True} if "failed" in params else {})})
            self.hub.con.execute(
                "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rid, dataset, method, now_utc(), actor, k, length, epsilon, delta, rows_in,
                 output_sha256, output_path, json.dumps(params, sort_keys=True, default=str),
                 entry.seq])
        return rid

    def datasets_of_source(self, sha256: str, content_sha256: str | None = None) -> set[str]:
        """The datasets under which the file of this SHA-256 — or a file of the same content
        (``content_sha256``, recorded since the ledger kept it) — was charged a privacy cost:
        its own default name (``sha256:<hex>``) or a name given with it (``--dataset``)."""
        rows = self.hub.con.execute(
            "SELECT DISTINCT dataset FROM releases WHERE (epsilon > 0 OR delta > 0) AND "
            f"(dataset = ? OR json_extract_string(params, '$.{SOURCE_KEY}') = ? "
            f"OR json_extract_string(params, '$.{CONTENT_KEY}') = ?)",
            [f"sha256:{sha256}", sha256, content_sha256]).fetchall()
        return {r[0] for r in rows}

    def record_failed(self, dataset: str, method: str, epsilon: float, delta: float,
                      reason: str, *, actor: str = "cli", rows_in: int | None = None,
                      source_sha256: str | None = None,
                      source_content_sha256: str | None = None, k: int | None = None,
                      length: int | None = None) -> int:
        """Charge a differentially private release that failed once its data had been read:
        the noise may have been drawn, and whether and how it failed may depend on it ("nothing
        clears the floor"), so the requested (ε, δ) counts as spent — otherwise failing
        attempts could be repeated at no cost. Recorded like a release, without an output,
        ``params = {"failed": reason}``; returns its id."""
        return self.record(dataset, method, {"failed": reason}, actor=actor, epsilon=epsilon,
                           delta=delta, rows_in=rows_in, source_sha256=source_sha256,
                           source_content_sha256=source_content_sha256, k=k, length=length)

    def record_aggregates(self, dataset: str, release: AggregateRelease,
                          params: dict[str, Any] | None = None, **kwargs: Any) -> int:
        """Record an interval k-aggregates release with everything the successive-release
        audit needs (its published intervals; see the module docstring). ``kwargs`` go to
        :meth:`record` (``actor``, ``rows_in``, ``output_sha256``, ``output_path``)."""
        from safelight.release.successive import published_intervals

        pub = published_intervals(release)
        full = dict(params or {})
        full[PUBLISHED_KEY] = json.loads(pub.to_json())
        return self.record(dataset, "aggregates", full, k=release.k, length=release.length,
                           **kwargs)

    def published(self, dataset: str) -> list[PublishedIntervals]:
        """The published intervals of every earlier interval k-aggregates release of
        ``dataset``, oldest first (releases recorded without them are skipped)."""
        from safelight.release.successive import PublishedIntervals

        out = []
        for r in self.releases(dataset):
            params = json.loads(r["params"]) if isinstance(r["params"], str) else r["params"]
            if isinstance(params, dict) and PUBLISHED_KEY in params:
                out.append(PublishedIntervals.from_json(params[PUBLISHED_KEY],
                                                        int(r["release_id"])))
        return out

    def releases(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Recorded releases, oldest first (optionally of one dataset)."""
        sql = "SELECT * FROM releases"
        args: list[Any] = []
        if dataset is not None:
            sql += " WHERE dataset = ?"
            args.append(dataset)
        cur = self.hub.con.execute(sql + " ORDER BY release_id", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def charge_failed(ledger: Ledger, dataset: str, method: str, epsilon: float, delta: float,
                  exc: BaseException, *, actor: str = "cli", rows_in: int | None = None,
                  **kwargs: Any) -> None:
    """:meth:`Ledger.record_failed` for a DP release that raised ``exc`` after reading its
    data; a failure to record is logged (the original error is what the caller re-raises).
    A :class:`~safelight.release.errors.PlanningError` is not charged: it is raised before the
    rows are measured (no noise drawn)."""
    if isinstance(exc, PlanningError):
        return
    reason = f"{type(exc).__name__}: {exc}"[:300]  # kwargs: source_sha256(s), k, length
    try:
        rid = ledger.record_failed(dataset, method, epsilon, delta, reason, actor=actor,
                                   rows_in=rows_in, **kwargs)
        log.warning("%s: the failed release is charged to the ledger (#%d, epsilon %g, delta "
                    "%g): its noise may have been drawn", dataset, rid, epsilon, delta)
    except Exception:  # noqa: BLE001 - the release's own error matters more
        log.exception("%s: could not charge the failed release to the ledger", dataset)


__all__ = ["CONTENT_KEY", "DEFAULT_BUDGET_DELTA", "PUBLISHED_KEY", "SOURCE_KEY", "BudgetExceededError", "Ledger", "Spent",
           "charge_failed"]
