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
    assert "identity values hidden" in r.output  # unless asked for
    r = _run("show", hub, first, "--reviewer", "rev", "--show-identifiers")
    assert "identity values hidden" not in r.output
    # the reason at a prompt (out of the shell's history)
    r = CliRunner().invoke(main, ["review", "decide", str(hub), first, "match", "--reviewer",
                                  "rev"], input="same name and date\n")
    assert r.exit_code == 0 and f"pair {first}: match by rev" in r.output, r.output
    r = _run("decide", hub, first, "match", "--reviewer", "rev", "--reason", "same name and date")
    assert r.exit_code == 0 and "nothing recorded" in r.output
    # another reviewer's different decision needs --overrule, as on the web
    r = _run("decide", hub, first, "non_match", "--reviewer", "admin", "--reason", "phones differ")
    assert r.exit_code == 2 and "overrules theirs" in r.output
    for _ in range(2):  # sent twice: recorded once, the overruled reason kept in the note
        r = _run("decide", hub, first, "non_match", "--reviewer", "admin", "--reason",
                 "phones differ", "--overrule", "--show-identifiers")
        assert r.exit_code == 0, r.output
    r = _run("show", hub, first, "--reviewer", "rev", "--show-identifiers")
    assert "decided non_match by admin" in r.output and "rev: match" in r.output
    assert "admin: non_match (was match)" in r.output and "earlier: match by rev" in r.output
    hidden = _run("show", hub, first, "--reviewer", "rev")
    assert "phones differ" not in hidden.output and "(shown to its author only)" in hidden.output
    with open_hub(hub) as h:
        rows = h.con.execute("SELECT actor, CAST(details AS VARCHAR) FROM audit_log WHERE "
                             "action = 'link.decision' ORDER BY seq").fetchall()
        decided = h.con.execute("SELECT count(*) FROM link_review WHERE decision IS NOT NULL"
                                ).fetchone()[0]
    assert [a for a, _ in rows] == ["rev", "admin"] and decided == 1
    assert all("phones" not in d and "same name" not in d for _, d in rows)  # no reasons
    assert all(json.loads(d)["channel"] == "cli" and json.loads(d)["os_user"] for _, d in rows)
    r = _run("list", hub, "--reviewer", "rev", "--status", "decided")
    assert f"{first}" in r.output and "non_match by admin" in r.output


def test_only_an_active_account_with_the_review_right_may_review(demo_hub, tmp_path):
    hub = demo_hub.copy(tmp_path)
    with open_hub(hub) as h:
        h.con.execute("UPDATE web_users SET active = false WHERE username = 'admin'")
    for who, what in (("nobody", "no account on"), ("view", "a viewer account, without"),
                      ("ana", "a analyst account, without"), ("admin", "a deactivated account")):
        r = _run("list", hub, "--reviewer", who)
        assert r.exit_code == 8 and f"--reviewer {who}: {what}" in r.output, r.output
    with open_hub(hub) as h:  # refused as the web refuses a role: audited
        refused = h.con.execute("SELECT actor, CAST(details AS VARCHAR) FROM audit_log WHERE "
                                "action = 'review.refused' ORDER BY seq").fetchall()
    assert [a for a, _ in refused] == ["-", "view", "ana", "admin"]  # no typed name kept
    assert all(json.loads(d)["channel"] == "cli" for _, d in refused)


def test_a_hub_that_hides_identifiers_hides_them_here(demo_hub, tmp_path):
    from helpers_web import settings_for

    hub = demo_hub.copy(tmp_path)
    settings = tmp_path / "web.json"
    settings_for(demo_hub, show_identifiers=False).save(settings)
    first = _run("list", hub, "--reviewer", "rev", "--limit", "1").output.splitlines()[1].split()[0]
    r = _run("show", hub, first, "--reviewer", "rev", "--settings", settings)
    assert r.exit_code == 0, r.output
    assert "identity values hidden" in r.output
    settings_for(demo_hub, show_identifiers=True).save(settings)
    shown = _run("show", hub, first, "--reviewer", "rev", "--settings", settings)
    assert "identity values hidden" not in shown.output
    with open_hub(hub) as h:
        left = h.con.execute("SELECT i.given_name FROM link_review l JOIN identities i ON "
                             "i.contributor = l.left_contributor AND i.record_id = "
                             "l.left_record_id WHERE i.given_name IS NOT NULL LIMIT 50"
                             ).fetchall()
    shown = r.output.split("\n", 1)[1]
    assert not any(f" {g} " in shown for (g,) in left if len(g) > 3)


def test_values_are_one_escaped_line_in_terminal_cells():
    from rich.cells import cell_len

    from safelight.link.review_cli import _pad, _shown

    assert _shown("Київ\nвул. 1") == "Київ\\nвул. 1"
    assert "\x1b" not in _shown("\x1b[31mred") and _shown(None) == "—"
    assert _shown("Gnatyu\u0308k") == "Gnatyük"  # NFC: one cell per letter
    assert cell_len(_pad("王秀英", 8)) == 8 and _pad("Olena", 8) == "Olena   "


def test_a_pair_whose_records_hold_no_identity_values_says_so_not_hidden(demo_hub, tmp_path):
    """A PPRL hub's pair said "identity values hidden: --show-identifiers", inviting a
    reviewer to reveal what the hub does not hold (a trial); a mistyped pair id exited 1."""
    hub = demo_hub.copy(tmp_path)
    r = _run("list", hub, "--reviewer", "rev", "--limit", "1")
    first = r.output.splitlines()[1].split()[0]
    with open_hub(hub) as h:  # as on a hub that received encoded packages only
        h.con.execute("DELETE FROM identities")
    r = _run("show", hub, first, "--reviewer", "rev")
    assert r.exit_code == 0, r.output
    assert "holds no identity values" in r.output and "hidden" not in r.output
    r = _run("decide", hub, first[:-2], "match", "--reviewer", "rev", "--reason", "x")
    assert r.exit_code == 2 and "no pair" in r.output, r.output
