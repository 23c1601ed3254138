"""Worker processes of the detect pipeline: ranges of ads, texts shared by fork.

Contract
--------
* :class:`WorkerPools` starts two pools of ``workers`` processes each (fork start method):
  ``cluster`` runs the clustering's per-range work (tokens, MinHash signatures), which the main
  process waits for; ``background`` runs contact extraction and indicators at a lower CPU
  priority (``nice`` + ``background_nice``), so they fill the CPU time the clustering leaves
  and never hold it up. The texts given to :class:`WorkerPools` are shared with the workers
  by the fork (copy-on-write, never pickled): a task names a range of ads and reads it with
  :func:`shared_texts`. Results come back as compact NumPy arrays.
* :func:`release_memory` hands the memory a worker freed back to the system (glibc keeps
  freed heap otherwise, and four idle workers would hold hundreds of MB); per-range
  functions call it before they return.
* :func:`run_parts` maps a function over parts in order, in a pool or (``None``, or a single
  part) in the calling process — so the same per-range functions give the same results with
  and without workers.
* One :class:`WorkerPools` is active per process at a time: the shared columns are
  process-wide, so a second analysis started meanwhile (another thread) waits until the first
  one's :meth:`WorkerPools.close` — it never reads the other analysis's ads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from safelight.detect import kernels
from safelight.interrupts import worker_default_sigterm

__all__ = ["WorkerPools", "release_memory", "run_parts", "shared_column", "shared_texts"]

_SHARED: dict[str, Sequence[Any]] = {}
_ACTIVE = threading.Lock()  # held by the one WorkerPools whose columns are in _SHARED
_OWNER: list[int | None] = [None]  # the thread that holds it


def shared_column(name: str) -> Sequence[Any]:
    """The column ``name`` (``"text"`` for the texts) shared by the current
    :class:`WorkerPools`."""
    if name not in _SHARED:
        raise RuntimeError(f"no column {name!r} is shared: create WorkerPools(workers, texts, "
                           f"{name}=...) first")
    return _SHARED[name]


def shared_texts(lo: int, hi: int) -> list[str]:
    """Texts ``lo:hi`` of the sequence shared by the current :class:`WorkerPools`."""
    return list(shared_column("text")[lo:hi])


def _libc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_TRIM = _libc_trim()


def release_memory() -> None:
    """Return freed heap memory to the system (glibc ``malloc_trim``; a no-op elsewhere)."""
    if _TRIM is not None:
        _TRIM(0)  # type: ignore[operator]


def _worker_start(step: int) -> None:
    """Set up a forked worker: the objects it inherited are moved out of the garbage
    collector's sight (``gc.freeze``: they are never collected there, and scanning them again
    at every full collection only costs time), and its CPU priority is lowered by ``step``."""
    gc.freeze()
    worker_default_sigterm()
    if step:
        try:
            os.nice(step)
        except OSError:  # not allowed: run at the same priority
            pass


class WorkerPools:
    """A ``cluster`` and a ``background`` process pool sharing ``texts`` (see the module);
    with ``workers <= 1`` both are ``None`` (work runs in the calling process, which then
    shares the texts with itself)."""

    def __init__(self, workers: int, texts: Sequence[str], background_nice: int = 4,
                 **columns: Sequence[Any]) -> None:
        if _OWNER[0] == threading.get_ident():
            raise RuntimeError("this thread already has active WorkerPools: close them first")
        _ACTIVE.acquire()  # another thread's analysis finishes first (see the module)
        _OWNER[0] = threading.get_ident()
        self._open = True
        _SHARED.clear()
        _SHARED.update(columns, text=texts)
        self.texts = texts
        self.columns = dict(columns)
        self.cluster: Executor | None = None
        self.background: Executor | None = None
        if workers > 1:
            try:
                kernels.preload()  # the forked workers share the loaded kernels' code
                ctx = multiprocessing.get_context("fork")
                self.cluster = ProcessPoolExecutor(workers, mp_context=ctx,
                                                   initializer=_worker_start, initargs=(0,))
                self.background = ProcessPoolExecutor(workers, mp_context=ctx,
                                                      initializer=_worker_start,
                                                      initargs=(background_nice,))
            except BaseException:
                self.close()
                raise

    def shares(self, texts: Sequence[str], **columns: Sequence[Any]) -> bool:
        """Whether these very objects are the shared texts and columns (the workers can read
        them instead of being sent them)."""
        return texts is self.texts and all(
            self.columns.get(k) is v for k, v in columns.items())

    def close(self) -> None:
        """Stop both pools (pending tasks are cancelled) and forget the shared columns."""
        if not self._open:
            return
        try:
            for pool in (self.cluster, self.background):
                if pool is not None:
                    pool.shutdown(cancel_futures=True)
        finally:
            _SHARED.clear()
            self._open = False
            _OWNER[0] = None
            _ACTIVE.release()


def run_parts(pool: Executor | None, fn: Callable[[Any], Any], parts: Sequence[Any]) -> list:
    """``[fn(p) for p in parts]``, in ``pool`` when given and there is more than one part."""
    if pool is None or len(parts) <= 1:
        return [fn(p) for p in parts]
    return list(pool.map(fn, parts))
