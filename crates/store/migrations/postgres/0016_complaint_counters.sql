-- Complaints in the scores (issue 16; docs/design.md §3.3, §4): a complaint closed as
-- substantiated counts against its department on the day closed, as a fact of source
-- 'complaint' (key: the complaint's number), summed into the daily rollups like every other.
ALTER TABLE score_facts ADD COLUMN complaints_substantiated bigint NOT NULL DEFAULT 0;
ALTER TABLE score_daily ADD COLUMN complaints_substantiated bigint NOT NULL DEFAULT 0;
