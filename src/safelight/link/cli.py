"""``safelight link ...``: record linkage commands (registered by ``safelight.cli``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from safelight.cli_support import guarded
from safelight.link.pprl_cli import pprl

__all__ = ["link"]


@click.group()
def link() -> None:
    """Find the same person across contributors (record linkage)."""


@link.command("hub")
@click.argument("hub", type=click.Path(exists=True, path_type=Path, dir_okay=False))
@click.option("--threshold", type=float, default=0.5, show_default=True,
              help="Match probability from which two records are linked.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (u sampling).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--pprl", is_flag=True,
              help="Link the stored contribution packages (privacy-preserving) instead.")
@guarded
def link_hub_cmd(hub: Path, threshold: float, seed: int, as_json: bool, pprl: bool) -> None:
    """Link every record with consent to linkage in HUB; write persons and the review queue."""
    from safelight.link.hub import link_hub, summary
    from safelight.link.pipeline import LinkSettings
    from safelight.store import open_hub

    with open_hub(hub) as h:
        if pprl:
            from safelight.link.hub_pprl import link_hub_encoded
            from safelight.link.pprl import PPRLSettings

            result = link_hub_encoded(h, PPRLSettings(threshold=threshold, seed=seed))
        else:
            result = link_hub(h, LinkSettings(threshold=threshold, seed=seed))
    s = summary(result)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(f"linked {s['records']:,} records into {s['persons']:,} persons "
               f"({s['persons_in_several_contributors']:,} seen by several contributors); "
               f"{s['candidate_pairs']:,} candidate pairs, {s['review_pairs']:,} to review "
               f"(run {s['run_id']})")


@link.command("receive")
@click.argument("hub", type=click.Path(exists=True, path_type=Path, dir_okay=False))
@click.argument("packages", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path, file_okay=False))
@guarded
def receive_cmd(hub: Path, packages: tuple[Path, ...]) -> None:
    """Store contribution PACKAGES (from `safelight identity encode`) in HUB for `link hub
    --pprl`; a contributor's new package replaces its previous one."""
    from safelight.link.hub_pprl import receive_package
    from safelight.store import open_hub

    with open_hub(hub) as h:
        for p in packages:
            m = receive_package(h, p)
            click.echo(f"stored {m['records']:,} encoded records of {m['contributor']} "
                       f"(key fingerprint {m['key_fingerprint']})")


link.add_command(pprl)
