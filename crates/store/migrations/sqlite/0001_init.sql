-- The comprehensive database, SQLite flavour (DESIGN §5). Same tables and columns as the
-- PostgreSQL schema; STRICT tables, timestamps as TEXT (RFC 3339, microseconds, UTC, so text
-- order is time order), booleans as INTEGER, JSON as TEXT. Writers are serialized, so stream
-- rows are committed in number order and tx is always 0 (kept so both backends share one row
-- shape).

CREATE TABLE calendars (
    id                 TEXT NOT NULL PRIMARY KEY,
    utc_offset_seconds INTEGER NOT NULL,
    first_year         INTEGER NOT NULL,
    last_year          INTEGER NOT NULL
) STRICT;

CREATE TABLE calendar_days (
    calendar_id TEXT NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (calendar_id, day)
) STRICT;

CREATE TABLE matters (
    matter_code TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    department  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX matters_department ON matters (department, matter_code);

CREATE TABLE cases (
    case_no     TEXT NOT NULL PRIMARY KEY,
    matter_code TEXT NOT NULL,
    department  TEXT NOT NULL,
    region      TEXT NOT NULL,
    state       TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    next_due_at TEXT,
    overdue     INTEGER NOT NULL,
    provisional INTEGER NOT NULL,
    view        TEXT NOT NULL,
    last_hash   TEXT NOT NULL
) STRICT;
CREATE INDEX cases_department ON cases (department, case_no);
CREATE INDEX cases_region ON cases (region, case_no);
CREATE INDEX cases_state ON cases (state, case_no);
CREATE INDEX cases_next_due_at ON cases (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX cases_overdue ON cases (case_no) WHERE overdue;

-- AUTOINCREMENT: a seq is never reused, even after the last row was (illegally) deleted, so a
-- follower's position never points at a different record.
CREATE TABLE records (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tx          INTEGER NOT NULL DEFAULT 0,
    event_id    TEXT NOT NULL UNIQUE,
    case_no     TEXT NOT NULL REFERENCES cases (case_no),
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
) STRICT;
CREATE INDEX records_case ON records (case_no, seq);

CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN
    SELECT RAISE(ABORT, 'records are append-only (UPDATE refused)');
END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN
    SELECT RAISE(ABORT, 'records are append-only (DELETE refused)');
END;

CREATE TABLE due_instants (
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    clock   TEXT NOT NULL,
    due_at  TEXT NOT NULL,
    PRIMARY KEY (case_no, clock)
) STRICT;
CREATE INDEX due_instants_due_at ON due_instants (due_at, case_no, clock);

CREATE TABLE warnings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx          INTEGER NOT NULL DEFAULT 0,
    case_no     TEXT NOT NULL,
    rule        TEXT NOT NULL,
    level       TEXT NOT NULL,
    department  TEXT NOT NULL,
    region      TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    due_at      TEXT,
    raised_at   TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'raised',
    detail      TEXT NOT NULL,
    UNIQUE (case_no, rule, level)
) STRICT;
CREATE INDEX warnings_department ON warnings (department, id);
CREATE INDEX warnings_region ON warnings (region, id);
CREATE INDEX warnings_state ON warnings (state, id);

CREATE TABLE consumer_cursors (
    consumer   TEXT NOT NULL PRIMARY KEY,
    position   TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
