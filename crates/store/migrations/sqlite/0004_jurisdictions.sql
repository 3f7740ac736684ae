-- Jurisdictions (issue 4): the region tree, the departments that belong to it, and the
-- supervision office that holds each warning. See the PostgreSQL migration of the same name.
CREATE TABLE regions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    parent      TEXT,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE departments (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX departments_region ON departments (region, code);

ALTER TABLE warnings ADD COLUMN office TEXT;

DROP INDEX warnings_correction_due;
CREATE INDEX warnings_correction_due ON warnings (correction_due_at, id)
    WHERE state IN ('raised', 'acknowledged', 'escalated') AND correction_due_at IS NOT NULL;

-- For an escalation: the office that holds the warning from then on.
ALTER TABLE warning_transitions ADD COLUMN to_office TEXT;

-- Warnings escalated before offices existed were final then: hand them to the office above
-- their region (the longest level code shorter than theirs) with no due, so the correction
-- pass neither fires nor stamps them again.
UPDATE warnings SET
    office = CASE
        WHEN length(region) > 9 THEN substr(region, 1, 9)
        WHEN length(region) > 6 THEN substr(region, 1, 6)
        WHEN length(region) > 4 THEN substr(region, 1, 4)
        WHEN length(region) > 2 THEN substr(region, 1, 2)
        ELSE region
    END,
    correction_due_at = NULL
WHERE state = 'escalated';

-- Cards to stamp with a correction due: only those never reassigned (a card whose due ended
-- at the top office stays out of the index instead of being scanned by every pass).
DROP INDEX warnings_correction_unset;
CREATE INDEX warnings_correction_unset ON warnings (id)
    WHERE level IN ('yellow_card', 'red_card') AND correction_due_at IS NULL AND office IS NULL;

-- An office's inbox (`office` filter of lists and streams), in stream order.
CREATE INDEX warnings_office ON warnings (coalesce(office, region), pos);
