"""What every command group shares: turning errors into one line and an exit code, and showing
the stage of a long command."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from safelight.errors import SafelightError, UsageError


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; a :class:`SafelightError` prints one line (no traceback) and exits with
    its ``exit_code``; Ctrl-C exits 130 (the interrupted step wrote nothing), also when it
    stopped a DuckDB query."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SafelightError as exc:
            click.secho("error: ", fg="red", bold=True, err=True, nl=False)
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            interrupted()
        except Exception as exc:
            # Ctrl-C (or SIGTERM) inside a DuckDB query reaches Python as DuckDB's own
            # exception — InterruptException, or a RuntimeError "Query interrupted" when the
            # signal's handler stopped the query — which printed a traceback and exit 1
            if not _duckdb_interrupted(exc):
                raise
            interrupted()
    return wrapper


def _duckdb_interrupted(exc: Exception) -> bool:
    duckdb = sys.modules.get("duckdb")
    if duckdb is None:
        return False
    return isinstance(exc, duckdb.InterruptException) or (
        type(exc) is RuntimeError and str(exc).startswith("Query interrupted"))


#: ``ctx.meta`` key of :func:`work_complete`: what the command completed, and its exit code
_COMPLETED = "safelight.completed"


def work_complete(note: str, exit_code: int = 0) -> None:
    """Mark the running command's work complete: a Ctrl-C or SIGTERM that stops it from here
    on (one held back while the last step ran, or one during its last lines of output) says
    ``note`` and exits ``exit_code`` instead of 130 and "nothing ... was written". A trial
    stopped a release just after the ledger had recorded it: the command said nothing was
    written, though the release was complete, and a retry recorded (and charged) it again.
    Outside a click command nothing is marked."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta[_COMPLETED] = (note, exit_code)


def interrupted() -> None:
    """Say that the command was interrupted and exit 130 — or, once its work is complete
    (:func:`work_complete`), say so and exit with the code the work ended with."""
    ctx = click.get_current_context(silent=True)
    done = None if ctx is None else ctx.find_root().meta.get(_COMPLETED)
    if done is not None:
        note, code = done
        click.echo(f"interrupted after the work was complete: {note}; nothing was undone",
                   err=True)
        sys.exit(code)
    click.echo("interrupted — nothing from the interrupted step was written", err=True)
    sys.exit(130)


def outputs_apart(inputs: Iterable[Path], outputs: Iterable[Path | None],
                  companions: tuple[str, ...] = ()) -> None:
    """Refuse (:class:`UsageError`, exit 2) outputs that would overwrite an input or each other,
    before anything is read or written: every output file — and its companions, the output's
    name with each suffix of ``companions`` appended (a run record ``OUT.json``) — is written
    over whatever is there. ``None`` outputs (options not given) are skipped. Paths are
    compared resolved, so ``hub.duckdb`` and ``./dir/../hub.duckdb`` are one file; an output
    inside an input folder (a package's ``records.parquet``) is refused too."""
    taken = {Path(p).resolve(): "an input" for p in inputs}
    folders = [p for p in taken if p.is_dir()]
    for out in (o for o in outputs if o is not None):
        for path in (out, *(Path(f"{out}{c}") for c in companions)):
            inside = next((d for d in folders if path.resolve().is_relative_to(d)), None)
            if inside is not None:
                raise UsageError(f"{path} is inside the input {inside}: writing there would "
                                 "change that input — choose an output outside it")
            if path.resolve() in taken:
                raise UsageError(f"{path} is {taken[path.resolve()]}: writing there would "
                                 "overwrite it — choose another output file")
            taken[path.resolve()] = "another output of this command"


def new_outputs(inputs: Iterable[Path], outputs: Iterable[Path | None], *, force: bool,
                companions: tuple[str, ...] = ()) -> None:
    """Refuse (:class:`UsageError`, exit 2), before anything is read, outputs that cannot be
    written or would replace something: those of :func:`outputs_apart`; an output whose folder
    does not exist or is a file (``precious.csv/x.csv``); and, unless ``force`` (``--force``),
    an output or companion that exists already — a command never replaces an earlier result
    silently. ``None`` outputs are skipped."""
    given = [Path(o) for o in outputs if o is not None]
    outputs_apart(inputs, given, companions)
    for out in given:
        if not out.parent.is_dir():
            what = "is a file, not a folder" if out.parent.exists() else "does not exist"
            raise UsageError(f"{out}: {out.parent} {what} — give an output in an existing "
                             "folder")
        writable_folder(out)
        there = [p for p in (out, *(Path(f"{out}{c}") for c in companions)) if p.exists()]
        if there and not force:
            raise UsageError(f"{there[0]} exists already; choose another output or add --force "
                             "to replace it")


#: suffixes of formats a CSV output must not be named as (a spreadsheet refuses the file)
_NOT_CSV = (".xlsx", ".xls", ".ods", ".parquet", ".json", ".jsonl")


def csv_outputs(*outputs: Path | None) -> None:
    """Refuse (:class:`UsageError`, exit 2) a CSV output named as another format
    (``pairs.xlsx``): the command writes CSV text whatever the name says."""
    for out in outputs:
        if out is not None and Path(out).suffix.lower() in _NOT_CSV:
            raise UsageError(f"{out}: the output is CSV — name it .csv (a "
                             f"{Path(out).suffix} file of CSV text would not open)")


#: ``--force`` of the commands that refuse to replace their outputs (:func:`new_outputs`)
force_option = click.option("--force", is_flag=True,
                            help="Replace the output files if they exist already.")


class FiniteFloat(click.FloatRange):
    """:class:`click.FloatRange` that also refuses ``nan`` and ``inf`` (a usage error, exit 2:
    ``FloatRange(min=0)`` lets ``nan`` through, as no comparison with it is true)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return number


class Probability(click.ParamType):
    """A probability option: a finite number from 0 to 1 (``nan``, ``inf`` and numbers out of
    range are usage errors, exit 2, never a run whose record says ``NaN``)."""

    name = "probability"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not (0.0 <= number <= 1.0):  # False for nan too
            self.fail(f"{value} is not a probability in the range 0<=x<=1", param, ctx)
        return number


def audited_csv_export(hub: Any, out_path: Path, header: list[str], rows: list[tuple],
                       action: str, details: dict[str, Any], actor: str = "cli") -> None:
    """Write ``rows`` under ``header`` to the CSV file ``out_path`` and record the export in
    ``hub``'s audit chain (``actor``, ``action``, ``details``): the file first, the entry
    second, and the file removed when the entry cannot be written — no export on disk that the
    chain does not record, and no entry for a file that could not be written. Check the target
    with :func:`export_target` before reading the data."""
    import csv

    with open(out_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    try:
        with hub.transaction():
            hub.audit(actor, action, str(out_path), details)
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise


def export_target(out_path: Path, inputs: Iterable[Path]) -> None:
    """Refuse (:class:`UsageError`) an export file that would overwrite an input (the hub, its
    write-ahead log) or whose folder does not exist — before anything is read."""
    outputs_apart(inputs, (out_path,))
    if not out_path.parent.is_dir():
        raise UsageError(f"--out {out_path}: folder {out_path.parent} does not exist")
    writable_folder(out_path)


def writable_folder(out: Path) -> None:
    """Refuse (:class:`UsageError`, exit 2) an output whose folder takes no new file (read-only,
    no permission, ``/proc``; not a full disk, which still takes an empty file), found by making
    and removing a hidden file there
    before any work: the output is written at the end, and a linkage that ran for minutes
    ended in a traceback (a new-user trial, 2026-12-02)."""
    try:
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".safelight-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{out}: no file can be written in {out.parent} "
                         f"({exc.strerror or exc}) — give an output in a folder you can write "
                         "to") from None


def shows_progress(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a long command under :func:`stage_status` (put it under :func:`guarded`)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with stage_status():
            return fn(*args, **kwargs)
    return wrapper


@contextmanager
def stage_status(logger_name: str = "safelight", first: str = "working…") -> Iterator[None]:
    """While the block runs, a spinner on stderr shows the latest INFO message of
    ``logger_name`` — the stage a long command is in (measuring, fitting, blocking, ...). Only
    on a terminal, and not with ``-v`` (the log itself is printed then). Warnings and errors
    still print, above the spinner, as the log would print them. The messages are the log's:
    counts and stages, never a record's values."""
    if not sys.stderr.isatty() or logging.getLogger().getEffectiveLevel() <= logging.INFO:
        yield
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    logger = logging.getLogger(logger_name)
    saved = logger.level, logger.propagate
    # what the command prints on stdout waits until the spinner is gone: on a terminal the
    # summary line was glued to the spinner's last frame
    held = io.StringIO()
    try:
        with console.status(first) as status, contextlib.redirect_stdout(held):

            class _Show(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    message = record.getMessage()
                    if record.levelno >= logging.WARNING:
                        console.print(f"{record.levelname} {record.name}: {message}",
                                      markup=False, highlight=False)
                    else:
                        status.update(escape(message[:100]))

            handler = _Show()
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False  # the root handler would print the INFO lines too
            try:
                yield
            finally:
                logger.removeHandler(handler)
                logger.setLevel(saved[0])
                logger.propagate = saved[1]
    finally:
        sys.stdout.write(held.getvalue())
        sys.stdout.flush()
