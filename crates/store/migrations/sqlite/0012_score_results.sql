-- Grades (issue 16, item 2); see migrations/postgres/0014_score_results.sql.
CREATE TABLE score_results (
    period           TEXT NOT NULL,
    version          INTEGER NOT NULL,
    department       TEXT NOT NULL,
    region           TEXT NOT NULL,
    rank             INTEGER,
    position         INTEGER,
    score_hundredths INTEGER NOT NULL,
    grade            TEXT CHECK (grade IN ('excellent', 'good', 'pass', 'fail')),
    bottom_two       INTEGER NOT NULL,
    PRIMARY KEY (period, version, department),
    FOREIGN KEY (period, version) REFERENCES score_snapshots (period, version)
) STRICT;

CREATE VIEW score_grades AS
SELECT r.period, r.version, r.department, r.region, r.rank, r.position,
    round(r.score_hundredths / 100.0, 2) AS score, r.grade, r.bottom_two
FROM score_results r
JOIN (SELECT period, max(version) AS version FROM score_snapshots GROUP BY period) AS n
    ON n.period = r.period AND n.version = r.version;
