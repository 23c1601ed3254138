"""``safelight refer ...`` — the click group of the refer stage (thin over its API).

Register it in ``safelight.cli`` with ``main.add_command(refer)``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
from pathlib import Path

import click

from safelight.cli_support import guarded
from safelight.errors import UsageError
from safelight.refer import directory, finder, referral, vault
from safelight.refer.match import DirectoryIndex
from safelight.refer.model import NEEDS, REFERRAL_REASONS, Person
from safelight.refer.places import find_place
from safelight.store import open_hub

log = logging.getLogger("safelight.refer")

#: a hub that must exist (a missing one is a usage error, exit 2, as for every command)
_hub = click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
#: ``refer import`` makes the hub when there is none
_hub_or_new = click.argument("hub", type=click.Path(dir_okay=False, path_type=Path))
_actor = click.option("--actor", default=None, help="Who does this (default: the login name); goes to the audit log.")


def _who(actor: str | None) -> str:
    return actor or getpass.getuser()


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (value or "").split(",") if x.strip())


@click.group("refer", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def refer() -> None:
    """Service directory (Open Referral HSDS 3.0) with confidential locations, need matching,
    referrals with consent, and the public help finder."""


@refer.command()
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
@guarded
def keygen(keyfile: Path) -> None:
    """Create the operator's key file (AES-256) that seals confidential locations. Keep it off the hub."""
    key = vault.new_key_file(keyfile)
    click.echo(f"key {key.key_id} written to {keyfile} (mode 0600); back it up — sealed locations cannot be opened without it")


@refer.command("import")
@_hub_or_new
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--key", "keyfile", type=click.Path(dir_okay=False, path_type=Path),
              help="Key file to seal confidential locations given in clear.")
@_actor
@guarded
def import_(hub: Path, path: Path, keyfile: Path | None, actor: str | None) -> None:
    """Import an HSDS 3.0 directory: a JSON file, or a folder of HSDS CSV tables."""
    key = vault.load_key(keyfile) if keyfile else None
    with open_hub(hub, create=True) as h:
        rep = directory.import_directory(h, path, actor=_who(actor), key=key)
    click.echo(f"import {rep.import_id}: {rep.rows_read} read, {rep.rows_accepted} accepted, "
               f"{rep.rows_quarantined} quarantined; {rep.sealed_locations} locations sealed")
    for entity, n in sorted(rep.quarantined.items()):
        click.echo(f"  quarantined {entity}: {n}")
    if rep.quarantined:
        click.echo(f"  export them with their reasons: safelight refer quarantine {hub} "
                   f"--import {rep.import_id} --out FILE.csv")


@refer.command("quarantine")
@click.argument("hub", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--import", "import_id", type=int, help="Only this import's rows.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write (import, entity, row, id, rules, reasons, raw).")
@_actor
@guarded
def quarantine(hub: Path, import_id: int | None, out_path: Path, actor: str | None) -> None:
    """Export the directory rows an import quarantined, with their reasons (audited). A
    confidential location's values are not in them (sealed or redacted at import)."""
    from safelight.cli_support import audited_csv_export, export_target

    export_target(out_path, (hub, Path(f"{hub}.wal")))
    with open_hub(hub) as h:
        if import_id is not None and not h.con.execute(
                "SELECT count(*) FROM refer_quarantine WHERE import_id = ?",
                [import_id]).fetchone()[0]:
            raise UsageError(f"import {import_id} quarantined nothing (or there is no such import)")
        rows = h.con.execute(
            "SELECT import_id, entity, source_row, object_id, array_to_string(rules, ';'), "
            "CAST(reasons AS VARCHAR), raw FROM refer_quarantine"
            + (" WHERE import_id = ?" if import_id is not None else "")
            + " ORDER BY import_id, entity, source_row",
            [import_id] if import_id is not None else []).fetchall()
        audited_csv_export(h, out_path, ["import_id", "entity", "row", "id", "rules", "reasons",
                                         "raw"], rows, "refer_export_quarantine",
                           {"import": import_id, "rows": len(rows)}, actor=_who(actor))
    click.echo(f"wrote {len(rows):,} quarantined directory rows to {out_path}")


@refer.command()
@_hub
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--include-sealed", is_flag=True, help="Operator copy: add confidential locations as sealed blobs.")
@guarded
def export(hub: Path, out: Path, fmt: str, include_sealed: bool) -> None:
    """Export the directory as HSDS 3.0 (public unless --include-sealed; never in clear)."""
    with open_hub(hub, read_only=True) as h:
        counts = directory.export_directory(h, out, fmt=fmt, include_sealed=include_sealed)
    click.echo(f"exported to {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@refer.command()
@_hub
@click.option("--needs", required=True, help=f"Comma-separated, most important first: {', '.join(NEEDS)}.")
@click.option("--languages", default="", help="ISO 639-1 codes the person speaks, preferred first (uk,ru).")
@click.option("--near", default=None, help="A place (Lviv, or 'Lviv, UKR') or LAT,LON.")
@click.option("--gender", type=click.Choice(["female", "male", "other"]), default=None)
@click.option("--age", type=click.IntRange(0, 120), default=None)
@click.option("--nationality", default=None, help="ISO 3166 code or country name.")
@click.option("--legal-status", default=None, help="citizen, resident, refugee, asylum_seeker, temporary_protection, victim_permit, undocumented.")
@click.option("--children", is_flag=True, help="The person comes with children.")
@click.option("--max-km", default=150.0, show_default=True, type=click.FloatRange(min=1))
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--at", "at", default=None, help="Needed at this local time (YYYY-MM-DDTHH:MM); default now.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@guarded
def match(hub: Path, needs: str, languages: str, near: str | None, gender: str | None, age: int | None,
          nationality: str | None, legal_status: str | None, children: bool, max_km: float, limit: int,
          at: str | None, as_json: bool) -> None:
    """Rank services for a person, with the reasons for each rank."""
    from safelight.standard import geography

    place = find_place(near) if near else None
    nat = None
    if nationality:
        nat = geography.resolve_country(nationality)
        if nat is None:
            raise UsageError(f"--nationality {nationality}: not a country I know")
    try:
        when = dt.datetime.fromisoformat(at) if at else dt.datetime.now()
    except ValueError:
        raise UsageError(f"--at {at}: use YYYY-MM-DDTHH:MM") from None
    person = Person(needs=_csv(needs), languages=_csv(languages.lower()),
                    latitude=place.latitude if place else None, longitude=place.longitude if place else None,
                    gender=gender, age=age, nationality=nat, legal_status=legal_status,
                    with_children=children, max_km=max_km)
    with open_hub(hub, read_only=True) as h:
        results = DirectoryIndex.from_hub(h).match(person, limit=limit, at=when)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in results], ensure_ascii=False, indent=1))
        return
    if not results:
        click.echo("no service fits; widen --max-km or drop a condition")
    for m in results:
        where = f"{m.place}, {m.country}" if m.place else (m.country or "")
        km = f" · {m.distance_km:.0f} km" if m.distance_km is not None else ""
        click.echo(f"{m.rank:>2}. {m.name} [{m.service_id}] ({where}{km}) score {m.score:.2f}")
        for r in m.reasons:
            click.echo(f"      - {r}")


@refer.command()
@_hub
@click.argument("contributor")
@click.argument("record_id")
@click.option("--caseworker", required=True)
@click.option("--service", "service_id", default=None, help="Consent to this service only (default: any).")
@click.option("--given-on", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--note", default=None)
@guarded
def consent(hub: Path, contributor: str, record_id: str, caseworker: str, service_id: str | None,
            given_on: dt.datetime | None, note: str | None) -> None:
    """Record that the person of a case agreed to be referred."""
    with open_hub(hub) as h:
        cid = referral.record_consent(h, contributor, record_id, caseworker=caseworker, service_id=service_id,
                                      given_on=given_on.date() if given_on else None, note=note)
    click.echo(f"referral consent {cid} recorded for {contributor}/{record_id}")


@refer.command("withdraw-consent")
@_hub
@click.argument("consent_id", type=int)
@_actor
@guarded
def withdraw_consent(hub: Path, consent_id: int, actor: str | None) -> None:
    """Withdraw a referral consent (later referrals under it are refused)."""
    with open_hub(hub) as h:
        referral.withdraw_consent(h, consent_id, actor=_who(actor))
    click.echo(f"referral consent {consent_id} withdrawn")


@refer.command("refer")
@_hub
@click.argument("contributor")
@click.argument("record_id")
@click.argument("service_id")
@click.option("--caseworker", required=True)
@click.option("--reason", type=click.Choice(REFERRAL_REASONS), default="AdditionalServicesRequired", show_default=True)
@click.option("--needs", default="", help="Needs the referral is for (default: all the service meets).")
@click.option("--details", default=None)
@guarded
def refer_case(hub: Path, contributor: str, record_id: str, service_id: str, caseworker: str, reason: str,
               needs: str, details: str | None) -> None:
    """Refer a case to a service (refused without the person's recorded consent)."""
    with open_hub(hub) as h:
        row = referral.create_referral(h, contributor, record_id, service_id, caseworker=caseworker,
                                       reason=reason, needs=list(_csv(needs)) or None, details=details)
    click.echo(f"referral {row['referral_id']}: {contributor}/{record_id} → {row['organization_name']} "
               f"({row['referral_date']}, {row['reason']})")


@refer.command()
@_hub
@click.argument("caseworker")
@click.option("--organization", default=None)
@click.option("--may-reveal", is_flag=True, help="May open the real location of confidential services.")
@_actor
@guarded
def grant(hub: Path, caseworker: str, organization: str | None, may_reveal: bool, actor: str | None) -> None:
    """Register a caseworker (and whether they may see confidential locations)."""
    with open_hub(hub) as h:
        directory.grant_caseworker(h, caseworker, actor=_who(actor), organization=organization, may_reveal=may_reveal)
    click.echo(f"caseworker {caseworker} registered{' (may reveal confidential locations)' if may_reveal else ''}")


@refer.command()
@_hub
@click.argument("service_id")
@click.option("--key", "keyfile", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--caseworker", required=True)
@click.option("--purpose", required=True, help="Why the location is needed (audited).")
@guarded
def reveal(hub: Path, service_id: str, keyfile: Path, caseworker: str, purpose: str) -> None:
    """Show the real location of a confidential service to an authorised caseworker (audited)."""
    key = vault.load_key(keyfile)
    with open_hub(hub) as h:
        locs = directory.reveal_location(h, service_id, key=key, caseworker=caseworker, purpose=purpose)
    click.echo(json.dumps(locs, ensure_ascii=False, indent=1))


@refer.command("build-finder")
@_hub
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--exit-url", default=finder.DEFAULT_EXIT_URL, show_default=True,
              help="Where the quick-exit button goes.")
@guarded
def build_finder(hub: Path, out: Path, exit_url: str) -> None:
    """Write the public help finder (static files; serve the folder over HTTPS)."""
    with open_hub(hub, read_only=True) as h:
        sizes = finder.build_help_finder(h, out, exit_url=exit_url)
    click.echo(f"help finder written to {out}: {len(sizes)} files, page {sizes['index.html']} bytes")


@refer.command("demo-directory")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--services", "n", default=2000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=20260601, show_default=True, type=click.IntRange(min=0))
@guarded
def demo_directory(out: Path, n: int, seed: int) -> None:
    """Write a generated HSDS directory (confidential locations in clear: import it with --key)."""
    from safelight.refer.testdata import generate_directory

    doc = generate_directory(n, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    click.echo(f"{len(doc['services'])} services of {len(doc['organizations'])} organisations written to {out}")
