-- Performance scores (DESIGN §4, issue 5): the rollups the supervision platform keeps as records
-- and warnings arrive, the frozen results of closed periods, and views for analysts.
--
-- score_facts holds what each case and each warning adds to its department, per local day
-- (Asia/Shanghai): when a case or warning changes, its rows are REPLACED and the difference is
-- added to score_daily, so score_daily is always the sum of score_facts per (department, day)
-- (Store::rebuild_score_rollups recomputes it that way). score_fact_keys keeps the version each
-- fact was computed from (a case's record count, a warning's stream position): an older
-- computation never overwrites a newer one, and its row is the lock two writers of the same
-- fact wait on. Counters are integers (counts, basis points, fen); the column list is
-- egov_domain::scores::Counters::NAMES.
--
-- A period is closed when it has a snapshot: score_snapshots keeps every version (the
-- Assessment as JSON: counters, catalogue, regions and the score configuration), the newest is
-- in force. Changes that land in a closed period later are noted in score_late.

CREATE TABLE score_fact_keys (
    source     text COLLATE "C" NOT NULL,   -- 'case' or 'warning'
    key        text COLLATE "C" NOT NULL,   -- the case number or the warning id
    version    bigint NOT NULL,
    department text COLLATE "C" NOT NULL,
    PRIMARY KEY (source, key)
);

CREATE TABLE score_facts (
    source            text COLLATE "C" NOT NULL,
    key               text COLLATE "C" NOT NULL,
    day               date NOT NULL,
    department        text COLLATE "C" NOT NULL,
    accepted          bigint NOT NULL DEFAULT 0,
    completed         bigint NOT NULL DEFAULT 0,
    on_time           bigint NOT NULL DEFAULT 0,
    early             bigint NOT NULL DEFAULT 0,
    share_cases       bigint NOT NULL DEFAULT 0,
    share_bp_sum      bigint NOT NULL DEFAULT 0,
    ratings           bigint NOT NULL DEFAULT 0,
    satisfied         bigint NOT NULL DEFAULT 0,
    bad_reviews       bigint NOT NULL DEFAULT 0,
    reminders         bigint NOT NULL DEFAULT 0,
    yellow_cards      bigint NOT NULL DEFAULT 0,
    red_cards         bigint NOT NULL DEFAULT 0,
    anomalies         bigint NOT NULL DEFAULT 0,
    irregular_fees    bigint NOT NULL DEFAULT 0,
    corrected_in_time bigint NOT NULL DEFAULT 0,
    fees_fen          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (source, key, day)
);

CREATE TABLE score_daily (
    department        text COLLATE "C" NOT NULL,
    day               date NOT NULL,
    accepted          bigint NOT NULL DEFAULT 0,
    completed         bigint NOT NULL DEFAULT 0,
    on_time           bigint NOT NULL DEFAULT 0,
    early             bigint NOT NULL DEFAULT 0,
    share_cases       bigint NOT NULL DEFAULT 0,
    share_bp_sum      bigint NOT NULL DEFAULT 0,
    ratings           bigint NOT NULL DEFAULT 0,
    satisfied         bigint NOT NULL DEFAULT 0,
    bad_reviews       bigint NOT NULL DEFAULT 0,
    reminders         bigint NOT NULL DEFAULT 0,
    yellow_cards      bigint NOT NULL DEFAULT 0,
    red_cards         bigint NOT NULL DEFAULT 0,
    anomalies         bigint NOT NULL DEFAULT 0,
    irregular_fees    bigint NOT NULL DEFAULT 0,
    corrected_in_time bigint NOT NULL DEFAULT 0,
    fees_fen          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (department, day)
);

-- The region a department serves as its cases show it (the nearest common ancestor of their
-- regions), for departments missing from the registry (departments).
CREATE TABLE score_units (
    department text COLLATE "C" PRIMARY KEY,
    region     text COLLATE "C" NOT NULL
);

CREATE TABLE score_snapshots (
    period      text COLLATE "C" NOT NULL,   -- 2025, 2025-Q3, 2025-07
    version     bigint NOT NULL CHECK (version > 0),
    first_day   date NOT NULL,
    last_day    date NOT NULL,
    computed_at timestamptz NOT NULL,
    actor       text NOT NULL,
    reason      text NOT NULL,
    -- the last score_late row this version includes
    late_through bigint NOT NULL,
    assessment  text NOT NULL,
    PRIMARY KEY (period, version)
);

CREATE TABLE score_late (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period     text COLLATE "C" NOT NULL,
    department text COLLATE "C" NOT NULL,
    source     text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    -- the records (event ids) or the warning whose arrival changed the closed period
    detail     text NOT NULL,
    noted_at   timestamptz NOT NULL
);
CREATE INDEX score_late_period ON score_late (period, id);

-- ----- views for analysts (docs/analysts.md) ----------------------------------------------

-- The region of each department: the registry's, else the one its cases show.
CREATE VIEW score_department_regions AS
SELECT k.department, coalesce(d.region, u.region, '') AS region
FROM (SELECT department FROM score_units UNION SELECT code FROM departments) AS k (department)
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
    round(t.on_time::numeric / NULLIF(t.completed, 0), 4) AS on_time_rate,
    round(t.early::numeric / NULLIF(t.completed, 0), 4) AS early_rate,
    round(t.share_bp_sum::numeric / NULLIF(t.share_cases * 10000, 0), 4) AS average_used_share,
    round(t.satisfied::numeric / NULLIF(t.ratings, 0), 4) AS satisfaction_rate,
    round(t.bad_reviews::numeric / NULLIF(t.ratings, 0), 4) AS bad_review_rate,
    round(t.corrected_in_time::numeric / NULLIF(t.yellow_cards + t.red_cards, 0), 4) AS corrected_in_time_rate
FROM (
    SELECT department, to_char(day, 'YYYY-MM') AS period,
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
    GROUP BY department, to_char(day, 'YYYY-MM')
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
    round(t.on_time::numeric / NULLIF(t.completed, 0), 4) AS on_time_rate,
    round(t.early::numeric / NULLIF(t.completed, 0), 4) AS early_rate,
    round(t.share_bp_sum::numeric / NULLIF(t.share_cases * 10000, 0), 4) AS average_used_share,
    round(t.satisfied::numeric / NULLIF(t.ratings, 0), 4) AS satisfaction_rate,
    round(t.bad_reviews::numeric / NULLIF(t.ratings, 0), 4) AS bad_review_rate,
    round(t.corrected_in_time::numeric / NULLIF(t.yellow_cards + t.red_cards, 0), 4) AS corrected_in_time_rate
FROM (
    SELECT department, to_char(day, 'YYYY-"Q"Q') AS period,
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
    GROUP BY department, to_char(day, 'YYYY-"Q"Q')
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
    round(t.on_time::numeric / NULLIF(t.completed, 0), 4) AS on_time_rate,
    round(t.early::numeric / NULLIF(t.completed, 0), 4) AS early_rate,
    round(t.share_bp_sum::numeric / NULLIF(t.share_cases * 10000, 0), 4) AS average_used_share,
    round(t.satisfied::numeric / NULLIF(t.ratings, 0), 4) AS satisfaction_rate,
    round(t.bad_reviews::numeric / NULLIF(t.ratings, 0), 4) AS bad_review_rate,
    round(t.corrected_in_time::numeric / NULLIF(t.yellow_cards + t.red_cards, 0), 4) AS corrected_in_time_rate
FROM (
    SELECT department, to_char(day, 'YYYY') AS period,
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
    GROUP BY department, to_char(day, 'YYYY')
) AS t
LEFT JOIN score_department_regions r ON r.department = t.department;

-- The catalogue per department: matters, fee items, and the average promised / statutory ratio
-- of the matters whose two limits are in the same unit (statutory at least 1 day).
CREATE VIEW score_catalogue AS
SELECT m.department,
    count(*) AS matters,
    CAST(sum(jsonb_array_length(coalesce(d.def -> 'fee_items', '[]'::jsonb))) AS BIGINT) AS fee_items,
    round(avg(CASE WHEN d.def #>> '{promised_limit,unit}' = d.def #>> '{statutory_limit,unit}'
                    AND (d.def #>> '{statutory_limit,amount}')::numeric > 0
               THEN (d.def #>> '{promised_limit,amount}')::numeric
                    / (d.def #>> '{statutory_limit,amount}')::numeric END), 4)
        AS average_promised_statutory_ratio
FROM matters m CROSS JOIN LATERAL (SELECT m.definition::jsonb AS def) AS d
GROUP BY m.department;

-- Every version of every closed period (the frozen results themselves are in
-- score_snapshots.assessment, JSON).
CREATE VIEW score_period_versions AS
SELECT period, version, first_day, last_day, computed_at, actor, reason, late_through
FROM score_snapshots;

-- Changes that landed in a closed period after it was closed.
CREATE VIEW score_late_changes AS
SELECT id, period, department, source, key, detail, noted_at FROM score_late;

-- The FIRST correction due of a yellow or red card, kept when an escalation replaces
-- correction_due_at with the office above's due: "corrected in time" is judged against it, so
-- a rules change or an escalation does not alter an old card's fact (Store::set_correction_dues
-- stamps both).
ALTER TABLE warnings ADD COLUMN first_correction_due_at timestamptz;
UPDATE warnings SET first_correction_due_at = correction_due_at
    WHERE correction_due_at IS NOT NULL;
