"""Run a function call in a forked child process while the caller goes on with other work.

Contract: :func:`start` calls ``fn(*args)`` in a child forked from the calling process (so the
child sees the caller's arrays without copying or pickling them) and returns a :class:`Job`
whose :meth:`Job.result` waits for the child and returns what ``fn`` returned (pickled back
through a pipe: return compact NumPy arrays, not millions of Python objects). With
``parallel=False``, where the ``fork`` start method does not exist, in a daemonic process or
in one with other Python threads running (a web server's), ``fn`` runs at once in the calling
process (the serial fallback) and :meth:`Job.result` returns its value: the
results are the same either way, only the wall time differs. An exception in the child is
raised again by :meth:`Job.result`; one that does not survive pickling becomes a
:class:`ChildFailed` naming only its type and the frames it passed through (file, line,
function) — never its message, which may quote a record's values.

The child is forked before the caller starts any threaded engine of its own: a child must
not use the caller's DuckDB connections or thread pools (it opens its own when it needs
them). It ends with ``os._exit`` (via :mod:`multiprocessing`), so it runs no cleanup of the
caller's.

:class:`Claims` shares work between the caller and a child: units of work numbered ``0..k-1``,
taken one at a time from the head by one process and from the tail by the other, under a lock
in memory that the fork shares, so that each unit runs exactly once and neither waits for a
split fixed in advance.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from safelight.errors import SafelightError
from safelight.interrupts import worker_default_sigterm

__all__ = ["ChildFailed", "Claims", "Job", "can_fork", "default_workers", "start", "workers_cpu"]

log = logging.getLogger("safelight.link")

T = TypeVar("T")

_WORKERS_CPU = [0.0]  # CPU seconds of the forked calls whose results were collected here


def workers_cpu() -> float:
    """CPU seconds of all forked calls whose results this process has collected so far
    (the calls run in its place by the serial fallback are not in it: they are its own)."""
    return _WORKERS_CPU[0]


class ChildFailed(SafelightError):
    """A forked worker failed or died (e.g. killed for lack of memory)."""


def can_fork() -> bool:
    """Whether this platform has the ``fork`` start method."""
    return "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """Processes a linkage run uses by default: the CPUs this process may run on, at most 2
    (the stages split into two halves; more would not be used)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(2, cpus))


class Job(Generic[T]):
    """A call started by :func:`start`; :meth:`result` returns its value."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: CPU seconds the call took (in the child, or here for the serial fallback)
        self.cpu = 0.0
        self._value: Any = None
        self._error: BaseException | None = None
        self._proc: Any = None
        self._conn: Any = None
        self._forked = False

    @property
    def forked(self) -> bool:
        """Whether the call runs (or ran) in a forked child, not by the serial fallback."""
        return self._forked

    def result(self) -> T:
        """Wait for the call and return its value (raise its exception)."""
        if self._proc is not None:
            try:
                status, payload, self.cpu = self._conn.recv()  # before join: drain the pipe
            except EOFError:
                status, payload = "died", None
            except Exception as e:  # noqa: BLE001 - an exception that pickled but cannot load
                status, payload = "error", ChildFailed(
                    f"the forked worker for {self.name} failed with an error that cannot be "
                    f"passed back ({type(e).__name__}); run with workers=1 to see it")
            finally:
                self._conn.close()
            self._proc.join()
            _WORKERS_CPU[0] += self.cpu
            code = self._proc.exitcode
            self._proc = None
            if status == "ok":
                self._value = payload
            elif status == "error":
                self._error = payload
            else:
                self._error = ChildFailed(
                    f"the forked worker for {self.name} died (exit code {code}), perhaps "
                    "killed for lack of memory; run with workers=1 to stay in one process")
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> None:
        """Stop the child if it still runs (when the caller gives up on its result)."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join()
            self._conn.close()
            self._proc = None


def _where(e: BaseException) -> str:
    """The type of ``e`` and the frames it passed through, without its message (which may
    quote record values)."""
    frames = traceback.extract_tb(e.__traceback__)
    path = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                       for f in reversed(frames))
    return f"{type(e).__name__} at {path or 'an unknown place'}"


def _round_trips(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:  # noqa: BLE001 - any failure means the parent could not rebuild it
        return False
    return True


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    worker_default_sigterm()  # Job.cancel terminates the child: at once, not after its step
    cpu = time.process_time()
    try:
        out: tuple[str, Any] = ("ok", fn(*args))
    except BaseException as e:  # noqa: BLE001 - handed to the parent, which raises it
        out = ("error", e if _round_trips(e) else ChildFailed(
            f"the forked worker failed ({_where(e)}); run with workers=1 to see the error"))
    try:
        conn.send((*out, time.process_time() - cpu))
    except Exception as e:  # noqa: BLE001 - an unpicklable value
        conn.send(("error", ChildFailed(f"the forked worker could not return its result "
                                        f"({type(e).__name__}); run with workers=1"), 0.0))
    finally:
        conn.close()


def start(name: str, fn: Callable[..., T], *args: Any, parallel: bool = True) -> Job[T]:
    """Start ``fn(*args)`` in a forked child (see the module docstring); ``name`` says in
    messages what the child computes."""
    job: Job[T] = Job(name)
    # a daemonic process (e.g. a multiprocessing pool's worker) may not have children, and a
    # process with other Python threads (a web server's) is not forked: a child could inherit
    # a lock that one of them held
    if (not (parallel and can_fork()) or multiprocessing.current_process().daemon
            or threading.active_count() > 1):
        cpu = time.process_time()
        try:
            job._value = fn(*args)
        except Exception as e:  # noqa: BLE001 - raised by result(), as from a child
            job._error = e
        job.cpu = time.process_time() - cpu
        return job
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args), name=f"safelight-{name}",
                       daemon=True)
    proc.start()
    send.close()
    job._proc, job._conn, job._forked = proc, recv, True
    log.debug("forked worker %s (pid %d)", name, proc.pid)
    return job


class Claims:
    """Units of work ``0..n_units-1`` still to run, taken from the head (:meth:`head`) or the
    tail (:meth:`tail`), each exactly once. With ``shared``, the two ends live in memory
    shared with the children forked after this call (a lock guards them), so a child and its
    parent can take units concurrently; otherwise in this process only (the serial
    fallback)."""

    def __init__(self, n_units: int, shared: bool) -> None:
        ends = [0, n_units]
        self._shared = shared and can_fork()
        self._ends: Any = (multiprocessing.get_context("fork").Array("q", ends)
                           if self._shared else ends)

    def _take(self, from_tail: bool) -> int | None:
        def take() -> int | None:
            head, tail = self._ends[0], self._ends[1]
            if head >= tail:
                return None
            if from_tail:
                self._ends[1] = tail - 1
                return tail - 1
            self._ends[0] = head + 1
            return head
        if not self._shared:
            return take()
        with self._ends.get_lock():
            return take()

    def head(self) -> int | None:
        """The next unit from the head (None: all are taken)."""
        return self._take(False)

    def tail(self) -> int | None:
        """The next unit from the tail (None: all are taken)."""
        return self._take(True)
