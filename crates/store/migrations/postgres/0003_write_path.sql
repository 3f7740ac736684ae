-- Lighter writes of the hottest table (measured with `cargo bench -p egov-tests --bench
-- platform`): every record insert maintained four indexes and ran a foreign-key trigger.
--
-- The foreign keys of records and due instants checked what the one writer guarantees:
-- both are only written by `Store::commit`, in the same transaction as their case row,
-- inserted first. A foreign key is a per-row trigger on each insert.
ALTER TABLE records DROP CONSTRAINT records_case_no_fkey;
ALTER TABLE due_instants DROP CONSTRAINT due_instants_case_no_fkey;

-- A case's records are read by (case_no, seq); nothing looks a record up by seq alone. The
-- primary key on (case_no, seq) serves those reads and replaces two indexes.
DROP INDEX records_case;
ALTER TABLE records DROP CONSTRAINT records_pkey;
ALTER TABLE records ADD PRIMARY KEY (case_no, seq);
