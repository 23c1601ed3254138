"""Findings of the second new-user trial of the DP releases and the ledger (2026-12-01), each
with the test that shows it fixed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers_release import table_and_domain

from safelight.release.cli import release
from safelight.release.ledger import Ledger
from safelight.release.table import write_csv
from safelight.store import open_hub


def test_a_file_charged_under_one_name_cannot_draw_on_another_budget(tmp_path) -> None:
    """1: after a file had spent its budget, `--dataset other-name` (with a budget of its
    own) released it again, unwarned. The ledger keeps each file release's input SHA-256; a
    release of the same file under another name is refused, naming the first one."""
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("first", 1.5, 1e-5)
        Ledger(h).set_budget("second", 5.0, 1e-5)
    common = ["--domain", str(dom), "--hub", str(hub_path), "--epsilon", "1"]
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), *common, "--dataset", "first",
                                     "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), *common, "--dataset",
                                     "second", "--out", str(tmp_path / "b")])
    assert r.exit_code == 8, r.output
    assert "released before under the dataset name first" in r.output
    assert "--dataset first" in r.output
    # without --dataset it is charged to the name it had (and refused by that budget)
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), *common,
                                     "--out", str(tmp_path / "b")])
    assert r.exit_code == 8, r.output
    assert "released before as dataset first" in r.output
    assert "would go over the budget" in r.output
    with open_hub(hub_path) as h:
        ledger = Ledger(h)
        assert ledger.spent("second").releases == 0
        assert ledger.datasets_of_source(read_sha(src)) == {"first"}
        # a failed (charged) release records the file, k and length too
        ledger.record_failed("first", "dp-synthetic", 0.1, 0.0, "test", source_sha256="x",
                             k=11, length=3)
        last = ledger.releases("first")[-1]
        assert (last["k"], last["reporting_length"]) == (11, 3)
        assert json.loads(last["params"])["source_sha256"] == "x"


def read_sha(path: Path) -> str:
    from safelight.release.settings import file_source

    return file_source(path)["sha256"]


def test_a_dp_release_that_shows_small_or_invented_combinations_says_so(tmp_path) -> None:
    """2, 3: a floored DP release carried hundreds of combinations of 1-10 people and one
    over a column of many values was mostly invented, and PUBLISH.txt said only "publish the
    release file". Both are warned about there and on the console."""
    import numpy as np

    from safelight.release.table import from_columns

    rng = np.random.default_rng(3)
    n = 600
    t = from_columns({"a": rng.choice(["x", "y"], n).tolist(),
                      "district": [f"d{i}" for i in rng.integers(0, 300, n)]})
    src = tmp_path / "many.csv"
    write_csv(t, src)
    dom = tmp_path / "domain.json"
    dom.write_text(json.dumps({"a": ["x", "y"], "district": [f"d{i}" for i in range(2000)]}))
    r = CliRunner().invoke(release, ["dp-aggregates", str(src), "--epsilon", "1", "--no-floor",
                                     "--domain", str(dom), "--allow-distinct-columns",
                                     "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    note = (tmp_path / "o" / "PUBLISH.txt").read_text("utf-8")
    assert note.startswith("WARNING: ")
    assert "do not occur in the data: the noise dominates" in note
    assert "describe fewer than k = 11 people" in note
    assert "WARNING: " in r.output  # CliRunner mixes stderr in


@pytest.mark.parametrize("args,what", [
    (["dp-aggregates", "--margin", "nan"], "--margin"),
    (["dp-aggregates", "--margin", "inf"], "--margin"),
    (["dp-aggregates", "--delta", "nan"], "--delta"),
])
def test_non_finite_options_are_usage_errors(tmp_path, args, what) -> None:
    """4, 11: `--margin nan` was charged and wrote `NaN` into settings.json; a budget of
    `inf` exited 1. Every float option refuses nan and inf (exit 2)."""
    src, dom = table_and_domain(tmp_path)
    r = CliRunner().invoke(release, [args[0], str(src), "--epsilon", "1", *args[1:],
                                     "--domain", str(dom), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and what in r.output and "finite" in r.output, r.output


def test_budget_values_are_checked_as_options(tmp_path) -> None:
    hub_path = tmp_path / "h.duckdb"
    open_hub(hub_path, create=True).close()
    for bad in (["--epsilon", "inf"], ["--epsilon", "nan"], ["--epsilon", "1", "--delta", "0"],
                ["--epsilon", "1", "--delta", "nan"]):
        r = CliRunner().invoke(release, ["budget", str(hub_path), "d", *bad])
        assert r.exit_code == 2, (bad, r.output)


def test_a_large_delta_is_warned_about(tmp_path, caplog) -> None:
    """5: `--delta 0.5` was taken silently."""
    import logging

    src, dom = table_and_domain(tmp_path)
    with caplog.at_level(logging.WARNING, "safelight.release"):
        r = CliRunner().invoke(release, ["dp-aggregates", str(src), "--epsilon", "1",
                                         "--delta", "0.01", "--domain", str(dom),
                                         "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "delta 0.01 is over 1/rows" in caplog.text


def test_a_domain_file_adds_to_the_standard_lists(tmp_path) -> None:
    """9: a --domain file naming one extra column refused every CTDC column beside it."""
    from safelight.release.domain import file_or_standard_domain, standard_domain

    path = tmp_path / "d.json"
    path.write_text(json.dumps({"district": ["north", "south"], "gender": ["Female"]}))
    dom = file_or_standard_domain(["gender", "citizenship", "district"], path)
    assert dom.values["district"] == ("north", "south")
    assert dom.values["gender"] == ("Female",)  # the file's list replaces the standard's
    assert dom.values["citizenship"] == standard_domain(["citizenship"]).values["citizenship"]
    assert "file" in dom.source and "safelight.standard" in dom.source


def test_synthetic_with_epsilon_takes_dp_synthetics_options(tmp_path) -> None:
    """10: `release synthetic --epsilon` ("as dp-synthetic") had no --hub, --dataset,
    --domain, --no-floor; they work there now, and need --epsilon."""
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("t", 2.0, 1e-5)
    r = CliRunner().invoke(release, ["synthetic", str(src), "--epsilon", "1", "--domain",
                                     str(dom), "--hub", str(hub_path), "--dataset", "t",
                                     "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    with open_hub(hub_path) as h:
        assert Ledger(h).spent("t").releases == 1
    r = CliRunner().invoke(release, ["synthetic", str(src), "--hub", str(hub_path),
                                     "--no-floor", "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "--no-floor, --hub need --epsilon" in r.output, r.output
    r = CliRunner().invoke(release, ["synthetic", str(src), "--hub", str(hub_path),
                                     "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "--hub needs --epsilon (it is an option" in r.output, r.output


def test_nothing_over_the_floor_fails_alike_for_aggregates_and_synthetic(tmp_path) -> None:
    """8: DP aggregates of a 5-row table "released" an empty file (exit 0) while DP synthetic
    data failed with exit 2 ("bad usage"), charged; both now fail with exit 1, are charged,
    and the charge records k and length."""
    src, dom = table_and_domain(tmp_path, n=5)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("t", 5.0, 1e-4)
    for i, command in enumerate(("dp-aggregates", "dp-synthetic")):
        out = tmp_path / f"o{i}"
        r = CliRunner().invoke(release, [command, str(src), "--epsilon", "1", "--k", "100000",
                                         "--domain", str(dom), "--hub", str(hub_path),
                                         "--dataset", "t", "--out", str(out)])
        assert r.exit_code == 1 and "nothing clears the k floor" in r.output, r.output
        assert "too small for this epsilon and k" in r.output and "charged again" in r.output
        assert not out.exists()
    with open_hub(hub_path) as h:
        rows = Ledger(h).releases("t")
    assert [r["k"] for r in rows] == [100000] * 2 and all(r["reporting_length"] for r in rows)
