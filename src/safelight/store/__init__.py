"""The hub database: an embedded DuckDB file with versioned schema migrations.

Tables: ``contributors``, ``contributions`` (one per ingested file, with provenance: file sha256,
profile and version, software version, counts), ``cases`` (one current row per contributor and
record id), ``identities`` (identity fields, kept apart), ``quarantine`` (every rejected row with
its reasons), ``series`` (published aggregate statistics), ``audit_log`` (append-only, each entry
chained to the previous by SHA-256).

Guarantees: an ingest runs in one transaction — a crash or kill midway leaves no partial
contribution; a hub written by an unknown (newer) schema version is refused.
"""

from safelight.store.hub import Hub, open_hub

__all__ = ["Hub", "open_hub"]
