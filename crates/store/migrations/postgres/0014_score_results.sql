-- Grades (issue 16, item 2): the frozen results of every version of a closed period, one row
-- per department of the whole city's ranking, written with the snapshot in its transaction, so
-- SQL sees the score, rank and grade the API serves for a closed period. The score and grade
-- are computed by the domain (egov_domain::scores), never here.
CREATE TABLE score_results (
    period           text COLLATE "C" NOT NULL,
    version          bigint NOT NULL,
    department       text COLLATE "C" NOT NULL,
    region           text COLLATE "C" NOT NULL,
    rank             bigint,                -- NULL when not ranked
    position         bigint,
    score_hundredths bigint NOT NULL,
    grade            text CHECK (grade IN ('excellent', 'good', 'pass', 'fail')),
    bottom_two       boolean NOT NULL,
    PRIMARY KEY (period, version, department),
    FOREIGN KEY (period, version) REFERENCES score_snapshots (period, version)
);

-- The results of each closed period's version in force.
CREATE VIEW score_grades AS
SELECT r.period, r.version, r.department, r.region, r.rank, r.position,
    round(r.score_hundredths / 100.0, 2) AS score, r.grade, r.bottom_two
FROM score_results r
JOIN (SELECT period, max(version) AS version FROM score_snapshots GROUP BY period) AS n
    ON n.period = r.period AND n.version = r.version;
