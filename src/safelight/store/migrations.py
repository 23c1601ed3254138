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
    (6, "refer: service directory (HSDS 3.0 + sealed locations), caseworkers, referral consents, referrals", """
CREATE SEQUENCE refer_import_ids START 1;
CREATE TABLE refer_imports (
    import_id INTEGER PRIMARY KEY,
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    file_format VARCHAR NOT NULL,        -- hsds-json | hsds-csv
    imported_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    software_version VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL
);
CREATE TABLE refer_organizations (
    organization_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    doc JSON NOT NULL,                   -- the HSDS organization object
    import_id INTEGER NOT NULL
);
-- One row per service: the public HSDS document and the flattened fields matching needs.
-- latitude/longitude are the PUBLIC position (site, or the front door of a confidential service).
CREATE TABLE refer_services (
    service_id VARCHAR PRIMARY KEY,
    organization_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    country VARCHAR,
    region VARCHAR,
    place VARCHAR,
    latitude DOUBLE,
    longitude DOUBLE,
    needs VARCHAR[] NOT NULL,
    languages VARCHAR[] NOT NULL,
    interpretation BOOLEAN NOT NULL,
    min_age INTEGER,
    max_age INTEGER,
    genders VARCHAR[],
    nationalities VARCHAR[],
    legal_statuses VARCHAR[],
    children VARCHAR,                    -- accepted | not_accepted | NULL (not stated)
    capacity_available INTEGER,
    capacity_maximum INTEGER,
    hours JSON,                          -- [[weekday 0-6, opens minute, closes minute], ...]; NULL: not stated
    confidential BOOLEAN NOT NULL,
    public_doc JSON NOT NULL,            -- HSDS service object holding public data only
    import_id INTEGER NOT NULL
);
-- Real locations of confidential services, AES-256-GCM sealed with the operator's key.
CREATE TABLE refer_sealed_locations (
    service_id VARCHAR NOT NULL,
    location_id VARCHAR NOT NULL,
    key_id VARCHAR NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    sealed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (service_id, location_id)
);
CREATE TABLE refer_quarantine (
    import_id INTEGER NOT NULL,
    entity VARCHAR NOT NULL,             -- service | organization | location | ... (HSDS table)
    source_row BIGINT NOT NULL,
    object_id VARCHAR,
    rules VARCHAR[] NOT NULL,
    reasons JSON NOT NULL,
    raw VARCHAR NOT NULL
);
CREATE TABLE refer_caseworkers (
    caseworker VARCHAR PRIMARY KEY,
    organization VARCHAR,
    may_reveal BOOLEAN NOT NULL,         -- may see the real location of confidential services
    granted_by VARCHAR NOT NULL,
    granted_at TIMESTAMP NOT NULL
);
CREATE SEQUENCE refer_consent_ids START 1;
CREATE TABLE refer_consents (
    consent_id BIGINT PRIMARY KEY,
    contributor VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    given_on DATE NOT NULL,
    recorded_by VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    scope VARCHAR NOT NULL,              -- 'referral' (any service) or 'referral:<service_id>'
    note VARCHAR,
    withdrawn_at TIMESTAMP
);
CREATE SEQUENCE refer_referral_ids START 1;
-- HTCDS outgoing referral (cas_ referral details): organisation, date, caseworker, reason, details.
CREATE TABLE refer_referrals (
    referral_id BIGINT PRIMARY KEY,
    contributor VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    service_id VARCHAR NOT NULL,
    organization_id VARCHAR NOT NULL,
    organization_name VARCHAR NOT NULL,
    referral_date DATE NOT NULL,
    reason VARCHAR NOT NULL,             -- AdditionalServicesRequired | MigrationOrChangeOfLocation | Other
    needs VARCHAR[] NOT NULL,
    details VARCHAR,
    caseworker VARCHAR NOT NULL,
    consent_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    audit_seq BIGINT NOT NULL
);
CREATE VIEW case_referrals AS
    SELECT r.contributor, r.record_id, r.referral_id, r.referral_date, r.organization_name,
           r.service_id, r.reason, r.needs, r.caseworker, c.consent AS case_consent
    FROM refer_referrals r JOIN cases c USING (contributor, record_id);
"""),
    (8, "detect: detection runs and leads for review", """
CREATE TABLE detect_runs (
    run_id VARCHAR PRIMARY KEY,          -- 'D' + 12 hex digits of the input hash and time
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    software_version VARCHAR NOT NULL,
    input_name VARCHAR NOT NULL,
    input_sha256 VARCHAR NOT NULL,
    settings JSON NOT NULL,              -- cluster settings, lexicon, fraud model (if any)
    summary JSON NOT NULL,               -- counts as in summary.json
    ads BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    leads BIGINT NOT NULL,
    audit_seq BIGINT NOT NULL            -- the audit_log entry that records the run
);
CREATE TABLE detect_leads (
    run_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,            -- 'T<n>' template cluster | 'N<n>' contact network
    kind VARCHAR NOT NULL,               -- template | network
    rank INTEGER NOT NULL,
    score DOUBLE NOT NULL,               -- 0..1, the capped sum of the reasons' points
    n_ads INTEGER NOT NULL,
    n_sites INTEGER NOT NULL,
    n_cities INTEGER NOT NULL,
    first_posted VARCHAR,
    last_posted VARCHAR,
    description VARCHAR NOT NULL,        -- template with slots, or contact points
    reasons JSON NOT NULL,               -- [{code, points, text}] explaining the score
    ad_ids JSON NOT NULL,                -- example ad ids
    status VARCHAR NOT NULL DEFAULT 'open',  -- open | reviewing | dismissed | escalated
    reviewed_by VARCHAR,
    reviewed_at TIMESTAMP,
    review_note VARCHAR,
    PRIMARY KEY (run_id, lead_id)
);
"""),
    (7, "pprl: contribution packages of encoded identities (no clear identifier)", """
CREATE TABLE pprl_packages (
    contributor VARCHAR PRIMARY KEY,     -- the latest package of a contributor replaces the last
    key_fingerprint VARCHAR NOT NULL,    -- HMAC of a label under the shared key (not the key)
    records_sha256 VARCHAR NOT NULL,
    manifest JSON NOT NULL,              -- settings without the key, counts
    records BLOB NOT NULL,               -- the package's records.parquet, rewritten without metadata
    received_at TIMESTAMP NOT NULL
);
"""),
    (9, "linkage: the accepted links behind each person", """
CREATE TABLE person_links (                -- pairs a link run accepted inside one person
    left_contributor VARCHAR NOT NULL,
    left_record_id VARCHAR NOT NULL,
    right_contributor VARCHAR NOT NULL,
    right_record_id VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    run_id VARCHAR NOT NULL
);
"""),
    (10, "release: case records that left the consenting set through a later export", """
-- A later export that takes records out of statistical use (their consent changed) is a
-- departure as a withdrawal is: a release after it, differenced with one before, shows what
-- those persons were. Counts only, no record ids (safelight.release.hub.check_no_records_left).
CREATE TABLE statistics_departures (
    contribution_id INTEGER NOT NULL,
    departed_at TIMESTAMP NOT NULL,
    records BIGINT NOT NULL
);
"""),
    (11, "release: consent withdrawals recorded as departures from the consenting set", """
-- A withdrawal takes a record out of statistics only if its consent allowed statistics when it
-- was withdrawn. safelight.store.hub.Hub.withdraw_consent now records those (counts only, no
-- contribution: NULL) so that a record which never entered a release blocks none. Withdrawals
-- recorded before this version are counted as departures, as the check read them until now.
ALTER TABLE statistics_departures ALTER COLUMN contribution_id DROP NOT NULL;
INSERT INTO statistics_departures
    SELECT NULL, w.withdrawn_at, count(*) FROM consent_withdrawals w
    WHERE EXISTS (SELECT 1 FROM cases c WHERE c.contributor = w.contributor
                                          AND c.record_id = w.record_id)
    GROUP BY w.withdrawn_at;
"""),
]

# Stages add their migration as a new (version, description, SQL) entry above; keep versions unique.
MIGRATIONS.sort(key=lambda m: m[0])
if len({m[0] for m in MIGRATIONS}) != len(MIGRATIONS):  # pragma: no cover - a developer error
    raise RuntimeError("two hub migrations share a version number")
LATEST_VERSION = MIGRATIONS[-1][0]
