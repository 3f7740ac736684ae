-- The catalogue is versioned (issue 10): `matters` holds each matter's current version and
-- `matter_versions` every version ever loaded, numbered from 1 per matter. A case counts from the
-- version in force when it was accepted (or received), so an edit applies to cases accepted
-- afterwards. Existing matters become their version 1.
CREATE TABLE matter_versions (
    matter_code text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    name        text NOT NULL,
    department  text COLLATE "C" NOT NULL,
    kind        text NOT NULL,
    definition  text NOT NULL,
    valid_from  timestamptz NOT NULL,
    PRIMARY KEY (matter_code, version)
);
INSERT INTO matter_versions (matter_code, version, name, department, kind, definition, valid_from)
SELECT matter_code, 1, name, department, kind, definition, updated_at FROM matters;
