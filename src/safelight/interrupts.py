"""Ctrl-C and SIGTERM: when a command may be stopped, and what a stop does.

Contract
--------
* :func:`terminate_as_interrupt` makes SIGTERM (a scheduler's timeout, ``docker stop``,
  systemd) raise :class:`KeyboardInterrupt` in the main thread, as Ctrl-C does, so that a
  command ended by it runs its clean-up and exits 130 (``safelight.cli_support.guarded``). It
  returns the handler it replaced, for the caller to put back.
* :func:`worker_default_sigterm` puts SIGTERM back to its default in a worker process (a
  forked linkage child, a pool's worker): a parent that terminates a worker wants it gone at
  once, not finishing its current step to raise there.
* :func:`deferred_interrupts` holds Ctrl-C and SIGTERM back for the few steps that must not be
  cut in two — a ledger record and the rename that publishes its file, a clean-up that puts an
  earlier release back — and delivers them when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["deferred_interrupts", "terminate_as_interrupt", "worker_default_sigterm"]

_HELD = {signal.SIGINT, signal.SIGTERM}


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def terminate_as_interrupt() -> Any:
    """Make SIGTERM raise :class:`KeyboardInterrupt` (main thread only; elsewhere nothing is
    changed). Returns the handler it replaced (None when nothing was changed). A server that
    handles SIGTERM itself (uvicorn) installs its own handler over this one."""
    if not _main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def worker_default_sigterm(*_: Any) -> None:
    """In a worker process: SIGTERM ends it at once (its default). Usable as a pool's
    ``initializer``."""
    if _main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def deferred_interrupts(*, deliver: bool = True) -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the block runs (main thread only; elsewhere nothing
    is held); one that came meanwhile is handed, when the block ends, to the handler it would
    have met (a :class:`KeyboardInterrupt` raised there, or the default action) — or dropped
    with ``deliver=False`` (a clean-up that runs as the command ends anyway). Python's handlers
    run in the main thread whichever thread the signal reached (DuckDB's threads would take it
    past a per-thread signal mask), so the block swaps them for one that only notes the signal;
    a signal whose handler Python does not know (set from C: ``None``) is left as it is."""
    if not _main_thread():
        yield
        return
    came: list[int] = []

    def note(signum: int, frame: Any) -> None:
        came.append(signum)

    before: dict[int, Any] = {}
    try:
        for s in _HELD:
            if signal.getsignal(s) is not None:
                before[s] = signal.signal(s, note)
        yield
    finally:
        _restore(before)
        if came and deliver:
            _deliver(came[0], before[came[0]])


def _restore(handlers: dict[int, Any]) -> None:
    """Put every handler of ``handlers`` back, even if putting one back raises."""
    items = list(handlers.items())
    try:
        for s, handler in items[:1]:
            signal.signal(s, handler)
    finally:
        if len(items) > 1:
            _restore(dict(items[1:]))


def _deliver(signum: int, handler: Any) -> None:
    """What ``signum`` would have done under ``handler``."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)
