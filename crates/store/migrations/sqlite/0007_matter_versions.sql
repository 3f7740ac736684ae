-- The catalogue is versioned (issue 10): `matters` holds each matter's current version and
-- `matter_versions` every version ever loaded, numbered from 1 per matter. A case counts from the
-- version in force when it was accepted (or received), so an edit applies to cases accepted
-- afterwards. Existing matters become their version 1.
CREATE TABLE matter_versions (
    matter_code TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    department  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    PRIMARY KEY (matter_code, version)
) STRICT;
INSERT INTO matter_versions (matter_code, version, name, department, kind, definition, valid_from)
SELECT matter_code, 1, name, department, kind, definition, updated_at FROM matters;
