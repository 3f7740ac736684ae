-- ListCases returns the most recently opened cases first (docs/design.md §6, the contract):
-- the list indexes end in (opened_at, case_no), read backwards, so a page is an index range
-- rather than a sort of every matching case. Same number of indexes as before, plus one for
-- the unfiltered list.
DROP INDEX cases_department;
DROP INDEX cases_region;
DROP INDEX cases_state;
CREATE INDEX cases_department ON cases (department, opened_at, case_no);
CREATE INDEX cases_region ON cases (region, opened_at, case_no);
CREATE INDEX cases_state ON cases (state, opened_at, case_no);
CREATE INDEX cases_opened ON cases (opened_at, case_no);
