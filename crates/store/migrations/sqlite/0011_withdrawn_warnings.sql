-- Withdrawn warnings (issue 14, item 3); see migrations/postgres/0013_withdrawn_warnings.sql.
-- SQLite cannot change a table's UNIQUE constraint: the outbox is rebuilt with the event in
-- its key (no table refers to it).
CREATE TABLE webhook_deliveries_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id         INTEGER NOT NULL REFERENCES webhooks (id),
    warning_id      INTEGER NOT NULL REFERENCES warnings (id),
    state           TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    leased_until    TEXT,
    delivered_at    TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    event           TEXT NOT NULL DEFAULT 'raised' CHECK (event IN ('raised', 'withdrawn')),
    UNIQUE (hook_id, warning_id, event)
) STRICT;
INSERT INTO webhook_deliveries_new (id, hook_id, warning_id, state, attempts, next_attempt_at,
    leased_until, delivered_at, last_error, created_at)
SELECT id, hook_id, warning_id, state, attempts, next_attempt_at, leased_until, delivered_at,
    last_error, created_at FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (hook_id, id);
CREATE INDEX webhook_deliveries_counts ON webhook_deliveries (hook_id, state);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (hook_id, next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
