-- The correction workflow (DESIGN §3): a warning's correction due, its transitions, and its
-- place in the warning stream moving to the latest change.
--
-- The warning stream reads warnings in `pos` order (src/sqlite.rs). `pos` starts as the
-- insertion order and a transition sets it to one more than the largest `pos` (writers are
-- serialized), so the changed warning re-appears on the stream after every position handed
-- out before.
ALTER TABLE warnings ADD COLUMN correction_due_at TEXT;
ALTER TABLE warnings ADD COLUMN pos INTEGER NOT NULL DEFAULT 0;
UPDATE warnings SET pos = id;

DROP INDEX warnings_department;
DROP INDEX warnings_state;
CREATE INDEX warnings_stream ON warnings (pos);
CREATE INDEX warnings_department ON warnings (department, pos);
CREATE INDEX warnings_state ON warnings (state, pos);
CREATE INDEX warnings_correction_due ON warnings (correction_due_at, id)
    WHERE state IN ('raised', 'acknowledged') AND correction_due_at IS NOT NULL;
CREATE INDEX warnings_correction_unset ON warnings (id)
    WHERE level IN ('yellow_card', 'red_card') AND correction_due_at IS NULL;

CREATE TABLE warning_transitions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    warning_id  INTEGER NOT NULL REFERENCES warnings (id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX warning_transitions_warning ON warning_transitions (warning_id, id);
