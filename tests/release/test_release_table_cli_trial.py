"""Findings of the new-user trial of ``safelight release`` on a CSV or Parquet TABLE, each with
the test that shows it fixed (numbers are the trial report's)."""

from __future__ import annotations

from click.testing import CliRunner
from helpers_release import random_table

from safelight.release.cli import release
from safelight.release.table import write_csv


def _table(tmp_path, name: str = "table.csv"):
    path = tmp_path / name
    write_csv(random_table(4, n=400), path)
    return path


def _run(*args: str):
    return CliRunner().invoke(release, [str(a) for a in args])


# 1 ---------------------------------------------------------------------------------------------

def test_force_refuses_an_input_inside_the_folder_it_would_clear(tmp_path) -> None:
    src = _table(tmp_path)
    chain = tmp_path / "chain"
    assert _run("microdata", src, "--k", "5", "--out", chain).exit_code == 0
    before = sorted(p.name for p in chain.iterdir())
    # the release's own output name, and any other file in the folder
    (chain / "mine.csv").write_bytes((chain / "microdata.csv").read_bytes())
    for method, inp in (("aggregates", chain / "microdata.csv"),
                        ("synthetic", chain / "microdata.csv"),
                        ("microdata", chain / "mine.csv"),
                        ("dp-aggregates", chain / "mine.csv")):
        extra = ("--epsilon", "1") if method.startswith("dp") else ()
        r = _run(method, inp, "--k", "5", *extra, "--out", chain, "--force")
        assert r.exit_code == 2, r.output
        assert "--force would clear" in r.output
        assert sorted(p.name for p in chain.iterdir()) == sorted([*before, "mine.csv"])
    # an input elsewhere is replaced as before
    r = _run("aggregates", src, "--k", "5", "--length", "2", "--out", chain, "--force")
    assert r.exit_code == 0, r.output
    assert (chain / "aggregates.csv").exists() and not (chain / "microdata.csv").exists()


# 5 ---------------------------------------------------------------------------------------------

def test_an_out_folder_that_cannot_be_created_is_a_usage_error(tmp_path) -> None:
    src = _table(tmp_path)
    precious = tmp_path / "precious.csv"
    precious.write_text("keep me\n", "utf-8")
    for method in ("aggregates", "synthetic", "microdata"):
        r = _run(method, src, "--k", "5", "--out", precious / "rel")
        assert r.exit_code == 2, r.output
        assert "cannot be created" in r.output and "Traceback" not in r.output
    assert precious.read_text("utf-8") == "keep me\n"
