-- Accountability decisions (责任追究; issue 16, item 4; docs/design.md §3.4): what a supervision
-- office records against a department, or a person in it (`person`, '' for the department
-- itself), for a red card or a complaint closed as substantiated (`basis_kind`, `basis_id`).
-- `department` and `region` are those of the grounds (the card's, the complaint's); `office`
-- the region of the office that held them when the decision was recorded. Decisions are kept
-- on the department's record: append-only, like the logs. One decision per (grounds, person,
-- measure): recording it again is refused rather than counted twice.
--
-- In the scores each decision is a fact of source 'accountability' (key: its id) counting one
-- of its measure on `decided_on`, so it changes the period in which it is dated.
CREATE TABLE accountability_decisions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at  timestamptz NOT NULL,
    recorded_by  text NOT NULL,
    basis_kind   text COLLATE "C" NOT NULL CHECK (basis_kind IN ('warning', 'complaint')),
    basis_id     bigint NOT NULL,
    department   text COLLATE "C" NOT NULL,
    region       text COLLATE "C" NOT NULL,
    office       text COLLATE "C" NOT NULL,
    person       text NOT NULL DEFAULT '',
    measure      text COLLATE "C" NOT NULL CHECK (measure IN ('admonition_talk',
                     'circulated_criticism', 'efficiency_warning', 'removal_from_post')),
    decided_on   date NOT NULL,
    grounds      text NOT NULL,
    UNIQUE (basis_kind, basis_id, person, measure)
);
CREATE INDEX accountability_region ON accountability_decisions (region, id);
CREATE INDEX accountability_department ON accountability_decisions (department, id);

CREATE FUNCTION accountability_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'accountability_decisions is append-only';
END $$;
CREATE TRIGGER accountability_append_only BEFORE UPDATE OR DELETE ON accountability_decisions
    FOR EACH ROW EXECUTE FUNCTION accountability_append_only();

ALTER TABLE score_facts ADD COLUMN admonition_talks bigint NOT NULL DEFAULT 0;
ALTER TABLE score_facts ADD COLUMN circulated_criticisms bigint NOT NULL DEFAULT 0;
ALTER TABLE score_facts ADD COLUMN efficiency_warnings bigint NOT NULL DEFAULT 0;
ALTER TABLE score_facts ADD COLUMN removals_from_post bigint NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN admonition_talks bigint NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN circulated_criticisms bigint NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN efficiency_warnings bigint NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN removals_from_post bigint NOT NULL DEFAULT 0;
