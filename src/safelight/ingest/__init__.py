"""Ingest: contributor files → canonical case records + quarantine, with provenance.

In: a file (CSV, XLSX, JSON, JSON Lines, Parquet) and a mapping profile. Out: rows in the hub's
``cases`` / ``identities`` (or ``series``) tables and every rejected row in ``quarantine`` with
its reasons (file, row, column, rule, value). Guarantees: every row read is accepted or
quarantined and the counts add up; an ingest is atomic; the same file twice changes nothing;
memory is bounded by the chunk size.
"""

from safelight.ingest.pipeline import IngestResult, check_file, ingest_file
from safelight.ingest.profile import Profile, builtin_profiles, load_profile

__all__ = ["IngestResult", "Profile", "builtin_profiles", "check_file", "ingest_file", "load_profile"]
