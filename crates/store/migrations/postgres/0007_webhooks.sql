-- Webhooks (issue 4): warnings notified by HTTP POST to registered receivers (SMS and e-mail
-- gateways), through an outbox. The supervision platform's deliverer follows the warning stream
-- by its cursor (`supervision.webhooks`) and, in the transaction that moves the cursor, adds one
-- delivery per matching active hook; then it sends what is due and records each outcome here.
--
-- A warning row is unique per (case, rule, level), so UNIQUE (hook_id, warning_id) is "never
-- twice for the same warning and level", however often the warning is streamed again (each of
-- its state changes moves it to the end of the stream) or the platform restarts.

CREATE TABLE webhooks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url           text NOT NULL,
    -- the key of the HMAC-SHA256 signature of every body; never returned by the API
    secret        text NOT NULL,
    -- filters, NULL for "any": exact department, region code prefix (a subtree), lowest level
    department    text COLLATE "C",
    region_prefix text COLLATE "C",
    min_level     text COLLATE "C",
    max_attempts  bigint NOT NULL CHECK (max_attempts > 0),
    -- a removed hook stays (with its deliveries) for the record, inactive
    active        boolean NOT NULL DEFAULT TRUE,
    created_at    timestamptz NOT NULL,
    removed_at    timestamptz
);

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hook_id         bigint NOT NULL REFERENCES webhooks (id),
    warning_id      bigint NOT NULL REFERENCES warnings (id),
    state           text COLLATE "C" NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    -- attempts started so far (counted when a sender claims the delivery)
    attempts        bigint NOT NULL DEFAULT 0,
    -- while pending: when the next attempt is due (the platform's clock)
    next_attempt_at timestamptz,
    -- while an attempt is in flight: until when its sender holds it (wall time, as the HTTP
    -- timeout it must outlast); another sender may take it over after that
    leased_until    timestamptz,
    delivered_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    UNIQUE (hook_id, warning_id)
);
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (hook_id, id);
-- the operator's counts per hook and state (ListWebhooks, DeleteWebhook), read from the index
-- alone, however long the outbox's history
CREATE INDEX webhook_deliveries_counts ON webhook_deliveries (hook_id, state);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (hook_id, next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
