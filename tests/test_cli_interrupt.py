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


def test_sigterm_inside_a_duckdb_query_exits_130(tmp_path) -> None:
    """A real signal inside a query: its handler stops the query, which DuckDB reports as a
    RuntimeError "Query interrupted" (not InterruptException): it printed a traceback and
    exit code 1 (a review)."""
    import subprocess
    import sys

    script = tmp_path / "long_query.py"
    script.write_text(
        "import os, signal, threading, click, duckdb\n"
        "from safelight.cli_support import guarded\n"
        "from safelight.interrupts import terminate_as_interrupt\n"
        "@click.command()\n@guarded\ndef cmd():\n"
        "    terminate_as_interrupt()\n"
        "    con = duckdb.connect(); con.execute('SET threads=1')\n"
        "    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()\n"
        "    con.execute('SELECT count(*) FROM range(100000000000) a "
        "WHERE hash(a.range) % 7 = 3').fetchall()\n"
        "cmd()\n", "utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr


def test_the_sigterm_handler_is_put_back_and_workers_keep_the_default(tmp_path) -> None:
    """The top-level command turns SIGTERM into Ctrl-C for itself only: the handler it replaced
    comes back when it ends (a test run or a library caller keeps its own), and a forked worker
    runs with the default, so that terminating it ends it at once (a review)."""
    import signal

    from safelight.cli import main
    from safelight.interrupts import terminate_as_interrupt
    from safelight.link.forked import can_fork, start

    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(main, ["init", str(tmp_path / "hub.duckdb")])
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGTERM) is before
    import threading

    # with another thread alive (left by an earlier test's server) start() runs inline
    if can_fork() and threading.active_count() == 1:
        previous = terminate_as_interrupt()
        try:
            job = start("test", signal.getsignal, signal.SIGTERM)
            assert job.result() == signal.SIG_DFL
        finally:
            signal.signal(signal.SIGTERM, previous)


def test_deferred_interrupts_hold_a_signal_until_the_block_ends() -> None:
    import os
    import signal

    from safelight.interrupts import deferred_interrupts, terminate_as_interrupt

    previous = terminate_as_interrupt()
    steps = []
    try:
        try:
            with deferred_interrupts():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("after the signal")
            steps.append("after the block")
        except KeyboardInterrupt:
            steps.append("interrupted")
        assert steps == ["after the signal", "interrupted"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_deferred_interrupts_can_drop_a_signal_and_put_every_handler_back() -> None:
    """A clean-up that runs as the command ends drops a second Ctrl-C (it exited 1 through
    click's "Aborted!"); the handlers come back even when one was set from C (``None``)."""
    import os
    import signal

    from safelight.interrupts import deferred_interrupts, terminate_as_interrupt

    previous = terminate_as_interrupt()
    try:
        with deferred_interrupts(deliver=False):
            os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is not previous  # ours, back in place
    finally:
        signal.signal(signal.SIGTERM, previous)
