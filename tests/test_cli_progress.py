"""Long commands show their stage on a terminal (cli_support.stage_status)."""

from __future__ import annotations

import io
import logging
import sys

from safelight.cli_support import stage_status


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stage_status_shows_info_on_a_terminal_and_keeps_warnings(monkeypatch, caplog):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    logging.getLogger().setLevel(logging.WARNING)
    log = logging.getLogger("safelight.test_progress")
    with caplog.at_level(logging.WARNING):
        with stage_status():
            log.info("fitting the model")
            log.warning("something to know")
        # the INFO line went to the spinner, not to the log's own handlers
        assert "fitting the model" not in caplog.text
    shown = term.getvalue()
    assert "something to know" in shown
    # afterwards the loggers are as they were
    assert logging.getLogger("safelight").propagate
    log.warning("after")
    assert "after" in caplog.text


def test_stage_status_does_nothing_off_a_terminal(monkeypatch, caplog):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="safelight"):
        with stage_status():
            logging.getLogger("safelight.test_progress").info("plain log")
    assert "plain log" in caplog.text


def test_ingest_progress_says_reading_until_the_first_rows_are_counted(tmp_path):
    from safelight.cli import _progress_for

    f = tmp_path / "a.xlsx"
    f.write_bytes(b"PK")
    prog, update = _progress_for(f)
    assert prog.tasks[0].fields["rows"] == "reading…"  # not "0 rows" while a workbook is opened
    update(5_000, 1)
    assert prog.tasks[0].fields["rows"] == "5,000 rows" and prog.tasks[0].completed == 1


def test_stdout_waits_until_the_spinner_is_gone(monkeypatch, capsys):
    """On a terminal the command's summary was printed over the spinner's last frame: what a
    command prints on stdout is held while the spinner runs, and written after it (trial,
    2026-12-01), also when the command fails."""
    import sys

    import click
    import pytest

    from safelight.cli_support import stage_status

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with stage_status():
        click.echo("summary line")
        assert "summary line" not in capsys.readouterr().out  # held
    assert "summary line" in capsys.readouterr().out
    with pytest.raises(RuntimeError), stage_status():
        click.echo("partial")
        raise RuntimeError("boom")
    assert "partial" in capsys.readouterr().out
