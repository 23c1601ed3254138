"""SIGTERM (``timeout``, ``kill``, systemd) unwinds a command as Ctrl-C does: a k-release trial
killed a long release with ``timeout`` and found its empty folder left behind, and a forced
release would have lost the earlier one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safelight.cli_support import EXIT_TERMINATED

# runs the command with the release step replaced by one that says so and waits: the signal
# arrives while the output folder exists and nothing has been written into it
_BLOCKING_RUN = """
import sys, time
from pathlib import Path
import safelight.release.aggregates as agg

def blocked(*args, **kwargs):
    Path(sys.argv[1]).write_text("started")
    time.sleep(120)

agg.release_aggregates = blocked
from safelight.cli import main
main(sys.argv[2:])
"""


def _terminated(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess:
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKING_RUN, str(started), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while not started.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the command ended before the release step: {err}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    path.write_text("sex,age\n" + "F,adult\nM,minor\n" * 30)
    return path


def test_sigterm_removes_the_folder_it_made(tmp_path, table):
    out = tmp_path / "rel"
    res = _terminated(tmp_path, ["release", "aggregates", str(table), "--k", "3",
                                 "--out", str(out)])
    assert res.returncode == EXIT_TERMINATED == 143
    assert "terminated — nothing from the interrupted step was written" in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_sigterm_keeps_the_earlier_release_under_force(tmp_path, table):
    from click.testing import CliRunner

    from safelight.cli import main

    out = tmp_path / "rel"
    first = CliRunner().invoke(main, ["release", "aggregates", str(table), "--k", "3",
                                      "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "aggregates.csv" in before
    res = _terminated(tmp_path, ["release", "aggregates", str(table), "--k", "3",
                                 "--out", str(out), "--force"])
    assert res.returncode == EXIT_TERMINATED
    assert f"the earlier release in {out} was kept" in res.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # the same files, unchanged, and no hidden folder set aside
