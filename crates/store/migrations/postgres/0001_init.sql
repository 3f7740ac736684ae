-- The comprehensive database, PostgreSQL flavour (DESIGN §5).
--
-- Identifier columns use the "C" collation: byte order, like SQLite's BINARY, so both backends
-- page in the same order, and a prefix range (region codes) is served by a plain index.
-- JSON is stored as text: record bodies are hashed byte for byte (jsonb would reorder keys and
-- reject \u0000), and one SQL text serves both backends. Cast to jsonb in ad-hoc queries.
-- Stream tables carry tx = the writing transaction's id, see src/pg.rs.

CREATE TABLE calendars (
    id                 text COLLATE "C" PRIMARY KEY,
    utc_offset_seconds integer NOT NULL,
    first_year         integer NOT NULL,
    last_year          integer NOT NULL
);

CREATE TABLE calendar_days (
    calendar_id text COLLATE "C" NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    day         date NOT NULL,
    kind        text NOT NULL,
    name        text NOT NULL,
    PRIMARY KEY (calendar_id, day)
);

CREATE TABLE matters (
    matter_code text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    department  text COLLATE "C" NOT NULL,
    kind        text NOT NULL,
    definition  text NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX matters_department ON matters (department, matter_code);

CREATE TABLE cases (
    case_no     text COLLATE "C" PRIMARY KEY,
    matter_code text COLLATE "C" NOT NULL,
    department  text COLLATE "C" NOT NULL,
    region      text COLLATE "C" NOT NULL,
    state       text COLLATE "C" NOT NULL,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL,
    next_due_at timestamptz,
    overdue     boolean NOT NULL,
    provisional boolean NOT NULL,
    view        text NOT NULL,
    -- hash of the case's last record, so a commit chains without reading the log
    last_hash   text NOT NULL
);
CREATE INDEX cases_department ON cases (department, case_no);
CREATE INDEX cases_region ON cases (region, case_no);
CREATE INDEX cases_state ON cases (state, case_no);
CREATE INDEX cases_next_due_at ON cases (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX cases_overdue ON cases (case_no) WHERE overdue;

CREATE TABLE records (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx          bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event_id    text COLLATE "C" NOT NULL UNIQUE,
    case_no     text COLLATE "C" NOT NULL REFERENCES cases (case_no),
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    source      text NOT NULL,
    kind        text NOT NULL,
    body        text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE INDEX records_case ON records (case_no, seq);
CREATE INDEX records_stream ON records (tx, seq);

-- The log is append-only. Whoever can disable these triggers can still tamper, and the hash
-- chain then tells.
CREATE FUNCTION records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'records are append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER records_no_update BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION records_append_only();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION records_append_only();

CREATE TABLE due_instants (
    case_no text COLLATE "C" NOT NULL REFERENCES cases (case_no),
    clock   text COLLATE "C" NOT NULL,
    due_at  timestamptz NOT NULL,
    PRIMARY KEY (case_no, clock)
);
CREATE INDEX due_instants_due_at ON due_instants (due_at, case_no, clock);

CREATE TABLE warnings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx          bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    case_no     text COLLATE "C" NOT NULL,
    rule        text COLLATE "C" NOT NULL,
    level       text COLLATE "C" NOT NULL,
    department  text COLLATE "C" NOT NULL,
    region      text COLLATE "C" NOT NULL,
    matter_code text COLLATE "C" NOT NULL,
    due_at      timestamptz,
    raised_at   timestamptz NOT NULL,
    state       text COLLATE "C" NOT NULL DEFAULT 'raised',
    detail      text NOT NULL,
    UNIQUE (case_no, rule, level)
);
CREATE INDEX warnings_stream ON warnings (tx, id);
CREATE INDEX warnings_department ON warnings (department, id);
CREATE INDEX warnings_region ON warnings (region, id);
CREATE INDEX warnings_state ON warnings (state, id);

CREATE TABLE consumer_cursors (
    consumer   text COLLATE "C" PRIMARY KEY,
    position   text NOT NULL,
    updated_at timestamptz NOT NULL
);
