"""Errors raised by :mod:`safelight.release` (all subclass :class:`SafelightError`)."""

from __future__ import annotations

from safelight.errors import SafelightError, UsageError


class ReleaseError(SafelightError):
    """A release cannot be made as asked (bad parameters, unsafe request, table too large)."""

    exit_code = 1


class ReleaseUsageError(UsageError):
    """A release parameter is out of range (e.g. ``k < 2`` or ``length < 1``)."""


__all__ = ["ReleaseError", "ReleaseUsageError"]
