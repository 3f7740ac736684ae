-- Complaints (issue 16, item 1; docs/design.md §3.3). A complaint is about a case, a department
-- or a matter, and always counts against one department (`department`, with the region of its
-- subject); the supervision office holding it is `office` (a region code). The complainant's
-- name and contact are NULL for an anonymous complaint; the services show them only to the
-- office handling it (egov_domain::complaint::Viewer).
--
-- The clocks: `next_due_at` is the complaint's next due instant (the acceptance reminder, the
-- acceptance deadline, the report's due), computed by the domain on every move and fired by
-- the supervision platform's due loop, which raises the warnings (unique per pseudo case
-- "complaint#ID/CLOCK", rule and level) and moves it on. `version` counts the moves: a move
-- applies only to the version it was decided on.
CREATE TABLE complaints (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    filed_at            timestamptz NOT NULL,
    channel             text COLLATE "C" NOT NULL,
    subject_kind        text COLLATE "C" NOT NULL CHECK (subject_kind IN ('case', 'department', 'matter')),
    subject             text COLLATE "C" NOT NULL,
    department          text COLLATE "C" NOT NULL,
    region              text COLLATE "C" NOT NULL,
    office              text COLLATE "C" NOT NULL,
    summary             text NOT NULL,
    complainant_name    text,
    complainant_contact text,
    filed_by            text NOT NULL,
    state               text COLLATE "C" NOT NULL,
    acceptance_due_at   timestamptz NOT NULL,
    report_due_at       timestamptz,
    outcome             text COLLATE "C" CHECK (outcome IN ('substantiated', 'unsubstantiated')),
    closed_at           timestamptz,
    reported_at         timestamptz,
    feedback_satisfied  boolean,
    next_due_at         timestamptz,
    version             bigint NOT NULL DEFAULT 1
);
CREATE INDEX complaints_next_due ON complaints (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX complaints_department ON complaints (department, id);
CREATE INDEX complaints_office ON complaints (office, id);

-- Every move of a complaint, in order: who, when, what, the note, and the notice a named
-- complainant is told.
CREATE TABLE complaint_events (
    complaint_id bigint NOT NULL REFERENCES complaints (id),
    seq          bigint NOT NULL,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    move         text COLLATE "C" NOT NULL,
    from_state   text COLLATE "C" NOT NULL,
    to_state     text COLLATE "C" NOT NULL,
    note         text NOT NULL,
    notice       text,
    PRIMARY KEY (complaint_id, seq)
);
