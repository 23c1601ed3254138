"""What every command group shares: turning errors into one line and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from safelight.errors import SafelightError


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; a :class:`SafelightError` prints one line (no traceback) and exits with
    its ``exit_code``; Ctrl-C exits 130 (the interrupted step wrote nothing)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SafelightError as exc:
            click.secho("error: ", fg="red", bold=True, err=True, nl=False)
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted — nothing from the interrupted step was written", err=True)
            sys.exit(130)
    return wrapper
