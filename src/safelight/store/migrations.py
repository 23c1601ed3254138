"""Versioned schema migrations of the hub database.

Each migration is (version, description, SQL). They run in order inside one transaction each and
are recorded in ``schema_migrations``; a hub written by a newer safelight (a version this code
does not know) is refused rather than guessed at.
"""

from __future__ import annotations

from safelight.standard.schema import CASE_FIELDS, IDENTITY_FIELDS, Kind, has_raw, raw_column

_SQL_TYPES = {
    Kind.STRING: "VARCHAR", Kind.INTEGER: "INTEGER", Kind.DATE: "DATE", Kind.CODE: "VARCHAR",
    Kind.CODES: "VARCHAR[]", Kind.COUNTRY: "VARCHAR", Kind.BOOLEAN: "BOOLEAN",
}


def _case_columns() -> str:
    cols = []
    for f in CASE_FIELDS:
        if f.name == "record_id":
            continue
        cols.append(f"    {f.name} {_SQL_TYPES[f.kind]}")
    return ",\n".join(cols)


def _raw_columns(fields) -> str:
    return ",\n".join(f"    {raw_column(f.name)} VARCHAR" for f in fields if has_raw(f.kind) and f.name != "record_id")


def _identity_columns() -> str:
    cols = []
    for f in IDENTITY_FIELDS:
        if f.name == "birth_date":
            cols += ["    birth_date DATE", "    birth_year SMALLINT", "    birth_month TINYINT",
                     "    birth_day TINYINT"]
        else:
            cols.append(f"    {f.name} {_SQL_TYPES[f.kind]}")
    return ",\n".join(cols)


MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "contributors, contributions, cases, identities, quarantine, series, audit log", f"""
CREATE TABLE contributors (
    name VARCHAR PRIMARY KEY,
    country VARCHAR,
    created_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE contribution_ids START 1;
CREATE TABLE contributions (
    contribution_id INTEGER PRIMARY KEY,
    contributor VARCHAR NOT NULL,
    target VARCHAR NOT NULL,            -- cases | series
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    file_bytes BIGINT NOT NULL,
    file_format VARCHAR NOT NULL,
    profile VARCHAR NOT NULL,
    profile_version VARCHAR NOT NULL,
    profile_sha256 VARCHAR NOT NULL,
    crosswalk VARCHAR,
    schema_version VARCHAR NOT NULL,
    software_version VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_new BIGINT NOT NULL,
    rows_updated BIGINT NOT NULL,
    rows_unchanged BIGINT NOT NULL,
    reader_notes VARCHAR[]
);
-- One current version of each case per (contributor, record_id); a later contribution of the
-- same record replaces it (the provenance columns say which contribution and row it came from).
CREATE TABLE cases (
    contributor VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    contribution_id INTEGER NOT NULL,
    source_row BIGINT NOT NULL,
{_case_columns()},
    consent_linkage BOOLEAN NOT NULL,
    consent_statistics BOOLEAN NOT NULL,
    -- raw source value(s) of every mapped field (flags as "column=value; ..."), next to the mapped one
{_raw_columns(CASE_FIELDS)}
);
-- Identity fields, kept apart from the case data; never part of a release.
CREATE TABLE identities (
    contributor VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    contribution_id INTEGER NOT NULL,
    source_row BIGINT NOT NULL,
{_identity_columns()},
{_raw_columns(IDENTITY_FIELDS)}
);
CREATE TABLE quarantine (
    contribution_id INTEGER NOT NULL,
    source_row BIGINT NOT NULL,
    rules VARCHAR[] NOT NULL,
    reasons JSON NOT NULL,               -- [{{column, rule, value, message}}]
    raw VARCHAR NOT NULL                 -- the row as read (JSON object, or the raw line)
);
-- Aggregate published statistics (e.g. UNODC GLOTIP), one number per row.
CREATE TABLE series (
    contribution_id INTEGER NOT NULL,
    source_row BIGINT NOT NULL,
    country_iso3 VARCHAR,
    country VARCHAR,
    region VARCHAR,
    subregion VARCHAR,
    indicator VARCHAR NOT NULL,
    dimension VARCHAR,
    category VARCHAR,
    category_code VARCHAR,               -- from the crosswalk (total, sexual_exploitation, nationals, ...)
    category_iso3 VARCHAR,               -- a citizenship / repatriation label resolved to a country
    sex VARCHAR,
    age VARCHAR,
    year INTEGER NOT NULL,
    unit VARCHAR,
    value DOUBLE,                         -- NULL when censored
    value_low DOUBLE NOT NULL,            -- '<5' → 1
    value_high DOUBLE NOT NULL,           -- '<5' → 4
    source VARCHAR,
    source_row_values JSON
);
CREATE SEQUENCE audit_seq START 1;
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    object VARCHAR,
    details JSON,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);
"""),
    (2, "consent withdrawals", """
-- A withdrawal is sticky: it outlives later exports of the same record that still say otherwise.
CREATE TABLE consent_withdrawals (
    contributor VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    withdrawn_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    reason VARCHAR,
    PRIMARY KEY (contributor, record_id)
);
"""),
    (3, "linkage: persons, review queue, runs", """
CREATE TABLE persons (
    contributor VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,          -- 'S' + 8 hex digits, stable for an unchanged cluster
    cluster_size INTEGER NOT NULL,       -- records of this person
    n_contributors INTEGER NOT NULL,     -- agencies that registered this person
    min_link_probability DOUBLE,         -- weakest link that joined the record (NULL: alone)
    run_id VARCHAR NOT NULL,             -- the link_runs row that wrote it
    PRIMARY KEY (contributor, record_id)
);
CREATE TABLE link_review (
    run_id VARCHAR NOT NULL,
    left_contributor VARCHAR NOT NULL,
    left_record_id VARCHAR NOT NULL,
    right_contributor VARCHAR NOT NULL,
    right_record_id VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    match_weight DOUBLE NOT NULL,        -- log2 Bayes factor incl. prior
    linked BOOLEAN NOT NULL,             -- whether the run linked them (same person_id)
    reasons JSON NOT NULL,               -- {field: {level, weight}} explaining the score
    decision VARCHAR,                    -- NULL (open) | match | non_match
    decided_by VARCHAR,
    decided_at TIMESTAMP,
    decision_note VARCHAR
);
CREATE TABLE link_runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    software_version VARCHAR NOT NULL,
    settings JSON NOT NULL,
    model JSON NOT NULL,
    records BIGINT NOT NULL,
    candidate_pairs BIGINT NOT NULL,
    linked_pairs BIGINT NOT NULL,
    persons BIGINT NOT NULL,
    review_pairs BIGINT NOT NULL
);
"""),
    (4, "release ledger and privacy budgets", """
CREATE SEQUENCE release_ids START 1;
CREATE TABLE releases (
    release_id BIGINT PRIMARY KEY DEFAULT nextval('release_ids'),
    dataset VARCHAR NOT NULL,            -- what was released from: 'hub:cases', or 'sha256:<input>'
    method VARCHAR NOT NULL,             -- aggregates, synthetic, microdata, dp-aggregates ...
    released_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    k INTEGER,                           -- NULL for purely DP releases
    reporting_length INTEGER,
    epsilon DOUBLE NOT NULL DEFAULT 0,   -- privacy cost of this release (basic composition)
    delta DOUBLE NOT NULL DEFAULT 0,
    rows_in BIGINT,                      -- records that entered (after consent filtering)
    output_sha256 VARCHAR,               -- hash of the released file
    output_path VARCHAR,
    params JSON NOT NULL,                -- the settings.json of the release
    audit_seq BIGINT                     -- the audit_log entry that records it
);
CREATE TABLE privacy_budgets (
    dataset VARCHAR PRIMARY KEY,
    epsilon DOUBLE NOT NULL,
    delta DOUBLE NOT NULL,
    set_at TIMESTAMP NOT NULL,
    set_by VARCHAR NOT NULL
);
"""),
    (5, "web application: user accounts and server-side sessions", """
CREATE TABLE web_users (
    username VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,               -- admin | contributor | analyst | reviewer | viewer
    contributor VARCHAR,                 -- the one contributor a 'contributor' account acts for
    password_hash VARCHAR NOT NULL,      -- argon2id
    totp_secret VARCHAR,                 -- base32; required for admin, analyst, reviewer
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR NOT NULL,
    last_login_at TIMESTAMP
);
CREATE TABLE web_sessions (
    session_hash VARCHAR PRIMARY KEY,    -- sha256 of the cookie value (the value is never stored)
    username VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,              -- 'totp' (second factor pending) | 'full'
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
"""),
]

# Stages add their migration as a new (version, description, SQL) entry above; keep versions unique.
MIGRATIONS.sort(key=lambda m: m[0])
if len({m[0] for m in MIGRATIONS}) != len(MIGRATIONS):  # pragma: no cover - a developer error
    raise RuntimeError("two hub migrations share a version number")
LATEST_VERSION = MIGRATIONS[-1][0]
