"""The one root exception of safelight and its few well-known subclasses.

Messages say *where* (file, row, column, rule) and *how to fix*; the CLI prints them as a single
line without a traceback and exits with the class's ``exit_code``.
"""

from __future__ import annotations


class SafelightError(Exception):
    """Root of every error safelight raises on purpose."""

    exit_code = 1


class UsageError(SafelightError):
    """A command was called with arguments that cannot work (bad option, missing hub)."""

    exit_code = 2


class InputFileError(SafelightError):
    """A file as a whole cannot be read (empty, binary, not a list of records, no header ...).

    Row-level faults never raise: they go to the quarantine.
    """

    exit_code = 3

    def __init__(self, path: object, problem: str, fix: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        message = f"{self.path}: {problem}"
        if fix:
            message += f" — {fix}"
        super().__init__(message)


class ProfileError(SafelightError):
    """A mapping profile or crosswalk is invalid or does not fit the file."""

    exit_code = 4


class StoreError(SafelightError):
    """The hub database is missing, locked, or of an unknown schema version."""

    exit_code = 5


class KeyFileError(SafelightError):
    """A secret key file is missing or malformed, or data does not open with the key given."""

    exit_code = 7


class RefusedError(SafelightError):
    """Policy refused the action: the caller is not authorised, or the person's consent is missing."""

    exit_code = 8
