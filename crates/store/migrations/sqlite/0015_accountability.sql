-- Accountability decisions; see migrations/postgres/0017_accountability.sql.
CREATE TABLE accountability_decisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    basis_kind   TEXT NOT NULL CHECK (basis_kind IN ('warning', 'complaint')),
    basis_id     INTEGER NOT NULL,
    department   TEXT NOT NULL,
    region       TEXT NOT NULL,
    office       TEXT NOT NULL,
    person       TEXT NOT NULL DEFAULT '',
    measure      TEXT NOT NULL CHECK (measure IN ('admonition_talk',
                     'circulated_criticism', 'efficiency_warning', 'removal_from_post')),
    decided_on   TEXT NOT NULL,
    grounds      TEXT NOT NULL,
    UNIQUE (basis_kind, basis_id, person, measure)
) STRICT;
CREATE INDEX accountability_region ON accountability_decisions (region, id);
CREATE INDEX accountability_department ON accountability_decisions (department, id);
CREATE TRIGGER accountability_no_update BEFORE UPDATE ON accountability_decisions
BEGIN SELECT RAISE(ABORT, 'accountability_decisions is append-only'); END;
CREATE TRIGGER accountability_no_delete BEFORE DELETE ON accountability_decisions
BEGIN SELECT RAISE(ABORT, 'accountability_decisions is append-only'); END;

ALTER TABLE score_facts ADD COLUMN admonition_talks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_facts ADD COLUMN circulated_criticisms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_facts ADD COLUMN efficiency_warnings INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_facts ADD COLUMN removals_from_post INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN admonition_talks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN circulated_criticisms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN efficiency_warnings INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN removals_from_post INTEGER NOT NULL DEFAULT 0;
