"""``safelight identity ...``: key files and encoded contribution packages (at a contributor).

Registered by ``safelight.cli``. ``keygen`` writes a new shared key; ``encode`` turns a file of
identities into a contribution package (no clear identifier; see
:mod:`safelight.identity.encode`); ``inspect`` checks a package (format, records against the
manifest's SHA-256 and count) and shows its manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from safelight.cli_support import force_option, guarded, new_outputs

__all__ = ["identity"]


@click.group()
def identity() -> None:
    """Encode identities for privacy-preserving linkage (runs at the contributor)."""


@identity.command("keygen")
@click.argument("keyfile", type=click.Path(path_type=Path, dir_okay=False))
@guarded
def keygen_cmd(keyfile: Path) -> None:
    """Write a new random key to KEYFILE (share it with the other contributors, never the hub)."""
    from safelight.errors import UsageError
    from safelight.identity.encode import key_fingerprint, load_key, new_key

    if keyfile.exists():
        raise UsageError(f"{keyfile} exists — refusing to overwrite a key (packages made with "
                         "it could no longer be linked); choose a new path")
    new_outputs((), (keyfile,), force=True)  # its folder exists
    new_key(keyfile)
    click.echo(f"wrote a new key to {keyfile} (fingerprint "
               f"{key_fingerprint(load_key(keyfile))}); give it to contributors only")


@identity.command("encode")
@click.argument("file", type=click.Path(exists=True, path_type=Path, dir_okay=False))
@click.option("--map", "map_path", required=True,
              type=click.Path(exists=True, path_type=Path, dir_okay=False),
              help="MAP.yaml: the id column and identity field → column.")
@click.option("--key", "key_path", required=True,
              type=click.Path(exists=True, path_type=Path, dir_okay=False),
              help="The key file shared among contributors.")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The package directory to write (FILE.enc).")
@click.option("--contributor", default=None, help="Contributor name (default: from the map).")
@click.option("--flip", type=click.FloatRange(0.0, 0.5, max_open=True), default=None,
              help="BLIP bit-flip probability, 0 to under 0.5 (default 0.01).")
@click.option("--name-salt", type=click.Choice(["none", "decade", "year"]), default=None,
              help="Salt name filters by birth decade/year (stronger against frequency "
                   "attacks, costs recall when birth years differ; see docs/pprl.md).")
@force_option
@guarded
def encode_cmd(file: Path, map_path: Path, key_path: Path, out: Path, contributor: str | None,
               flip: float | None, name_salt: str | None, force: bool) -> None:
    """Encode the identities in FILE into a contribution package at OUT (an existing package
    is replaced with --force only)."""
    from dataclasses import replace

    from safelight.errors import UsageError
    from safelight.identity.encode import (
        MANIFEST,
        RECORDS,
        EncodingSettings,
        encode_table,
        load_key,
        write_package,
    )
    from safelight.identity.mapping import (
        check_id_is_no_identifier,
        check_record_ids,
        load_map,
        read_identities,
    )

    if out.exists():
        what = ("a file" if not out.is_dir() else "a folder that is not a package"
                if {p.name for p in out.iterdir()} - {MANIFEST, RECORDS} else None)
        if what:
            raise UsageError(f"--out {out} is {what}: a package is a folder of its own (give "
                             "a new name, or an earlier package to replace with --force)")
    new_outputs((file, map_path, key_path), (out,), force=force)
    mapping = load_map(map_path)
    check_id_is_no_identifier(map_path, mapping)
    data = read_identities(file, mapping)
    check_record_ids(file, data.table, data.row_numbers)
    settings = EncodingSettings()
    if flip is not None:
        settings = replace(settings, flip_probability=flip)
    if name_salt is not None:
        settings = replace(settings, name_salt=name_salt)
    enc = encode_table(data.table, load_key(key_path), settings,
                       contributor=contributor or mapping.contributor, source=str(file),
                       row_numbers=data.row_numbers)
    enc.manifest["rows_read"] = data.rows_read
    enc.manifest["unreadable_rows"] = len(data.unreadable_rows)
    enc.manifest["unparsed_birth_dates"] = data.unparsed_dates
    write_package(enc, out)
    m = enc.manifest
    click.echo(f"encoded {m['records']:,} records ({m['records_with_consent_to_linkage']:,} with "
               f"consent to linkage) into {out}; {len(data.unreadable_rows)} unreadable row(s)"
               f"{data.unreadable_where()}, "
               f"{data.unparsed_dates} unparsed birth date(s); key fingerprint "
               f"{m['key_fingerprint']}")


@identity.command("inspect")
@click.argument("package", type=click.Path(exists=True, path_type=Path))
@guarded
def inspect_cmd(package: Path) -> None:
    """Print the manifest of a contribution PACKAGE (no key needed, nothing clear inside),
    after checking its records against it (SHA-256, number of records, records with consent
    to linkage and fields present)."""
    from safelight.link.encoded import check_manifest_counts, read_package

    manifest, records = read_package(package, lazy=True)
    check_manifest_counts(package, manifest, records)
    click.echo(json.dumps(manifest, indent=2))
    click.echo(f"{package}: records.parquet matches the manifest (SHA-256, "
               f"{manifest['records']:,} records, consent and fields present)", err=True)
