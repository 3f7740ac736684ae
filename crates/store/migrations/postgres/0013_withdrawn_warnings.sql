-- Withdrawn warnings (issue 14, item 3; docs/design.md §3.2): a warning whose ground records
-- that arrived later disproved is withdrawn (state 'withdrawn', kept with its history). A
-- webhook receiver that was sent a warning is sent its withdrawal too: a delivery is unique
-- per (hook, warning, event), the event being the warning's raise or its withdrawal.
ALTER TABLE webhook_deliveries
    ADD COLUMN event text COLLATE "C" NOT NULL DEFAULT 'raised'
        CHECK (event IN ('raised', 'withdrawn'));
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_hook_id_warning_id_key;
ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_hook_warning_event UNIQUE (hook_id, warning_id, event);
