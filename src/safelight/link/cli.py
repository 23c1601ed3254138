"""``safelight link ...``: record linkage commands (registered by ``safelight.cli``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from safelight.cli_support import (
    Probability,
    csv_outputs,
    force_option,
    guarded,
    new_outputs,
    shows_progress,
)
from safelight.errors import UsageError
from safelight.link.pprl_cli import pprl

__all__ = ["link"]

#: files written beside ``--out``: the run record ``OUT.json``
RUN_RECORD_SUFFIXES = (".json",)


@click.group()
def link() -> None:
    """Find the same person across contributors (record linkage)."""


@link.command("hub")
@click.argument("hub", type=click.Path(exists=True, path_type=Path, dir_okay=False))
@click.option("--threshold", type=Probability(), default=0.5, show_default=True,
              help="Match probability from which two records are linked (0 to 1).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random samples the model is estimated on (pairs for the u "
                   "probabilities): the same seed, the same links.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--pprl", is_flag=True,
              help="Link the stored contribution packages (privacy-preserving) instead.")
@click.option("--learn-from-reviews", is_flag=True,
              help="Also refine the model's m from reviewers' decided pairs (decisions "
                   "bind the persons either way).")
@click.option("--switch-mode", is_flag=True,
              help="Replace the persons of the hub's last run although it was of the other "
                   "mode (clear or --pprl); refused otherwise.")
@guarded
@shows_progress
def link_hub_cmd(hub: Path, threshold: float, seed: int, as_json: bool, pprl: bool,
                 learn_from_reviews: bool, switch_mode: bool) -> None:
    """Link every record with consent to linkage in HUB; write persons and the review queue.

    A run replaces the persons of the last one; one of the other mode than the last (clear
    after --pprl, or --pprl after clear) is refused unless --switch-mode says so."""
    from safelight.link.hub import link_hub, summary
    from safelight.link.pipeline import LinkSettings
    from safelight.store import open_hub

    with open_hub(hub) as h:
        _check_mode(h, "pprl" if pprl else "clear", switch_mode)
        if pprl:
            from safelight.link.hub_pprl import link_hub_encoded
            from safelight.link.pprl import PPRLSettings

            result = link_hub_encoded(h, PPRLSettings(threshold=threshold, seed=seed,
                                                      learn_from_reviews=learn_from_reviews))
        else:
            result = link_hub(h, LinkSettings(threshold=threshold, seed=seed,
                                              learn_from_reviews=learn_from_reviews))
    s = summary(result)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(f"linked {s['records']:,} records into {s['persons']:,} persons "
               f"({s['persons_in_several_contributors']:,} seen by several contributors); "
               f"{s['candidate_pairs']:,} candidate pairs, {s['review_pairs']:,} to review "
               f"(run {s['run_id']})"
               + (f" — review them in the web application (safelight serve {hub}, Review) "
                  f"or with `safelight review list {hub} --reviewer NAME`"
                  if s["review_pairs"] else ""))


def _check_mode(hub, mode: str, switch: bool) -> None:  # noqa: ANN001 - a Hub
    """Refuse (:class:`UsageError`, exit 2) a run of ``mode`` over a hub whose last run was of
    the other mode, unless ``switch``: its persons and review queue would be replaced by those
    of other records — a --pprl run links the stored packages' records only, a clear run the
    records in clear only — and the records only the last run linked would lose their person
    (a trial: 15,732 persons of 6 contributors became 7,717 of 2, with a warning only after).
    The web application keeps the mode of the last run."""
    from safelight.link.hub import last_run_mode

    before = last_run_mode(hub)
    if before is None or before == mode or switch:
        return
    persons, contributors = hub.con.execute(
        "SELECT count(DISTINCT person_id), count(DISTINCT contributor) FROM persons").fetchone()
    review = hub.con.execute(
        "SELECT count(*) FROM link_review WHERE decision IS NULL").fetchone()[0]
    flag = {"clear": "", "pprl": " --pprl"}
    raise UsageError(
        f"{hub.path}: its persons come from a {before} run ({persons:,} persons of "
        f"{contributors:,} contributors, {review:,} pairs open for review); this {mode} run "
        f"would replace them with the persons of the "
        + ("stored packages' records" if mode == "pprl" else "records in clear")
        + f" only. Run `safelight link hub {hub.path}{flag[before]}` to link again as before, "
        "or add --switch-mode to replace them")


_MAP = click.Path(exists=True, path_type=Path, dir_okay=False)


def _refuse_package_part(path: Path) -> None:
    """A file of an encoded package (its ``records.parquet``) is no file of records in clear:
    say to give the package folder (it was read as a damaged Parquet export)."""
    from safelight.identity.encode import MANIFEST

    if (path.parent / MANIFEST).is_file():
        raise UsageError(f"{path} is part of the encoded package {path.parent}: give the "
                         "package folder (`link pairs A.enc B.enc`, `link pprl`), without --map")
_INPUT = click.Path(exists=True, path_type=Path)


def _run_options(fn: Any) -> Any:
    """``--review``, ``--threshold``, ``--seed`` and ``--force`` of ``link pairs`` and ``link
    dedupe``."""
    for option in reversed((
        click.option("--review", type=click.Path(path_type=Path, dir_okay=False),
                     help="Also write the uncertain pairs with per-field reasons (REVIEW.csv)."),
        click.option("--threshold", type=Probability(), default=0.5,
                     show_default=True,
                     help="Match probability from which two records are linked (0 to 1)."),
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed of the random samples the model is estimated on (pairs for the u "
                   "probabilities): the same seed, the same links."),
        force_option,
    )):
        fn = option(fn)
    return fn


def _settings(threshold: float, seed: int) -> Any:
    from safelight.link.pipeline import LinkSettings

    return LinkSettings(threshold=threshold, seed=seed)


@link.command("pairs")
@click.argument("left", type=_INPUT)
@click.argument("right", type=_INPUT)
@click.option("--map", "map_path", type=_MAP,
              help="MAP.yaml for LEFT (and RIGHT unless --right-map): id column and identity "
                   "field → column. Not used for encoded packages.")
@click.option("--right-map", type=_MAP, help="MAP.yaml for RIGHT when its columns differ.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="PAIRS.csv: left_id,right_id,match_probability (one-to-one).")
@_run_options
@click.pass_context
@guarded
@shows_progress
def pairs_cmd(ctx: click.Context, left: Path, right: Path, map_path: Path | None,
              right_map: Path | None, out: Path, review: Path | None, threshold: float,
              seed: int, force: bool) -> None:
    """Link two registers LEFT and RIGHT, each free of duplicates: files in clear (with --map)
    or two encoded packages from `safelight identity encode` (privacy-preserving)."""
    from safelight.errors import UsageError

    if left.is_dir() or right.is_dir():
        if not (left.is_dir() and right.is_dir()):
            raise UsageError("give two files in clear (with --map) or two encoded packages "
                             "(directories), not one of each")
        if map_path or right_map or review:
            raise UsageError("--map, --right-map and --review apply to files in clear; encoded "
                             "packages carry their own fields")
        ctx.invoke(pprl, packages=(left, right), out=out, dedupe=False, threshold=threshold,
                   seed=seed, force=force)
        return
    for f in (left, right):
        _refuse_package_part(f)
    if map_path is None:
        raise UsageError("files in clear need --map MAP.yaml (the id column and identity "
                         "field → column; see docs/linkage.md)")
    if left.resolve() == right.resolve():
        raise UsageError("LEFT and RIGHT are the same file: `link pairs` links two registers; "
                         "to find the persons within one file use `link dedupe`")
    new_outputs((p for p in (left, right, map_path, right_map) if p), (out, review),
                force=force, companions=RUN_RECORD_SUFFIXES)
    csv_outputs(out, review)
    from safelight.link.files import (
        link_two_files,
        read_mapped,
        run_record,
        write_pairs,
        write_review,
    )

    lf = read_mapped(left, map_path, "left")
    rf = read_mapped(right, right_map or map_path, "right")
    res = link_two_files(lf, rf, _settings(threshold, seed))
    written = write_pairs(res, out)
    run_record(res, [lf, rf], out)
    extra = (f"; {_count(write_review(res, review), 'uncertain pair')} to {review}"
             if review else "")
    click.echo(f"linked {lf.table.num_rows:,} × {rf.table.num_rows:,} records: "
               f"{_count(len(res.comparisons.a), 'candidate pair')}, wrote "
               f"{_count(written, 'pair')} to {out}{extra}{_skipped(lf, rf)}")


def _count(n: int, noun: str) -> str:
    """``1 pair``, ``2 pairs``, ``1,000 pairs``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@link.command("dedupe")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--map", "map_path", required=True, type=_MAP,
              help="MAP.yaml: the id column and identity field → column.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="CLUSTERS.csv: record_id,cluster_id.")
@_run_options
@guarded
@shows_progress
def dedupe_cmd(file: Path, map_path: Path, out: Path, review: Path | None, threshold: float,
               seed: int, force: bool) -> None:
    """Find the records of FILE that belong to the same person (clusters)."""
    if file.is_dir():  # an encoded package is a folder
        from safelight.errors import UsageError

        raise UsageError(f"{file} is a folder, not a file of records; to deduplicate an encoded "
                         f"package run `safelight link pprl {file} --out CLUSTERS.csv`")
    _refuse_package_part(file)
    from safelight.link.files import (
        dedupe_file,
        read_mapped,
        run_record,
        write_clusters,
        write_review,
    )

    new_outputs((file, map_path), (out, review), force=force,
                companions=RUN_RECORD_SUFFIXES)
    csv_outputs(out, review)
    src = read_mapped(file, map_path, "file")
    res = dedupe_file(src, _settings(threshold, seed))
    clusters = write_clusters(res, out)
    run_record(res, [src], out)
    extra = (f"; {_count(write_review(res, review), 'uncertain pair')} to {review}"
             if review else "")
    click.echo(f"{_count(src.table.num_rows, 'record')} {'is' if src.table.num_rows == 1 else 'are'} "
               f"{_count(clusters, 'person')} ({_count(len(res.comparisons.a), 'candidate pair')}); "
               f"wrote {out}{extra}"
               f"{_skipped(src)}")


def _skipped(*files: Any) -> str:
    notes = []
    for f in files:
        if f.without_consent or f.read.unreadable_rows or f.read.unparsed_dates:
            notes.append(f"{f.path.name}: {f.without_consent:,} without consent to linkage "
                         f"(left out), {len(f.read.unreadable_rows):,} unreadable rows"
                         f"{f.read.unreadable_where()}, "
                         f"{f.read.unparsed_dates:,} unparsed birth dates")
    return ("\n" + "\n".join(notes)) if notes else ""


@link.command("receive")
@click.argument("hub", type=click.Path(exists=True, path_type=Path, dir_okay=False))
@click.argument("packages", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--new-contributor", is_flag=True,
              help="Accept a package of a contributor the hub does not know yet (no cases, "
                   "package or withdrawals); otherwise an unknown name is refused as a typo.")
@click.option("--country", default=None,
              help="The contributor's country (ISO code or name), for cross-border views "
                   "(as `ingest --country`); with several PACKAGES, the country of them all.")
@click.option("--allow-older", is_flag=True,
              help="Let a package replace a newer one of its contributor (refused otherwise: "
                   "it would undo consent withdrawn and records removed since).")
@guarded
def receive_cmd(hub: Path, packages: tuple[Path, ...], new_contributor: bool,
                country: str | None, allow_older: bool) -> None:
    """Store contribution PACKAGES (from `safelight identity encode`) in HUB for `link hub
    --pprl`; a contributor's new package replaces its previous one (an older one is refused;
    the package already stored changes nothing)."""
    from safelight.link.hub_pprl import receive_package
    from safelight.store import open_hub

    with open_hub(hub) as h:
        for p in packages:
            m = receive_package(h, p, new_contributor=new_contributor, country=country,
                                allow_older=allow_older)
            if m["unchanged"]:
                click.echo(f"{p}: the package of {m['contributor']} the hub holds already; "
                           + (f"its country is now {m['country_set']}" if m["country_set"]
                              else "nothing changed"))
                continue
            erased = int(m["encoded_records_erased"])
            gone = (f"; {erased:,} erased: their consent was withdrawn at the hub" if erased
                    else "")
            click.echo(f"stored {int(m['records']) - erased:,} encoded records of "
                       f"{m['contributor']} (key fingerprint {m['key_fingerprint']}){gone}")


link.add_command(pprl)
