-- Webhooks (issue 4): warnings notified by HTTP POST to registered receivers, through an
-- outbox; see migrations/postgres/0007_webhooks.sql for what each column is for.
-- UNIQUE (hook_id, warning_id) is "never twice for the same warning and level".

CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    department    TEXT,
    region_prefix TEXT,
    min_level     TEXT,
    max_attempts  INTEGER NOT NULL CHECK (max_attempts > 0),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    removed_at    TEXT
) STRICT;

CREATE TABLE webhook_deliveries (
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
    UNIQUE (hook_id, warning_id)
) STRICT;
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (hook_id, id);
-- the operator's counts per hook and state (ListWebhooks, DeleteWebhook), read from the index
-- alone, however long the outbox's history
CREATE INDEX webhook_deliveries_counts ON webhook_deliveries (hook_id, state);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (hook_id, next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
