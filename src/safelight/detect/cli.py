"""``safelight detect ...`` — the detect stage's command group (registered by ``safelight.cli``).

``detect ads FILE --out DIR`` reads ads (CSV/JSON/JSONL/Parquet/XLSX), extracts contact points,
clusters templated ads, links contact networks and writes ``clusters.csv``, ``networks.csv``,
``leads.csv``, ``leads.html`` and their companions (see :mod:`safelight.detect.pipeline`);
with ``--hub`` it also stores the run and its leads for review. ``detect train-fraud`` trains
the recruitment-fraud model on the EMSCAD sample; ``detect leads`` and ``detect review`` list
stored leads and record review decisions (audited).
Errors print one line and exit with the error's code (see :mod:`safelight.errors`).
"""

from __future__ import annotations

from pathlib import Path

import click

from safelight.cli_support import guarded

_run = guarded


def _who(actor: str | None) -> str:
    import getpass

    return actor or getpass.getuser()


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
              help="Text similarity needed to link two ads (default 0.22).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes for contact extraction and indicators (they run while the "
              "main process clusters).")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Indicator lexicon YAML (default: the shipped indicators.yaml).")
@click.option("--no-indicators", is_flag=True, help="Skip the indicator lexicon.")
@click.option("--fraud-model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Recruitment-fraud model from `detect train-fraud` (job offers).")
@click.option("--hub", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Also store the run and its leads in this hub, for review.")
@click.option("--actor", default=None, help="Who runs this (default: the login name); audited.")
@_run
def ads(file: Path, out_dir: Path, text_column: str, id_column: str, site_column: str,
        city_column: str, posted_column: str, region_column: str, default_region: str,
        threshold: float | None, workers: int, lexicon: Path | None, no_indicators: bool,
        fraud_model: Path | None, hub: Path | None, actor: str | None) -> None:
    """Cluster the ads in FILE and write leads for review into --out."""
    from safelight.detect.fraud import FraudModel
    from safelight.detect.indicators import load_lexicon
    from safelight.detect.pipeline import analyse, read_ads, write_outputs
    from safelight.detect.templates import ClusterSettings
    from safelight.store.hub import now_utc

    started = now_utc()
    lex = load_lexicon(lexicon)
    model = FraudModel.load(fraud_model) if fraud_model else None
    ads_, quarantine, rows_read = read_ads(file, text_column, id_column, site_column,
                                           city_column, posted_column, region_column,
                                           default_region)
    settings = ClusterSettings() if threshold is None else ClusterSettings(threshold=threshold)
    analysis = analyse(ads_, settings, workers, quarantine, rows_read, lexicon=lex,
                       indicators=not no_indicators, fraud_model=model)
    write_outputs(analysis, out_dir)
    if hub is not None:
        from safelight.detect.hub import store_run
        from safelight.store import open_hub

        with open_hub(hub) as h:
            run_id = store_run(h, analysis, file, _who(actor), started)
        click.echo(f"stored as detect run {run_id} in {hub} ({len(analysis.leads)} leads, "
                   "status open)")
    click.echo(f"{rows_read} rows read: {len(ads_)} ads, {len(quarantine)} quarantined; "
               f"{len(analysis.cluster_summaries)} template clusters, "
               f"{len(analysis.network_summaries)} contact networks, "
               f"{len(analysis.networks.hubs)} hub contact points set aside, "
               f"{len(analysis.leads)} leads → {out_dir}")


@detect.command("train-fraud")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder with the EMSCAD balanced files "
              "(default: ../shared/data/ads/emscad_variants).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Model file to write (JSON).")
@click.option("--evaluate/--no-evaluate", default=False, show_default=True,
              help="Also run near-duplicate-grouped 5-fold CV against TF-IDF + linear SVM.")
@click.option("--group-threshold", type=click.FloatRange(0.05, 1.0), default=0.3,
              show_default=True, help="Text similarity that makes two ads near-duplicates.")
@_run
def train_fraud(data: Path | None, out_file: Path, evaluate: bool, group_threshold: float
                ) -> None:
    """Train the recruitment-fraud classifier on the EMSCAD sample and write it to --out."""
    import json

    from safelight.detect.fraud import evaluate as run_cv
    from safelight.detect.fraud import load_emscad, near_duplicate_groups, train

    texts, y = load_emscad(data)
    groups = near_duplicate_groups(texts, group_threshold)
    model = train(texts, y, groups)
    if evaluate:
        model.info["grouped_cv"] = run_cv(texts, y, groups)
    model.info["group_threshold"] = group_threshold
    model.save(out_file)
    click.echo(f"trained on {len(texts)} ads ({int(y.sum())} fraudulent, "
               f"{len(set(groups.tolist()))} near-duplicate groups) → {out_file}")
    if evaluate:
        click.echo(json.dumps(model.info["grouped_cv"], indent=2))


@detect.command("leads")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run", "run_id", default=None, help="Only this detect run.")
@click.option("--status", default=None, help="Only leads with this status (e.g. open).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@_run
def leads_cmd(hub: Path, run_id: str | None, status: str | None, limit: int) -> None:
    """List the leads stored in HUB, best first, with their reasons."""
    from safelight.detect.hub import list_leads
    from safelight.store import open_hub

    with open_hub(hub, read_only=True) as h:
        rows = list_leads(h, run_id, status, limit)
    for r in rows:
        why = "; ".join(x["text"] for x in r["reasons"] if x["code"] != "indicator_hit")
        click.echo(f"{r['run_id']} {r['lead_id']:>6} {r['score']:.2f} [{r['status']}] "
                   f"{r['n_ads']} ads — {why}")


@detect.command("review")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("run_id")
@click.argument("lead_id")
@click.argument("status", type=click.Choice(["open", "reviewing", "dismissed", "escalated"]))
@click.option("--note", default=None, help="Why (goes to the lead and the audit log).")
@click.option("--actor", default=None, help="Who decides (default: the login name).")
@_run
def review(hub: Path, run_id: str, lead_id: str, status: str, note: str | None,
           actor: str | None) -> None:
    """Set the review STATUS of lead LEAD_ID of detect run RUN_ID in HUB (audited)."""
    from safelight.detect.hub import set_lead_status
    from safelight.store import open_hub

    with open_hub(hub) as h:
        set_lead_status(h, run_id, lead_id, status, _who(actor), note)
    click.echo(f"{run_id}/{lead_id} → {status}")
