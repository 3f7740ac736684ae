-- Complaints in the scores; see migrations/postgres/0016_complaint_counters.sql.
ALTER TABLE score_facts ADD COLUMN complaints_substantiated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN complaints_substantiated INTEGER NOT NULL DEFAULT 0;
