-- The correction workflow (DESIGN §3): a warning's correction due, its transitions, and its
-- place in the warning stream moving to the latest change.
--
-- The warning stream reads warnings in (tx, pos) order (src/pg.rs). `pos` starts as the
-- insertion order (a sequence, like the old `id` order) and a transition sets the row's `tx` to
-- the transition's own transaction and `pos` to the next value of the sequence, so the changed
-- warning re-appears on the stream after every position handed out before, never skipped.
ALTER TABLE warnings ADD COLUMN correction_due_at timestamptz;
CREATE SEQUENCE warnings_pos AS bigint;
ALTER TABLE warnings ADD COLUMN pos bigint;
UPDATE warnings SET pos = id;
SELECT setval('warnings_pos', coalesce((SELECT max(id) FROM warnings), 0) + 1, false);
ALTER TABLE warnings ALTER COLUMN pos SET DEFAULT nextval('warnings_pos');
ALTER TABLE warnings ALTER COLUMN pos SET NOT NULL;
ALTER SEQUENCE warnings_pos OWNED BY warnings.pos;

DROP INDEX warnings_stream;
DROP INDEX warnings_department;
DROP INDEX warnings_state;
CREATE INDEX warnings_stream ON warnings (tx, pos);
CREATE INDEX warnings_department ON warnings (department, tx, pos);
CREATE INDEX warnings_state ON warnings (state, tx, pos);
-- Cards whose correction due may have passed unanswered (the supervision platform's correction
-- worker), and cards still without a correction due (it stamps them).
CREATE INDEX warnings_correction_due ON warnings (correction_due_at, id)
    WHERE state IN ('raised', 'acknowledged') AND correction_due_at IS NOT NULL;
CREATE INDEX warnings_correction_unset ON warnings (id)
    WHERE level IN ('yellow_card', 'red_card') AND correction_due_at IS NULL;

CREATE TABLE warning_transitions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warning_id  bigint NOT NULL REFERENCES warnings (id),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    from_state  text COLLATE "C" NOT NULL,
    to_state    text COLLATE "C" NOT NULL,
    reason      text NOT NULL,
    attachments text NOT NULL DEFAULT '[]'
);
CREATE INDEX warning_transitions_warning ON warning_transitions (warning_id, id);
