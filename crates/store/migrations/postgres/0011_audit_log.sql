-- The audit log (issue 12, docs/design.md §8): every state-changing call and every refused one,
-- append-only and hash-chained in `seq` order. `seq` is assigned by the appender under a
-- table lock (no sequence: no gaps, so a deleted row shows as a gap), and covered by `hash`
-- with every other field and the previous row's hash (`crates/store/src/audit.rs`).
CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
    principal text NOT NULL,
    role      text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL,
    outcome   text NOT NULL,
    peer      text,
    prev_hash text NOT NULL,
    hash      text NOT NULL
);
CREATE INDEX audit_log_principal ON audit_log (principal, seq);
CREATE INDEX audit_log_at ON audit_log (at, seq);

-- Append-only, as the record log is: whoever can disable these triggers can still tamper, and
-- the hash chain (`egov verify`, the supervision platform's integrity worker) shows it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
