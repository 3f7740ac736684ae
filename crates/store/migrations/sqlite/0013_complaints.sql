-- Complaints (issue 16, item 1); see migrations/postgres/0015_complaints.sql.
CREATE TABLE complaints (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    filed_at            TEXT NOT NULL,
    channel             TEXT NOT NULL,
    subject_kind        TEXT NOT NULL CHECK (subject_kind IN ('case', 'department', 'matter')),
    subject             TEXT NOT NULL,
    department          TEXT NOT NULL,
    region              TEXT NOT NULL,
    office              TEXT NOT NULL,
    summary             TEXT NOT NULL,
    complainant_name    TEXT,
    complainant_contact TEXT,
    filed_by            TEXT NOT NULL,
    state               TEXT NOT NULL,
    acceptance_due_at   TEXT NOT NULL,
    report_due_at       TEXT,
    outcome             TEXT CHECK (outcome IN ('substantiated', 'unsubstantiated')),
    closed_at           TEXT,
    reported_at         TEXT,
    feedback_satisfied  INTEGER,
    next_due_at         TEXT,
    version             INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX complaints_next_due ON complaints (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX complaints_department ON complaints (department, id);
CREATE INDEX complaints_office ON complaints (office, id);

CREATE TABLE complaint_events (
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    seq          INTEGER NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    move         TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    note         TEXT NOT NULL,
    notice       TEXT,
    PRIMARY KEY (complaint_id, seq)
) STRICT;
