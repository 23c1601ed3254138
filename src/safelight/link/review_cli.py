"""``safelight review list|show|decide HUB``: the linkage review queue from the command line.

The same queue, pages and rules as the web application's (:mod:`safelight.web.linkage`: the
queue closest to a coin toss first, a pair side by side with its per-field explanation,
decisions that bind later runs, another reviewer's decision overruled only when confirmed, a
decision taken back with ``undecided``), without a running server — which holds the hub while
it runs, so an operator had to stop it to decide pairs between ``link hub`` runs (a new-user
trial, 2026-12-02). Every command acts as a named account of the hub with the review right
(``reviewer`` or ``admin``: ``safelight user add``), and is audited under that name as on the
web. Identity values are shown as the web settings say (``--settings``, ``show_identifiers``;
shown by default, as on the web).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from safelight.cli_support import guarded
from safelight.errors import UsageError

__all__ = ["review"]

_hub = click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_reviewer = click.option("--reviewer", required=True,
                         help="The hub account (role reviewer or admin) the command acts as; "
                              "audited under this name.")
_settings = click.option("--settings", "settings_file", default=None,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="The web settings JSON the hub is served with (show_identifiers: "
                              "false hides identity values here too).")
#: the roles with the review right (the web application's ``CAN["review"]``)
REVIEW_ROLES = ("admin", "reviewer")


@click.group("review", context_settings={"help_option_names": ["-h", "--help"],
                                         "max_content_width": 100})
def review() -> None:
    """The linkage review queue of a hub: list, show and decide uncertain pairs."""


def _open(hub: Path, settings_file: Path | None, reviewer: str):  # noqa: ANN202
    """The hub as the web application holds it, and the account ``reviewer`` as its user."""
    from safelight.web.auth import User
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    settings = WebSettings.load(settings_file) if settings_file else WebSettings()
    state = HubState(hub, settings)
    row = state.one("SELECT username, role, contributor, active FROM web_users "
                    "WHERE username = ?", [reviewer])
    if row is None or not row["active"] or row["role"] not in REVIEW_ROLES:
        state.close()
        what = ("no account" if row is None else "a deactivated account" if not row["active"]
                else f"a {row['role']} account, without the review right")
        raise UsageError(f"--reviewer {reviewer}: {what} on this hub — give an active account "
                         f"of role {' or '.join(REVIEW_ROLES)} (`safelight user add {hub} NAME "
                         "--role reviewer`)")
    return state, User(row["username"], row["role"], row["contributor"], "")


@review.command("list")
@_hub
@_reviewer
@click.option("--status", type=click.Choice(["open", "decided", "all"]), default="open",
              show_default=True)
@click.option("--contributor", default=None, help="Only pairs with this contributor's record.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@_settings
@guarded
def list_cmd(hub: Path, reviewer: str, status: str, contributor: str | None, limit: int,
             offset: int, settings_file: Path | None) -> None:
    """Pairs of the queue, closest to a coin toss first (record ids and scores only)."""
    from safelight.web import linkage

    state, user = _open(hub, settings_file, reviewer)
    try:
        q = linkage.review_queue(state, user, status, limit, offset, contributor)
    finally:
        state.close()
    click.echo(f"{q['total']:,} {status} pair(s); {len(q['pairs'])} from {offset + 1:,}")
    for p in q["pairs"]:
        said = (f"  {p['decision']} by {p['decided_by']}" if p["decision"] else
                f"  (opened by {p['in_review_by']})" if p.get("in_review_by") else "")
        click.echo(f"{p['pair_id']}  p={p['match_probability']:.3f}  "
                   f"{p['left_contributor']}/{p['left_record_id']} ~ "
                   f"{p['right_contributor']}/{p['right_record_id']}{said}")


def _minute(at: str | None) -> str:
    """An ISO time of the hub (UTC) to the minute, as the web pages write it."""
    return "—" if not at else f"{at[:16].replace('T', ' ')} UTC"


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


@review.command("show")
@_hub
@click.argument("pair")
@_reviewer
@_settings
@guarded
def show_cmd(hub: Path, pair: str, reviewer: str, settings_file: Path | None) -> None:
    """One pair side by side, with the weight each field gives, and its decisions."""
    from safelight.web import linkage

    state, user = _open(hub, settings_file, reviewer)
    try:
        p = linkage.review_pair(state, user, pair)
    finally:
        state.close()
    left, right = p["left"], p["right"]
    click.echo(f"pair {p['pair_id']}: match probability {p['match_probability']:.3f} "
               f"(prior {p['prior_log2_odds']:+.1f} bits"
               + ("; names read swapped" if p["names_swapped"] else "") + ")")
    rows = [("field", "level", "weight",
             f"{left['contributor']}/{left['record_id']}",
             f"{right['contributor']}/{right['record_id']}")]
    rows += [(f["field"], _shown(f["level"]),
              "" if f["weight"] is None else f"{f['weight']:+.2f}",
              _shown(f["left"]), _shown(f["right"])) for f in p["fields"]]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not p["identifiers_shown"]:
        click.echo("(identity values hidden: the hub's web settings hide identifiers)")
    if p["decision"]:
        note = ("(shown to its author only)" if p["decision_note_hidden"]
                else p["decision_note"] or "")
        click.echo(f"decided {p['decision']} by {p['decided_by']} ({_minute(p['decided_at'])}):"
                   f" {note}")
    if len(p["history"]) > 1 or (p["history"] and not p["decision"]):
        click.echo("history (oldest first):")
        for h in p["history"]:
            click.echo(f"  {_minute(h['at'])}  {h['by']}: {h['decision']}"
                       + (f" (was {h['previous']})" if h["previous"] else ""))


@review.command("decide")
@_hub
@click.argument("pair")
@click.argument("decision", type=click.Choice(["match", "non_match", "undecided"]))
@_reviewer
@click.option("--reason", required=True,
              help="Why (kept with the decision; never a person's name, birth date, phone or "
                   "document number).")
@click.option("--overrule", is_flag=True,
              help="Confirm that a different decision overrules another reviewer's.")
@_settings
@guarded
def decide_cmd(hub: Path, pair: str, decision: str, reviewer: str, reason: str,
               overrule: bool, settings_file: Path | None) -> None:
    """Decide a pair (match / non_match), or take a decision back (undecided); the persons of
    the two records are re-formed at once, and later link runs keep the decision."""
    from safelight.web import linkage

    state, user = _open(hub, settings_file, reviewer)
    try:
        r = linkage.decide_pair(state, user, pair, decision, reason, overrule)
    finally:
        state.close()
    click.echo(f"pair {r['pair_id']}: {r['decision']} by {r['decided_by']}; "
               f"{r['persons_reformed']:,} person(s) re-formed")
