"""Ctrl-C: every command exits 130 with one line, also when it interrupts a DuckDB query
(DuckDB raises its own exception there; it printed a traceback and exit code 1)."""

from __future__ import annotations

import threading

import click
import duckdb
from click.testing import CliRunner

from safelight.cli_support import guarded


def _command(body):
    @click.command()
    @guarded
    def cmd() -> None:
        body()
    return cmd


def test_ctrl_c_exits_130() -> None:
    def body() -> None:
        raise KeyboardInterrupt

    result = CliRunner().invoke(_command(body))
    assert result.exit_code == 130
    assert "interrupted" in result.output


def test_ctrl_c_inside_a_duckdb_query_exits_130() -> None:
    def body() -> None:
        con = duckdb.connect()
        timer = threading.Timer(0.3, con.interrupt)  # what Ctrl-C does to a running query
        timer.start()
        try:
            con.execute("SELECT count(*) FROM range(100000000000) a, range(10) b").fetchall()
        finally:
            timer.cancel()

    result = CliRunner().invoke(_command(body))
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Traceback" not in result.output


def test_other_errors_are_not_taken_for_an_interruption() -> None:
    def body() -> None:
        duckdb.connect().execute("SELECT * FROM no_such_table")

    result = CliRunner().invoke(_command(body))
    assert result.exit_code == 1
    assert isinstance(result.exception, duckdb.CatalogException)
