"""``safelight user add`` / ``user list`` and ``serve --help`` (click commands of web/cli.py)."""

from __future__ import annotations

import pyotp
from click.testing import CliRunner

from safelight.web.cli import serve, user


def test_user_add_prints_totp_secret_and_lists(tmp_path):
    from safelight.store import open_hub

    hub = tmp_path / "hub.duckdb"
    open_hub(hub, create=True).close()
    runner = CliRunner()
    r = runner.invoke(user, ["add", str(hub), "Boss", "--role", "admin",
                             "--password", "a long enough pass"])
    assert r.exit_code == 0, r.output
    secret = r.output.split("TOTP secret:")[1].split()[0]
    assert len(pyotp.TOTP(secret).now()) == 6
    r = runner.invoke(user, ["add", str(hub), "ngo", "--role", "contributor",
                             "--password", "a long enough pass"])
    assert r.exit_code == 2 and "--contributor" in r.output
    r = runner.invoke(user, ["add", str(hub), "boss", "--role", "viewer",
                             "--password", "a long enough pass"])
    assert r.exit_code == 2 and "exists already" in r.output
    # a contributor the hub does not know is a typo, unless it is said to be new
    r = runner.invoke(user, ["add", str(hub), "ngo", "--role", "contributor", "--contributor",
                             "ua-hotlnie", "--password", "a long enough pass"])
    assert r.exit_code == 2 and "--new-contributor" in r.output
    r = runner.invoke(user, ["add", str(hub), "ngo", "--role", "contributor", "--contributor",
                             "ua-hotline", "--new-contributor", "--password", "a long enough pass"])
    assert r.exit_code == 0 and "'ua-hotline' registered" in r.output
    r = runner.invoke(user, ["add", str(hub), "ngo2", "--role", "contributor", "--contributor",
                             "ua-hotline", "--password", "a long enough pass"])
    assert r.exit_code == 0 and "registered" not in r.output
    r = runner.invoke(user, ["list", str(hub)])
    assert "boss" in r.output and "admin" in r.output
    with open_hub(hub) as h:
        ok, _ = h.verify_audit()
        actions = [a for (a,) in h.con.execute("SELECT action FROM audit_log").fetchall()]
    assert ok and actions == ["web.user_add"] * 3


def test_serve_help():
    r = CliRunner().invoke(serve, ["--help"])
    assert r.exit_code == 0 and "--port" in r.output and "--host" in r.output
