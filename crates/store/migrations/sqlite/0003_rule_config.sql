-- The supervision rules' configuration (DESIGN §3), shared by both platforms and every
-- instance: one row per version, the newest is in force. A version is written only as the
-- successor of the one its writer read (optimistic: `Store::put_rule_config`), so two
-- concurrent changes cannot both win. The JSON is the `RuleConfig` as its owner validated it.
CREATE TABLE rule_configs (
    version    INTEGER PRIMARY KEY CHECK (version > 0),
    config     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
