-- Performance scores (DESIGN §4, issue 5), SQLite flavour: the rollups the supervision platform keeps as records
-- and warnings arrive, the frozen results of closed periods, and views for analysts.
--
-- See the PostgreSQL migration of the same name for the design; days are TEXT (YYYY-MM-DD).

CREATE TABLE score_fact_keys (
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    version    INTEGER NOT NULL,
    department TEXT NOT NULL,
    PRIMARY KEY (source, key)
) STRICT;

CREATE TABLE score_facts (
    source            TEXT NOT NULL,
    key               TEXT NOT NULL,
    day               TEXT NOT NULL,
    department        TEXT NOT NULL,
    accepted          INTEGER NOT NULL DEFAULT 0,
    completed         INTEGER NOT NULL DEFAULT 0,
    on_time           INTEGER NOT NULL DEFAULT 0,
    early             INTEGER NOT NULL DEFAULT 0,
    share_cases       INTEGER NOT NULL DEFAULT 0,
    share_bp_sum      INTEGER NOT NULL DEFAULT 0,
    ratings           INTEGER NOT NULL DEFAULT 0,
    satisfied         INTEGER NOT NULL DEFAULT 0,
    bad_reviews       INTEGER NOT NULL DEFAULT 0,
    reminders         INTEGER NOT NULL DEFAULT 0,
    yellow_cards      INTEGER NOT NULL DEFAULT 0,
    red_cards         INTEGER NOT NULL DEFAULT 0,
    anomalies         INTEGER NOT NULL DEFAULT 0,
    irregular_fees    INTEGER NOT NULL DEFAULT 0,
    corrected_in_time INTEGER NOT NULL DEFAULT 0,
    fees_fen          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, key, day)
) STRICT;

CREATE TABLE score_daily (
    department        TEXT NOT NULL,
    day               TEXT NOT NULL,
    accepted          INTEGER NOT NULL DEFAULT 0,
    completed         INTEGER NOT NULL DEFAULT 0,
    on_time           INTEGER NOT NULL DEFAULT 0,
    early             INTEGER NOT NULL DEFAULT 0,
    share_cases       INTEGER NOT NULL DEFAULT 0,
    share_bp_sum      INTEGER NOT NULL DEFAULT 0,
    ratings           INTEGER NOT NULL DEFAULT 0,
    satisfied         INTEGER NOT NULL DEFAULT 0,
    bad_reviews       INTEGER NOT NULL DEFAULT 0,
    reminders         INTEGER NOT NULL DEFAULT 0,
    yellow_cards      INTEGER NOT NULL DEFAULT 0,
    red_cards         INTEGER NOT NULL DEFAULT 0,
    anomalies         INTEGER NOT NULL DEFAULT 0,
    irregular_fees    INTEGER NOT NULL DEFAULT 0,
    corrected_in_time INTEGER NOT NULL DEFAULT 0,
    fees_fen          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (department, day)
) STRICT;

CREATE TABLE score_units (
    department TEXT NOT NULL PRIMARY KEY,
    region     TEXT NOT NULL
) STRICT;

CREATE TABLE score_snapshots (
    period       TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version > 0),
    first_day    TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    computed_at  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    late_through INTEGER NOT NULL,
    assessment   TEXT NOT NULL,
    PRIMARY KEY (period, version)
) STRICT;

CREATE TABLE score_late (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    period     TEXT NOT NULL,
    department TEXT NOT NULL,
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    detail     TEXT NOT NULL,
    noted_at   TEXT NOT NULL
) STRICT;
CREATE INDEX score_late_period ON score_late (period, id);

-- ----- views for analysts (docs/analysts.md) ----------------------------------------------

-- The region of each department: the registry's, else the one its cases show.
CREATE VIEW score_department_regions AS
SELECT k.department, coalesce(d.region, u.region, '') AS region
FROM (SELECT department FROM score_units UNION SELECT code AS department FROM departments) AS k
LEFT JOIN departments d ON d.code = k.department
LEFT JOIN score_units u ON u.department = k.department;

-- Counters and rates per department and month (2025-07), summed from the daily rollups.
-- Rates are NULL without data; the API's rates are exact ratios, these are rounded to 4
-- decimals.
CREATE VIEW score_indicators_month AS
SELECT t.department, coalesce(r.region, '') AS region, t.period,
    t.accepted,
    t.completed,
    t.on_time,
    t.early,
    t.share_cases,
    t.share_bp_sum,
    t.ratings,
    t.satisfied,
    t.bad_reviews,
    t.reminders,
    t.yellow_cards,
    t.red_cards,
    t.anomalies,
    t.irregular_fees,
    t.corrected_in_time,
    t.fees_fen,
    round(CAST(t.on_time AS REAL) / NULLIF(t.completed, 0), 4) AS on_time_rate,
    round(CAST(t.early AS REAL) / NULLIF(t.completed, 0), 4) AS early_rate,
    round(CAST(t.share_bp_sum AS REAL) / NULLIF(t.share_cases * 10000, 0), 4) AS average_used_share,
    round(CAST(t.satisfied AS REAL) / NULLIF(t.ratings, 0), 4) AS satisfaction_rate,
    round(CAST(t.bad_reviews AS REAL) / NULLIF(t.ratings, 0), 4) AS bad_review_rate,
    round(CAST(t.corrected_in_time AS REAL) / NULLIF(t.yellow_cards + t.red_cards, 0), 4) AS corrected_in_time_rate
FROM (
    SELECT department, substr(day, 1, 7) AS period,
        CAST(SUM(accepted) AS BIGINT) AS accepted,
        CAST(SUM(completed) AS BIGINT) AS completed,
        CAST(SUM(on_time) AS BIGINT) AS on_time,
        CAST(SUM(early) AS BIGINT) AS early,
        CAST(SUM(share_cases) AS BIGINT) AS share_cases,
        CAST(SUM(share_bp_sum) AS BIGINT) AS share_bp_sum,
        CAST(SUM(ratings) AS BIGINT) AS ratings,
        CAST(SUM(satisfied) AS BIGINT) AS satisfied,
        CAST(SUM(bad_reviews) AS BIGINT) AS bad_reviews,
        CAST(SUM(reminders) AS BIGINT) AS reminders,
        CAST(SUM(yellow_cards) AS BIGINT) AS yellow_cards,
        CAST(SUM(red_cards) AS BIGINT) AS red_cards,
        CAST(SUM(anomalies) AS BIGINT) AS anomalies,
        CAST(SUM(irregular_fees) AS BIGINT) AS irregular_fees,
        CAST(SUM(corrected_in_time) AS BIGINT) AS corrected_in_time,
        CAST(SUM(fees_fen) AS BIGINT) AS fees_fen
    FROM score_daily
    GROUP BY department, substr(day, 1, 7)
) AS t
LEFT JOIN score_department_regions r ON r.department = t.department;

-- Counters and rates per department and quarter (2025-Q3), summed from the daily rollups.
-- Rates are NULL without data; the API's rates are exact ratios, these are rounded to 4
-- decimals.
CREATE VIEW score_indicators_quarter AS
SELECT t.department, coalesce(r.region, '') AS region, t.period,
    t.accepted,
    t.completed,
    t.on_time,
    t.early,
    t.share_cases,
    t.share_bp_sum,
    t.ratings,
    t.satisfied,
    t.bad_reviews,
    t.reminders,
    t.yellow_cards,
    t.red_cards,
    t.anomalies,
    t.irregular_fees,
    t.corrected_in_time,
    t.fees_fen,
    round(CAST(t.on_time AS REAL) / NULLIF(t.completed, 0), 4) AS on_time_rate,
    round(CAST(t.early AS REAL) / NULLIF(t.completed, 0), 4) AS early_rate,
    round(CAST(t.share_bp_sum AS REAL) / NULLIF(t.share_cases * 10000, 0), 4) AS average_used_share,
    round(CAST(t.satisfied AS REAL) / NULLIF(t.ratings, 0), 4) AS satisfaction_rate,
    round(CAST(t.bad_reviews AS REAL) / NULLIF(t.ratings, 0), 4) AS bad_review_rate,
    round(CAST(t.corrected_in_time AS REAL) / NULLIF(t.yellow_cards + t.red_cards, 0), 4) AS corrected_in_time_rate
FROM (
    SELECT department, substr(day, 1, 4) || '-Q' || ((CAST(substr(day, 6, 2) AS INTEGER) + 2) / 3) AS period,
        CAST(SUM(accepted) AS BIGINT) AS accepted,
        CAST(SUM(completed) AS BIGINT) AS completed,
        CAST(SUM(on_time) AS BIGINT) AS on_time,
        CAST(SUM(early) AS BIGINT) AS early,
        CAST(SUM(share_cases) AS BIGINT) AS share_cases,
        CAST(SUM(share_bp_sum) AS BIGINT) AS share_bp_sum,
        CAST(SUM(ratings) AS BIGINT) AS ratings,
        CAST(SUM(satisfied) AS BIGINT) AS satisfied,
        CAST(SUM(bad_reviews) AS BIGINT) AS bad_reviews,
        CAST(SUM(reminders) AS BIGINT) AS reminders,
        CAST(SUM(yellow_cards) AS BIGINT) AS yellow_cards,
        CAST(SUM(red_cards) AS BIGINT) AS red_cards,
        CAST(SUM(anomalies) AS BIGINT) AS anomalies,
        CAST(SUM(irregular_fees) AS BIGINT) AS irregular_fees,
        CAST(SUM(corrected_in_time) AS BIGINT) AS corrected_in_time,
        CAST(SUM(fees_fen) AS BIGINT) AS fees_fen
    FROM score_daily
    GROUP BY department, substr(day, 1, 4) || '-Q' || ((CAST(substr(day, 6, 2) AS INTEGER) + 2) / 3)
) AS t
LEFT JOIN score_department_regions r ON r.department = t.department;

-- Counters and rates per department and year (2025), summed from the daily rollups.
-- Rates are NULL without data; the API's rates are exact ratios, these are rounded to 4
-- decimals.
CREATE VIEW score_indicators_year AS
SELECT t.department, coalesce(r.region, '') AS region, t.period,
    t.accepted,
    t.completed,
    t.on_time,
    t.early,
    t.share_cases,
    t.share_bp_sum,
    t.ratings,
    t.satisfied,
    t.bad_reviews,
    t.reminders,
    t.yellow_cards,
    t.red_cards,
    t.anomalies,
    t.irregular_fees,
    t.corrected_in_time,
    t.fees_fen,
    round(CAST(t.on_time AS REAL) / NULLIF(t.completed, 0), 4) AS on_time_rate,
    round(CAST(t.early AS REAL) / NULLIF(t.completed, 0), 4) AS early_rate,
    round(CAST(t.share_bp_sum AS REAL) / NULLIF(t.share_cases * 10000, 0), 4) AS average_used_share,
    round(CAST(t.satisfied AS REAL) / NULLIF(t.ratings, 0), 4) AS satisfaction_rate,
    round(CAST(t.bad_reviews AS REAL) / NULLIF(t.ratings, 0), 4) AS bad_review_rate,
    round(CAST(t.corrected_in_time AS REAL) / NULLIF(t.yellow_cards + t.red_cards, 0), 4) AS corrected_in_time_rate
FROM (
    SELECT department, substr(day, 1, 4) AS period,
        CAST(SUM(accepted) AS BIGINT) AS accepted,
        CAST(SUM(completed) AS BIGINT) AS completed,
        CAST(SUM(on_time) AS BIGINT) AS on_time,
        CAST(SUM(early) AS BIGINT) AS early,
        CAST(SUM(share_cases) AS BIGINT) AS share_cases,
        CAST(SUM(share_bp_sum) AS BIGINT) AS share_bp_sum,
        CAST(SUM(ratings) AS BIGINT) AS ratings,
        CAST(SUM(satisfied) AS BIGINT) AS satisfied,
        CAST(SUM(bad_reviews) AS BIGINT) AS bad_reviews,
        CAST(SUM(reminders) AS BIGINT) AS reminders,
        CAST(SUM(yellow_cards) AS BIGINT) AS yellow_cards,
        CAST(SUM(red_cards) AS BIGINT) AS red_cards,
        CAST(SUM(anomalies) AS BIGINT) AS anomalies,
        CAST(SUM(irregular_fees) AS BIGINT) AS irregular_fees,
        CAST(SUM(corrected_in_time) AS BIGINT) AS corrected_in_time,
        CAST(SUM(fees_fen) AS BIGINT) AS fees_fen
    FROM score_daily
    GROUP BY department, substr(day, 1, 4)
) AS t
LEFT JOIN score_department_regions r ON r.department = t.department;

-- The catalogue per department: matters, fee items, and the average promised / statutory ratio
-- of the matters whose two limits are in the same unit (statutory at least 1 day).
CREATE VIEW score_catalogue AS
SELECT department,
    count(*) AS matters,
    sum(coalesce(json_array_length(definition, '$.fee_items'), 0)) AS fee_items,
    round(avg(CASE WHEN json_extract(definition, '$.promised_limit.unit')
                        = json_extract(definition, '$.statutory_limit.unit')
                    AND json_extract(definition, '$.statutory_limit.amount') > 0
               THEN CAST(json_extract(definition, '$.promised_limit.amount') AS REAL)
                    / json_extract(definition, '$.statutory_limit.amount') END), 4)
        AS average_promised_statutory_ratio
FROM matters
GROUP BY department;

CREATE VIEW score_period_versions AS
SELECT period, version, first_day, last_day, computed_at, actor, reason, late_through
FROM score_snapshots;

CREATE VIEW score_late_changes AS
SELECT id, period, department, source, key, detail, noted_at FROM score_late;

-- The FIRST correction due of a card (see the PostgreSQL migration).
ALTER TABLE warnings ADD COLUMN first_correction_due_at TEXT;
UPDATE warnings SET first_correction_due_at = correction_due_at
    WHERE correction_due_at IS NOT NULL;
