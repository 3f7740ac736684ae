-- Warning lists and streams both read in stream order, (tx, id) (see src/pg.rs), so the
-- indexes behind their filters give rows in that order.
DROP INDEX warnings_department;
DROP INDEX warnings_state;
CREATE INDEX warnings_department ON warnings (department, tx, id);
CREATE INDEX warnings_state ON warnings (state, tx, id);
