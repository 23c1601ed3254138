"""``safelight review list|show|decide HUB``: the linkage review queue from the command line.

The same queue, pages and rules as the web application's (:mod:`safelight.web.linkage`: the
queue closest to a coin toss first, a pair side by side with its per-field explanation,
decisions that bind later runs, another reviewer's decision overruled only when confirmed, a
decision taken back with ``undecided``), without a running server — which holds the hub while
it runs, so an operator had to stop it to decide pairs between ``link hub`` runs (a new-user
trial, 2026-12-02). Every command acts as a named account of the hub with the review right
(``reviewer`` or ``admin``: ``safelight user add``; another is refused, exit 8, and audited),
and is audited under that name as on the web, each entry marked ``channel: cli`` with the
machine's login name (the command line asks for no password: whoever can open the hub file
can name any account). Identity values, and other reviewers' reasons, are **hidden** unless
asked for — ``--show-identifiers``, or the web settings the hub is served with
(``--settings``, ``show_identifiers: true``) — so that the command line never shows more than
a hub that hides identifiers does. A reason is asked for at a prompt when ``--reason`` is not
given, so that it stays out of the shell's history and the process list.
"""

from __future__ import annotations

import getpass
import unicodedata
from pathlib import Path
from typing import Any

import click

from safelight.cli_support import guarded
from safelight.errors import RefusedError

__all__ = ["review"]

_hub = click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_reviewer = click.option("--reviewer", required=True,
                         help="The hub account (role reviewer or admin) the command acts as; "
                              "audited under this name.")
_settings = click.option("--settings", "settings_file", default=None,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="The web settings JSON the hub is served with: its "
                              "show_identifiers says whether identity values are shown.")
_identifiers = click.option("--show-identifiers", is_flag=True,
                            help="Show identity values and other reviewers' reasons (hidden "
                                 "unless --settings says the hub shows them).")


@click.group("review", context_settings={"help_option_names": ["-h", "--help"],
                                         "max_content_width": 100})
def review() -> None:
    """The linkage review queue of a hub: list, show and decide uncertain pairs."""


def _marked_as_command_line(hub: Any) -> None:
    """Every audit entry ``hub`` (a :class:`~safelight.store.Hub`) writes from now on carries
    ``channel: cli`` and the machine's login name: the web functions write them, and they must
    not pass for a signed-in web session's."""
    write = hub.audit

    def audit(actor: str, action: str, obj: str | None = None,
              details: dict[str, Any] | None = None) -> Any:
        return write(actor, action, obj, {**(details or {}), "channel": "cli",
                                          "os_user": getpass.getuser()})

    hub.audit = audit


def _open(hub: Path, settings_file: Path | None, show: bool, reviewer: str):  # noqa: ANN202
    """The hub as the web application holds it — its audit entries marked as the command
    line's — and the account ``reviewer`` as its user.

    :raises RefusedError: ``reviewer`` is no active account with the review right (exit 8;
        audited as ``review.refused``, as the web audits a refused role)."""
    import dataclasses

    from safelight.web.auth import User
    from safelight.web.deps import CAN
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    settings = WebSettings.load(settings_file) if settings_file else WebSettings(
        show_identifiers=False)
    if show:
        settings = dataclasses.replace(settings, show_identifiers=True)
    state = HubState(hub, settings)
    _marked_as_command_line(state.hub)
    allowed = CAN["review"]
    row = state.one("SELECT username, role, contributor, active FROM web_users "
                    "WHERE username = ?", [reviewer])
    if row is None or not row["active"] or row["role"] not in allowed:
        what = ("no account" if row is None else "a deactivated account" if not row["active"]
                else f"a {row['role']} account, without the review right")
        # as a refused sign-in is audited: a name that is no account is not kept (it may be
        # anything typed: a person's name, a password)
        name = row["username"] if row else "-"
        try:
            state.audit(name, "review.refused", f"account:{name}",
                        {"reason": what.split(",")[0]})
        finally:
            state.close()
        raise RefusedError(f"--reviewer {reviewer}: {what} on this hub — give an active "
                           f"account of role {' or '.join(allowed)} (`safelight user add {hub} "
                           "NAME --role reviewer`)")
    return state, User(row["username"], row["role"], row["contributor"], "")


@review.command("list")
@_hub
@_reviewer
@click.option("--status", type=click.Choice(["open", "decided", "all"]), default="open",
              show_default=True)
@click.option("--contributor", default=None, help="Only pairs with this contributor's record.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@guarded
def list_cmd(hub: Path, reviewer: str, status: str, contributor: str | None, limit: int,
             offset: int) -> None:
    """Pairs of the queue, closest to a coin toss first (record ids and scores only)."""
    from safelight.web import linkage

    state, user = _open(hub, None, False, reviewer)
    try:
        q = linkage.review_queue(state, user, status, limit, offset, contributor)
    finally:
        state.close()
    click.echo(f"{q['total']:,} {status} pair(s); {len(q['pairs'])} from {offset + 1:,}")
    for p in q["pairs"]:
        said = (f"  {p['decision']} by {p['decided_by']}" if p["decision"] else
                f"  (opened by {p['in_review_by']})" if p.get("in_review_by") else "")
        click.echo(f"{p['pair_id']}  p={p['match_probability']:.3f}  "
                   f"{_shown(p['left_contributor'])}/{_shown(p['left_record_id'])} ~ "
                   f"{_shown(p['right_contributor'])}/{_shown(p['right_record_id'])}{said}")


def _minute(at: str | None) -> str:
    """An ISO time of the hub (UTC) to the minute, as the web pages write it."""
    return "—" if not at else f"{at[:16].replace('T', ' ')} UTC"


def _shown(value: Any) -> str:
    """A value as one line of a terminal: NFC, control characters (a line break, an escape
    sequence) written as escapes, never sent to the terminal."""
    if value is None:
        return "—"
    text = unicodedata.normalize("NFC", str(value))
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal cells (a CJK character takes two)."""
    from rich.cells import cell_len

    return text + " " * max(width - cell_len(text), 0)


@review.command("show")
@_hub
@click.argument("pair")
@_reviewer
@_identifiers
@_settings
@guarded
def show_cmd(hub: Path, pair: str, reviewer: str, show_identifiers: bool,
             settings_file: Path | None) -> None:
    """One pair side by side, with the weight each field gives, and its decisions."""
    from rich.cells import cell_len

    from safelight.web import linkage

    state, user = _open(hub, settings_file, show_identifiers, reviewer)
    try:
        p = linkage.review_pair(state, user, pair)
    finally:
        state.close()
    left, right = p["left"], p["right"]
    said = ([f"prior {p['prior_log2_odds']:+.1f} bits"] if p["prior_log2_odds"] is not None
            else []) + (["names read swapped"] if p["names_swapped"] else [])
    click.echo(f"pair {p['pair_id']}: match probability {p['match_probability']:.3f}"
               + (f" ({'; '.join(said)})" if said else ""))
    rows = [("field", "level", "weight",
             f"{_shown(left['contributor'])}/{_shown(left['record_id'])}",
             f"{_shown(right['contributor'])}/{_shown(right['record_id'])}")]
    rows += [(f["field"], _shown(f["level"]),
              "" if f["weight"] is None else f"{f['weight']:+.2f}",
              _shown(f["left"]), _shown(f["right"])) for f in p["fields"]]
    widths = [max(cell_len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not any(side["identity_held"] for side in (left, right)):
        # said first: "hidden" invited a reviewer of a PPRL hub to reveal what is not there
        click.echo("(this hub holds no identity values of these records: privacy-preserving "
                   "linkage compares their encodings only)")
    elif not p["identifiers_shown"]:
        click.echo("(identity values hidden: --show-identifiers, or --settings of a hub that "
                   "shows them)")
    if p["decision"]:
        note = ("(shown to its author only)" if p["decision_note_hidden"] else
                "\n  ".join(_shown(line) for line in (p["decision_note"] or "").split("\n")))
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
@click.option("--reason", prompt="Reason (never a person's name, birth date, phone or document)",
              help="Why (kept with the decision; never a person's name, birth date, phone or "
                   "document number). Asked for at a prompt when not given, which keeps it "
                   "out of the shell's history.")
@click.option("--overrule", is_flag=True,
              help="Confirm that a different decision overrules another reviewer's.")
@_identifiers
@_settings
@guarded
def decide_cmd(hub: Path, pair: str, decision: str, reviewer: str, reason: str,
               overrule: bool, show_identifiers: bool, settings_file: Path | None) -> None:
    """Decide a pair (match / non_match), or take a decision back (undecided); the persons of
    the two records are re-formed at once, and later link runs keep the decision. Where
    identifiers are shown (as in show), an overruled reviewer's reason is kept beside yours."""
    from safelight.web import linkage

    state, user = _open(hub, settings_file, show_identifiers, reviewer)
    try:
        r = linkage.decide_pair(state, user, pair, decision, reason, overrule)
    finally:
        state.close()
    if r.get("unchanged"):
        click.echo(f"pair {r['pair_id']}: already decided {r['decision']} by "
                   f"{r['decided_by']}, with this reason; nothing recorded")
        return
    click.echo(f"pair {r['pair_id']}: {r['decision']} by {r['decided_by']}; "
               f"{r['persons_reformed']:,} person(s) re-formed")
