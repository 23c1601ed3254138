"""``safelight serve`` and ``safelight user ...``: run the web application, manage accounts.

Register in ``safelight.cli`` with ``main.add_command(serve)`` and ``main.add_command(user)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from safelight.cli_support import guarded
from safelight.web.roles import ROLES

__all__ = ["serve", "user"]

_hub = click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_settings = click.option("--settings", "settings_file", default=None,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="Web settings JSON (see docs/web.md); defaults otherwise.")


def _load(settings_file: Path | None):
    from safelight.web.settings import WebSettings

    return WebSettings.load(settings_file) if settings_file else WebSettings()


@click.command("serve")
@_hub
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep loopback behind a reverse proxy).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@_settings
@click.option("--insecure-cookie", is_flag=True,
              help="Send the session cookie over plain HTTP (loopback testing only).")
@guarded
def serve(hub: Path, host: str, port: int, settings_file: Path | None,
          insecure_cookie: bool) -> None:
    """Serve the web application and API of HUB (one process: the hub has one writer)."""
    from safelight.web.app import run

    settings = _load(settings_file)
    if insecure_cookie:
        settings.cookie_secure = False
    click.echo(f"serving {hub} on http://{host}:{port} (Ctrl-C stops)", err=True)
    run(hub, settings, host=host, port=port)


@click.group("user")
def user() -> None:
    """Accounts of the web application."""


@user.command("add")
@_hub
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(ROLES))
@click.option("--contributor", default=None,
              help="The contributor id a contributor or caseworker account acts for (required for them).")
@click.option("--new-contributor", is_flag=True,
              help="Register --contributor on the hub (one that has sent nothing yet); "
                   "otherwise an unknown contributor is refused as a typo.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters (prompted when not given).")
@guarded
def user_add(hub: Path, username: str, role: str, contributor: str | None,
             new_contributor: bool, password: str) -> None:
    """Create the account USERNAME in HUB; prints the TOTP secret for every role but viewer
    (shown once: enter it in an authenticator app)."""
    from safelight.web.auth import add_user, totp_uri
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    state = HubState(hub, WebSettings())
    try:
        unknown = bool(contributor) and not state.one(
            "SELECT 1 AS x FROM contributors WHERE name = ?", [contributor])
        secret = add_user(state, username, password, role, contributor=contributor,
                          actor="cli", new_contributor=new_contributor)
    finally:
        state.close()
    click.echo(f"created {username.strip().lower()} ({role})"
               + (f"; contributor {contributor!r} registered" if unknown else ""))
    if secret:
        click.echo(f"TOTP secret: {secret}")
        uri = totp_uri(username.strip().lower(), secret)
        click.echo(f"TOTP URI:    {uri}")
        if sys.stdout.isatty():  # a QR code to scan with the authenticator app
            import segno

            segno.make(uri, error="m").terminal(compact=True)


@user.command("list")
@_hub
@guarded
def user_list(hub: Path) -> None:
    """List the accounts of HUB."""
    from safelight.web.auth import list_users
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    state = HubState(hub, WebSettings())
    try:
        for u in list_users(state):
            click.echo(f"{u['username']:<24} {u['role']:<12} {u['contributor'] or '':<16} "
                       f"{'active' if u['active'] else 'inactive'}")
    finally:
        state.close()
