"""The one open hub of a web process, and the lock that serialises every use of it.

DuckDB allows one writing process per database file and one connection must not be used by two
threads at once, so the application keeps a single :class:`~safelight.store.Hub` and every
request takes :attr:`HubState.lock` while it touches it. ``version`` grows with every write this
process makes, so caches of derived pages (the dashboard) know when to recompute — no other
process can write while this one holds the file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from safelight.store import Hub, open_hub
from safelight.web.settings import WebSettings

log = logging.getLogger("safelight.web")


class HubState:
    """The open hub, its lock, the settings and the data version of this process."""

    def __init__(self, hub_path: str | Path, settings: WebSettings) -> None:
        self.settings = settings
        self.hub: Hub = open_hub(hub_path)
        self.path = self.hub.path
        self.lock = threading.RLock()
        self.version = 0
        # live sessions by SHA-256 of their id (a cache of web_sessions joined with web_users;
        # coherent because this process is the hub's only writer and every change of a session
        # or an account goes through safelight.web.auth, which updates it)
        self.sessions: dict[str, dict[str, Any]] = {}
        # derived objects that are costly to build (e.g. the service directory's match index),
        # each stored with the data version it was built from by the module that owns it
        self.cache: dict[str, Any] = {}
        self.releases_dir = Path(settings.releases_dir) if settings.releases_dir else \
            self.path.with_name(self.path.name + ".releases")

    def close(self) -> None:
        with self.lock:
            self.hub.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The hub connection, for reading, while holding the lock."""
        with self.lock:
            yield self.hub.con

    @contextmanager
    def reading_hub(self) -> Iterator[Hub]:
        """The hub, for a stage API that only reads it, while holding the lock."""
        with self.lock:
            yield self.hub

    @contextmanager
    def write(self, *, data: bool = True) -> Iterator[Hub]:
        """The hub inside one transaction, while holding the lock. ``data``: the write changes
        hub data (not only accounts or sessions), so :attr:`version` grows."""
        with self.lock:
            with self.hub.transaction():
                yield self.hub
            if data:
                self.version += 1

    @contextmanager
    def exclusive(self) -> Iterator[Hub]:
        """The hub under the lock for a stage API that runs its own transaction (ingest, link,
        release ledger); bumps :attr:`version` afterwards."""
        with self.lock:
            try:
                yield self.hub
            finally:
                self.version += 1

    def audit(self, actor: str, action: str, obj: str | None = None,
              details: dict[str, Any] | None = None) -> None:
        """Append one audit entry in its own transaction (does not bump ``version``)."""
        with self.lock, self.hub.transaction():
            self.hub.audit(actor, action, obj, details)

    def rows(self, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query under the lock and return its rows as dicts."""
        with self.lock:
            cur = self.hub.con.execute(sql, args or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def one(self, sql: str, args: list[Any] | None = None) -> dict[str, Any] | None:
        rows = self.rows(sql, args)
        return rows[0] if rows else None
