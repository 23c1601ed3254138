"""``safelight dashboard publish``: publish the web dashboard's current figures.

Registered in ``safelight.cli`` (``stage_commands``). See :mod:`safelight.web.dashboard` for
why the dashboard holds back figures that differ from the last published ones by fewer than
the threshold. The hub has one writer: stop ``safelight serve`` first; the server shows the
published figures when it starts.
"""

from __future__ import annotations

from pathlib import Path

import click

from safelight.cli_support import guarded

__all__ = ["dashboard"]


@click.group("dashboard")
def dashboard() -> None:
    """The web dashboard's published figures."""


@dashboard.command("publish")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--settings", "settings_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The server's web settings JSON (its report_threshold: a snapshot judged at "
                   "another threshold keeps the server's dashboard held back); defaults "
                   "otherwise.")
@guarded
def publish(hub: Path, settings_file: Path | None) -> None:
    """Publish the dashboard of HUB as the current data give it, even where counts differ by
    fewer than the threshold from the figures published before (an administrator's decision:
    the difference may show who arrived or left). Audited."""
    from safelight.web.dashboard import publish as publish_figures
    from safelight.web.settings import WebSettings
    from safelight.web.state import HubState

    settings = WebSettings.load(settings_file) if settings_file else WebSettings()
    state = HubState(hub, settings)
    try:
        d = publish_figures(state)
        state.hub.audit("cli", "dashboard.publish", "dashboard",
                        {"generated_at": d.get("generated_at"), "empty": d["empty"] is not None})
    finally:
        state.close()
    click.echo("published the dashboard's figures" if d["empty"] is None else
               f"nothing to publish: {d['empty']}")
