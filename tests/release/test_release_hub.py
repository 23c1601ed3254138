"""``release hub``: a release straight from a hub's consenting cases, with the ledger."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from safelight.release.cli import release
from safelight.release.errors import ReleaseUsageError
from safelight.release.hub import DATASET, hub_domain, hub_table, release_hub
from safelight.release.ledger import BudgetExceededError, Ledger

N, WITHDRAWN = 900, 120


def _fill(hub) -> None:
    """N cases made by the test; the last WITHDRAWN have no statistics consent and carry a
    value ('not_a_victim') nobody else has, so any leak of them shows."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N):
        out = i >= N - WITHDRAWN
        rows.append((
            "agency", f"r{i}", 1, i,
            str(rng.choice(["female", "male"], p=[0.7, 0.3])),
            str(rng.choice(["18-20", "21-23", "30-38"])),
            str(rng.choice(["UKR", "PHL", "NGA"], p=[0.5, 0.3, 0.2])),
            int(rng.choice([2019, 2020])),
            "not_a_victim" if out else str(rng.choice(["actual", "possible"])),
            bool(rng.random() < 0.5), not out, not out))
    names = ["contributor", "record_id", "contribution_id", "source_row", "gender", "age_band",
             "citizenship", "year_of_registration", "trafficking_status", "is_abduction",
             "consent_linkage", "consent_statistics"]
    new_cases = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    hub.con.register("new_cases", new_cases)
    hub.con.execute(f"INSERT INTO cases ({', '.join(names)}) SELECT * FROM new_cases")
    hub.con.unregister("new_cases")


COLS = ["gender", "age_band", "citizenship", "year_of_registration", "trafficking_status",
        "is_abduction"]


def test_hub_table_keeps_only_consenting_cases_and_case_columns(hub) -> None:
    _fill(hub)
    t = hub_table(hub, COLS)
    assert t.n_rows == N - WITHDRAWN
    assert "not_a_victim" not in t.values[COLS.index("trafficking_status")]
    assert t.values[COLS.index("is_abduction")] == ("false", "true")
    with pytest.raises(ReleaseUsageError, match="cannot be released"):
        hub_table(hub, ["gender", "given_name"])
    with pytest.raises(ReleaseUsageError, match="cannot be released"):
        hub_table(hub, ["record_id"])
    dom = hub_domain(COLS)
    assert "UKR" in dom.values["citizenship"] and len(dom.values["citizenship"]) > 240
    assert "not_a_victim" in dom.values["trafficking_status"]  # public code list, not data


def test_k_release_from_hub_is_written_and_recorded(hub, tmp_path) -> None:
    _fill(hub)
    rel = release_hub(hub, "aggregates", tmp_path / "agg", columns=COLS, k=11, length=2)
    assert rel.file.name == "aggregates.csv" and rel.file.is_file()
    settings = json.loads((tmp_path / "agg" / "settings.json").read_text("utf-8"))
    assert settings["source"]["rows"] == N - WITHDRAWN
    assert str(hub.path) not in (tmp_path / "agg" / "settings.json").read_text("utf-8")
    assert "not_a_victim" not in rel.file.read_text("utf-8")
    ev = json.loads((tmp_path / "agg" / "evaluation.json").read_text("utf-8"))
    assert ev["leaked"] == 0 and ev["sensitive_rows"] == N - WITHDRAWN
    rows = Ledger(hub).releases()
    assert [(r["dataset"], r["method"], r["epsilon"]) for r in rows] == [
        (DATASET, "aggregates", 0.0)]
    mic = release_hub(hub, "microdata", tmp_path / "mic", columns=COLS, k=11)
    assert mic.release_id != rel.release_id and mic.file.name == "microdata.csv"


def test_dp_release_from_hub_is_charged_and_refused_over_budget(hub, tmp_path) -> None:
    _fill(hub)
    ledger = Ledger(hub)
    with pytest.raises(BudgetExceededError, match="no privacy budget"):
        release_hub(hub, "dp-aggregates", tmp_path / "none", columns=COLS, epsilon=1.0)
    ledger.set_budget(DATASET, 1.5, 1e-5)
    rel = release_hub(hub, "dp-aggregates", tmp_path / "dp", columns=COLS, epsilon=1.0,
                      length=2)
    spent = ledger.spent(DATASET)
    assert 0.9 < spent.epsilon <= 1.0 and spent.releases == 1
    recorded = json.loads(hub.con.execute("SELECT params FROM releases").fetchall()[-1][0])
    params = recorded["params"]
    # the floor's weights as this release applied them (they follow the shown share)
    assert params["k_floor"] == 11
    assert {"measured", "extrapolated"} <= set(params["floor_weights"])
    assert 0.75 <= params["floor_weights"]["extrapolated"] <= 1.0
    # and which values the model could weigh at all (the candidate rule)
    from safelight.release.pgm import POOLED_SD, SAMPLE_SD

    assert params["candidate_rule"] == {"sample_sd": SAMPLE_SD, "pooled_sd": POOLED_SD}
    # and how the budget was split, as a release from a file records it (the adaptive plan's
    # share of the row histogram, chosen from the noisy total; the noise scales; mechanisms)
    assert 0 < params["row_share"] <= params["reference_row_share"]
    assert params["total_share"] > 0 and params["sigma_rows"] > 0
    assert "make_adaptive_composition" in params["mechanisms"]
    # every marginal's own noise s.d. (the total's too), under its columns' names
    by_marginal = params["sigma_by_marginal"]
    assert "(total)" in by_marginal and f"{COLS[0]}+{COLS[1]}" in by_marginal
    assert all(v > 0 for v in by_marginal.values())
    # consent: the WITHDRAWN records never enter the release. (Their code, 'not_a_victim', is
    # public, so unseeded noise may show it with a fabricated count — at epsilon 1 as high as
    # 60 was seen — so its released count cannot tell; the measured rows and the evaluation can.)
    settings = json.loads((rel.file.parent / "settings.json").read_text("utf-8"))
    assert settings["source"]["rows"] == N - WITHDRAWN
    ev = json.loads((rel.file.parent / "evaluation.json").read_text("utf-8"))
    assert ev["sensitive_rows"] == N - WITHDRAWN
    # a second epsilon-1 release would pass the budget: refused, nothing written or recorded
    with pytest.raises(BudgetExceededError, match="over the budget"):
        release_hub(hub, "dp-synthetic", tmp_path / "dp2", columns=COLS, epsilon=1.0)
    assert not (tmp_path / "dp2").exists() or not any((tmp_path / "dp2").iterdir())
    assert ledger.spent(DATASET).releases == 1
    with pytest.raises(ReleaseUsageError, match="needs --epsilon"):
        release_hub(hub, "dp-synthetic", tmp_path / "x", columns=COLS)


def test_cli_release_hub(hub, tmp_path) -> None:
    _fill(hub)
    path = hub.path
    hub.close()
    out = tmp_path / "syn"
    res = CliRunner().invoke(release, ["hub", str(path), "--method", "synthetic", "--out",
                                       str(out), "--columns", ",".join(COLS), "--k", "11",
                                       "--length", "3", "--actor", "analyst"])
    assert res.exit_code == 0, res.output
    assert "release #1" in res.output and (out / "synthetic.csv").is_file()
    res = CliRunner().invoke(release, ["hub", str(path), "--method", "dp-aggregates", "--out",
                                       str(tmp_path / "dp"), "--epsilon", "1"])
    assert res.exit_code == 8 and "budget" in res.output  # refused by policy
    res = CliRunner().invoke(release, ["hub", str(path), "--method", "aggregates", "--out",
                                       str(out)])
    assert res.exit_code != 0 and "not empty" in res.output
    (tmp_path / "precious.csv").write_text("x")  # an --out under a file: no traceback
    res = CliRunner().invoke(release, ["hub", str(path), "--method", "aggregates", "--out",
                                       str(tmp_path / "precious.csv" / "rel")])
    assert res.exit_code == 2 and "precious.csv is a file" in res.output
    assert not _aggregate_releases(path)  # nothing recorded


def _aggregate_releases(path) -> list:
    from safelight.store import open_hub

    with open_hub(path) as h:
        return h.con.execute("SELECT release_id FROM releases WHERE method = 'aggregates'"
                             ).fetchall()


def test_a_release_after_records_left_is_refused_unless_the_operator_accepts(hub, tmp_path) -> None:
    """Two releases either side of a withdrawal differ by the person who withdrew."""
    from safelight.release.hub import RecordsLeftError

    _fill(hub)
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)
    release_hub(hub, "synthetic", tmp_path / "more", columns=COLS, k=11, length=2)  # nothing left
    with hub.transaction():
        hub.con.execute("UPDATE cases SET consent_statistics = false WHERE record_id = 'r7'")
    with pytest.raises(RecordsLeftError, match="fewer consenting case records"):
        release_hub(hub, "aggregates", tmp_path / "second", columns=COLS, k=11, length=2)
    assert not (tmp_path / "second").exists()
    hub.withdraw_consent("agency", ["r8"], actor="test")
    for method in ("aggregates", "microdata", "synthetic"):
        with pytest.raises(RecordsLeftError, match="consent withdrawal"):
            release_hub(hub, method, tmp_path / f"again-{method}", columns=COLS, k=11, length=2)
    rel = release_hub(hub, "aggregates", tmp_path / "accepted", columns=COLS, k=11, length=2,
                      after_withdrawal=True)
    assert rel.release_id == 3
    with hub.transaction():
        hub.con.execute("UPDATE cases SET consent_statistics = false WHERE record_id = 'r9'")
    path = hub.path
    hub.close()
    r = CliRunner().invoke(release, ["hub", str(path), "--method", "aggregates", "--out",
                                     str(tmp_path / "cli"), "--columns", ",".join(COLS)])
    assert r.exit_code == 8 and "fewer consenting case records" in r.output
    r = CliRunner().invoke(release, ["hub", str(path), "--method", "aggregates", "--out",
                                     str(tmp_path / "cli"), "--columns", ",".join(COLS),
                                     "--after-withdrawal"])
    assert r.exit_code == 0, r.output


def test_dp_releases_need_no_override_after_withdrawals_and_hide_none(hub, tmp_path) -> None:
    """DP bounds what releases either side of a departure reveal by their epsilon: a DP release
    after a withdrawal is not refused. A k-method release is still checked against the newest
    k-method release: a DP release in between does not hide the departure."""
    from safelight.release.hub import RecordsLeftError
    from safelight.release.ledger import Ledger

    _fill(hub)
    Ledger(hub).set_budget(DATASET, 3.0, 1e-5)
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)
    hub.withdraw_consent("agency", ["r8"], actor="test")
    rel = release_hub(hub, "dp-aggregates", tmp_path / "dp", columns=COLS, epsilon=1.0,
                      length=2)
    assert "after_withdrawal" not in rel.settings.params
    with pytest.raises(RecordsLeftError, match="consent withdrawal"):
        release_hub(hub, "aggregates", tmp_path / "second", columns=COLS, k=11, length=2)


def test_a_withdrawal_drops_the_ledgers_true_counts(hub, tmp_path) -> None:
    """The ledger keeps a k-aggregates release's true counts for the next audit; they describe
    a person who later withdraws, so the withdrawal drops them (the audit falls back to the
    published bounds) and nothing else in the ledger changes."""
    _fill(hub)
    release_hub(hub, "aggregates", tmp_path / "first", columns=COLS, k=11, length=2)

    def stored():
        params = json.loads(hub.con.execute(
            "SELECT params FROM releases ORDER BY release_id").fetchall()[0][0])
        return params["published_intervals"]

    assert stored().get("true")
    before = {k: v for k, v in stored().items() if k != "true"}
    counts = hub.withdraw_consent("agency", ["r8"], actor="test")
    assert counts["release_true_counts_dropped"] == 1
    assert "true" not in stored() and stored() == before
    earlier = Ledger(hub).published(DATASET)
    assert len(earlier) == 1 and earlier[0].true_counts is None


def test_a_failed_dp_release_from_hub_is_charged(hub, tmp_path, monkeypatch) -> None:
    # the noise is drawn, then a later step fails: the attempt costs its epsilon, so that
    # failing releases cannot be repeated for free by someone who does not hold the data
    import safelight.release.dp_synthetic as dps
    from safelight.release.errors import ReleaseUsageError

    def fail(*args, **kwargs):
        raise ReleaseUsageError("nothing clears the floor (simulated)")

    monkeypatch.setattr(dps, "fit_model", fail)
    _fill(hub)
    ledger = Ledger(hub)
    ledger.set_budget(DATASET, 1.5, 1e-5)
    with pytest.raises(ReleaseUsageError, match="nothing clears the floor"):
        release_hub(hub, "dp-synthetic", tmp_path / "dp" / "2026" / "q4", columns=COLS,
                    epsilon=1.0)
    spent = ledger.spent(DATASET)
    assert spent.releases == 1 and abs(spent.epsilon - 1.0) < 1e-9
    assert not (tmp_path / "dp").exists()  # with the parent folders it made
    with pytest.raises(BudgetExceededError):  # the retry would bring it to 2 > 1.5
        release_hub(hub, "dp-synthetic", tmp_path / "dp2", columns=COLS, epsilon=1.0)


def test_options_of_another_method_are_refused(hub, tmp_path) -> None:
    """--quasi-identifiers with a DP method was ignored without a word."""
    _fill(hub)
    with pytest.raises(ReleaseUsageError, match="--quasi-identifiers applies to --method "
                                                "microdata"):
        release_hub(hub, "dp-synthetic", tmp_path / "x", columns=COLS, epsilon=1.0,
                    quasi_identifiers=["gender"])
    assert not (tmp_path / "x").exists()


def test_a_hub_release_over_fewer_columns_than_its_length(hub, tmp_path) -> None:
    """Two columns and the method's default length 4 (k-synthetic): the evaluation reported
    a "0.000" error for a length no combination has (DP trial, 2026-12-01)."""
    _fill(hub)
    rel = release_hub(hub, "synthetic", tmp_path / "s", columns=COLS[:2], k=11)
    settings = json.loads((rel.file.parent / "settings.json").read_text("utf-8"))
    ev = json.loads((rel.file.parent / "evaluation.json").read_text("utf-8"))
    assert settings["length"] == 2
    assert ev["max_length"] == 2 and [r["length"] for r in ev["by_length"]] == [1, 2]


def test_a_hub_release_file_appears_only_after_its_ledger_record(hub, tmp_path,
                                                                 monkeypatch) -> None:
    """Killed (SIGKILL) between writing its file and recording it, a hub release left a
    release file the ledger did not hold — a DP release's budget uncounted. The file is now
    written hidden, recorded (its hash), then renamed into place."""
    _fill(hub)
    out = tmp_path / "syn"
    record = Ledger.record
    seen = []

    def watching(self, *args, **kwargs):
        seen.append(sorted(p.name for p in out.iterdir()))
        return record(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "record", watching)
    rel = release_hub(hub, "synthetic", out, columns=COLS, k=11, length=2)
    assert seen == [[".synthetic.csv.partial", "PUBLISH.txt", "evaluation.html",
                     "evaluation.json", "settings.json"]]
    assert rel.file == out / "synthetic.csv" and rel.file.is_file()
    row = Ledger(hub).releases()[-1]
    assert row["output_path"] == str(out / "synthetic.csv")
    import hashlib

    assert row["output_sha256"] == hashlib.sha256(rel.file.read_bytes()).hexdigest()


def test_a_dp_hub_release_stopped_after_its_record_is_charged_once(hub, tmp_path,
                                                                   monkeypatch) -> None:
    """A stop (Ctrl-C, SIGTERM, a failed rename) after the ledger recorded a DP release ran the
    failure path, which charged it a second time (a review: ε 1.9998 spent for one release).
    Once recorded, the release stays as recorded and nothing more is charged."""
    import safelight.release.hub as hub_mod

    _fill(hub)
    ledger = Ledger(hub)
    ledger.set_budget(DATASET, 3.0, 1e-5)
    real = os.replace

    def stopped(src, dst, *a, **kw):
        if str(dst).endswith("aggregates.csv"):
            raise KeyboardInterrupt
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(hub_mod.os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt):
        release_hub(hub, "dp-aggregates", tmp_path / "dp", columns=COLS, epsilon=1.0,
                    length=2)
    spent = ledger.spent(DATASET)
    assert spent.releases == 1 and spent.epsilon <= 1.0


def test_an_out_through_a_new_folder_and_back_never_removes_the_folder_it_names(
        hub, tmp_path, monkeypatch) -> None:
    """``--out work/new/..`` is ``work``: a failed release removed ``new/..`` — ``work`` with
    everything in it — as a folder it had made. It is now read as ``work``, which holds the
    user's files, so it is refused before anything is made or removed."""
    import safelight.release.dp_synthetic as dps
    from safelight.release.errors import ReleaseUsageError

    def fail(*args, **kwargs):
        raise ReleaseUsageError("nothing clears the floor (simulated)")

    monkeypatch.setattr(dps, "fit_model", fail)
    _fill(hub)
    Ledger(hub).set_budget(DATASET, 5.0, 1e-5)
    work = tmp_path / "work"
    work.mkdir()
    (work / "precious.txt").write_text("the user's own file", "utf-8")
    with pytest.raises(ReleaseUsageError, match="not empty"):
        release_hub(hub, "dp-synthetic", work / "new" / "..", columns=COLS, epsilon=1.0)
    assert (work / "precious.txt").exists() and not (work / "new").exists()
    assert Ledger(hub).spent(DATASET).releases == 0
    # an empty folder named that way is used, and a failed release keeps it (the user's)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReleaseUsageError, match="nothing clears the floor"):
        release_hub(hub, "dp-synthetic", empty / "new" / "..", columns=COLS, epsilon=1.0)
    assert empty.is_dir() and not any(empty.iterdir())


def test_a_failed_release_removes_only_what_it_wrote(hub, tmp_path, monkeypatch) -> None:
    """A failed release into an empty --out emptied the folder again, deleting whatever had
    been put there meanwhile (or, in a folder another process made after the check, that
    process's files): it now removes the names it writes only, and the folders it made."""
    import safelight.release.dp_synthetic as dps

    out = tmp_path / "rel"
    out.mkdir()

    def fail(*args, **kwargs):
        (out / "precious.txt").write_text("put there while the release ran", "utf-8")
        (out / "settings.json").write_text("{}", "utf-8")  # as if the release had written it
        raise ReleaseUsageError("nothing clears the floor (simulated)")

    monkeypatch.setattr(dps, "fit_model", fail)
    _fill(hub)
    Ledger(hub).set_budget(DATASET, 5.0, 1e-5)
    with pytest.raises(ReleaseUsageError, match="nothing clears the floor"):
        release_hub(hub, "dp-synthetic", out, columns=COLS, epsilon=1.0)
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_the_loss_warning_says_what_withheld_by_method() -> None:
    """A trial: the row-level releases' warning sent the operator to settings.json for a
    reason (deferred, withheld as a last resort) that only k-aggregates record there."""
    from types import SimpleNamespace

    from safelight.release.hub import _loss_warnings

    ev = SimpleNamespace(lost_share=lambda: 0.4)
    assert "settings.json says why" in _loss_warnings(ev, "aggregates")[0]
    for method in ("synthetic", "microdata"):
        (w,) = _loss_warnings(ev, method)
        assert "settings.json" not in w and "40%" in w
    assert "noisy counts" in _loss_warnings(ev, "dp-synthetic")[0]
    assert _loss_warnings(SimpleNamespace(lost_share=lambda: 0.1), "synthetic") == ()
