"""``safelight <command> ...`` — one command group per stage; thin over the stage APIs.

Exit codes: 0 success · 1 error · 2 bad usage · 3 unreadable input file · 4 bad profile ·
5 hub database problem · 6 ingest finished but rows were quarantined (only with
``--fail-on-quarantine``) · 7 key file missing, malformed or not the right key · 8 refused by
policy (not authorised, no consent) · 130 interrupted (nothing was written).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn
from rich.table import Table

from safelight import __version__
from safelight.cli_support import audited_csv_export, export_target, guarded, interrupted
from safelight.errors import UsageError
from safelight.interrupts import terminate_as_interrupt

EXIT_QUARANTINE = 6
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


_run = guarded


class _StageGroup(click.Group):
    """The top-level group: each stage's commands are imported only when used (or listed), so
    ``safelight ingest`` does not pay for importing the web application or the report."""

    stage_commands: dict[str, str] = {}  # command name -> "module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.stage_commands])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = self.stage_commands.get(name)
        if target is None:
            return super().get_command(ctx, name)
        import importlib

        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's own signature
        """Run the command with SIGTERM ending it as Ctrl-C does (its clean-up runs, exit 130;
        a scheduler's timeout, ``docker stop``, systemd), from before the command's stage is
        imported: a stop in the first second or two, while the stage loads, exited 1 with
        click's "Aborted!" (Ctrl-C) or 143 without a word (SIGTERM). The handler it replaced
        comes back when the command ends (a caller in the same process keeps its own)."""
        previous = terminate_as_interrupt()
        if previous is not None:
            ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # before the command's own handler (guarded) took over
            interrupted()


@click.group(cls=_StageGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="safelight")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """safelight — a self-hosted hub for counter-trafficking case data.

    Harmonise contributors' exports to one case standard, keep every rejected row in a
    quarantine, and (in later stages) link, release, report and detect — without exposing the
    people in the data.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    # libraries' own debug chatter is not the user's concern (pycountry logs "This is an error
    # in the databases" for every fuzzy lookup); their warnings still show
    for name in ("pycountry", "pycountry.db", "numba", "matplotlib"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    # every file a command writes is its owner's alone (the hub and its write-ahead log,
    # quarantine exports, packages, outputs), as under the service's UMask=0077: group and
    # others lose their bits whatever the shell's umask gave them
    os.umask(os.umask(0o077) | 0o077)


# --------------------------------------------------------------------------- init / status


@main.command()
@click.argument("hub", type=click.Path(dir_okay=False, path_type=Path))
@_run
def init(hub: Path) -> None:
    """Create an empty hub database at HUB (e.g. hub.duckdb)."""
    from safelight.store import open_hub

    if hub.exists():
        raise UsageError(f"{hub} already exists; `safelight status {hub}` shows what it holds")
    with open_hub(hub, create=True) as h:
        with h.transaction():
            h.audit("cli", "init", str(hub), {"version": __version__})
        out.print(f"created hub {hub} (schema version {h.schema_version()})")


@main.command()
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_run
def status(hub: Path, as_json: bool) -> None:
    """Show what HUB holds: contributions, cases, quarantine, audit entries, and linkage
    (persons seen by several contributors and countries, the last run, the review queue)."""
    from safelight.store import open_hub

    with open_hub(hub, read_only=True) as h:
        st = h.status()
        contributions = h.contributions()
        # contributors whose linked records cannot count towards "several countries"
        unknown = [r[0] for r in h.con.execute(
            "SELECT DISTINCT p.contributor FROM persons p LEFT JOIN contributors k "
            "ON k.name = p.contributor WHERE k.country IS NULL ORDER BY 1").fetchall()]
    if as_json:
        out.print_json(json.dumps({**st, "contributions_detail": contributions,
                                   "linked_contributors_without_country": unknown},
                                  default=str))
        return
    out.print(f"[bold]{hub}[/] — schema v{st['schema_version']}, {st['contributions']} contributions, "
              f"{st['cases']:,} cases, {st['identities']:,} identities, "
              f"{st['quarantined_rows']:,} quarantined rows, {st['series_rows']:,} series rows, "
              f"{st['audit_entries']} audit entries")
    if st["persons"]:
        countries = (f"{st['persons_seen_in_several_countries']:,} in several countries"
                     + (f" (country unknown for {len(unknown)} contributor(s): "
                        f"{', '.join(unknown[:5])}{'…' if len(unknown) > 5 else ''} — give it "
                        "with `safelight ingest … --country` or `safelight link receive … "
                        "--country`)" if unknown else ""))
        by_n = ", ".join(f"{c:,} by {n}" for n, c in st["persons_by_contributor_count"].items())
        out.print(escape(f"linkage: {st['persons']:,} persons, "
                         f"{st['persons_seen_by_several_contributors']:,} seen by several "
                         f"contributors{f' ({by_n})' if by_n else ''}, {countries}"))
    if st["last_link_run"]:
        run, queue = st["last_link_run"], st["review_queue"]
        out.print(escape(
            f"last link run: {str(run['finished_at'])[:16]} UTC ({run['mode']}), "
            f"{run['records']:,} records, {run['linked_pairs']:,} linked pairs; review queue: "
            f"{queue['open']:,} open, {queue['decided']:,} decided"), highlight=False)
    if contributions and out.width < _TABLE_WIDTH:  # a narrow terminal cut the counts
        out.print("[italic]Contributions[/]")
        for c in contributions:
            out.print(escape(
                f"  #{c['contribution_id']} {c['contributor']} {c['file_name']} "
                f"({c['profile']}@{c['profile_version']}): {c['rows_read']:,} read, "
                f"{c['rows_accepted']:,} accepted ({c['rows_new']:,} new, "
                f"{c['rows_updated']:,} updated, {c['rows_unchanged']:,} unchanged), "
                f"{c['rows_quarantined']:,} quarantined"), highlight=False)
    elif contributions:
        t = _table("Contributions", ("id", "contributor", "file", "profile"),
                   ("read", "accepted", "quarantined", "new", "updated", "unchanged"))
        for c in contributions:
            t.add_row(str(c["contribution_id"]), c["contributor"], c["file_name"],
                      f"{c['profile']}@{c['profile_version']}", f"{c['rows_read']:,}",
                      f"{c['rows_accepted']:,}", f"{c['rows_quarantined']:,}", f"{c['rows_new']:,}",
                      f"{c['rows_updated']:,}", f"{c['rows_unchanged']:,}")
        out.print(t)
    if st["per_contributor"]:
        t = _table("Cases by contributor", ("contributor",),
                   ("cases", "linkable", "not in statistics", "with identity"))
        for r in st["per_contributor"]:
            t.add_row(r["contributor"], f"{r['cases']:,}", f"{r['linkable']:,}",
                      f"{r['excluded_from_statistics']:,}", f"{r['identities']:,}")
        out.print(t)
    if st["top_quarantine_rules"]:
        out.print("Top quarantine reasons: " + ", ".join(
            f"{r['rule']} ({r['rows']:,})" for r in st["top_quarantine_rules"]))


#: terminal width under which ``status`` lists contributions line by line (its table cut the
#: counts to "46,5…" at 80 columns)
_TABLE_WIDTH = 110


def _table(title: str, text: tuple[str, ...], numbers: tuple[str, ...]) -> Table:
    """A status table whose counts are never cut: the number columns keep their width and the
    text columns fold."""
    t = Table(title=title)
    for name in text:
        t.add_column(name, overflow="fold", min_width=12)
    for name in numbers:
        t.add_column(name, justify="right", no_wrap=True, overflow="fold")
    return t


# --------------------------------------------------------------------------- ingest


def _progress_for(path: Path) -> tuple[Progress, Callable[[int, int], None]]:
    """A progress bar of the bytes and rows read, updated after each chunk. Until the first chunk
    it says "reading": a workbook's first chunk comes after passes over the whole sheet (merged
    cells, formulas), and "0 rows" then looked like a stalled ingest."""
    size = path.stat().st_size if path.is_file() else 0
    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[rows]}"),
                    TransferSpeedColumn(), TimeElapsedColumn(), console=err, transient=True,
                    disable=not err.is_terminal)
    task = prog.add_task(path.name, total=size or None, rows="reading…")

    def update(rows: int, nbytes: int) -> None:
        prog.update(task, completed=nbytes or None, rows=f"{rows:,} rows")
    return prog, update


@main.command()
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--contributor", "-c", required=True,
              help="Name of the contributing agency (e.g. ua-hotline). Record ids are unique per contributor.")
@click.option("--profile", "-p", "profile_name", default="safelight", show_default=True,
              help="Mapping profile: a built-in name (ctdc-legacy, ctdc-2024, htcds-2.0, glotip, "
                   "safelight) or the path of a YAML profile.")
@click.option("--country", help="The contributor's country (ISO code or name), for cross-border views.")
@click.option("--json", "as_json", is_flag=True, help="Print the result of each file as JSON.")
@click.option("--fail-on-quarantine", is_flag=True,
              help=f"Exit with code {EXIT_QUARANTINE} when any row was quarantined.")
@_run
def ingest(hub: Path, files: tuple[Path, ...], contributor: str, profile_name: str, country: str | None,
           as_json: bool, fail_on_quarantine: bool) -> None:
    """Validate FILES with a mapping profile and add them to HUB.

    Every row ends up accepted or in the quarantine with its reasons; the counts add up. Each
    file is one transaction: interrupted, it leaves nothing behind. The same file twice changes
    nothing. A file that cannot be read (empty, binary, missing columns) is reported and the
    other files are still ingested; the exit code is then that file's (3). Use `safelight
    quarantine HUB` to export rejected rows.
    """
    from safelight.errors import InputFileError
    from safelight.ingest import ingest_file, load_profile
    from safelight.store import open_hub

    profile = load_profile(profile_name)
    any_quarantined = False
    refused: list[tuple[Path, InputFileError]] = []
    with open_hub(hub) as h:
        for path in files:
            prog, update = _progress_for(path)
            try:
                with prog:
                    result = ingest_file(h, path, contributor=contributor, profile=profile,
                                         progress=update, country=country)
            except InputFileError as exc:  # this file only: the others are still read
                if len(files) == 1:
                    raise
                err.print(f"[red]error:[/red] {escape(str(exc))} — not ingested", highlight=False)
                refused.append((path, exc))
                continue
            any_quarantined |= result.rows_quarantined > 0
            if as_json:
                out.print_json(json.dumps(result.as_dict(), default=str))
                continue
            if result.already_ingested:
                out.print(f"{path}: already ingested as contribution {result.contribution_id} — nothing changed")
                continue
            out.print(f"{path}: contribution {result.contribution_id} — {result.rows_read:,} rows read, "
                      f"{result.rows_accepted:,} accepted ({result.rows_new:,} new, {result.rows_updated:,} "
                      f"updated, {result.rows_unchanged:,} unchanged), {result.rows_quarantined:,} quarantined "
                      f"in {result.seconds:.1f} s")
            for note in result.notes:
                out.print(f"  note: {note}")
            if result.top_rules:
                out.print("  quarantine: " + ", ".join(f"{r} ({n:,})" for r, n in result.top_rules))
    if refused:
        err.print(escape(f"{len(refused)} of {len(files)} files not ingested: "
                         + ", ".join(str(p) for p, _ in refused)), highlight=False)
        sys.exit(refused[0][1].exit_code)
    if fail_on_quarantine and any_quarantined:
        sys.exit(EXIT_QUARANTINE)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--profile", "-p", "profile_name", default="safelight", show_default=True,
              help="Mapping profile (built-in name or YAML path).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_run
def check(file: Path, profile_name: str, as_json: bool) -> None:
    """Dry run at the contributor: validate FILE against a profile without any hub.

    Shows how many rows would be accepted, the rules rows break and the first examples.
    """
    from safelight.ingest import check_file, load_profile

    result = check_file(file, load_profile(profile_name))
    if as_json:
        out.print_json(json.dumps(result, default=str))
        return
    defaulted = (click.get_current_context().get_parameter_source("profile_name")
                 is click.core.ParameterSource.DEFAULT)
    profile_note = f" (no -p given: the built-in {profile_name} profile)" if defaulted else ""
    out.print(escape(f"{file}: {result['rows_read']:,} rows, {result['rows_valid']:,} valid, "
                     f"{result['rows_invalid']:,} would be quarantined{profile_note}"),
              highlight=False)
    for note in result["notes"]:
        out.print(f"  note: {note}")
    for rule, n in result["rules"].items():
        out.print(f"  {rule}: {n:,}")
    for ex in result["examples"][:10]:
        for r in ex["reasons"]:
            out.print(escape(f"  row {ex['row']}: [{r.get('column') or '-'}] {r['rule']}: {r['message']}"),
                      highlight=False)


@main.command()
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--contribution", type=int, help="Only this contribution id.")
@click.option("--contributor", help="Only this contributor's contributions.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write (contributor, contribution, file, row, rules, reasons, raw).")
@_run
def quarantine(hub: Path, contribution: int | None, contributor: str | None, out_path: Path) -> None:
    """Export quarantined rows with their reasons, to fix and send again."""
    from safelight.store import open_hub

    where, params = [], []
    if contribution is not None:
        where.append("q.contribution_id = ?")
        params.append(contribution)
    if contributor:
        where.append("k.contributor = ?")
        params.append(contributor)
    sql = ("SELECT k.contributor, q.contribution_id, k.file_name, q.source_row, array_to_string(q.rules, ';'),"
           " CAST(q.reasons AS VARCHAR), q.raw FROM quarantine q JOIN contributions k USING (contribution_id)"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY q.contribution_id, q.source_row")
    export_target(out_path, (hub, Path(f"{hub}.wal")))
    with open_hub(hub) as h:
        if contributor and not h.con.execute("SELECT count(*) FROM contributors WHERE name = ?",
                                             [contributor]).fetchone()[0]:
            raise UsageError(f"the hub has no contributor named {contributor!r} "
                             "(`safelight status` lists them)")
        if contribution is not None and not h.con.execute(
                "SELECT count(*) FROM contributions WHERE contribution_id = ?",
                [contribution]).fetchone()[0]:
            raise UsageError(f"the hub has no contribution {contribution} "
                             "(`safelight status` lists them)")
        rows = h.con.execute(sql, params).fetchall()
        # record-level data leaves the hub: audited
        audited_csv_export(h, out_path, ["contributor", "contribution_id", "file", "row", "rules",
                                         "reasons", "raw"], rows, "export_quarantine",
                           {"contribution": contribution, "contributor": contributor,
                            "rows": len(rows)})
    out.print(f"wrote {len(rows):,} quarantined rows to {out_path}")


# --------------------------------------------------------------------------- consent


@main.group()
def consent() -> None:
    """Consent that travels with each record."""


@consent.command("withdraw")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("record_ids", nargs=-1, required=True)
@click.option("--contributor", "-c", required=True, help="The contributor whose records these are.")
@click.option("--reason", help="Why (kept with the withdrawal; the audit log keeps only that "
                               "one was given). Do not name the person: the withdrawal is never "
                               "erased.")
@click.option("--not-yet-received", "--before-first-export", "not_yet_received", is_flag=True,
              help="Record the withdrawal for records the hub has not received yet (it applies "
                   "when they arrive); otherwise an id the hub does not hold, or a contributor "
                   "it does not know, is refused as a typo and nothing is withdrawn.")
@_run
def consent_withdraw(hub: Path, record_ids: tuple[str, ...], contributor: str, reason: str | None,
                     not_yet_received: bool) -> None:
    """Withdraw consent for RECORD_IDS: the cases leave linkage and every later release, their
    identity data and referral notes are erased, and later exports cannot revive them.
    """
    from safelight.store import open_hub

    with open_hub(hub) as h:
        unknown = h.withdrawal_pending(contributor, list(record_ids),
                                       not_yet_received=not_yet_received,
                                       record_anyway="add --not-yet-received")
        counts = h.withdraw_consent(contributor, list(record_ids), actor="cli", reason=reason)
    out.print(f"{counts['requested']} record id(s): {counts['known']} case(s) known to the hub, "
              f"{counts['cases_withdrawn']} case(s) withdrawn, {counts['identities_erased']} "
              f"identity row(s), {counts['quarantined_rows_redacted']} quarantined row(s) and "
              f"{counts.get('encoded_records_erased', 0)} encoded record(s) of stored packages "
              "erased")
    if unknown:  # the ids the hub held nothing of (a quarantined row or an encoding counts)
        out.print(f"  {len(unknown)} id(s) not (yet) in the hub are remembered and applied when "
                  "they arrive")
    if (counts["identities_erased"] or counts.get("encoded_records_erased")
            or counts["quarantined_rows_redacted"]):
        out.print("  the erased values stay in the hub file's freed blocks until `safelight "
                  f"compact {escape(str(hub))}` rewrites it (and in backups taken before)")


@main.command()
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_run
def compact(hub: Path) -> None:
    """Rewrite HUB without the blocks its deleted rows left behind: erased identities (consent
    withdrawals) and redacted quarantine rows otherwise stay readable in the file's bytes.
    Checked before it replaces the hub; audited. Stop `safelight serve` first."""
    from safelight.store.hub import compact_hub

    before, after = compact_hub(hub)
    out.print(f"compacted {hub}: {before / 2**20:,.1f} MB → {after / 2**20:,.1f} MB; backups "
              "taken before still hold what was erased")


# --------------------------------------------------------------------------- audit


@main.group()
def audit() -> None:
    """The hub's tamper-evident audit log."""


@audit.command("verify")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--head", "head", metavar="SEQ:HASH",
              help="A head printed by an earlier verification and kept outside the hub: it must "
                   "still be in the chain (removing the newest entries is seen only so).")
@_run
def audit_verify(hub: Path, head: str | None) -> None:
    """Recompute the audit log's hash chain; exit 1 if any entry was altered or removed.
    Prints the chain's head (SEQ:HASH): keep it elsewhere (a ticket, the backup log) and give
    it to a later verification with --head."""
    from safelight.store import open_hub

    expected = None
    if head is not None:
        seq, _, digest = head.partition(":")
        if not seq.isdigit() or int(seq) < 1 or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise UsageError(f"--head {head!r}: expected SEQ:HASH as printed by `safelight "
                             "audit verify`")
        expected = (int(seq), digest.lower())
    with open_hub(hub, read_only=True) as h:
        ok, message = h.verify_audit(expected)
    if not ok:
        err.print(f"[bold red]audit log broken:[/] {message}")
        sys.exit(1)
    out.print(f"audit log ok: {message}")


# --------------------------------------------------------------------------- standard reference


@main.group()
def standard() -> None:
    """Reference of the case standard: fields, code lists, profiles, crosswalks."""


@standard.command("fields")
def standard_fields() -> None:
    """List the canonical fields (case, identity and series)."""
    from safelight.standard.schema import CASE_FIELDS, IDENTITY_FIELDS, SERIES_FIELDS

    t = Table("field", "group", "kind", "code list", "description")
    for f in (*CASE_FIELDS, *IDENTITY_FIELDS, *SERIES_FIELDS.values()):
        t.add_row(f.name, f.group.value, f.kind.value, f.codelist or "", f.description)
    out.print(t)


@standard.command("codes")
@click.argument("name", required=False)
@_run
def standard_codes(name: str | None) -> None:
    """List the code lists, or the codes of list NAME with their definitions."""
    from safelight.standard.codelists import all_codelists, codelist

    if not name:
        for cl in all_codelists().values():
            out.print(f"[bold]{cl.name}[/] ({len(cl.codes)}): {cl.description}")
        return
    if name not in all_codelists():
        raise UsageError(f"unknown code list {name!r}; known: {', '.join(all_codelists())}")
    cl = codelist(name)
    t = Table("code", "label", "definition", title=f"{cl.name}: {cl.description}")
    for c in cl.codes.values():
        t.add_row(c.code, c.label, c.definition)
    out.print(t)


@standard.command("profiles")
def standard_profiles() -> None:
    """List the built-in mapping profiles and crosswalks."""
    from safelight.ingest import builtin_profiles, load_profile
    from safelight.standard.crosswalk import builtin_crosswalks, load_crosswalk

    for name in builtin_profiles():
        p = load_profile(name)
        out.print(f"profile [bold]{name}[/] v{p.version} ({p.target}): {p.description}")
    for name in builtin_crosswalks():
        c = load_crosswalk(name)
        out.print(f"crosswalk [bold]{name}[/] v{c.version}: {c.source}")


# --------------------------------------------------------------------------- demo


@main.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the scenario, hub and summary.")
@click.option("--seed", default=2023, show_default=True, type=click.IntRange(min=0), help="Seed of the scenario generator.")
@click.option("--records", default=20_000, show_default=True, type=click.IntRange(min=200),
              help="Approximate number of case records (at least 200).")
@click.option("--force", is_flag=True,
              help="Replace the demo already in --out (its hub, accounts, keys and reports).")
@_run
def demo(out_dir: Path, seed: int, records: int, force: bool) -> None:
    """Generate the multi-agency demo scenario, ingest each contributor's export with its own
    profile, and write an HTML summary (demo-output/summary.html).
    """
    from safelight.demo.run import run_demo

    if (out_dir / "hub.duckdb").exists() and not force:
        raise UsageError(f"{out_dir} already holds a demo hub; --force replaces it (with its "
                         "accounts, keys and reports), or choose another --out")

    summary = run_demo(out_dir, seed=seed, n_records=records, console=out)
    out.print(f"summary: {summary}")


# Each later stage owns its command group; they join here and load on first use.
main.stage_commands = {  # type: ignore[attr-defined]
    "detect": "safelight.detect.cli:detect",
    "identity": "safelight.identity.cli:identity",
    "link": "safelight.link.cli:link",
    "refer": "safelight.refer.cli:refer",
    "release": "safelight.release.cli:release",
    "report": "safelight.report.cli:report",
    "review": "safelight.link.review_cli:review",
    "serve": "safelight.web.cli:serve",
    "user": "safelight.web.cli:user",
    "dashboard": "safelight.web.dashboard_cli:dashboard",
}

if __name__ == "__main__":  # pragma: no cover
    main()
