-- Jurisdictions (issue 4): the region tree, the departments that belong to it, and the
-- supervision office that holds each warning.
--
-- Region codes carry the tree (province 2 digits, city 4, county 6, township 9; a parent is a
-- prefix), so a subtree is a prefix range on these "C"-collated columns, like `cases.region`.
CREATE TABLE regions (
    code        text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    level       text NOT NULL,
    parent      text COLLATE "C",
    updated_at  timestamptz NOT NULL
);

CREATE TABLE departments (
    code        text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    region      text COLLATE "C" NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX departments_region ON departments (region, code);

-- The office holding a warning: NULL while it is with the office of its case's region (every
-- warning starts there, so the write path need not know), the region above after each
-- escalation. Reads give `coalesce(office, region)`.
ALTER TABLE warnings ADD COLUMN office text COLLATE "C";

-- An escalated card awaits its answer at the new office, by a new correction due.
DROP INDEX warnings_correction_due;
CREATE INDEX warnings_correction_due ON warnings (correction_due_at, id)
    WHERE state IN ('raised', 'acknowledged', 'escalated') AND correction_due_at IS NOT NULL;

-- For an escalation: the office that holds the warning from then on.
ALTER TABLE warning_transitions ADD COLUMN to_office text COLLATE "C";

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
CREATE INDEX warnings_office ON warnings ((coalesce(office, region)), tx, pos);
