"""``safelight review list|show|decide``: the review queue without a running server (a new-user
trial of the hub, 2026-12-02: deciding needed `serve`, which holds the hub against `link hub`,
`ingest` and `consent withdraw`)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from safelight.cli import main
from safelight.store import open_hub


def _run(*args):
    return CliRunner().invoke(main, ["review", *map(str, args)])


def test_list_show_and_decide_as_the_web_does(demo_hub, tmp_path):
    hub = demo_hub.copy(tmp_path)
    r = _run("list", hub, "--reviewer", "rev", "--limit", "2")
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[1].split()[0]
    total = int(r.output.split()[0].replace(",", ""))
    assert total > 0 and len(r.output.splitlines()) == 3
    r = _run("show", hub, first, "--reviewer", "rev")
    assert r.exit_code == 0, r.output
    assert "given_name" in r.output and "birth_date" in r.output and "match probability" in r.output
    r = _run("decide", hub, first, "match", "--reviewer", "rev", "--reason", "same name and date")
    assert r.exit_code == 0 and f"pair {first}: match by rev" in r.output, r.output
    # another reviewer's different decision needs --overrule, as on the web
    r = _run("decide", hub, first, "non_match", "--reviewer", "admin", "--reason", "phones differ")
    assert r.exit_code == 2 and "overrules theirs" in r.output
    r = _run("decide", hub, first, "non_match", "--reviewer", "admin", "--reason",
             "phones differ", "--overrule")
    assert r.exit_code == 0, r.output
    r = _run("show", hub, first, "--reviewer", "rev")
    assert "decided non_match by admin" in r.output and "rev: match" in r.output
    assert "admin: non_match (was match)" in r.output
    with open_hub(hub) as h:
        rows = h.con.execute("SELECT actor, CAST(details AS VARCHAR) FROM audit_log WHERE "
                             "action = 'link.decision' ORDER BY seq").fetchall()
        decided = h.con.execute("SELECT count(*) FROM link_review WHERE decision IS NOT NULL"
                                ).fetchone()[0]
    assert [a for a, _ in rows] == ["rev", "admin"] and decided == 1
    assert all("phones" not in d and "same name" not in d for _, d in rows)  # no reasons
    r = _run("list", hub, "--reviewer", "rev", "--status", "decided")
    assert f"{first}" in r.output and "non_match by admin" in r.output


def test_only_an_active_account_with_the_review_right_may_review(demo_hub, tmp_path):
    hub = demo_hub.copy(tmp_path)
    for who, what in (("nobody", "no account"), ("view", "a viewer account"),
                      ("ana", "an analyst account")):
        r = _run("list", hub, "--reviewer", who)
        assert r.exit_code == 2 and what.split()[-1] in r.output, r.output


def test_a_hub_that_hides_identifiers_hides_them_here(demo_hub, tmp_path):
    from helpers_web import settings_for

    hub = demo_hub.copy(tmp_path)
    settings = tmp_path / "web.json"
    settings_for(demo_hub, show_identifiers=False).save(settings)
    first = _run("list", hub, "--reviewer", "rev", "--limit", "1").output.splitlines()[1].split()[0]
    r = _run("show", hub, first, "--reviewer", "rev", "--settings", settings)
    assert r.exit_code == 0, r.output
    assert "identity values hidden" in r.output
    with open_hub(hub) as h:
        left = h.con.execute("SELECT i.given_name FROM link_review l JOIN identities i ON "
                             "i.contributor = l.left_contributor AND i.record_id = "
                             "l.left_record_id WHERE i.given_name IS NOT NULL LIMIT 50"
                             ).fetchall()
    shown = r.output.split("\n", 1)[1]
    assert not any(f" {g} " in shown for (g,) in left if len(g) > 3)
    assert json.loads(settings.read_text())["show_identifiers"] is False
