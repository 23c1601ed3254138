"""``safelight detect ...`` — the detect stage's command group (registered by ``safelight.cli``).

``detect ads FILE --out DIR`` reads ads (CSV/JSON/JSONL/Parquet/XLSX), extracts contact points,
clusters templated ads, links contact networks and writes ``clusters.csv``, ``networks.csv``,
``leads.csv``, ``leads.html`` and their companions (see :mod:`safelight.detect.pipeline`).
Errors print one line and exit with the error's code (see :mod:`safelight.errors`).
"""

from __future__ import annotations

from pathlib import Path

import click

from safelight.cli_support import guarded

_run = guarded


@click.group()
def detect() -> None:
    """Find templated ads, shared contact points and networks — leads for human review."""


@detect.command("ads")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for clusters.csv, networks.csv, leads.csv, leads.html, ...")
@click.option("--text-column", default="text", show_default=True, help="Column with the ad text.")
@click.option("--id-column", default="id", show_default=True, help="Column with the ad id.")
@click.option("--site-column", default="site", show_default=True,
              help="Column with the site (optional in the file).")
@click.option("--city-column", default="city", show_default=True,
              help="Column with the city/location (optional in the file).")
@click.option("--posted-column", default="posted_at", show_default=True,
              help="Column with the ISO 8601 posting time (optional in the file).")
@click.option("--region-column", default="region", show_default=True,
              help="Column with the ISO 3166 alpha-2 region for phone numbers (optional).")
@click.option("--default-region", default="US", show_default=True,
              help="Region for numbers without a country code when an ad names none.")
@click.option("--threshold", type=click.FloatRange(0.01, 1.0), default=None,
              help="Text similarity needed to link two ads (default 0.18).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes for contact extraction.")
@_run
def ads(file: Path, out_dir: Path, text_column: str, id_column: str, site_column: str,
        city_column: str, posted_column: str, region_column: str, default_region: str,
        threshold: float | None, workers: int) -> None:
    """Cluster the ads in FILE and write leads for review into --out."""
    from safelight.detect.pipeline import analyse, read_ads, write_outputs
    from safelight.detect.templates import ClusterSettings

    ads_, quarantine, rows_read = read_ads(file, text_column, id_column, site_column,
                                           city_column, posted_column, region_column,
                                           default_region)
    settings = ClusterSettings() if threshold is None else ClusterSettings(threshold=threshold)
    analysis = analyse(ads_, settings, workers, quarantine, rows_read)
    write_outputs(analysis, out_dir)
    click.echo(f"{rows_read} rows read: {len(ads_)} ads, {len(quarantine)} quarantined; "
               f"{len(analysis.cluster_summaries)} template clusters, "
               f"{len(analysis.network_summaries)} contact networks, "
               f"{len(analysis.networks.hubs)} hub contact points set aside, "
               f"{len(analysis.leads)} leads → {out_dir}")
