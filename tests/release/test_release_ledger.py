"""The release ledger: recording, budget accounting, refusal, audit chain."""

from __future__ import annotations

import pytest

from safelight.release.errors import ReleaseError
from safelight.release.ledger import BudgetExceededError, Ledger


@pytest.fixture
def ledger(hub):
    return Ledger(hub)  # the ledger tables come from store migration 4


def test_refuses_over_budget_release(ledger, hub) -> None:
    ledger.set_budget("hub:cases", epsilon=2.0, delta=1e-6)
    ledger.record("hub:cases", "dp-aggregates", {"epsilon": 1.0}, epsilon=1.0, delta=1e-7)
    ledger.record("hub:cases", "dp-synthetic", {"epsilon": 0.5}, epsilon=0.5)
    with pytest.raises(BudgetExceededError, match="over the budget's epsilon: the budget of epsilon 2"):
        ledger.record("hub:cases", "dp-synthetic", {"epsilon": 1.0}, epsilon=1.0)
    s = ledger.spent("hub:cases")
    assert s.releases == 2 and s.epsilon == pytest.approx(1.5)
    # exactly up to the budget is allowed
    ledger.record("hub:cases", "dp-aggregates", {}, epsilon=0.5)
    assert ledger.spent("hub:cases").epsilon == pytest.approx(2.0)
    ok, msg = hub.verify_audit()
    assert ok, msg
    actions = [r[0] for r in hub.con.execute("SELECT action FROM audit_log").fetchall()]
    assert actions.count("release") == 3 and "release.budget" in actions


def test_dp_release_needs_a_budget_k_release_does_not(ledger) -> None:
    with pytest.raises(BudgetExceededError, match="no privacy budget"):
        ledger.record("sha256:abc", "dp-aggregates", {}, epsilon=1.0)
    rid = ledger.record("sha256:abc", "aggregates", {"k": 11}, k=11, length=3,
                        output_sha256="f" * 64)
    rows = ledger.releases("sha256:abc")
    assert [r["release_id"] for r in rows] == [rid] and rows[0]["k"] == 11
    assert rows[0]["epsilon"] == 0


def test_every_new_hub_has_the_ledger(hub) -> None:
    assert hub.schema_version() >= 4 and Ledger(hub).releases("anything") == []


def test_bad_budget(ledger) -> None:
    with pytest.raises(ReleaseError):
        ledger.set_budget("x", epsilon=-1)
