"""Typed release settings that save to versioned JSON next to every release."""

from __future__ import annotations

import datetime as dt
import errno
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safelight import __version__
from safelight.release.errors import ReleaseUsageError

SETTINGS_FORMAT = 1
#: the words a warning uses for a release that must not be published (the release command
#: then exits with :data:`safelight.release.cli.EXIT_DO_NOT_PUBLISH`, and PUBLISH.txt does
#: not tell to publish its file)
DO_NOT_PUBLISH = "Do not publish"

#: The release file each method writes (the one file of its folder for publication).
RELEASE_FILES = {"aggregates": "aggregates.csv", "dp-aggregates": "aggregates.csv",
                 "synthetic": "synthetic.csv", "dp-synthetic": "synthetic.csv",
                 "microdata": "microdata.csv"}

#: Written into every release folder (as PUBLISH.txt): only the release file is for publication.
#: Added to PUBLISH.txt of a release made from a file (no hub, so no ledger), by kind.
NO_LEDGER_NOTES = {
    "k": ("Made from a file: no ledger records this release. A later release of a table that "
          "gained or lost people can be subtracted from this one to describe the people who "
          "changed (with --method suppress, exactly), and two releases of the same table by "
          "other methods, lengths or columns can be intersected to narrow its small cells (a "
          "trial pinned 482 cells exactly from an interval release and a --method suppress "
          "release of one file): publish one release of a table. Make successive releases of "
          "one dataset from a hub (safelight release hub), whose ledger audits each against "
          "the earlier ones."),
    "dp": ("Made from a file: no ledger adds up the privacy loss of successive releases of "
           "this data. Make them from a hub (safelight release hub), whose ledger keeps the "
           "budget."),
}

PUBLISH_NOTE = """\
Publish only the release file of this folder: {file}.

settings.json and evaluation.json / evaluation.html are for the operator. They hold exact
figures of the sensitive data (its row count, values outside the domain, errors measured
against the true counts, combinations that describe fewer than k people) that the release's
guarantee (k, or epsilon and delta) does not cover. Keep them with the hub's records.
"""


@dataclass(frozen=True)
class ReleaseSettings:
    """What was released, how, and by which software.

    :param method: ``aggregates`` or ``synthetic``.
    :param k: the threshold: no released combination describes 1..k-1 people.
    :param length: the reporting length (longest combination the guarantee covers).
    :param source: the input table (path as given) and its sha256.
    :param params: method-specific parameters (rounding, seed, iterations ...).
    """

    method: str
    k: int
    length: int
    source: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    software: str = f"safelight {__version__}"
    settings_format: int = SETTINGS_FORMAT
    created_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path, warnings: tuple[str, ...] | list[str] = (),
             notes: tuple[str, ...] | list[str] = ()) -> Path:
        """Write the settings to ``path`` and, beside it, :data:`PUBLISH_NOTE` (which file of
        the folder may be published and which stay with the operator), headed by ``warnings``
        (e.g. a release whose evaluation found leaked combinations) and followed by
        ``notes``."""
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", "utf-8")
        name = RELEASE_FILES.get(self.method, "the release file (aggregates.csv, synthetic.csv "
                                 "or microdata.csv)")
        head = "".join(f"WARNING: {w}\n\n" for w in warnings)
        tail = "".join(f"\n{n}\n" for n in notes)
        body = PUBLISH_NOTE.format(file=name)
        if any(DO_NOT_PUBLISH in w for w in warnings):  # it said "Publish only ..." below that
            body = body.replace(f"Publish only the release file of this folder: {name}.",
                                f"The release file of this folder is {name}; the warning above "
                                "says not to publish it.", 1)
        text = head + body + tail
        (path.parent / "PUBLISH.txt").write_text(text if text.endswith("\n") else text + "\n",
                                                 "utf-8")
        return path


def partial_path(path: Path) -> Path:
    """The hidden file a release file ``path`` is written to and renamed from once its
    settings, evaluation and ledger record are written (``.aggregates.csv.partial``)."""
    return path.with_name(f".{path.name}.partial")


#: Every file a release writes into its folder (the release files and the rest); a failed
#: release removes these names only, never anything else in the folder.
WRITTEN_FILES = (*dict.fromkeys(RELEASE_FILES.values()), "settings.json", "evaluation.json",
                 "evaluation.html", "PUBLISH.txt")


def out_folder(out: str | Path) -> Path:
    """The release folder ``out`` names, as an absolute path with symbolic links and ``..``
    resolved the way the system reads them (``new/..`` is the current folder, ``link/..`` the
    parent of the link's target): a release checks, writes and cleans up the folder itself,
    never a path through a folder that does not exist yet (for ``--out new/..`` a failed hub
    release removed the current folder with everything in it, and a file release skipped its
    check for an earlier release there).

    :raises ReleaseUsageError: when the path cannot be a folder's (a name too long for the
        file system, a loop of links)."""
    try:
        folder = Path(out).resolve()
        folder.exists()  # a name over the system's limit fails here, not as a traceback later
    except (OSError, RuntimeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise ReleaseUsageError(f"--out {out} cannot be a folder ({why}); give another path"
                                ) from None
    return folder


def folders_to_make(out: Path) -> list[Path]:
    """``out`` (an :func:`out_folder`) and those of its parents that do not exist yet, deepest
    first: the folders ``out.mkdir(parents=True)`` will create (for
    :func:`remove_made_folders`)."""
    return [d for d in (out, *out.absolute().parents) if not d.exists()]


def remove_made_folders(made: list[Path]) -> None:
    """Remove the folders a release created (:func:`folders_to_make`), deepest first, while
    each is an empty folder: a failed release leaves no empty folder chain behind. Never
    raises: a folder another process filled or removed meanwhile stays as it is (this runs
    while a failure is handled, and must not hide it)."""
    for d in made:
        try:
            d.rmdir()  # removes an empty folder only, in one step (no check, then act)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENAMETOOLONG):
                continue  # never made (mkdir failed on it), or removed already
            return  # not empty (another process filled it), not a folder, no permission


def file_source(path: str | Path) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of an input file (streamed)."""
    import hashlib

    p = Path(path)
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"path": str(p), "sha256": h.hexdigest(), "bytes": p.stat().st_size}


__all__ = ["PUBLISH_NOTE", "RELEASE_FILES", "SETTINGS_FORMAT", "ReleaseSettings", "file_source"]
