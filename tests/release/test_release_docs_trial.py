"""Findings of a trial that followed docs/release.md line by line (2026-12-02), each with the
test that shows it fixed."""

from __future__ import annotations

from click.testing import CliRunner
from helpers_release import table_and_domain

from safelight.release.cli import release
from safelight.release.ledger import Ledger
from safelight.store import open_hub


def test_microdata_may_name_a_table_charged_under_another_name(tmp_path) -> None:
    """docs: microdata with --hub "may name the same file as it likes" (no budget to escape);
    it was refused (exit 8) after a DP release of the file under another name."""
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("first", 2.0, 1e-5)
    run = CliRunner().invoke
    r = run(release, ["dp-aggregates", str(src), "--epsilon", "1", "--domain", str(dom),
                      "--hub", str(hub_path), "--dataset", "first", "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    r = run(release, ["microdata", str(src), "--k", "5", "--hub", str(hub_path), "--dataset",
                      "second", "--out", str(tmp_path / "m")])
    assert r.exit_code in (0, 9), r.output
    with open_hub(hub_path) as h:
        assert Ledger(h).spent("second").releases == 1


def test_the_over_budget_message_counts_the_releases_that_spent_something(tmp_path) -> None:
    src, dom = table_and_domain(tmp_path)
    hub_path = tmp_path / "h.duckdb"
    with open_hub(hub_path, create=True) as h:
        Ledger(h).set_budget("d", 1.5, 1e-5)
    run = CliRunner().invoke
    r = run(release, ["microdata", str(src), "--k", "5", "--hub", str(hub_path), "--dataset",
                      "d", "--out", str(tmp_path / "m")])
    assert r.exit_code in (0, 9), r.output
    common = ["--domain", str(dom), "--hub", str(hub_path), "--dataset", "d"]
    r = run(release, ["dp-aggregates", str(src), "--epsilon", "1", *common,
                      "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    r = run(release, ["dp-aggregates", str(src), "--epsilon", "1", *common,
                      "--out", str(tmp_path / "b")])
    assert r.exit_code == 8
    assert "left after 1 earlier differentially private release(s)" in r.output, r.output


def test_a_trailing_blank_column_is_noted_and_publish_txt_ends_its_line(tmp_path,
                                                                        caplog) -> None:
    """docs: a trailing column without a name or values is "left out, with a note" — the note
    was logged at info level, never shown; PUBLISH.txt ended without a line end."""
    import logging

    src = tmp_path / "trailing.csv"
    rows = ["a,b,"] + [f"{'xy'[i % 2]},{'pq'[i % 3 % 2]}," for i in range(60)]
    src.write_text("\n".join(rows) + "\n", "utf-8")
    with caplog.at_level(logging.WARNING, logger="safelight.release"):
        r = CliRunner().invoke(release, ["aggregates", str(src), "--k", "5",
                                         "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "column(s) without a name and without values left out" in caplog.text
    assert (tmp_path / "o" / "PUBLISH.txt").read_text("utf-8").endswith("\n")
